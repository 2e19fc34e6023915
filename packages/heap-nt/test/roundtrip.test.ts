import { describe, expect, it } from "vitest";
import { NT_LAYOUT_BUILD, NT_WRITER_LAYOUTS, type NtHeapSpec, type WrittenNtHeap, writeNtHeap, writeNtProcess, writePeb } from "@leakscope/test-utils";
import { heapNt, layoutForBuild } from "../src/index.js";
import { runOnTarget } from "./helpers/dump.js";
import { actualBlocks, richSpec, sortExpected, syntheticTarget } from "./helpers/synthetic.js";

describe("synthetic round trips", () => {
  for (const layout of NT_WRITER_LAYOUTS) {
    for (const bitness of [32, 64] as const) {
      it(`${layout} x${bitness === 32 ? "86" : "64"}: the walk gives exactly the written allocations`, async () => {
        const base = bitness === 64 ? 0x1_2340_0000 : 0x0050_0000;
        const heap = writeNtHeap(richSpec(layout, bitness, base));
        const peb = writePeb({ bitness, address: bitness === 64 ? 0x7ff0_0000 : 0x7ffd_0000, heaps: [base] });
        const run = await runOnTarget(syntheticTarget(layout, [...heap.pieces, peb], [{ bitness, peb: peb.address }]), [heapNt()]);
        expect(run.allDiagnostics().map((d) => d.code)).toEqual([]);
        expect(actualBlocks(run, base, bitness)).toEqual(sortExpected(heap.expected));
        const h = run.heaps[0]!;
        expect(h.foundBy).toEqual(["peb", "signature-scan"]);
        const nt = h.data.nt!;
        expect(nt.layout).toBe(layoutForBuild(NT_LAYOUT_BUILD[layout]));
        expect(nt.probed).toBe(false);
        expect(nt.freeListAgrees).toBe(true);
        expect(nt.freeListLength).toBe(heap.freeList.length);
        expect(nt.segments).toEqual(heap.segments.map((s) => s.base));
        for (const [i, s] of heap.segments.entries()) {
          const w = nt.segmentWalks[i]!;
          expect(w.endedAtEnd).toBe(true);
          expect(w.ucrBytes).toBe(s.ucrBytes);
          expect(w.blockBytes + w.ucrBytes).toBe(s.lastValidEntry - s.firstEntry);
        }
        const hosts = heap.expected.filter((e) => e.kind === "host").map((e) => e.blockAddress);
        expect(nt.hostBlocks.map((i) => run.allocations.blockAddress(i))).toEqual(hosts);
        const users = heap.expected.filter((e) => e.kind === "user" || e.kind === "virtual");
        expect(h.stats.busy).toEqual({ count: users.length, bytes: users.reduce((s, e) => s + e.requestedSize, 0) });
        const free = heap.expected.filter((e) => e.kind === "free");
        expect(h.stats.free).toEqual({ count: free.length, bytes: free.reduce((s, e) => s + e.blockSize, 0) });
        expect(nt.encoding.every((b) => b !== 0)).toBe(true);
        // the spec really exercises every case
        const kinds = new Set(heap.expected.map((e) => e.kind));
        expect([...kinds].sort()).toEqual(["free", "host", "internal", "user", "virtual"]);
        expect(heap.expected.filter((e) => e.trace !== 0 && !e.traceIndex)).toHaveLength(2);
        expect(heap.expected.filter((e) => e.traceIndex)).toHaveLength(1);
        expect(heap.expected.some((e) => e.kind === "user" && e.blockSize - e.requestedSize >= 0x3f)).toBe(true);
      });
    }
  }

  for (const layout of NT_WRITER_LAYOUTS) {
    it(`${layout} WoW64 pair: both PEBs' heaps are walked with their own bitness`, async () => {
      const rich = ({ layout: _l, bitness: _b, ...rest }: NtHeapSpec) => rest;
      const proc = writeNtProcess({
        layout,
        native: {
          bitness: 64,
          peb: 0x7efd_f000,
          heaps: [rich(richSpec(layout, 64, 0x2_0000_0000, 1)), { base: 0x2_1000_0000, segments: [{ blocks: [{ size: 10 }, { size: 20, free: true }] }] }],
        },
        wow64: {
          peb: 0x7efd_e000,
          heaps: [rich(richSpec(layout, 32, 0x0070_0000, 2)), { base: 0x0046_0000, segments: [{ blocks: [{ size: 5 }, { size: 6 }] }] }],
        },
      });
      const [h64, h64b, h32, h32b] = proc.heaps as [WrittenNtHeap, WrittenNtHeap, WrittenNtHeap, WrittenNtHeap];
      const run = await runOnTarget(syntheticTarget(layout, proc.memory, proc.views), [heapNt()]);
      expect(run.allDiagnostics().map((d) => d.code)).toEqual([]);
      for (const h of [h64, h64b, h32, h32b]) expect(actualBlocks(run, h.address, h.bitness)).toEqual(sortExpected(h.expected));
      expect(run.heaps.map((h) => [h.address, h.bitness, h.foundBy[0]])).toEqual([
        [h64.address, 64, "peb"],
        [h64b.address, 64, "peb"],
        [h32.address, 32, "peb32"],
        [h32b.address, 32, "peb32"],
      ]);
    });
  }
});
