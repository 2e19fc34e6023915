import { describe, expect, it } from "vitest";
import { Rng, writePeb, writeSegmentHeap } from "@leakscope/test-utils";
import { heapSegment, segmentCodes } from "../src/index.js";
import { layoutTarget, richAllocations, runOnTarget } from "./helpers.js";

// Hostile input: random damage to the structures the walker reads (heap header, page-segment
// descriptors, subsegment headers, chunk headers, tree nodes) must never throw or hang; every
// diagnostic uses a declared code and the block count stays within what the memory can hold.
describe("fuzz: damaged segment heaps", () => {
  for (const bitness of [32, 64] as const) {
    it(`x${bitness === 32 ? "86" : "64"}: 150 seeded mutations never crash and report only declared codes`, async () => {
      const base = bitness === 64 ? 0x1_2340_0000 : 0x0050_0000;
      const layouts = ["1809", "21H2", "24H2"] as const;
      const rng = new Rng(0x5e9 + bitness);
      const declared = new Set(Object.keys(segmentCodes));
      let damagedRuns = 0;
      for (let c = 0; c < 150; c++) {
        const layout = layouts[c % layouts.length]!;
        const heap = writeSegmentHeap({ layout, bitness, base, allocations: richAllocations(bitness, c % 3) });
        const peb = writePeb({ bitness, address: bitness === 64 ? 0x7ff0_0000 : 0x7ffd_0000, heaps: [base] });
        // targets: the header page, the first 0x3000 bytes of each page segment (descriptors and
        // subsegment headers), the VS/LFH subsegment starts, the large-node area
        const hot = [
          { at: base, len: 0x4000 },
          ...heap.pageSegments.map((s) => ({ at: s, len: 0x3000 })),
          ...heap.vsSubsegments.map((s) => ({ at: s, len: 0x200 })),
          ...heap.lfhSubsegments.map((s) => ({ at: s, len: 0x80 })),
        ];
        const flips = 1 + rng.below(6);
        for (let k = 0; k < flips; k++) {
          const h = rng.pick(hot);
          const a = h.at + rng.below(h.len);
          const p = heap.pieces.find((q) => a >= q.address && a < q.address + q.bytes.length)!;
          const mode = rng.below(3);
          const i = a - p.address;
          if (mode === 0) p.bytes[i] = p.bytes[i]! ^ (1 << rng.below(8));
          else if (mode === 1) p.bytes[i] = rng.below(256);
          else for (let j = 0; j < 4 && i + j < p.bytes.length; j++) p.bytes[i + j] = 0xff;
        }
        const run = await runOnTarget(layoutTarget(layout, [...heap.pieces, peb], [{ bitness, peb: peb.address }]), [heapSegment()]);
        const diags = run.allDiagnostics();
        for (const d of diags) expect(declared.has(d.code) || d.code === "DIAGNOSTICS_SUPPRESSED").toBe(true);
        expect(run.allDiagnostics().some((d) => d.code === "ALLOCATOR_WALK_FAILED")).toBe(false);
        const bytes = heap.pieces.reduce((n, p) => n + p.bytes.length, 0);
        expect(run.allocations.count).toBeLessThan(bytes / 8);
        if (diags.length > 0) damagedRuns++;
      }
      expect(damagedRuns).toBeGreaterThan(20);
    });
  }
});
