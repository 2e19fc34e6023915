import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BufferSource, type ByteSource, type ByteWindow, Engine, FileSource, type Translation, minidumpInput } from "@leakscope/core";
import { heapNt } from "@leakscope/heap-nt";
import { allocationRows, writeBenchDump } from "@leakscope/test-utils";
import { heapSegment } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "leakscope-segment-stream-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function walk(source: ByteSource) {
  const engine = new Engine({ plugins: [minidumpInput(), heapNt(), heapSegment()] });
  const open = await engine.openSource(source, { command: "heaps", depth: "walk" });
  const result = { blocks: allocationRows(open.run.allocations), diagnostics: open.report.diagnostics.filter((d) => d.severity !== "info"), heaps: open.report.heaps! };
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

/** A file source that notes where its uncached reads (the scans' probes) go. */
class PeekLog implements ByteSource {
  readonly peeks: [offset: number, length: number][] = [];
  constructor(private readonly inner: FileSource) {}
  get name(): string {
    return this.inner.name;
  }
  get size(): number {
    return this.inner.size;
  }
  window(offset: number, out: ByteWindow): boolean {
    return this.inner.window(offset, out);
  }
  readInto(offset: number, dst: Uint8Array, dstOffset: number, length: number): number {
    return this.inner.readInto(offset, dst, dstOffset, length);
  }
  peek(offset: number, dst: Uint8Array, length: number): number {
    this.peeks.push([offset, length]);
    return this.inner.peek(offset, dst, length);
  }
  close(): void {
    this.inner.close();
  }
}

describe("discovery of segment heaps a PEB lists", () => {
  const file = join(dir, "segment-scan.dmp");
  writeBenchDump("segment", 60_000, file);

  it("leaves their page segments to the walk: no scan probes them", async () => {
    const engine = new Engine({ plugins: [minidumpInput(), heapNt(), heapSegment()] });
    // where the page segments lie in the file
    const walked = await engine.openSource(FileSource.open(file), { command: "heaps", depth: "walk" });
    const spans: [number, number][] = [];
    for (const h of walked.run.heaps) {
      for (const seg of h.data.segment?.pageSegments ?? []) {
        const tr = { source: undefined, fileOffset: 0, contiguous: 0 } as unknown as Translation;
        expect(h.view.space.translate(seg, tr)).toBe(true);
        spans.push([tr.fileOffset, tr.fileOffset + Math.min(tr.contiguous, 1 << 20)]);
      }
    }
    walked.close();
    expect(spans.length).toBeGreaterThan(8);
    const src = new PeekLog(FileSource.open(file));
    const open = await engine.openSource(src, { command: "heaps", depth: "discover" });
    expect(open.run.heaps.filter((h) => h.kind === "segment").length).toBeGreaterThan(0);
    open.close();
    // heap-nt probes 0x100 bytes per 64 KiB, heap-segment 0x20 per page: none inside a page
    // segment (heap-nt probed each 64 KiB of them when only heap-segment's own scan skipped them)
    const probes = src.peeks.filter(([, n]) => n >= 0x20);
    expect(probes.length).toBeGreaterThan(0);
    const inside = probes.filter(([o]) => spans.some(([a, b]) => o >= a && o < b));
    expect(inside).toEqual([]);
  });
});

describe("the VS subsegment list", () => {
  const file = join(dir, "segment-vs.dmp");
  writeBenchDump("segment", 60_000, file);

  it("is checked from the links the walk read, not by reading each subsegment out of order first", async () => {
    const src = new PeekLog(FileSource.open(file));
    const engine = new Engine({ plugins: [minidumpInput(), heapNt(), heapSegment()] });
    const open = await engine.openSource(src, { command: "heaps", depth: "walk" });
    const vs: [number, number][] = [];
    let listed = 0;
    for (const h of open.run.heaps) {
      const st = h.data.segment;
      if (!st) continue;
      listed += st.vsListLength;
      for (const v of st.vsSubsegments) {
        const tr = { source: undefined, fileOffset: 0, contiguous: 0 } as unknown as Translation;
        expect(h.view.space.translate(v, tr)).toBe(true);
        vs.push([tr.fileOffset, tr.fileOffset + 16]);
      }
    }
    expect(open.report.diagnostics.filter((d) => d.severity !== "info")).toEqual([]);
    open.close();
    // the list was followed in full and agrees with the descriptors (no SEGMENT_VS_LIST_MISMATCH)
    expect(vs.length).toBeGreaterThan(8);
    expect(listed).toBe(vs.length);
    // and no link of it was read on its own (each was peeked, before the walk, until now)
    expect(src.peeks.filter(([o]) => vs.some(([a, b]) => o >= a && o < b))).toEqual([]);
  });
});
