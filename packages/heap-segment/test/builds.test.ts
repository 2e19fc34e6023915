import { describe, expect, it } from "vitest";
import { segmentWriterHasX86, segmentWriterLayoutForBuild, writePeb, writeSegmentHeap } from "@leakscope/test-utils";
import { heapSegment } from "../src/index.js";
import { actualBlocks, richAllocations, runOnTarget, sortExpected, syntheticTarget } from "./helpers.js";

/** The walker's table per build (layout-evidence.md D3-D5). */
const tableOf = (build: number, bitness: 32 | 64): string =>
  build < 17134 ? "1709" : bitness === 32 ? "2004" : build < 17763 ? "1803" : build < 22000 ? "2004" : build < 26100 ? "win11" : "newest";

function written(build: number, bitness: 32 | 64) {
  const base = bitness === 64 ? 0x1_2340_0000 : 0x0050_0000;
  const heap = writeSegmentHeap({ layout: segmentWriterLayoutForBuild(build), build, bitness, base, allocations: richAllocations(bitness) });
  const peb = writePeb({ bitness, address: bitness === 64 ? 0x7ff0_0000 : 0x7ffd_0000, heaps: [base] });
  return { base, heap, memory: [...heap.pieces, peb], peb: peb.address };
}

async function walk(build: number, bitness: 32 | 64, label = build) {
  const w = written(build, bitness);
  const run = await runOnTarget(syntheticTarget(label, w.memory, [{ bitness, peb: w.peb }]), [heapSegment()]);
  return { ...w, run, codes: [...new Set(run.allDiagnostics().map((d) => d.code))].sort() };
}

describe("per build: segment heaps written with that build's layout, walked exactly", () => {
  for (const build of [16299, 17134, 17763, 19041, 22000, 22621, 26100]) {
    for (const bitness of [32, 64] as const) {
      if (bitness === 32 && !segmentWriterHasX86(segmentWriterLayoutForBuild(build))) continue;
      it(`${build} x${bitness === 32 ? "86" : "64"}: VS, LFH, backend and large blocks, busy/free counts and requested sizes`, async () => {
        const { run, codes, heap, base } = await walk(build, bitness);
        // 26100 x86 has no listing: the 2004 x86 table is taken by proof and said so
        expect(codes).toEqual(build >= 26100 && bitness === 32 ? ["SEGMENT_LAYOUT_PROBED"] : []);
        const h = run.heaps.find((x) => x.address === base)!;
        expect(h.incomplete).toBe(false);
        expect(h.data.segment!.layout).toBe(tableOf(build, bitness));
        expect(actualBlocks(run, base, bitness)).toEqual(sortExpected(heap.expected));
        const users = heap.expected.filter((e) => !e.free && e.kind !== "host");
        expect(h.stats.busy).toEqual({ count: users.length, bytes: users.reduce((n, e) => n + e.requestedSize, 0) });
        const byKind = (k: string, free: boolean) => heap.expected.filter((e) => e.kind === k && e.free === free).length;
        // the spec's own figures, so a writer that wrote nothing cannot pass
        expect([byKind("vs", false), byKind("lfh", false), byKind("backend", false), byKind("large", false)]).toEqual([6, 9, 3, 3]);
        expect(byKind("lfh", true)).toBeGreaterThan(0);
        expect(h.summary).toMatchObject({ largeBlocks: 3, heapKeyRecovered: true, lfhKeyRecovered: true });
      });
    }
  }
});

describe("mislabelled builds: walked right by proof and named, never with a contradicted layout", () => {
  const cases: [written: number, label: number][] = [
    [16299, 17134],
    [17134, 19041],
    [19041, 22000],
    [22000, 19041],
    [22000, 26100],
    [26100, 22621],
  ];
  for (const [wrote, label] of cases) {
    it(`written for ${wrote}, labelled ${label} (x64): the ${tableOf(wrote, 64)} table is proven and named`, async () => {
      const { run, codes, heap, base } = await walk(wrote, 64, label);
      expect(codes).toContain("SEGMENT_LAYOUT_PROBED");
      const d = run.allDiagnostics().find((x) => x.code === "SEGMENT_LAYOUT_PROBED")!;
      expect(d.message).toContain(String(label));
      expect(d.message).toContain(tableOf(wrote, 64));
      const h = run.heaps.find((x) => x.address === base)!;
      expect(h.data.segment!.layout).toBe(tableOf(wrote, 64));
      expect(h.data.segment!.probed).toBe(true);
      expect(actualBlocks(run, base, 64)).toEqual(sortExpected(heap.expected));
    });
  }

  it("a VS subsegment signature no table accepts: every table is named with what contradicts it; nothing is walked", async () => {
    const w = written(22000, 64);
    // move every VS subsegment's signature to where no layout reads it
    for (const V of w.heap.vsSubsegments) {
      const p = w.memory.find((m) => V >= m.address && V < m.address + m.bytes.length)!;
      const dv = new DataView(p.bytes.buffer, p.bytes.byteOffset);
      dv.setUint16(V - p.address + 0x22, 0);
      dv.setUint16(V - p.address + 0x24, 0);
    }
    const run = await runOnTarget(syntheticTarget(22000, w.memory, [{ bitness: 64, peb: w.peb }]), [heapSegment()]);
    expect(run.allDiagnostics().map((d) => d.code)).toEqual(["SEGMENT_LAYOUT_UNKNOWN"]);
    const msg = run.allDiagnostics()[0]!.message;
    expect(msg).toContain("22000");
    expect(msg).toContain("win11: _HEAP_VS_SUBSEGMENT");
    expect(msg).toContain("newest: _HEAP_VS_SUBSEGMENT");
    expect(msg).toContain("2004: SegContexts");
    const h = run.heaps.find((x) => x.address === w.base)!;
    expect(h.incomplete).toBe(true);
    expect(actualBlocks(run, w.base, 64)).toEqual([]);
  });
});
