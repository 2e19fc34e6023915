import { describe, expect, it } from "vitest";
import { AllocFlags } from "@leakscope/core";
import { type ExpectedSegmentBlock, writeHeapDescriptors, writePeb, writeSegmentHeap } from "@leakscope/test-utils";
import { heapSegment } from "../src/index.js";
import { actualBlocks, layoutTarget, peek32, poke, richAllocations, runOnTarget, sortExpected, syntheticTarget } from "./helpers.js";

const B64 = 0x1_2340_0000;
const B32 = 0x0050_0000;

function setup(layout: "1809" | "21H2" | "22H2" | "24H2", bitness: 32 | 64) {
  const base = bitness === 64 ? B64 : B32;
  const heap = writeSegmentHeap({ layout, bitness, base, allocations: richAllocations(bitness) });
  const peb = writePeb({ bitness, address: bitness === 64 ? 0x7ff0_0000 : 0x7ffd_0000, heaps: [base] });
  const pieces = [...heap.pieces, peb];
  const go = () => runOnTarget(layoutTarget(layout, pieces, [{ bitness, peb: peb.address }]), [heapSegment()]);
  return { base, heap, pieces, go };
}

const codesOf = (run: Awaited<ReturnType<ReturnType<typeof setup>["go"]>>) => [...new Set(run.allDiagnostics().map((d) => d.code))].sort();
const inRange = (e: ExpectedSegmentBlock, start: number, size: number) => e.blockAddress >= start && e.blockAddress < start + size;

