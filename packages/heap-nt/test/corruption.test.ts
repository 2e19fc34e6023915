import { describe, expect, it } from "vitest";
import { type MemoryPiece, type WrittenNtHeap, writeNtHeap, writePeb } from "@leakscope/test-utils";
import { AllocFlags } from "@leakscope/core";
import { heapNt } from "../src/index.js";
import { runOnTarget } from "./helpers/dump.js";
import { actualBlocks, richSpec, sortExpected, syntheticTarget } from "./helpers/synthetic.js";

type Case = { layout: "win7" | "win10-1709"; bitness: 32 | 64 };
const cases: Case[] = [
  { layout: "win10-1709", bitness: 32 },
  { layout: "win7", bitness: 64 },
];

function patch(pieces: MemoryPiece[], address: number, fn: (bytes: Uint8Array, i: number) => void): void {
  const p = pieces.find((x) => address >= x.address && address < x.address + x.bytes.length);
  if (!p) throw new Error(`no piece at ${address.toString(16)}`);
  fn(p.bytes, address - p.address);
}

function writePtr(pieces: MemoryPiece[], address: number, value: number, size: 4 | 8): void {
  patch(pieces, address, (b, i) => {
    const v = new DataView(b.buffer, b.byteOffset);
    v.setUint32(i, value % 4294967296 >>> 0, true);
    if (size === 8) v.setUint32(i + 4, Math.floor(value / 4294967296), true);
  });
}

/** Decode a header, let `fn` change the 8 plain bytes, fix the checksum, encode it back. */
function rewriteHeader(heap: WrittenNtHeap, h: number, fn: (plain: number[]) => void): void {
  patch(heap.pieces, h + heap.offsets.entryData, (b, i) => {
    const plain = Array.from({ length: 8 }, (_, k) => b[i + k]! ^ heap.encoding[k]!);
    fn(plain);
    plain[3] = plain[0]! ^ plain[1]! ^ plain[2]!;
    for (let k = 0; k < 8; k++) b[i + k] = plain[k]! ^ heap.encoding[k]!;
  });
}

async function walk(c: Case, heap: WrittenNtHeap, extra: MemoryPiece[] = []) {
  const peb = writePeb({ bitness: c.bitness, address: 0x7ffd_0000, heaps: [heap.address] });
  const run = await runOnTarget(syntheticTarget(c.layout, [...heap.pieces, peb, ...extra], [{ bitness: c.bitness, peb: peb.address }]), [heapNt()]);
  return { run, codes: [...new Set(run.allDiagnostics().map((d) => d.code))].sort(), blocks: actualBlocks(run, heap.address, c.bitness) };
}

const base = (c: Case) => (c.bitness === 64 ? 0x1_0000_0000 : 0x0080_0000);

