import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BufferSource, type ByteSource, Engine, FileSource, minidumpInput } from "@leakscope/core";
import { heapNt } from "@leakscope/heap-nt";
import { writeBenchDump } from "@leakscope/test-utils";
import { heapSegment } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "leakscope-segment-stream-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function walk(source: ByteSource) {
  const engine = new Engine({ plugins: [minidumpInput(), heapNt(), heapSegment()] });
  const open = await engine.openSource(source, { command: "heaps", depth: "walk" });
  const a = open.run.allocations;
  const blocks: number[][] = [];
  for (let i = 0; i < a.count; i++) blocks.push([a.heap(i), a.userAddress(i), a.blockAddress(i), a.requestedSize(i), a.blockSize(i), a.flags(i), a.host(i)]);
  const result = { blocks, diagnostics: open.report.diagnostics.filter((d) => d.severity !== "info"), heaps: open.report.heaps! };
  open.close();
  return result;
}

describe("segment heaps read through a cache far smaller than the heap", () => {
  const file = join(dir, "segment.dmp");
  writeBenchDump("segment", 60_000, file);
  const size = statSync(file).size;

  it("reads each byte about once: the page-segment and VS-subsegment lists are peeked, not cached", async () => {
    // 32 blocks of 128 KiB for a heap of 12 MiB: a block the list passes cached is long evicted
    // when the walk reaches it (the walk read 1.32 times the file when the lists were cached)
    const src = FileSource.open(file, { blockSize: 1 << 17, cacheBlocks: 32 });
    const r = await walk(src);
    expect(r.diagnostics).toEqual([]);
    expect(r.blocks.length).toBeGreaterThan(60_000);
    expect(src.bytesRead).toBeLessThan(1.05 * size);
    // and the same blocks as read from memory
    const m = await walk(new BufferSource(new Uint8Array(readFileSync(file)), "segment.dmp"));
    expect(r.blocks).toEqual(m.blocks);
    expect(r.heaps).toEqual(m.heaps);
  });
});
