import { describe, expect, it } from "vitest";
import { PluginOptionsError, memoryTarget } from "@leakscope/core";
import { NT_LAYOUT_BUILD, writeHeapDescriptors, writeNtHeap, writePeb, writeSegmentHeapStub } from "@leakscope/test-utils";
import { heapNt } from "../src/index.js";
import { runOnTarget } from "./helpers/dump.js";
import { actualBlocks, sortExpected, syntheticTarget } from "./helpers/synthetic.js";

const small = { blocks: [{ size: 16 }, { size: 40, free: true }, { size: 7 }] };

describe("heap discovery", () => {
  it("PEB heaps, the CSR shared heap (labelled), secondary segments as segments, segment heaps for their walker", async () => {
    const a = writeNtHeap({ layout: "win7", bitness: 64, base: 0x50_0000, segments: [small, { ...small, base: 0x90_0000 }] });
    const csr = writeNtHeap({ layout: "win7", bitness: 64, base: 0x7efe_0000, segments: [small], flags: 0x7008 });
    const seg = writeSegmentHeapStub(0x60_0000, 64);
    const peb = { ...writePeb({ bitness: 64, address: 0x7efd_f000, heaps: [a.address, seg.address], csrSharedHeap: csr.address }) };
    const run = await runOnTarget(syntheticTarget("win7", [...a.pieces, ...csr.pieces, seg, peb], [{ bitness: 64, peb: peb.address }]), [heapNt()]);
    expect(run.heaps.map((h) => [h.address, h.kind, h.walker, h.foundBy, h.label ?? null])).toEqual([
      [0x50_0000, "nt", "heap-nt", ["peb", "signature-scan"], "process heap"],
      [0x60_0000, "segment", "heap-segment", ["peb", "signature-scan"], null],
      [0x7efe_0000, "nt", "heap-nt", ["csr-shared", "signature-scan"], "CSRSS shared heap"],
    ]);
    expect(run.heaps[2]!.flags).toBe(0x7008);
    expect(run.heaps[0]!.data.nt!.segments).toEqual([0x50_0000, 0x90_0000]);
    expect(run.allDiagnostics()).toEqual([]);
  });

  it("claims the span of every listed segment of the NT heaps, so page scans can skip heap memory", async () => {
    const a = writeNtHeap({ layout: "win7", bitness: 64, base: 0x50_0000, segments: [small, { ...small, base: 0x90_0000 }] });
    const b = writeNtHeap({ layout: "win10-1709", bitness: 32, base: 0x30_0000, segments: [small] });
    const peb = writePeb({ bitness: 64, address: 0x7efd_f000, heaps: [a.address] });
    const run = await runOnTarget(syntheticTarget("win7", [...a.pieces, ...b.pieces, peb], [{ bitness: 64, peb: peb.address }, { bitness: 32, role: "wow64" }]), [heapNt()]);
    const claimed = run.claimedMemory();
    const segments = [...a.segments, ...b.segments].sort((x, y) => x.base - y.base);
    expect(Array.from(claimed.starts)).toEqual(segments.map((s) => s.base));
    for (const [i, s] of segments.entries()) {
      expect(claimed.ends[i]!).toBeGreaterThanOrEqual(s.lastValidEntry);
      expect((claimed.ends[i]! - s.base) % 0x1000).toBe(0);
    }
    // a segment list that loops (the first segment's link points at itself) is followed a bounded
    // number of steps and claims that segment once
    const loop = writeNtHeap({ layout: "win8", bitness: 32, base: 0x50_0000, segments: [small] });
    const bytes = loop.pieces.find((p) => p.address === loop.address)!.bytes;
    const entry = loop.offsets.segListEntry;
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(entry, loop.address + entry, true);
    const r2 = await runOnTarget(syntheticTarget("win8", loop.pieces, [{ bitness: 32 }]), [heapNt()]);
    expect(Array.from(r2.claimedMemory().starts)).toEqual([loop.address]);
  });

  it("a dump without a PEB: the signature scan finds heaps of both bitnesses", async () => {
    const h64 = writeNtHeap({ layout: "win10-1709", bitness: 64, base: 0x2_0000_0000, segments: [small] });
    const h32 = writeNtHeap({ layout: "win10-1709", bitness: 32, base: 0x40_0000, segments: [small] });
    const run = await runOnTarget(
      syntheticTarget("win10-1709", [...h64.pieces, ...h32.pieces], [{ bitness: 64 }, { bitness: 32, role: "wow64" }]),
      [heapNt()],
    );
    expect(run.heaps.map((h) => [h.address, h.bitness, h.foundBy])).toEqual([
      [0x40_0000, 32, ["signature-scan"]],
      [0x2_0000_0000, 64, ["signature-scan"]],
    ]);
    expect(actualBlocks(run, h32.address, 32)).toEqual(sortExpected(h32.expected));
    expect(actualBlocks(run, h64.address, 64)).toEqual(sortExpected(h64.expected));
  });

  it("the scan skips the segments of listed heaps past their first 64 KiB: a heap header copied into a block is not a heap", async () => {
    const a = writeNtHeap({ layout: "win10-1709", bitness: 64, base: 0x50_0000, segments: [{ blocks: [{ size: 16 }, { size: 0x30000 }, { size: 40, free: true }] }] });
    const piece = a.pieces.find((p) => p.address <= a.address + 0x20000 && a.address + 0x20200 <= p.address + p.bytes.length)!;
    // the heap's own first 0x200 bytes, again at a 64 KiB boundary inside the big block's data
    piece.bytes.copyWithin(a.address + 0x20000 - piece.address, a.address - piece.address, a.address - piece.address + 0x200);
    const peb = writePeb({ bitness: 64, address: 0x7ffd_0000, heaps: [a.address] });
    const run = await runOnTarget(syntheticTarget("win10-1709", [...a.pieces, peb], [{ bitness: 64, peb: peb.address }]), [heapNt()]);
    expect(run.allDiagnostics()).toEqual([]);
    expect(run.heaps.map((h) => [h.address, h.foundBy])).toEqual([[a.address, ["peb", "signature-scan"]]]);
    expect(actualBlocks(run, a.address, 64)).toEqual(sortExpected(a.expected));
    // without a PEB nothing is listed before the scan, so nothing is skipped and the copy is taken
    // for a heap: the skip is what tells them apart
    const bare = await runOnTarget(syntheticTarget("win10-1709", a.pieces, [{ bitness: 64 }]), [heapNt()]);
    expect(bare.heaps.map((h) => h.address)).toContain(a.address + 0x20000);
  });

  it("a scan stopped at its candidate bound says where (NT_HEAP_SCAN_LIMIT) and keeps the heaps below", async () => {
    const h32 = writeNtHeap({ layout: "win10-1709", bitness: 32, base: 0x40_0000, segments: [small] });
    const h64 = writeNtHeap({ layout: "win10-1709", bitness: 64, base: 0x2_0000_0000, segments: [small] });
    const target = () => syntheticTarget("win10-1709", [...h32.pieces, ...h64.pieces], [{ bitness: 64 }, { bitness: 32, role: "wow64" }]);
    const full = await runOnTarget(target(), [heapNt()]);
    expect(full.allDiagnostics().map((d) => d.code)).not.toContain("NT_HEAP_SCAN_LIMIT");
    const run = await runOnTarget(target(), [heapNt({ maxScanCandidates: 1 })]);
    expect(run.heaps.map((h) => h.address)).toEqual([0x40_0000]);
    const limit = run.allDiagnostics().filter((d) => d.code === "NT_HEAP_SCAN_LIMIT");
    expect(limit).toHaveLength(1);
    // the first candidate it did not visit: the next 64 KiB boundary of captured memory
    const next = Number(limit[0]!.location!.address);
    expect(next % 0x10000).toBe(0);
    expect(next).toBeGreaterThan(0x40_0000);
    expect(next).toBeLessThanOrEqual(0x2_0000_0000);
    expect(() => heapNt({ maxScanCandidates: 0 })).toThrow(PluginOptionsError);
  });

  it("scan off: only PEB heaps; the scanned-only heap is not found", async () => {
    const a = writeNtHeap({ layout: "win8", bitness: 32, base: 0x50_0000, segments: [small] });
    const b = writeNtHeap({ layout: "win8", bitness: 32, base: 0x70_0000, segments: [small] });
    const peb = writePeb({ bitness: 32, address: 0x7ffd_f000, heaps: [a.address] });
    const target = () => syntheticTarget("win8", [...a.pieces, ...b.pieces, peb], [{ bitness: 32, peb: peb.address }]);
    const on = await runOnTarget(target(), [heapNt()]);
    expect(on.heaps.map((h) => h.address)).toEqual([a.address, b.address]);
    const off = await runOnTarget(target(), [heapNt({ scan: false })]);
    expect(off.heaps.map((h) => h.address)).toEqual([a.address]);
  });

  it("24H2: the PEB lists one heap, the descriptor list the others", async () => {
    const desc = 0x7ff7_0000;
    const a = writeNtHeap({ layout: "win11-24h2", bitness: 64, base: 0x1_0000_0000, segments: [small], userContext: desc });
    const b = writeNtHeap({ layout: "win11-24h2", bitness: 64, base: 0x1_1000_0000, segments: [small] });
    const c = writeSegmentHeapStub(0x1_2000_0000, 64);
    const list = writeHeapDescriptors(desc, [a.address, b.address, c.address]);
    const peb = writePeb({ bitness: 64, address: 0x7ff6_0000, heaps: [a.address] });
    const run = await runOnTarget(
      syntheticTarget("win11-24h2", [...a.pieces, ...b.pieces, c, list, peb], [{ bitness: 64, peb: peb.address }]),
      [heapNt({ scan: false })],
    );
    expect(run.heaps.map((h) => [h.address, h.kind, h.foundBy])).toEqual([
      [a.address, "nt", ["peb", "descriptor-list"]],
      [b.address, "nt", ["descriptor-list"]],
      [c.address, "segment", ["descriptor-list"]],
    ]);
    expect(run.allDiagnostics()).toEqual([]);
  });

  it("an inconsistent PEB and a listed non-heap are reported", async () => {
    const a = writeNtHeap({ layout: "win7", bitness: 32, base: 0x50_0000, segments: [small] });
    const peb = writePeb({ bitness: 32, address: 0x7ffd_f000, heaps: [a.address, 0x6000_0000], numberOfHeaps: 20, maximumNumberOfHeaps: 16 });
    const junk = { address: 0x6000_0000, bytes: new Uint8Array(0x1000).fill(0x11) };
    const run = await runOnTarget(syntheticTarget("win7", [...a.pieces, peb, junk], [{ bitness: 32, peb: peb.address }]), [heapNt()]);
    const codes = run.allDiagnostics().map((d) => d.code);
    expect(codes).toContain("NT_HEAP_PEB_INCONSISTENT");
    expect(codes).toContain("NT_HEAP_BAD_SIGNATURE");
    expect(run.heaps.map((h) => h.address)).toEqual([a.address]);
  });

  it("orphan secondary segment found by the scan is reported", async () => {
    const a = writeNtHeap({ layout: "win7", bitness: 32, base: 0x50_0000, segments: [small, { ...small, base: 0x80_0000 }] });
    const b = writeNtHeap({ layout: "win7", bitness: 32, base: 0xa0_0000, segments: [small, { ...small, base: 0xc0_0000 }] });
    // b's second segment names heap 0xe00000, which does not exist
    const seg = b.pieces.find((p) => p.address === 0xc0_0000)!;
    new DataView(seg.bytes.buffer, seg.bytes.byteOffset).setUint32(0x18, 0xe0_0000, true);
    const run = await runOnTarget(syntheticTarget("win7", [...a.pieces, ...b.pieces], [{ bitness: 32 }]), [heapNt()]);
    expect(run.heaps.map((h) => h.address)).toEqual([a.address, b.address]);
    expect(run.allDiagnostics().map((d) => [d.code, d.location?.address])).toEqual([["NT_HEAP_ORPHAN_SEGMENT", "0xc00000"]]);
  });
});