describe("corrupt heaps give codes and keep the rest", () => {
  for (const c of cases) {
    const tag = `${c.layout} x${c.bitness}`;

    it(`${tag}: bad checksum stops at the block, resumes after the next uncommitted range`, async () => {
      const heap = writeNtHeap(richSpec(c.layout, c.bitness, base(c)));
      const bad = heap.segments[0]!.blockAddresses[1]!;
      patch(heap.pieces, bad + heap.offsets.entryData + 3, (b, i) => (b[i] = b[i]! ^ 0x40));
      const { run, codes, blocks } = await walk(c, heap);
      expect(codes).toEqual(["NT_HEAP_ENTRY_CHECKSUM", "NT_HEAP_FREE_LIST_MISMATCH"]);
      const d = run.allDiagnostics().find((x) => x.code === "NT_HEAP_ENTRY_CHECKSUM")!;
      expect(d.location?.address).toBe("0x" + bad.toString(16));
      // Kept: block 0, everything after the first uncommitted range, the second segment, the VA blocks.
      const seg0 = heap.segments[0]!;
      const ucrHolder = seg0.blockAddresses[4]!; // blocks 0..3 then the UCR holder
      const lost = seg0.blockAddresses.filter((a) => a >= bad && a <= ucrHolder);
      const want = sortExpected(heap.expected).filter((e) => !lost.includes(e.blockAddress));
      expect(blocks).toEqual(want);
      expect(run.heaps[0]!.incomplete).toBe(true);
      expect(run.heaps[0]!.data.nt!.checksumFailures).toBe(1);
    });

    it(`${tag}: size 0 is reported and the walk resumes after the next uncommitted range`, async () => {
      const heap = writeNtHeap(richSpec(c.layout, c.bitness, base(c)));
      const bad = heap.segments[0]!.blockAddresses[2]!;
      const flags = 0x01;
      const plain = [0, 0, flags, flags];
      patch(heap.pieces, bad + heap.offsets.entryData, (b, i) => {
        for (let k = 0; k < 4; k++) b[i + k] = plain[k]! ^ heap.encoding[k]!;
      });
      const { run, codes, blocks } = await walk(c, heap);
      expect(codes).toEqual(["NT_HEAP_ENTRY_SIZE_ZERO", "NT_HEAP_FREE_LIST_MISMATCH"]);
      expect(run.allDiagnostics().find((x) => x.code === "NT_HEAP_ENTRY_SIZE_ZERO")!.location?.address).toBe("0x" + bad.toString(16));
      expect(blocks.map((b) => b.blockAddress)).toContain(heap.segments[0]!.blockAddresses[1]);
      expect(blocks.map((b) => b.blockAddress)).toContain(heap.segments[1]!.blockAddresses[0]);
      expect(blocks.map((b) => b.blockAddress)).not.toContain(bad);
    });

    it(`${tag}: PreviousSize mismatch is reported and the walk continues`, async () => {
      const heap = writeNtHeap(richSpec(c.layout, c.bitness, base(c)));
      const bad = heap.segments[1]!.blockAddresses[2]!;
      patch(heap.pieces, bad + heap.offsets.entryData + 4, (b, i) => (b[i] = b[i]! ^ 0x01));
      const { run, codes, blocks } = await walk(c, heap);
      expect(codes).toEqual(["NT_HEAP_PREVIOUS_SIZE_MISMATCH"]);
      expect(run.allDiagnostics()[0]!.location?.address).toBe("0x" + bad.toString(16));
      expect(blocks).toEqual(sortExpected(heap.expected));
    });

    it(`${tag}: a cycle in the segment list keeps the segments before it`, async () => {
      const heap = writeNtHeap(richSpec(c.layout, c.bitness, base(c)));
      const link = heap.segments[1]!.base + heap.offsets.segListEntry;
      writePtr(heap.pieces, link, link, heap.offsets.ptr);
      const { run, codes, blocks } = await walk(c, heap);
      expect(codes).toEqual(["NT_HEAP_LIST_CYCLE"]);
      expect(run.heaps[0]!.data.nt!.segments).toEqual(heap.segments.map((s) => s.base));
      expect(blocks).toEqual(sortExpected(heap.expected));
    });

    it(`${tag}: a cycle in the virtual-block list keeps the blocks before it`, async () => {
      const heap = writeNtHeap(richSpec(c.layout, c.bitness, base(c)));
      writePtr(heap.pieces, heap.virtualBlocks[1]!, heap.virtualBlocks[0]!, heap.offsets.ptr);
      const { codes, blocks } = await walk(c, heap);
      expect(codes).toEqual(["NT_HEAP_LIST_CYCLE"]);
      expect(blocks).toEqual(sortExpected(heap.expected));
    });

    it(`${tag}: a cycle in the free list is reported, the walk is kept`, async () => {
      const heap = writeNtHeap(richSpec(c.layout, c.bitness, base(c)));
      const links = heap.freeList.map((h) => h + heap.offsets.freeLink);
      writePtr(heap.pieces, links[links.length - 1]!, links[0]!, heap.offsets.ptr);
      const { run, codes, blocks } = await walk(c, heap);
      expect(codes).toEqual(["NT_HEAP_LIST_CYCLE"]);
      expect(run.heaps[0]!.data.nt!.freeListAgrees).toBe(false);
      expect(blocks).toEqual(sortExpected(heap.expected));
    });

    it(`${tag}: a free list that misses a free block is a mismatch`, async () => {
      const heap = writeNtHeap(richSpec(c.layout, c.bitness, base(c)));
      const links = heap.freeList.map((h) => h + heap.offsets.freeLink);
      // unlink the second entry
      writePtr(heap.pieces, links[0]!, links[2]!, heap.offsets.ptr);
      const { run, codes } = await walk(c, heap);
      expect(codes).toEqual(["NT_HEAP_FREE_LIST_MISMATCH"]);
      expect(run.allDiagnostics()[0]!.location?.address).toBe("0x" + heap.freeList[1]!.toString(16));
    });

    it(`${tag}: a block running past LastValidEntry is an overrun, the blocks before it are kept`, async () => {
      const heap = writeNtHeap(richSpec(c.layout, c.bitness, base(c)));
      const seg = heap.segments[1]!;
      const lastBlock = seg.blockAddresses[seg.blockAddresses.length - 1]!;
      rewriteHeader(heap, lastBlock, (p) => {
        const size = (p[0]! | (p[1]! << 8)) + 1;
        p[0] = size & 0xff;
        p[1] = size >> 8;
      });
      const { run, codes, blocks } = await walk(c, heap);
      expect(codes).toEqual(["NT_HEAP_FREE_LIST_MISMATCH", "NT_HEAP_SEGMENT_OVERRUN"]);
      expect(run.allDiagnostics().find((d) => d.code === "NT_HEAP_SEGMENT_OVERRUN")!.location?.address).toBe("0x" + lastBlock.toString(16));
      expect(blocks).toEqual(sortExpected(heap.expected).filter((e) => e.blockAddress !== lastBlock));
      expect(run.heaps[0]!.data.nt!.segmentWalks[1]!.endedAtEnd).toBe(false);
    });

    it(`${tag}: a virtual block with a bad header checksum is kept as corrupt`, async () => {
      const heap = writeNtHeap(richSpec(c.layout, c.bitness, base(c)));
      const va = heap.virtualBlocks[0]!;
      const busy = va + (c.bitness === 64 ? 0x30 : 0x18);
      patch(heap.pieces, busy + heap.offsets.entryData + 3, (b, i) => (b[i] = b[i]! ^ 0x10));
      const { run, codes, blocks } = await walk(c, heap);
      expect(codes).toEqual(["NT_HEAP_VIRTUAL_BLOCK_BAD"]);
      expect(run.allDiagnostics()[0]!.location?.address).toBe("0x" + va.toString(16));
      expect(blocks.map((b) => b.blockAddress)).toEqual(sortExpected(heap.expected).map((e) => e.blockAddress));
      const i = Array.from({ length: run.allocations.count }, (_, k) => k).find((k) => run.allocations.blockAddress(k) === va)!;
      expect(run.allocations.flags(i) & AllocFlags.CORRUPT).toBe(AllocFlags.CORRUPT);
    });

    it(`${tag}: missing heap memory is reported with the address, nothing thrown`, async () => {
      const heap = writeNtHeap(richSpec(c.layout, c.bitness, base(c)));
      // drop the second segment's memory
      const seg = heap.segments[1]!;
      const pieces = heap.pieces.filter((p) => !(p.address >= seg.base && p.address < seg.lastValidEntry));
      const { run, codes, blocks } = await walk(c, { ...heap, pieces });
      expect(codes).toEqual(["NT_HEAP_NOT_CAPTURED"]);
      expect(run.allDiagnostics()[0]!.location?.address).toBe("0x" + (seg.base + heap.offsets.segListEntry).toString(16));
      expect(run.heaps[0]!.incomplete).toBe(true);
      expect(blocks).toEqual(sortExpected(heap.expected).filter((e) => !(e.blockAddress >= seg.base && e.blockAddress < seg.lastValidEntry)));
    });
  }
});

