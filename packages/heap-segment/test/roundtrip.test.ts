import { describe, expect, it } from "vitest";
import { AllocFlags } from "@leakscope/core";
import { SEGMENT_WRITER_LAYOUTS, segmentWriterHasX86, writePeb, writeSegmentHeap } from "@leakscope/test-utils";
import { heapSegment } from "../src/index.js";
import { actualBlocks, layoutTarget, richAllocations, runOnTarget, sortExpected } from "./helpers.js";

describe("synthetic segment heaps round-trip", () => {
  for (const layout of SEGMENT_WRITER_LAYOUTS) {
    for (const bitness of [32, 64] as const) {
      if (bitness === 32 && !segmentWriterHasX86(layout)) continue;
      // 24H2 x86 has no listing: the 2004 x86 table is taken by proof
      const probed = layout === "24H2" && bitness === 32;
      it(`${layout} x${bitness === 32 ? "86" : "64"}: every block comes back with address, requested size, state and trace`, async () => {
        const base = bitness === 64 ? 0x1_2340_0000 : 0x0050_0000;
        const heap = writeSegmentHeap({ layout, bitness, base, allocations: richAllocations(bitness) });
        const peb = writePeb({ bitness, address: bitness === 64 ? 0x7ff0_0000 : 0x7ffd_0000, heaps: [base] });
        const run = await runOnTarget(layoutTarget(layout, [...heap.pieces, peb], [{ bitness, peb: peb.address }]), [heapSegment()]);
        const codes = run.allDiagnostics().map((d) => d.code);
        expect(codes).toEqual(probed ? ["SEGMENT_LAYOUT_PROBED"] : []);
        expect(actualBlocks(run, base, bitness)).toEqual(sortExpected(heap.expected));
        const h = run.heaps.find((x) => x.address === base)!;
        expect(h.kind).toBe("segment");
        expect(h.incomplete).toBe(false);
        expect(h.summary).toMatchObject({ pageSegments: 2, vsSubsegments: 2, largeBlocks: 3, heapKeyRecovered: true, lfhKeyRecovered: true });
        expect(h.foundBy).toEqual(["peb", "signature-scan"]);
        const st = h.data.segment!;
        expect(st.heapKey).toBe(`0x${heap.heapKey.toString(16).padStart(bitness / 4, "0")}`);
        expect(st.heapKeyConstant).toBe(layout === "24H2" ? "zero" : "a2e64ead");
        expect(st.lfhKey).toBe(heap.lfhKey);
        expect(st.pageSegments).toEqual(heap.pageSegments);
        expect(st.vsSubsegments).toEqual(heap.vsSubsegments);
        expect(st.lfhSubsegments).toEqual(heap.lfhSubsegments);
        // the newest layout's VS context has no SubsegmentList
        expect(st.vsListLength).toBe(layout === "24H2" && bitness === 64 ? 0 : heap.vsSubsegments.length);
        expect(st.largeBlocks).toBe(heap.largeNodes.length);
        expect(st.probed).toBe(probed);
        const users = heap.expected.filter((e) => !e.free && e.kind !== "host");
        expect(h.stats.busy).toEqual({ count: users.length, bytes: users.reduce((n, e) => n + e.requestedSize, 0) });
        expect(users.filter((e) => e.trace !== 0).length).toBe(6);
        // every VS / LFH block points at the subsegment (HOST) block that contains it
        const a = run.allocations;
        let hosted = 0;
        for (let i = 0; i < a.count; i++) {
          if ((a.flags(i) & (AllocFlags.VS | AllocFlags.LFH)) === 0) continue;
          const host = a.host(i);
          expect(a.flags(host) & AllocFlags.HOST).toBe(AllocFlags.HOST);
          expect(a.blockAddress(i)).toBeGreaterThanOrEqual(a.blockAddress(host));
          expect(a.blockAddress(i) + a.blockSize(i)).toBeLessThanOrEqual(a.blockAddress(host) + a.blockSize(host));
          hosted++;
        }
        expect(hosted).toBe(heap.expected.filter((e) => e.kind === "vs" || e.kind === "lfh").length);
      });
    }
  }
});
