/**
 * Synthetic segment heaps (Windows 10/11 `_SEGMENT_HEAP`) as plain bytes at addresses, for the
 * `heap-segment` walker's round-trip tests. No `@leakscope/core` import: this is an independent
 * implementation of the layouts in `shared/docs/heap-internals.md` §6.
 *
 * What is written: the heap header (signature, LargeAllocMetadata RB tree, SegContexts[2], VS and
 * LFH contexts), page segments (1 MiB, signature encoded with HeapKey) with their range
 * descriptors, one VS subsegment per page segment holding encoded chunk headers, one LFH
 * subsegment per bucket per page segment (encoded BlockOffsets, 2-bit bitmap), backend blocks,
 * free page ranges, large blocks in an RB tree, and unused-bytes trailers with `+ust` trace
 * pointers after the `01 01 00..` marker.
 *
 * Layouts by build, from the PDB-derived listings (shared/docs/layout-evidence.md D3-D5), written
 * here independently of the walker's tables: `1709` (16299, [ND] ntdiff/headers Win10_1709_RS3
 * x64 _SEGMENT_HEAP.h / _HEAP_SEG_CONTEXT.h), `1803` (17134, [SS] AndreyBazhan/SymStore
 * ntdll.dll-10.0.17134.1-x64.h field list, derived), `1809` and `21H2` (17763 .. 19045: the 2004
 * layout), `22H2` (22000 .. 22631: SegContexts at 0x140 on x64, [SS] 22000.120), `24H2` (the
 * newest [VL] listing: VS Signature at 0x24, LFH subsegment without an Owner pointer and with its
 * bitmap at 0x40, no VS SubsegmentList), and `rs5-insider` (the ntdiff "1809_RS5" table, which no
 * shipped build has, labelled 17763 for probing tests). x86: 1709 ([ND] Win10_1709_RS3 x86), the
 * 2004 layout (and the insider table); 1803 x86 has no listing and throws. `build` picks the layout by build instead.
 */
import type { MemoryPiece } from "../nt/writer.js";

export type SegmentWriterLayout = "1709" | "1803" | "rs5-insider" | "1809" | "21H2" | "22H2" | "24H2";
/** The layouts of shipped builds (`rs5-insider` is left out: no shipped build has it). */
export const SEGMENT_WRITER_LAYOUTS: readonly SegmentWriterLayout[] = ["1709", "1803", "1809", "21H2", "22H2", "24H2"];
/** The build each layout stands for (use it as the target's os.build). */
export const SEGMENT_LAYOUT_BUILD: Readonly<Record<SegmentWriterLayout, number>> = {
  "1709": 16299,
  "1803": 17134,
  "rs5-insider": 17763,
  "1809": 17763,
  "21H2": 19044,
  "22H2": 22621,
  "24H2": 26100,
};
/** Whether a layout has an x86 form the writer knows (1803 x86: no listing found). */
export function segmentWriterHasX86(layout: SegmentWriterLayout): boolean {
  return layout !== "1803";
}
/** The writer layout of a build (16299 .. 26100+). */
export function segmentWriterLayoutForBuild(build: number): SegmentWriterLayout {
  if (build < 17134) return "1709";
  if (build < 17763) return "1803";
  if (build < 19041) return "1809";
  if (build < 22000) return "21H2";
  if (build < 26100) return "22H2";
  return "24H2";
}

export interface SegmentAllocSpec {
  /** Which allocator serves it. */
  kind: "vs" | "lfh" | "backend" | "large";
  /** Requested size in bytes (0 allowed for vs/lfh). */
  size: number;
  /** A free block (VS free chunk, free LFH slot, free page range). */
  free?: boolean;
  /** `+ust` trace pointer stored after the marker in the unused tail. */
  trace?: number;
  /** Page segment index (default 0); ignored for large blocks. */
  segment?: number;
}

export interface SegmentHeapSpec {
  layout: SegmentWriterLayout;
  /** Write the layout of this build instead of `layout`'s (see {@link segmentWriterLayoutForBuild}). */
  build?: number;
  bitness: 32 | 64;
  /** Heap base, 64 KiB aligned. Page segments follow at the next 1 MiB boundaries. */
  base: number;
  allocations: SegmentAllocSpec[];
  /** HeapKey: 64-bit (x64) or 32-bit (x86) value. Default a fixed non-zero key. */
  heapKey?: bigint;
  /** LfhKey (u32). Default a fixed non-zero key. */
  lfhKey?: number;
  /** Number of page segments in SegContexts[0] (default: enough for `allocations`). */
  segments?: number;
  /** Build the `expected` list (default true); false for benchmark-sized heaps. */
  collectExpected?: boolean;
}

