import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AllocFlags, Engine, type LeakscopePlugin, type ProgressReporter, STAGE_BACKEND, memoryTarget } from "@leakscope/core";
import { buildExampleDump } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { defaultPlugins } from "../src/index.js";
import { ttyProgress } from "../src/io.js";
import { capture, toyDump } from "./helpers.js";

interface Phase {
  label: string;
  total: number | undefined;
  unit: string | undefined;
  updates: number[];
}

function recorder(): { reporter: ProgressReporter; phases: Phase[] } {
  const phases: Phase[] = [];
  return {
    phases,
    reporter: {
      start: (label, total, unit) => phases.push({ label, total, unit, updates: [] }),
      update: (done) => phases.at(-1)?.updates.push(done),
      end() {},
    },
  };
}

/** One big heap of 8 segments of 1 MiB, walked segment by segment and reported as it goes. */
function oneBigHeap(): LeakscopePlugin[] {
  const SEG = 0x100000;
  return [
    {
      name: "big",
      apply(engine) {
        engine.hooks.resolveReader.tap("big", (p) =>
          new TextDecoder().decode(p.head.subarray(0, 7)) === "TOYDUMP"
            ? { name: "big", open: () => memoryTarget({ arch: "x64", os: { major: 10, minor: 0, build: 22621 }, memory: [], views: [{ bitness: 64 }], path: p.path, format: "toy" }) }
            : undefined,
        );
        engine.hooks.discoverHeaps.tapPromise("big", async (run) => {
          run.addHeap({ address: 0x1000000, bitness: 64, kind: "nt", foundBy: "peb", view: run.target.views[0]! });
          run.addHeap({ address: 0x9000000, bitness: 64, kind: "nt", foundBy: "peb", view: run.target.views[0]! });
          for (let i = 0; i < 8; i++) run.claimMemory(0x1000000 + i * SEG, 0x1000000 + (i + 1) * SEG);
          run.claimMemory(0x9000000, 0x9000000 + SEG);
        });
        engine.hooks.walkHeap.tapPromise({ name: "big", stage: STAGE_BACKEND }, async (heap, run) => {
          const segments = heap.address === 0x1000000 ? 8 : 1;
          for (let i = 0; i < segments; i++) {
            run.allocations.add(heap.index, heap.address + i * SEG + 0x10, heap.address + i * SEG, 0x100, 0x110, AllocFlags.BUSY);
            // the second heap's walker reports nothing: the engine credits its committed bytes
            if (heap.address === 0x1000000) run.walked(SEG);
          }
          heap.stats.committed = segments * SEG;
        });
      },
    },
  ];
}

describe("progress by bytes walked over all heaps", () => {
  it("moves inside one big heap, over the heap memory discovery claimed", async () => {
    const r = recorder();
    const open = await new Engine({ plugins: oneBigHeap() }).open(toyDump(), { command: "heaps", depth: "walk", progress: r.reporter });
    open.close();
    const walk = r.phases.find((p) => p.label === "walking heaps")!;
    expect(walk).toMatchObject({ total: 9 * 0x100000, unit: "bytes" });
    // eight steps inside the first heap, then the second heap's credit
    expect(walk.updates).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => k * 0x100000));
  });

  it("the real walkers report bytes as they walk (the bundled example)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "leakscope-progress-"));
    const file = join(dir, "example.dmp");
    writeFileSync(file, buildExampleDump());
    const r = recorder();
    const open = await new Engine({ plugins: defaultPlugins() }).open(file, { command: "heaps", depth: "walk", progress: r.reporter });
    const committed = open.run.heaps.reduce((s, h) => s + h.stats.committed, 0);
    open.close();
    const walk = r.phases.find((p) => p.label === "walking heaps")!;
    expect(walk.unit).toBe("bytes");
    expect(walk.total).toBeGreaterThan(0);
    expect(walk.updates.length).toBeGreaterThanOrEqual(3);
    expect(walk.updates).toEqual([...walk.updates].sort((a, b) => a - b));
    expect(walk.updates.at(-1)).toBeGreaterThanOrEqual(committed);
  });
});

describe("the progress line", () => {
  const drive = (io: ReturnType<typeof capture>["io"]) => {
    let t = 0;
    const p = ttyProgress(io, () => t);
    p.start("walking heaps", 0x4000000, "bytes");
    t += 1000;
    p.update(0x1000000);
    t += 1000;
    p.update(0x2000000);
    p.end();
  };

  it("is drawn on a terminal with bytes, share and rate", () => {
    const c = capture(true);
    drive(c.io);
    expect(c.err()).toContain("walking heaps");
    expect(c.err()).toContain("25% 16.0 MiB of 64.0 MiB (16.0 MiB/s)");
    expect(c.err()).toContain("\x1b[36m");
    expect(c.out()).toBe("");
  });

  it("is never drawn when stderr is piped", () => {
    const c = capture(false);
    drive(c.io);
    expect(c.err()).toBe("");
  });

  it("has no colour under NO_COLOR, and no line at all on TERM=dumb", () => {
    const c = capture(true);
    c.io.env.NO_COLOR = "1";
    drive(c.io);
    expect(c.err()).toContain("50%");
    expect(c.err()).not.toContain("\x1b[36m");
    const d = capture(true);
    d.io.env.TERM = "dumb";
    drive(d.io);
    expect(d.err()).toBe("");
  });
});