describe("free-list check with blocks whose granule indices agree in their low 32 bits", () => {
  // Two segments 2^36 bytes apart with the same layout: their free blocks pair up on the same
  // low 32 bits of address / 16, the part the free-list check hashes.
  const c: Case = { layout: "win10-1709", bitness: 64 };
  const far = 2 ** 36;
  const segBlocks = [{ size: 40 }, { size: 200, free: true }, { size: 64 }, { size: 700, free: true }, { size: 16 }, { size: 48, free: true }];
  const spec = () => ({
    layout: c.layout,
    bitness: c.bitness,
    base: 0x1_0000_0000,
    segments: [
      { blocks: [{ size: 24 }, { size: 90, free: true }] },
      { base: 0x2_0000_0000, blocks: segBlocks },
      { base: 0x2_0000_0000 + far, blocks: segBlocks },
    ],
  });

  it("agrees with the walk when every block is on the list once", async () => {
    const heap = writeNtHeap(spec());
    const twins = heap.freeList.filter((h) => heap.freeList.includes(h + far));
    expect(twins.length).toBeGreaterThanOrEqual(3);
    const { run, codes, blocks } = await walk(c, heap);
    expect(codes).toEqual([]);
    const nt = run.heaps[0]!.data.nt!;
    expect(nt.freeListAgrees).toBe(true);
    expect(nt.freeListLength).toBe(heap.freeList.length);
    expect(blocks).toEqual(sortExpected(heap.expected));
  });

  it("agrees when the segments are not in address order (the walk meets free blocks out of order)", async () => {
    const sp = spec();
    sp.segments = [sp.segments[0]!, sp.segments[2]!, sp.segments[1]!];
    const heap = writeNtHeap(sp);
    const { run, codes } = await walk(c, heap);
    expect(codes).toEqual([]);
    expect(run.heaps[0]!.data.nt!.freeListAgrees).toBe(true);
    expect(run.heaps[0]!.data.nt!.freeListLength).toBe(heap.freeList.length);
  });

  it("does not agree when two free blocks link to each other off the list", async () => {
    const heap = writeNtHeap(spec());
    const links = heap.freeList.map((h) => h + heap.offsets.freeLink);
    const n = links.length;
    // entries 1 and 2 leave the list and point at each other; entry 0 links to entry 3
    writePtr(heap.pieces, links[0]!, links[3 % n]!, heap.offsets.ptr);
    writePtr(heap.pieces, links[1]!, links[2]!, heap.offsets.ptr);
    writePtr(heap.pieces, links[2]!, links[1]!, heap.offsets.ptr);
    const { run, codes } = await walk(c, heap);
    expect(codes).toContain("NT_HEAP_FREE_LIST_MISMATCH");
    expect(run.heaps[0]!.data.nt!.freeListAgrees).toBe(false);
  });

  it("tells a block from its twin: a list that reaches one twin twice is a cycle", async () => {
    const heap = writeNtHeap(spec());
    const links = heap.freeList.map((h) => h + heap.offsets.freeLink);
    const twin = heap.freeList.findIndex((h) => heap.freeList.includes(h + far));
    const other = heap.freeList.indexOf(heap.freeList[twin]! + far);
    // the entry before the far twin links to the near one instead
    const before = (other - 1 + links.length) % links.length;
    writePtr(heap.pieces, links[before]!, links[twin]!, heap.offsets.ptr);
    const { run, codes } = await walk(c, heap);
    expect(codes).toEqual(["NT_HEAP_LIST_CYCLE"]);
    expect(run.heaps[0]!.data.nt!.freeListAgrees).toBe(false);
  });
});