export type ExpectedSegmentKind = "vs" | "lfh" | "backend" | "large" | "host";

export interface ExpectedSegmentBlock {
  userAddress: number;
  blockAddress: number;
  requestedSize: number;
  blockSize: number;
  kind: ExpectedSegmentKind;
  free: boolean;
  /** Trace pointer, 0 when none. */
  trace: number;
}

export interface WrittenSegmentHeap {
  address: number;
  pieces: MemoryPiece[];
  heapKey: bigint;
  lfhKey: number;
  /** The page segments of SegContexts[0], in list order. */
  pageSegments: number[];
  /** VS subsegment and LFH subsegment addresses per page segment. */
  vsSubsegments: number[];
  lfhSubsegments: number[];
  /** Large blocks (RB-tree node address and block address). */
  largeNodes: { node: number; block: number }[];
  expected: ExpectedSegmentBlock[];
  /** Offsets used, for corruption tests. */
  offsets: SegmentWriterOffsets;
}

export interface SegmentWriterOffsets {
  signature: number;
  userContext: number;
  largeAllocMetadata: number;
  segContexts: number;
  segContextSize: number;
  vsContext: number;
  lfhContext: number;
  ctxSegmentListHead: number;
  ctxHeap: number;
  pageSegmentSignature: number;
  descriptorSize: number;
  vsChunkHeader: number;
}

const PAGE = 0x1000;
const SEGMENT_SIZE = 0x100000;
const VS_CHECK = 0x2bed;
/** Largest VS / LFH subsegment the writer makes, in pages. */
const MAX_SUB_UNITS = 16;
const PAGE_SEGMENT_CONSTANT_64 = 0xa2e64eada2e64eadn;
const PAGE_SEGMENT_CONSTANT_32 = 0xa2e64eadn;

interface HeapOffsets {
  sig: number;
  userContext: number;
  large: number;
  largeReserved: number;
  largeCommitted: number;
  segContexts: number;
  ctxSize: number;
  vs: number;
  lfh: number;
  size: number;
}
interface CtxOffsets {
  segmentMask: number;
  unitShift: number;
  pagesPerUnitShift: number;
  firstDescriptorIndex: number;
  maxAllocationSize: number;
  listHead: number;
  count: number;
  lfhPtr: number;
  vsPtr: number;
  heap: number;
}

type Family = "1709" | "1803" | "rs5" | "2004" | "win11" | "newest";