describe("layouts", () => {
  it("an unknown build is probed and reported (info)", async () => {
    const a = writeNtHeap({ layout: "win10-1709", bitness: 64, base: 0x50_0000, segments: [small] });
    const target = memoryTarget({ arch: "x64", os: { major: 10, minor: 0, build: 20348 + 50000 }, memory: a.pieces, views: [{ bitness: 64 }] });
    const run = await runOnTarget(target, [heapNt()]);
    expect(run.allDiagnostics().map((d) => d.code)).toEqual(["NT_HEAP_LAYOUT_UNKNOWN"]);
    expect(run.heaps[0]!.data.nt!.probed).toBe(true);
    expect(actualBlocks(run, a.address, 64)).toEqual(sortExpected(a.expected));
  });

  it("a build whose table layout disagrees with the structure: probed layout used, warning", async () => {
    const a = writeNtHeap({ layout: "win7", bitness: 32, base: 0x50_0000, segments: [small] });
    const target = memoryTarget({ arch: "x86", os: { major: 10, minor: 0, build: NT_LAYOUT_BUILD["win10-1709"] }, memory: a.pieces, views: [{ bitness: 32 }] });
    const run = await runOnTarget(target, [heapNt()]);
    expect(run.allDiagnostics().map((d) => d.code)).toEqual(["HEAP_LAYOUT_PROBED"]);
    expect(run.heaps[0]!.data.nt!.layout).toBe("win7");
    expect(actualBlocks(run, a.address, 32)).toEqual(sortExpected(a.expected));
  });

  it("unencoded headers (EncodeFlagMask 0) walk too", async () => {
    const a = writeNtHeap({ layout: "win8", bitness: 64, base: 0x50_0000, segments: [small], unencoded: true });
    const run = await runOnTarget(syntheticTarget("win8", a.pieces, [{ bitness: 64 }]), [heapNt()]);
    expect(run.heaps[0]!.data.nt!.encoded).toBe(false);
    expect(actualBlocks(run, a.address, 64)).toEqual(sortExpected(a.expected));
  });
});

describe("options", () => {
  it("rejects unknown options before any dump is opened", () => {
    expect(() => heapNt({ bogus: 1 })).toThrow(PluginOptionsError);
    expect(heapNt().name).toBe("heap-nt");
  });
});
