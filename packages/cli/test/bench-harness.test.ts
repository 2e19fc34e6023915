// A small run of the benchmark generator through the whole default pipeline (not timed: speed is
// measured by `npm run bench`). Checks that what the generator says it wrote is what the walk finds.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AllocFlags, Engine } from "@leakscope/core";
import { benchScenarios, writeBenchDump } from "@leakscope/test-utils";
import { afterAll, describe, expect, it } from "vitest";
import { defaultPlugins } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "leakscope-bench-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("benchmark dumps", () => {
  for (const scenario of Object.keys(benchScenarios) as (keyof typeof benchScenarios)[]) {
    it(`${scenario}: the walk finds every block the generator wrote, with no diagnostics`, async () => {
      // small heaps and frequent virtual blocks keep this quick; the layout is the bench's
      const blocks = 40_000 + 300;
      const file = join(dir, `${scenario}.dmp`);
      const info = writeBenchDump(scenario, blocks, file, { blocksPerHeap: 40_000, blocksPerVirtual: 10_000 });
      expect(info.heaps).toBe(2);
      if (scenario !== "lfh") expect(info.virtualBlocks).toBeGreaterThan(0);
      expect(info.freeBlocks).toBeGreaterThan(blocks * 0.05);
      const engine = new Engine({ plugins: defaultPlugins() });
      const open = await engine.open(file, { command: "bench", depth: "walk" });
      try {
        const kind = scenario === "segment" ? "segment" : "nt";
        const heaps = open.run.heaps.filter((h) => h.kind === kind);
        expect(heaps).toHaveLength(2);
        expect(heaps.every((h) => h.bitness === benchScenarios[scenario].bitness)).toBe(true);
        const busy = heaps.reduce((a, h) => a + h.stats.busy.count, 0);
        const busyBytes = heaps.reduce((a, h) => a + h.stats.busy.bytes, 0);
        expect(busy).toBe(info.busyBlocks);
        expect(busyBytes).toBe(info.busyRequestedBytes);
        // free blocks (LFH free slots included): the generator's plus the writers' fillers
        let free = 0;
        open.run.allocations.forEachChunk((c, n) => {
          for (let i = 0; i < n; i++) if ((c.flags[i]! & AllocFlags.FREE) !== 0) free++;
        });
        expect(free).toBeGreaterThanOrEqual(info.freeBlocks);
        if (scenario === "lfh") {
          // almost every block is an LFH block, found through the front end
          let lfhBlocks = 0;
          open.run.allocations.forEachChunk((c, n) => {
            for (let i = 0; i < n; i++) if ((c.flags[i]! & AllocFlags.LFH) !== 0) lfhBlocks++;
          });
          expect(lfhBlocks).toBeGreaterThanOrEqual(blocks);
          expect(heaps.every((h) => h.summary.lfh === true)).toBe(true);
        }
        // the size-ordered free list agrees with the walk (checked from the links the walk kept)
        for (const h of kind === "nt" ? heaps : []) {
          expect(h.data.nt?.freeListAgrees).toBe(true);
          expect(h.data.nt?.freeListLength).toBe(h.stats.free.count);
        }
        expect(open.run.diagnostics.list().filter((d) => d.severity !== "info").map((d) => d.code)).toEqual([]);
      } finally {
        open.close();
      }
    });
  }
});

describe("the bench's one-thread floor (scripts/bench-floor.mjs)", () => {
  const script = resolve(dirname(fileURLToPath(import.meta.url)), "../../../scripts/bench-floor.mjs");

  it("reads the whole file and appends one row per block at the average stride", () => {
    // 1 MiB + 100 bytes: 9 reads of 128 KiB (the last one short); 10,000 blocks of ~104.9 bytes
    const file = join(dir, "floor.bin");
    const size = (1 << 20) + 100;
    writeFileSync(file, Buffer.alloc(size, 0x5a));
    const blocks = 10_000;
    const r = spawnSync(process.execPath, [script, file, String(blocks)], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    expect(out.bytes).toBe(size);
    expect(out.secs).toBeGreaterThan(0);
    // a header that straddles the end of a 128 KiB read is skipped: at most one per read
    expect(out.rows).toBeLessThanOrEqual(blocks);
    expect(out.rows).toBeGreaterThanOrEqual(blocks - 9);
  });

  it("refuses a missing block count", () => {
    const r = spawnSync(process.execPath, [script, join(dir, "floor.bin")], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage/);
  });
});