const H2004_64: HeapOffsets = { sig: 0x10, userContext: 0x28, large: 0x48, largeReserved: 0x58, largeCommitted: 0x60, segContexts: 0x100, ctxSize: 0xc0, vs: 0x280, lfh: 0x340, size: 0x800 };
const H2004_32: HeapOffsets = { sig: 0x08, userContext: 0x1c, large: 0x44, largeReserved: 0x4c, largeCommitted: 0x50, segContexts: 0x100, ctxSize: 0x80, vs: 0x200, lfh: 0x2c0, size: 0x580 };
const HEAP_OFFSETS: Record<Family, { 64: HeapOffsets; 32?: HeapOffsets }> = {
  // [ND] Win10_1709_RS3 x64 _SEGMENT_HEAP.h
  "1709": {
    64: { sig: 0x10, userContext: -1, large: 0x50, largeReserved: 0x60, largeCommitted: 0x68, segContexts: 0x70, ctxSize: 0x68, vs: 0x168, lfh: 0x1e0, size: 0x6c0 },
    // [ND] Win10_1709_RS3 x86 _SEGMENT_HEAP.h
    32: { sig: 0x08, userContext: -1, large: 0x30, largeReserved: 0x38, largeCommitted: 0x3c, segContexts: 0x40, ctxSize: 0x38, vs: 0xc4, lfh: 0x100, size: 0x370 },
  },
  // [SS] 17134.1 x64 _SEGMENT_HEAP field list: 1709 prefix, contexts of 0x78 (EnvHandle added), VsContext 0x188, LfhContext 0x200 (16-byte aligned)
  "1803": { 64: { sig: 0x10, userContext: -1, large: 0x50, largeReserved: 0x60, largeCommitted: 0x68, segContexts: 0x70, ctxSize: 0x78, vs: 0x188, lfh: 0x200, size: 0x700 } },
  rs5: {
    64: { sig: 0x10, userContext: -1, large: 0x88, largeReserved: 0x98, largeCommitted: 0xa0, segContexts: 0xa8, ctxSize: 0x98, vs: 0x220, lfh: 0x298, size: 0x710 },
    32: { sig: 0x08, userContext: -1, large: 0x50, largeReserved: 0x58, largeCommitted: 0x5c, segContexts: 0x60, ctxSize: 0x50, vs: 0x124, lfh: 0x164, size: 0x3a4 },
  },
  "2004": { 64: H2004_64, 32: H2004_32 },
  // [SS] 22000.120 x64: + Tag, + ReservedRegionEnd: SegContexts 0x140, VsContext 0x2c0, LfhContext 0x380
  win11: { 64: { ...H2004_64, segContexts: 0x140, vs: 0x2c0, lfh: 0x380, size: 0x900 }, 32: H2004_32 },
  // [VL] newest: UserContext 0x38, SegContexts 0x140, VsContext 0x2c0, LfhContext 0x340, size 0xa00
  newest: { 64: { ...H2004_64, userContext: 0x38, segContexts: 0x140, vs: 0x2c0, lfh: 0x340, size: 0xa00 }, 32: H2004_32 },
};
const C2004: { 64: CtxOffsets; 32: CtxOffsets } = {
  64: { segmentMask: 0, unitShift: 8, pagesPerUnitShift: 9, firstDescriptorIndex: 0xa, maxAllocationSize: 0x10, listHead: 0x48, count: 0x58, lfhPtr: 0x18, vsPtr: 0x20, heap: 0x38 },
  32: { segmentMask: 0, unitShift: 4, pagesPerUnitShift: 5, firstDescriptorIndex: 6, maxAllocationSize: 0x0c, listHead: 0x44, count: 0x4c, lfhPtr: 0x14, vsPtr: 0x18, heap: 0x24 },
};
const CTX_OFFSETS: Record<Family, { 64: CtxOffsets; 32?: CtxOffsets }> = {
  // [ND] Win10_1709_RS3 x64 _HEAP_SEG_CONTEXT.h
  "1709": {
    64: { segmentMask: 0, unitShift: 8, pagesPerUnitShift: 9, firstDescriptorIndex: 0xa, maxAllocationSize: 0x10, listHead: 0x20, count: 0x30, lfhPtr: 0x50, vsPtr: 0x58, heap: 0x60 },
    32: { segmentMask: 0, unitShift: 4, pagesPerUnitShift: 5, firstDescriptorIndex: 6, maxAllocationSize: 0x0c, listHead: 0x14, count: 0x1c, lfhPtr: 0x2c, vsPtr: 0x30, heap: 0x34 },
  },
  "1803": { 64: { segmentMask: 0, unitShift: 8, pagesPerUnitShift: 9, firstDescriptorIndex: 0xa, maxAllocationSize: 0x10, listHead: 0x20, count: 0x30, lfhPtr: 0x50, vsPtr: 0x58, heap: 0x70 } },
  rs5: {
    64: { segmentMask: 0, unitShift: 8, pagesPerUnitShift: 9, firstDescriptorIndex: 0xa, maxAllocationSize: 0x10, listHead: 0x20, count: 0x30, lfhPtr: 0x70, vsPtr: 0x78, heap: 0x90 },
    32: { segmentMask: 0, unitShift: 4, pagesPerUnitShift: 5, firstDescriptorIndex: 6, maxAllocationSize: 0x0c, listHead: 0x14, count: 0x1c, lfhPtr: 0x3c, vsPtr: 0x40, heap: 0x4c },
  },
  "2004": C2004,
  win11: C2004,
  newest: C2004,
};

function familyOf(spec: SegmentHeapSpec): Family {
  const layout = spec.build !== undefined ? segmentWriterLayoutForBuild(spec.build) : spec.layout;
  const x64 = spec.bitness === 64;
  switch (layout) {
    case "1709":
      return layout;
    case "1803":
      if (!x64) throw new Error(`segment writer: no x86 listing of the ${layout} layout`);
      return layout;
    case "rs5-insider":
      return "rs5";
    case "1809":
    case "21H2":
      return "2004";
    case "22H2":
      return x64 ? "win11" : "2004";
    case "24H2":
      return x64 ? "newest" : "2004";
  }
}

/** Block size of LFH bucket `i` (1..128). */
export function segmentLfhBucketSize(i: number): number {
  if (i <= 64) return i * 16;
  if (i <= 80) return 0x400 + (i - 64) * 64;
  if (i <= 96) return 0x800 + (i - 80) * 128;
  if (i <= 112) return 0x1000 + (i - 96) * 256;
  return 0x2000 + (i - 112) * 512;
}

function bucketFor(size: number): number {
  for (let i = 1; i <= 128; i++) if (segmentLfhBucketSize(i) >= size) return i;
  throw new Error(`segment writer: ${size} bytes is too large for an LFH bucket`);
}

