import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AllocFlags, BufferSource, type ByteSource, Engine, FileSource, type LeakscopePlugin, minidumpInput } from "@leakscope/core";
import { heapNt } from "@leakscope/heap-nt";
import { allocationRows, writeBenchDump } from "@leakscope/test-utils";
import { heapLfh } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "leakscope-lfh-stream-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function walk(source: ByteSource, plugins: LeakscopePlugin[]) {
  const engine = new Engine({ plugins: [minidumpInput(), ...plugins] });
  const open = await engine.openSource(source, { command: "heaps", depth: "walk" });
  const result = { blocks: allocationRows(open.run.allocations), diagnostics: open.report.diagnostics.filter((d) => d.severity !== "info"), heaps: open.report.heaps! };
  open.close();
  return result;
}

describe("LFH hosts walked as the backend walk finds them", () => {
  const file = join(dir, "lfh.dmp");
  writeBenchDump("lfh", 30_000, file);
  const size = statSync(file).size;

  it("reads each byte of an LFH heap once, even through a cache far smaller than the heap", async () => {
    // 4 blocks of 128 KiB: the backend walk reads the hosts' bytes with their headers, and they are
    // long gone from the cache when it ends
    const src = FileSource.open(file, { blockSize: 1 << 17, cacheBlocks: 4 });
    const r = await walk(src, [heapNt(), heapLfh()]);
    expect(r.diagnostics).toEqual([]);
    expect(r.blocks.length).toBeGreaterThan(30_000);
    // walking the subsegments after the backend walk read twice the file (6.9 MB for 3.4 MB)
    expect(src.bytesRead).toBeLessThan(1.25 * size);
    expect(src.bytesRead).toBeGreaterThan(0.9 * size);
  });

  it("gives the same blocks, in the same order, whatever the plugin order and the source", async () => {
    const bytes = new Uint8Array(readFileSync(file));
    const a = await walk(new BufferSource(bytes, "lfh.dmp"), [heapNt(), heapLfh()]);
    const b = await walk(new BufferSource(bytes, "lfh.dmp"), [heapLfh(), heapNt()]);
    const c = await walk(FileSource.open(file, { blockSize: 1 << 17, cacheBlocks: 4 }), [heapNt(), heapLfh()]);
    expect(a.diagnostics).toEqual([]);
    expect(b.blocks).toEqual(a.blocks);
    expect(c.blocks).toEqual(a.blocks);
    expect(b.heaps).toEqual(a.heaps);
    const lfhBlocks = a.blocks.filter((x) => (x[5]! & AllocFlags.LFH) !== 0).length;
    expect(a.heaps.reduce((n, h) => n + Number(h.summary.lfhBusy ?? 0) + Number(h.summary.lfhFree ?? 0), 0)).toBe(lfhBlocks);
  });
});