describe("corruption: codes are raised and the rest is kept", () => {
  for (const bitness of [32, 64] as const) {
    const x = bitness === 64 ? "x64" : "x86";

    it(`${x}: a page segment with a bad signature is skipped, the other segment and large blocks are kept`, async () => {
      const s = setup("22H2", bitness);
      const seg1 = s.heap.pageSegments[1]!;
      poke(s.pieces, seg1 + s.heap.offsets.pageSegmentSignature, peek32(s.pieces, seg1 + s.heap.offsets.pageSegmentSignature) ^ 0x1000, 4);
      const run = await s.go();
      expect(codesOf(run)).toEqual(["SEGMENT_PAGE_SEGMENT_BAD", "SEGMENT_VS_LIST_MISMATCH"]);
      expect(run.heaps[0]!.incomplete).toBe(true);
      const want = s.heap.expected.filter((e) => !inRange(e, seg1, 0x100000));
      expect(actualBlocks(run, s.base, bitness)).toEqual(sortExpected(want));
      expect(want.some((e) => e.kind === "large")).toBe(true);
    });

    it(`${x}: a broken page-segment Blink stops that list with a code; blocks before it are kept`, async () => {
      const s = setup("21H2", bitness);
      const seg1 = s.heap.pageSegments[1]!;
      poke(s.pieces, seg1 + bitness / 8, 0x1234_5000, bitness === 64 ? 8 : 4);
      const run = await s.go();
      expect(codesOf(run)).toEqual(["SEGMENT_LIST_BROKEN", "SEGMENT_VS_LIST_MISMATCH"]);
      const want = s.heap.expected.filter((e) => !inRange(e, seg1, 0x100000));
      expect(actualBlocks(run, s.base, bitness)).toEqual(sortExpected(want));
    });

    it(`${x}: a broken VS subsegment list link is reported; the range descriptors still give every block`, async () => {
      const s = setup("1809", bitness);
      const v1 = s.heap.vsSubsegments[1]!;
      poke(s.pieces, v1 + bitness / 8, 0xdead_0000, 4);
      const run = await s.go();
      expect(codesOf(run)).toEqual(["SEGMENT_LIST_BROKEN", "SEGMENT_VS_LIST_MISMATCH"]);
      expect(actualBlocks(run, s.base, bitness)).toEqual(sortExpected(s.heap.expected));
    });

    it(`${x}: a cycle in the large-block RB tree is reported and each large block is listed once`, async () => {
      const s = setup("22H2", bitness);
      const nodes = s.heap.largeNodes;
      // the writer builds a balanced tree: node 1 is the root, 0 and 2 its leaves
      poke(s.pieces, nodes[2]!.node + bitness / 8, nodes[1]!.node, bitness === 64 ? 8 : 4);
      const run = await s.go();
      expect(codesOf(run)).toEqual(["SEGMENT_LARGE_TREE_BAD"]);
      expect(actualBlocks(run, s.base, bitness)).toEqual(sortExpected(s.heap.expected));
    });

    it(`${x}: a VS chunk with a garbage header ends that subsegment's walk, everything else is kept`, async () => {
      const s = setup("21H2", bitness);
      const vsBusy = s.heap.expected.filter((e) => e.kind === "vs" && inRange(e, s.heap.vsSubsegments[0]!, 0x10000));
      const third = vsBusy[2]!;
      poke(s.pieces, third.blockAddress, 0x7fff_fff0, 4);
      const run = await s.go();
      expect(codesOf(run)).toEqual(["SEGMENT_VS_CHUNK_BAD"]);
      const want = s.heap.expected.filter((e) => !(e.kind === "vs" && e.blockAddress >= third.blockAddress && inRange(e, s.heap.vsSubsegments[0]!, 0x10000)));
      expect(actualBlocks(run, s.base, bitness)).toEqual(sortExpected(want));
    });

    it(`${x}: a VS subsegment failing Signature ^ Size ^ 0x2BED is skipped`, async () => {
      const s = setup("22H2", bitness);
      const v0 = s.heap.vsSubsegments[0]!;
      poke(s.pieces, v0 + (bitness === 64 ? 0x22 : 0x16), 0x8001, 2);
      const run = await s.go();
      expect(codesOf(run)).toEqual(["SEGMENT_VS_SUBSEGMENT_BAD"]);
      const want = s.heap.expected.filter((e) => !(e.kind === "vs" && inRange(e, v0, 0x10000)));
      expect(actualBlocks(run, s.base, bitness)).toEqual(sortExpected(want));
    });

    it(`${x}: an LFH subsegment whose BlockOffsets do not decode is skipped, the other LFH subsegments are walked`, async () => {
      const s = setup("24H2", bitness);
      const l0 = s.heap.lfhSubsegments[0]!;
      poke(s.pieces, l0 + (bitness === 64 ? 0x28 : 0x18), peek32(s.pieces, l0 + (bitness === 64 ? 0x28 : 0x18)) ^ 0x30, 4);
      const run = await s.go();
      expect(codesOf(run)).toEqual(bitness === 64 ? ["SEGMENT_LFH_SUBSEGMENT_BAD"] : ["SEGMENT_LAYOUT_PROBED", "SEGMENT_LFH_SUBSEGMENT_BAD"]);
      const host = s.heap.expected.find((e) => e.kind === "host" && e.blockAddress === l0)!;
      const inL0 = (e: ExpectedSegmentBlock) => e.kind === "lfh" && inRange(e, l0, host.blockSize);
      const want = s.heap.expected.filter((e) => !inL0(e));
      expect(want.length).toBeLessThan(s.heap.expected.length);
      expect(want.some((e) => e.kind === "lfh" && !e.free)).toBe(true);
      expect(actualBlocks(run, s.base, bitness)).toEqual(sortExpected(want));
      expect(run.heaps[0]!.data.segment!.lfhKey).toBe(s.heap.lfhKey);
    });
  }

  it("SegContexts without back-pointers: the layout is unknown, the heap is not walked", async () => {
    const s = setup("21H2", 64);
    const o = s.heap.offsets;
    poke(s.pieces, s.base + o.segContexts + o.ctxHeap, 0, 8);
    poke(s.pieces, s.base + o.segContexts + o.segContextSize + o.ctxHeap, 0, 8);
    const run = await s.go();
    expect(codesOf(run)).toEqual(["SEGMENT_LAYOUT_UNKNOWN", "SEGMENT_SCAN_UNCONFIRMED"]);
    expect(run.heaps[0]!.incomplete).toBe(true);
    expect(run.allocations.count).toBe(0);
  });

  it("no LFH subsegment has a valid bucket owner: every table is contradicted, named, the heap is not walked", async () => {
    const s = setup("22H2", 64);
    for (const l of s.heap.lfhSubsegments) poke(s.pieces, l + 0x10, 0, 8);
    const run = await s.go();
    expect(codesOf(run)).toEqual(["SEGMENT_LAYOUT_UNKNOWN"]);
    const d = run.allDiagnostics().find((x) => x.code === "SEGMENT_LAYOUT_UNKNOWN")!;
    expect(d.message).toContain("22621");
    expect(d.message).toContain("win11: _HEAP_LFH_SUBSEGMENT");
    expect(run.heaps[0]!.incomplete).toBe(true);
    expect(actualBlocks(run, s.base, 64)).toEqual([]);
  });

  it("one LFH subsegment without a valid owner: the layout is still proven by the others, that subsegment is skipped", async () => {
    const s = setup("22H2", 64);
    const l0 = s.heap.lfhSubsegments[0]!;
    poke(s.pieces, l0 + 0x10, 0, 8);
    const run = await s.go();
    expect(codesOf(run)).toEqual(["SEGMENT_LFH_SUBSEGMENT_BAD"]);
    const host = s.heap.expected.find((e) => e.kind === "host" && e.blockAddress === l0)!;
    const want = s.heap.expected.filter((e) => !(e.kind === "lfh" && inRange(e, l0, host.blockSize)));
    expect(actualBlocks(run, s.base, 64)).toEqual(sortExpected(want));
  });

  it("an unused-bytes trailer larger than its VS chunk gives a CORRUPT block with its usable size", async () => {
    const s = setup("22H2", 32);
    const victim = s.heap.expected.find((e) => e.kind === "vs" && !e.free && e.trace !== 0)!;
    poke(s.pieces, victim.blockAddress + victim.blockSize - 2, 0x1fff, 2);
    const run = await s.go();
    expect(codesOf(run)).toEqual(["SEGMENT_UNUSED_BYTES_BAD"]);
    const got = actualBlocks(run, s.base, 32).find((e) => e.blockAddress === victim.blockAddress)!;
    expect(got.requestedSize).toBe(victim.blockSize - 8);
    const a = run.allocations;
    let flags = 0;
    for (let i = 0; i < a.count; i++) if (a.blockAddress(i) === victim.blockAddress && a.heap(i) === 0) flags = a.flags(i);
    expect(flags & (AllocFlags.CORRUPT | AllocFlags.SIZE_INEXACT)).toBe(AllocFlags.CORRUPT | AllocFlags.SIZE_INEXACT);
  });

  it("a segment heap whose header is not captured is reported and not walked", async () => {
    const s = setup("22H2", 64);
    const header = s.pieces.find((p) => p.address === s.base)!;
    const cut = { address: s.base, bytes: header.bytes.subarray(0, 0x40) };
    const pieces = s.pieces.map((p) => (p === header ? cut : p));
    const run = await runOnTarget(layoutTarget("22H2", pieces, [{ bitness: 64, peb: 0x7ff0_0000 }]), [heapSegment()]);
    // the PEB registers it and the walker reports the gap; the scan does not confirm it
    expect(codesOf(run)).toEqual(["SEGMENT_HEAP_NOT_CAPTURED", "SEGMENT_SCAN_UNCONFIRMED"]);
    expect(run.heaps.map((h) => h.foundBy)).toEqual([["peb"]]);
    expect(run.heaps[0]!.incomplete).toBe(true);
    expect(run.allocations.count).toBe(0);
  });

  it("a stray 0xDDEEDDEE in user data is not taken for a heap by the scan", async () => {
    const page = new Uint8Array(0x2000);
    new DataView(page.buffer).setUint32(0x10, 0xddeeddee, true);
    new DataView(page.buffer).setUint32(0x1008, 0xddeeddee, true);
    const run = await runOnTarget(syntheticTarget(22621, [{ address: 0x2_0000_0000, bytes: page }], [{ bitness: 64 }]), [heapSegment()]);
    expect(run.heaps).toEqual([]);
    expect(run.allDiagnostics().map((d) => [d.code, d.location?.address])).toEqual([
      ["SEGMENT_SCAN_UNCONFIRMED", "0x200000000"],
      ["SEGMENT_SCAN_UNCONFIRMED", "0x200001000"],
    ]);
  });

  it("a PEB heap whose memory is missing is reported as unclassified; nothing is registered", async () => {
    const peb = writePeb({ bitness: 64, address: 0x7ff0_0000, heaps: [0x2_0000_0000, 0x2_1000_0000] });
    const run = await runOnTarget(syntheticTarget(19044, [peb], [{ bitness: 64, peb: peb.address }]), [heapSegment()]);
    expect(run.allDiagnostics().map((d) => d.code)).toEqual(["SEGMENT_HEAP_UNCLASSIFIED", "SEGMENT_HEAP_UNCLASSIFIED"]);
    expect(run.heaps).toEqual([]);
  });
});