const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;

class Mem {
  readonly pieces: { address: number; bytes: Uint8Array; view: DataView }[] = [];
  alloc(address: number, size: number): void {
    const bytes = new Uint8Array(size);
    this.pieces.push({ address, bytes, view: new DataView(bytes.buffer) });
  }
  private find(a: number, n: number) {
    for (let i = this.pieces.length - 1; i >= 0; i--) {
      const p = this.pieces[i]!;
      if (a >= p.address && a + n <= p.address + p.bytes.length) return p;
    }
    throw new Error(`segment heap writer: no piece holds 0x${a.toString(16)}+${n}`);
  }
  u8(a: number, v: number): void {
    const p = this.find(a, 1);
    p.bytes[a - p.address] = v & 0xff;
  }
  u16(a: number, v: number): void {
    const p = this.find(a, 2);
    p.view.setUint16(a - p.address, v & 0xffff, true);
  }
  u32(a: number, v: number): void {
    const p = this.find(a, 4);
    p.view.setUint32(a - p.address, v >>> 0, true);
  }
  big(a: number, v: bigint, size: 4 | 8): void {
    const p = this.find(a, size);
    if (size === 8) p.view.setBigUint64(a - p.address, BigInt.asUintN(64, v), true);
    else p.view.setUint32(a - p.address, Number(BigInt.asUintN(32, v)), true);
  }
  ptr(a: number, v: number, size: 4 | 8): void {
    this.big(a, BigInt(v), size);
  }
}

interface Range {
  unit: number;
  units: number;
  flags: number;
  unused: number;
  extra: boolean;
}

