import { readFileSync } from "node:fs";
import { AllocFlags, BufferSource, Engine, type InputReader, PluginOptionsError, memoryTarget, validateReport } from "@leakscope/core";
import { describe, expect, it } from "vitest";
import { bigBlocks } from "../src/index.js";

const reader: InputReader = {
  name: "example-input",
  open: () =>
    memoryTarget({
      arch: "x86",
      os: { major: 6, minor: 1, build: 7601 },
      memory: [{ address: 0x700000, bytes: new Uint8Array(16) }],
      views: [{ bitness: 32 }],
    }),
};

function engineWith(options?: Parameters<typeof bigBlocks>[0]): Engine {
  const engine = new Engine();
  engine.hooks.resolveReader.tap("example-input", () => reader);
  engine.hooks.discoverHeaps.tapPromise("example-input", async (run) => {
    run.addHeap({ address: 0x700000, bitness: 32, kind: "nt", foundBy: "peb32", view: run.target.views[0]! });
  });
  engine.hooks.walkHeap.tapPromise("example-input", async (heap, run) => {
    run.allocations.add(heap.index, 0x710008, 0x710000, 0x40000, 0x40010, AllocFlags.BUSY | AllocFlags.VIRTUAL);
    run.allocations.add(heap.index, 0x760008, 0x760000, 0x20000, 0x20010, AllocFlags.BUSY);
    run.allocations.add(heap.index, 0x790008, 0x790000, 0x80000, 0x80010, AllocFlags.BUSY | AllocFlags.HOST);
    run.allocations.add(heap.index, 0x800008, 0x800000, 0x30, 0x40, AllocFlags.BUSY);
  });
  engine.use(bigBlocks(options));
  return engine;
}

describe("example third-party plugin", () => {
  it("adds its section to the report, largest user allocation first, hosts excluded", async () => {
    const r = await engineWith({ minSize: 0x10000 }).openSource(new BufferSource(new Uint8Array([1])), {
      command: "analyze",
      depth: "analyze",
    });
    r.close();
    expect(r.report.extensions?.["big-blocks"]).toEqual({
      minSize: 0x10000,
      blocks: [
        { address: "0x710008", size: 0x40000, heap: "0x700000" },
        { address: "0x760008", size: 0x20000, heap: "0x700000" },
      ],
    });
    expect(validateReport(r.report).valid).toBe(true);
  });

  it("rejects bad options before any dump is opened, and misspelled ones do not compile", () => {
    expect(() => bigBlocks({ top: 0 })).toThrow(PluginOptionsError);
    // @ts-expect-error `tpo` is not an option
    expect(() => bigBlocks({ tpo: 3 })).toThrow(PluginOptionsError);
    expect(bigBlocks().name).toBe("big-blocks");
  });

  it("depends on core as a peer, not a copy of its own", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as Record<string, Record<string, string> | undefined>;
    expect(pkg.peerDependencies?.["@leakscope/core"]).toBeDefined();
    expect(pkg.dependencies?.["@leakscope/core"]).toBeUndefined();
    expect(pkg.dependencies?.["@sinclair/typebox"]).toBeUndefined();
  });
});