describe("discovery and layouts", () => {
  it("24H2 x64: heaps missing from the PEB are found through the descriptor list and the scan", async () => {
    const a = writeSegmentHeap({ layout: "24H2", bitness: 64, base: 0x2_0000_0000, allocations: richAllocations(64) });
    const b = writeSegmentHeap({ layout: "24H2", bitness: 64, base: 0x3_0000_0000, allocations: richAllocations(64, 1), heapKey: 0x1111_2222_3333_4444n });
    const desc = writeHeapDescriptors(0x7ff1_0000, [a.address, b.address]);
    poke(a.pieces, a.address + a.offsets.userContext, desc.address, 8);
    const peb = writePeb({ bitness: 64, address: 0x7ff0_0000, heaps: [a.address] });
    const run = await runOnTarget(layoutTarget("24H2", [...a.pieces, ...b.pieces, desc, peb], [{ bitness: 64, peb: peb.address }]), [heapSegment()]);
    expect(run.heaps.map((h) => [h.address, h.foundBy])).toEqual([
      [a.address, ["peb", "descriptor-list", "signature-scan"]],
      [b.address, ["descriptor-list", "signature-scan"]],
    ]);
    expect(actualBlocks(run, a.address, 64)).toEqual(sortExpected(a.expected));
    expect(actualBlocks(run, b.address, 64)).toEqual(sortExpected(b.expected));
  });

  it("claims the page segments of the heaps the PEB lists, so the page scan skips them and still finds the others", async () => {
    const a = writeSegmentHeap({ layout: "21H2", bitness: 64, base: 0x2_0000_0000, allocations: richAllocations(64) });
    const b = writeSegmentHeap({ layout: "21H2", bitness: 64, base: 0x3_0000_0000, allocations: richAllocations(64, 1) });
    expect(a.pageSegments.length).toBeGreaterThan(0);
    const peb = writePeb({ bitness: 64, address: 0x7ff0_0000, heaps: [a.address] });
    const run = await runOnTarget(layoutTarget("21H2", [...a.pieces, ...b.pieces, peb], [{ bitness: 64, peb: peb.address }]), [heapSegment()]);
    expect(run.allDiagnostics()).toEqual([]);
    // 1 MiB page segments of the 4 KiB-unit context, merged where adjacent
    const claimed = run.claimedMemory();
    const covered = (va: number) => Array.from(claimed.starts).some((st, i) => va >= st && va < claimed.ends[i]!);
    for (const seg of a.pageSegments) {
      expect(covered(seg)).toBe(true);
      expect(covered(seg + 0xfffff)).toBe(true);
    }
    expect(covered(a.address)).toBe(false);
    expect(b.pageSegments.some(covered)).toBe(false);
    expect(run.heaps.map((h) => [h.address, h.foundBy])).toEqual([
      // the heap header is not in a page segment: the scan still confirms it
      [a.address, ["peb", "signature-scan"]],
      [b.address, ["signature-scan"]],
    ]);
    expect(actualBlocks(run, a.address, 64)).toEqual(sortExpected(a.expected));
    expect(actualBlocks(run, b.address, 64)).toEqual(sortExpected(b.expected));
    // a page segment whose Blink does not name the list head is not claimed (nor those after it)
    poke(a.pieces, a.pageSegments[0]! + 8, 0x1234_5000, 8);
    const bad = await runOnTarget(layoutTarget("21H2", [...a.pieces, ...b.pieces, peb], [{ bitness: 64, peb: peb.address }]), [heapSegment()]);
    expect(bad.claimedMemory().starts.length).toBe(0);
    expect(bad.heaps.map((h) => h.address)).toEqual([a.address, b.address]);
  });

  it("WoW64: the 64-bit and 32-bit PEBs' segment heaps are each walked with their own bitness", async () => {
    const h64 = writeSegmentHeap({ layout: "21H2", bitness: 64, base: 0x2_0000_0000, allocations: richAllocations(64) });
    const h32 = writeSegmentHeap({ layout: "21H2", bitness: 32, base: 0x0070_0000, allocations: richAllocations(32, 2) });
    const peb64 = writePeb({ bitness: 64, address: 0x7efd_f000, heaps: [h64.address] });
    const peb32 = writePeb({ bitness: 32, address: 0x7efd_e000, heaps: [h32.address] });
    const run = await runOnTarget(
      layoutTarget("21H2", [...h64.pieces, ...h32.pieces, peb64, peb32], [
        { bitness: 64, peb: peb64.address },
        { bitness: 32, peb: peb32.address, role: "wow64" },
      ]),
      [heapSegment()],
    );
    expect(run.allDiagnostics()).toEqual([]);
    expect(run.heaps.map((h) => [h.address, h.bitness, h.foundBy[0], h.label])).toEqual([
      [h64.address, 64, "peb", "process heap"],
      [h32.address, 32, "peb32", "process heap (32-bit)"],
    ]);
    expect(actualBlocks(run, h64.address, 64)).toEqual(sortExpected(h64.expected));
    expect(actualBlocks(run, h32.address, 32)).toEqual(sortExpected(h32.expected));
  });

  for (const bitness of [32, 64] as const) {
    it(`x${bitness === 32 ? "86" : "64"}: an unknown build is walked by probing; a 2004-layout heap on a 24H2 build reports the constant mismatch`, async () => {
      const base = bitness === 64 ? B64 : B32;
      const heap = writeSegmentHeap({ layout: "22H2", bitness, base, allocations: richAllocations(bitness) });
      const unknown = await runOnTarget(syntheticTarget(0, heap.pieces, [{ bitness }]), [heapSegment()]);
      expect(codesOf(unknown)).toEqual(["SEGMENT_LAYOUT_PROBED"]);
      expect(actualBlocks(unknown, base, bitness)).toEqual(sortExpected(heap.expected));
      const late = await runOnTarget(syntheticTarget(26100, heap.pieces, [{ bitness }]), [heapSegment()]);
      expect(codesOf(late)).toEqual(["SEGMENT_KEY_CONSTANT_MISMATCH", "SEGMENT_LAYOUT_PROBED"]);
      expect(late.heaps[0]!.data.segment!.heapKeyConstant).toBe("a2e64ead");
      expect(actualBlocks(late, base, bitness)).toEqual(sortExpected(heap.expected));
    });
  }

  it("a page-aligned (not 64 KiB-aligned) heap without a PEB is found by the scan, as WinDbg shows such heaps", async () => {
    const heap = writeSegmentHeap({ layout: "22H2", bitness: 64, base: 0x182_2ff1_3000, allocations: richAllocations(64) });
    const run = await runOnTarget(layoutTarget("22H2", heap.pieces, [{ bitness: 64 }]), [heapSegment()]);
    expect(run.allDiagnostics()).toEqual([]);
    expect(run.heaps.map((h) => [h.address, h.foundBy])).toEqual([[0x182_2ff1_3000, ["signature-scan"]]]);
    expect(actualBlocks(run, 0x182_2ff1_3000, 64)).toEqual(sortExpected(heap.expected));
  });

  it("a page scan stopped at its bound says where (SEGMENT_SCAN_LIMIT); raising the bound finds the heap", async () => {
    const heap = writeSegmentHeap({ layout: "22H2", bitness: 64, base: 0x182_2ff1_3000, allocations: richAllocations(64) });
    const target = () => layoutTarget("22H2", heap.pieces, [{ bitness: 64 }]);
    // the heap is the first page of its pieces: a bound of 0 pages is refused, so put a page before it
    const before = { address: 0x182_2ff1_2000, bytes: new Uint8Array(0x1000) };
    const withPage = () => layoutTarget("22H2", [before, ...heap.pieces], [{ bitness: 64 }]);
    const stopped = await runOnTarget(withPage(), [heapSegment({ maxScanCandidates: 1 })]);
    expect(stopped.heaps).toEqual([]);
    const limit = stopped.allDiagnostics().filter((d) => d.code === "SEGMENT_SCAN_LIMIT");
    expect(limit.map((d) => d.location?.address)).toEqual(["0x1822ff13000"]);
    const found = await runOnTarget(target(), [heapSegment({ maxScanCandidates: 1 << 20 })]);
    expect(found.allDiagnostics()).toEqual([]);
    expect(found.heaps.map((h) => h.address)).toEqual([0x182_2ff1_3000]);
  });

  it("a 1709 build uses the 1709 table without probing (D5)", async () => {
    const heap = writeSegmentHeap({ layout: "1709", bitness: 64, base: B64, allocations: richAllocations(64) });
    const run = await runOnTarget(syntheticTarget(16299, heap.pieces, [{ bitness: 64 }]), [heapSegment()]);
    expect(run.allDiagnostics()).toEqual([]);
    expect(run.heaps[0]!.data.segment!.layout).toBe("1709");
    expect(actualBlocks(run, B64, 64)).toEqual(sortExpected(heap.expected));
  });

  it("the RS5 insider table, labelled 17763 (whose own table is 2004): taken by proof and named", async () => {
    const heap = writeSegmentHeap({ layout: "rs5-insider", bitness: 64, base: B64, allocations: richAllocations(64) });
    const run = await runOnTarget(syntheticTarget(17763, heap.pieces, [{ bitness: 64 }]), [heapSegment()]);
    expect(run.allDiagnostics().map((d) => d.code)).toEqual(["SEGMENT_LAYOUT_PROBED"]);
    expect(run.allDiagnostics()[0]!.message).toContain("rs5-insider");
    expect(run.heaps[0]!.data.segment!.layout).toBe("rs5-insider");
    expect(actualBlocks(run, B64, 64)).toEqual(sortExpected(heap.expected));
  });
});