/** Write a segment heap; see the module comment. */
export function writeSegmentHeap(spec: SegmentHeapSpec): WrittenSegmentHeap {
  const x64 = spec.bitness === 64;
  const ps: 4 | 8 = x64 ? 8 : 4;
  const family = familyOf(spec);
  const ho = HEAP_OFFSETS[family][spec.bitness]!;
  const co = CTX_OFFSETS[family][spec.bitness]!;
  const newest = family === "newest";
  // 24H2 keys: page-segment constant 0, LFH shift (u32)(addr >> 12) (the build decides, not the layout)
  const is24h2 = (spec.build ?? SEGMENT_LAYOUT_BUILD[spec.layout]) >= 26100;
  const mask = x64 ? (1n << 64n) - 1n : 0xffffffffn;
  const heapKey = BigInt.asUintN(x64 ? 64 : 32, spec.heapKey ?? (x64 ? 0x5a3c_91e7_0b4d_2f68n : 0x6d2b_19c5n));
  const lfhKey = (spec.lfhKey ?? 0x3e71_c4a9) >>> 0;
  const constant = is24h2 ? 0n : x64 ? PAGE_SEGMENT_CONSTANT_64 : PAGE_SEGMENT_CONSTANT_32;
  const unit = x64 ? 16 : 8;
  const descSize = x64 ? 0x20 : 0x10;
  const fdi = x64 ? 2 : 1;
  const vsHeader = x64 ? 0x28 : 0x18;
  const vsFirstChunk = alignUp(vsHeader, unit);
  // _HEAP_LFH_SUBSEGMENT.BlockBitmap: 0x30 / 0x20; newest 0x40 ([VL])
  const lfhHeader = newest ? 0x40 : x64 ? 0x30 : 0x20;
  const lfhAlign = x64 ? 16 : 8;
  const B = spec.base;
  const m = new Mem();
  const expected: ExpectedSegmentBlock[] = [];
  const collect = spec.collectExpected ?? true;
  const pushExpected = (e: ExpectedSegmentBlock): void => {
    if (collect) expected.push(e);
  };
  let largePages = 0;

  // ---- heap header page(s): header, large-node area at +0x1000, buckets at +0x3000
  m.alloc(B, 0x4000);
  m.u32(B + ho.sig, 0xddeeddee);
  const ctx0 = B + ho.segContexts;
  const ctx1 = ctx0 + ho.ctxSize;
  const vsCtx = B + ho.vs;
  const lfhCtx = B + ho.lfh;
  // _HEAP_VS_CONTEXT.SubsegmentList: 0x18 on 1709 ([ND] 1709: SRWLOCK Lock, FreeChunkTree), 0x20 / 0x10 from
  // 17134 ([SS] 17134.1: Lock, LockType, FreeChunkTree, SubsegmentList); none on the newest layout
  const vsListHead = newest ? -1 : vsCtx + (family === "1709" ? (x64 ? 0x18 : 0x0c) : x64 ? 0x20 : 0x10);
  const bucketsArray = lfhCtx + (family === "1709" || family === "1803" ? (x64 ? 0xd0 : 0x68) : family === "rs5" && x64 ? 0x70 : 0x80);
  for (let i = 0; i < 129; i++) m.ptr(bucketsArray + i * ps, 1, ps); // not activated

  let segCount = spec.segments ?? 1;
  for (const a of spec.allocations) if (a.kind !== "large") segCount = Math.max(segCount, (a.segment ?? 0) + 1);
  const firstSeg = alignUp(B + 0x4000, SEGMENT_SIZE);
  const bySegment: SegmentAllocSpec[][] = [];
  for (const a of spec.allocations) {
    if (a.kind === "large") continue;
    const k = a.segment ?? 0;
    (bySegment[k] ??= []).push(a);
  }
  const pageSegments: number[] = [];
  for (let s = 0; s < segCount; s++) pageSegments.push(firstSeg + s * SEGMENT_SIZE);

  for (const [i, ctx] of [ctx0, ctx1].entries()) {
    m.big(ctx + co.segmentMask, mask & ~BigInt(SEGMENT_SIZE - 1), ps);
    m.u8(ctx + co.unitShift, i === 0 ? 12 : 16);
    m.u8(ctx + co.pagesPerUnitShift, i === 0 ? 0 : 4);
    m.u8(ctx + co.firstDescriptorIndex, fdi);
    m.u32(ctx + co.maxAllocationSize, i === 0 ? 0x7f000 : 0x7f0000);
    m.ptr(ctx + co.lfhPtr, lfhCtx, ps);
    m.ptr(ctx + co.vsPtr, vsCtx, ps);
    m.ptr(ctx + co.heap, B, ps);
    const head = ctx + co.listHead;
    const list = i === 0 ? pageSegments : [];
    m.u32(ctx + co.count, list.length);
    const nodes = [head, ...list];
    for (let k = 0; k < nodes.length; k++) {
      const node = nodes[k]!;
      if (node !== head) m.alloc(node, SEGMENT_SIZE);
    }
    for (let k = 0; k < nodes.length; k++) {
      const node = nodes[k]!;
      m.ptr(node, nodes[(k + 1) % nodes.length]!, ps);
      m.ptr(node + ps, nodes[(k - 1 + nodes.length) % nodes.length]!, ps);
    }
  }

  // ---- VS subsegment list (links XOR-encoded with the entry address)
  const vsSubsegments: number[] = [];
  const lfhSubsegments: number[] = [];
  const buckets = new Map<number, number>();
  let bucketArea = B + 0x3000;
  const bucketAddress = (b: number): number => {
    let a = buckets.get(b);
    if (a === undefined) {
      a = bucketArea;
      bucketArea += 0x80;
      buckets.set(b, a);
      m.u8(a, 1); // IsBucket
      m.u8(a + 1, b); // BucketIndex
      m.ptr(bucketsArray + b * ps, a, ps);
    }
    return a;
  };

  const writeTail = (userAddr: number, requested: number, userEnd: number, trace: number, trailer: boolean): number => {
    const unused = userEnd - (userAddr + requested);
    if (trace) {
      const mk = alignUp(userAddr + requested, ps);
      m.u8(mk, 1);
      m.u8(mk + 1, 1);
      m.ptr(mk + 2 * ps, trace, ps);
    }
    if (trailer) {
      if (unused === 1) m.u8(userEnd - 1, 0x80);
      else if (unused >= 2) m.u16(userEnd - 2, unused | (trace ? 0x4000 : 0));
    }
    return unused;
  };
  const traceRoom = (userAddr: number, requested: number, trailer: boolean): number =>
    alignUp(userAddr + requested, ps) - (userAddr + requested) + 3 * ps + (trailer ? 2 : 0);

  for (let s = 0; s < segCount; s++) {
    const seg = pageSegments[s]!;
    const sig = BigInt(seg) ^ BigInt(ctx0) ^ heapKey ^ constant;
    m.big(seg + (x64 ? 0x10 : 0x08), sig, ps);
    const ranges: Range[] = [];
    let nextUnit = fdi;
    const mine = bySegment[s] ?? [];

    // VS subsegments: the segment's vs allocations, split so each subsegment is at most 16 pages
    const vsAll = mine.filter((a) => a.kind === "vs");
    const vsGroups: SegmentAllocSpec[][] = [];
    {
      let group: SegmentAllocSpec[] = [];
      let used = vsFirstChunk + unit;
      for (const a of vsAll) {
        const size = alignUp(unit + a.size + (a.trace ? traceRoom(0, a.size, true) : 0), unit);
        if (size + vsFirstChunk + unit > MAX_SUB_UNITS * PAGE) throw new Error(`segment writer: VS allocation of ${a.size} bytes is too large`);
        if (group.length > 0 && used + size > MAX_SUB_UNITS * PAGE) {
          vsGroups.push(group);
          group = [];
          used = vsFirstChunk + unit;
        }
        group.push(a);
        used += size;
      }
      if (group.length > 0) vsGroups.push(group);
    }
    for (const vs of vsGroups) {
      const chunkSizes = vs.map((a) => {
        const need = a.size + (a.trace ? traceRoom(0, a.size, true) : 0);
        return alignUp(unit + need, unit);
      });
      const used = vsFirstChunk + chunkSizes.reduce((x, y) => x + y, 0);
      const units = Math.ceil((used + unit) / PAGE);
      const V = seg + nextUnit * PAGE;
      ranges.push({ unit: nextUnit, units, flags: 0x0f, unused: 0, extra: false });
      nextUnit += units;
      vsSubsegments.push(V);
      const sizeUnits = (units * PAGE) / unit;
      m.ptr(V + (x64 ? 0x10 : 0x08), 0xffffffff, 4);
      m.u16(V + (x64 ? 0x20 : 0x14), sizeUnits);
      // Signature:15 (+ FullCommit:1) at 0x22 / 0x16; the newest layout has OwnerSlotRef at 0x22 and Signature at 0x24
      m.u16(V + (newest ? 0x24 : x64 ? 0x22 : 0x16), ((sizeUnits ^ VS_CHECK) & 0x7fff) | 0x8000);
      if (newest) m.u16(V + 0x22, 0x0001);
      pushExpected({ userAddress: V, blockAddress: V, requestedSize: 0, blockSize: units * PAGE, kind: "host", free: false, trace: 0 });
      let chunk = V + vsFirstChunk;
      let prev = 0;
      const writeChunk = (c: number, sizeBytes: number, allocated: boolean, unusedFlag: boolean) => {
        const su = sizeBytes / unit;
        const pu = prev / unit;
        const pageOff = ((c & ~0xfff) - V) / PAGE;
        if (x64) {
          const sizes = (BigInt(su) << 16n) | (BigInt(pu) << 32n) | (BigInt(allocated ? 1 : 0) << 48n);
          m.big(c, sizes ^ BigInt(c) ^ heapKey, 8);
        } else {
          const sizes = ((su << 1) | (pu << 16) | (allocated ? 0x80000000 : 0)) >>> 0;
          m.big(c, BigInt(sizes) ^ BigInt(c) ^ heapKey, 4);
        }
        const low = Number((BigInt(c) ^ heapKey) & 0xffn);
        m.u32(c + (x64 ? 8 : 4), ((pageOff ^ low) & 0xff) | (unusedFlag ? 0x100 : 0));
        prev = sizeBytes;
      };
      vs.forEach((a, i) => {
        const size = chunkSizes[i]!;
        const user = chunk + unit;
        if (a.free) {
          writeChunk(chunk, size, false, false);
          pushExpected({ userAddress: user, blockAddress: chunk, requestedSize: 0, blockSize: size, kind: "vs", free: true, trace: 0 });
        } else {
          const unused = writeTail(user, a.size, chunk + size, a.trace ?? 0, true);
          writeChunk(chunk, size, true, unused > 0);
          pushExpected({ userAddress: user, blockAddress: chunk, requestedSize: a.size, blockSize: size, kind: "vs", free: false, trace: a.trace ?? 0 });
        }
        chunk += size;
      });
      const rest = V + units * PAGE - chunk;
      if (rest > 0) {
        writeChunk(chunk, rest, false, false);
        pushExpected({ userAddress: chunk + unit, blockAddress: chunk, requestedSize: 0, blockSize: rest, kind: "vs", free: true, trace: 0 });
      }
    }

    // LFH subsegments: per bucket, as many as the bucket's blocks need (at most 16 pages each)
    const lfh = mine.filter((a) => a.kind === "lfh");
    const byBucket = new Map<number, SegmentAllocSpec[]>();
    for (const a of lfh) {
      const b = bucketFor(a.size + (a.trace ? traceRoom(0, a.size, true) + ps : 0));
      const list = byBucket.get(b) ?? [];
      list.push(a);
      byBucket.set(b, list);
    }
    const lfhGroups: [number, SegmentAllocSpec[]][] = [];
    for (const [b, list] of [...byBucket.entries()].sort((x, y) => x[0] - y[0])) {
      const bs = segmentLfhBucketSize(b);
      const S = MAX_SUB_UNITS * PAGE;
      let cap = Math.floor((S - lfhHeader) / bs);
      while (cap > 0 && alignUp(lfhHeader + Math.ceil((2 * cap) / (ps * 8)) * ps, lfhAlign) + cap * bs > S) cap--;
      const per = Math.max(1, cap - 1);
      for (let i = 0; i < list.length; i += per) lfhGroups.push([b, list.slice(i, i + per)]);
    }
    for (const [b, list] of lfhGroups) {
      const bs = segmentLfhBucketSize(b);
      let units = 1;
      let bc = 0;
      let first = 0;
      for (; units <= MAX_SUB_UNITS; units++) {
        const S = units * PAGE;
        bc = Math.floor((S - lfhHeader) / bs);
        while (bc > 0 && alignUp(lfhHeader + Math.ceil((2 * bc) / (ps * 8)) * ps, lfhAlign) + bc * bs > S) bc--;
        if (bc >= list.length + 1) break;
      }
      first = alignUp(lfhHeader + Math.ceil((2 * bc) / (ps * 8)) * ps, lfhAlign);
      const L = seg + nextUnit * PAGE;
      ranges.push({ unit: nextUnit, units, flags: 0x0b, unused: 0, extra: false });
      nextUnit += units;
      lfhSubsegments.push(L);
      pushExpected({ userAddress: L, blockAddress: L, requestedSize: 0, blockSize: units * PAGE, kind: "host", free: false, trace: 0 });
      if (newest) {
        // union _HEAP_LFH_SUBSEGMENT_STATE: u16 owner reference and free-list state, no pointer; BucketRef at 0x2c
        m.u16(L + 0x10, 0x8000 | b);
        m.u16(L + 0x12, 0x0003);
        m.u16(L + 0x2c, b);
      } else m.ptr(L + (x64 ? 0x10 : 0x08), bucketAddress(b), ps);
      const busy = list.filter((a) => !a.free);
      m.u16(L + (x64 ? 0x20 : 0x10), bc - busy.length);
      m.u16(L + (x64 ? 0x22 : 0x12), bc);
      const shift = is24h2 ? Math.floor(L / PAGE) >>> 0 : (L >>> 0) >>> 12;
      m.u32(L + (x64 ? 0x28 : 0x18), ((bs | (first << 16)) ^ lfhKey ^ shift) >>> 0);
      const bitmap = L + lfhHeader;
      for (let i = 0; i < bc; i++) {
        const blk = L + first + i * bs;
        const a = list[i];
        if (a && !a.free) {
          const unused = writeTail(blk, a.size, blk + bs, a.trace ?? 0, true);
          const bits = 1 | (unused > 0 ? 2 : 0);
          const bi = 2 * i;
          const byte = bitmap + (bi >> 3);
          const p = m.pieces.find((q) => byte >= q.address && byte < q.address + q.bytes.length)!;
          p.bytes[byte - p.address] = p.bytes[byte - p.address]! | (bits << (bi & 7));
          pushExpected({ userAddress: blk, blockAddress: blk, requestedSize: a.size, blockSize: bs, kind: "lfh", free: false, trace: a.trace ?? 0 });
        } else {
          pushExpected({ userAddress: blk, blockAddress: blk, requestedSize: 0, blockSize: bs, kind: "lfh", free: true, trace: 0 });
        }
      }
    }

    // backend blocks and free ranges
    for (const a of mine.filter((x) => x.kind === "backend")) {
      const units = Math.max(1, Math.ceil((a.size + (a.trace ? traceRoom(0, a.size, false) : 0)) / PAGE));
      const blk = seg + nextUnit * PAGE;
      if (a.free) {
        ranges.push({ unit: nextUnit, units, flags: 0x02, unused: 0, extra: false });
        pushExpected({ userAddress: blk, blockAddress: blk, requestedSize: 0, blockSize: units * PAGE, kind: "backend", free: true, trace: 0 });
      } else {
        const unused = writeTail(blk, a.size, blk + units * PAGE, a.trace ?? 0, false);
        ranges.push({ unit: nextUnit, units, flags: 0x03, unused, extra: !!a.trace });
        pushExpected({ userAddress: blk, blockAddress: blk, requestedSize: a.size, blockSize: units * PAGE, kind: "backend", free: false, trace: a.trace ?? 0 });
      }
      nextUnit += units;
    }
    if (nextUnit > 256) throw new Error(`segment writer: page segment ${s} needs ${nextUnit} units (max 256)`);
    if (nextUnit < 256) {
      const blk = seg + nextUnit * PAGE;
      ranges.push({ unit: nextUnit, units: 256 - nextUnit, flags: 0x02, unused: 0, extra: false });
      pushExpected({ userAddress: blk, blockAddress: blk, requestedSize: 0, blockSize: (256 - nextUnit) * PAGE, kind: "backend", free: true, trace: 0 });
    }
    for (const r of ranges) {
      for (let k = 0; k < r.units; k++) {
        const d = seg + (r.unit + k) * descSize;
        const firstDesc = k === 0;
        const flags = firstDesc ? r.flags : r.flags & ~0x02;
        if (firstDesc) {
          m.u32(d + 4, r.unused);
          m.u32(d + 8, r.extra ? 1 : 0);
        }
        const committed = flags & 0x01 ? 1 : 0;
        if (x64) {
          m.u8(d + 0x18, flags);
          m.u8(d + 0x19, committed);
          m.u8(d + 0x1f, firstDesc ? r.units & 0xff : k);
        } else {
          m.u8(d + 0x0c, (flags & 0x1f) | (committed << 5));
          m.u8(d + 0x0f, firstDesc ? r.units & 0xff : k);
        }
      }
    }
  }

  // VS subsegment list
  if (vsListHead >= 0) {
    const nodes = [vsListHead, ...vsSubsegments];
    for (let k = 0; k < nodes.length; k++) {
      const node = nodes[k]!;
      const next = nodes[(k + 1) % nodes.length]!;
      const prev = nodes[(k - 1 + nodes.length) % nodes.length]!;
      m.big(node, BigInt(next) ^ BigInt(node), ps);
      m.big(node + ps, BigInt(prev) ^ BigInt(node), ps);
    }
  }

  // ---- large blocks in an RB tree keyed by address
  const large = spec.allocations.filter((a) => a.kind === "large");
  const largeNodes: { node: number; block: number }[] = [];
  let largeAt = firstSeg + segCount * SEGMENT_SIZE + SEGMENT_SIZE;
  large.forEach((a, i) => {
    const pages = Math.max(1, Math.ceil((a.size + (a.trace ? traceRoom(0, a.size, false) : 0)) / PAGE));
    const blk = largeAt;
    largeAt += alignUp(pages * PAGE, 0x10000) + 0x10000;
    m.alloc(blk, pages * PAGE);
    const node = B + 0x1000 + i * 0x40;
    const unused = writeTail(blk, a.size, blk + pages * PAGE, a.trace ?? 0, false);
    if (unused > 0xffff) throw new Error("segment writer: large block unused bytes exceed 16 bits");
    m.ptr(node + (x64 ? 0x18 : 0x0c), blk + unused, ps);
    const bits = (BigInt(pages) << 12n) | (a.trace ? 1n : 0n);
    m.big(node + (x64 ? 0x20 : 0x10), bits, ps);
    largeNodes.push({ node, block: blk });
    largePages += pages;
    pushExpected({ userAddress: blk, blockAddress: blk, requestedSize: a.size, blockSize: pages * PAGE, kind: "large", free: false, trace: a.trace ?? 0 });
  });
  const build = (lo: number, hi: number, parent: number): number => {
    if (lo > hi) return 0;
    const mid = (lo + hi) >> 1;
    const n = largeNodes[mid]!.node;
    m.ptr(n, build(lo, mid - 1, n), ps);
    m.ptr(n + ps, build(mid + 1, hi, n), ps);
    m.ptr(n + 2 * ps, parent, ps);
    return n;
  };
  const root = build(0, largeNodes.length - 1, 0);
  m.ptr(B + ho.large, root, ps);
  m.ptr(B + ho.large + ps, largeNodes[0]?.node ?? 0, ps);
  m.ptr(B + ho.largeReserved, largePages, ps);
  m.ptr(B + ho.largeCommitted, largePages, ps);

  return {
    address: B,
    pieces: m.pieces.map((p) => ({ address: p.address, bytes: p.bytes })),
    heapKey,
    lfhKey,
    pageSegments,
    vsSubsegments,
    lfhSubsegments,
    largeNodes,
    expected,
    offsets: {
      signature: ho.sig,
      userContext: ho.userContext,
      largeAllocMetadata: ho.large,
      segContexts: ho.segContexts,
      segContextSize: ho.ctxSize,
      vsContext: ho.vs,
      lfhContext: ho.lfh,
      ctxSegmentListHead: co.listHead,
      ctxHeap: co.heap,
      pageSegmentSignature: x64 ? 0x10 : 0x08,
      descriptorSize: descSize,
      vsChunkHeader: unit,
    },
  };
}
