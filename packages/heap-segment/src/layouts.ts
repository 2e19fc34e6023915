/**
 * Segment heap offsets per layout family and bitness (heap-internals.md §6). The 1809 and 2004
 * tables come from public symbol listings; builds between and after are checked against the
 * structure (SegContexts back-pointers) and fall back to probing.
 */

export interface SegmentHeapOffsets {
  signature: number;
  /** -1 when the field does not exist. */
  userContext: number;
  largeAllocMetadata: number;
  largeReservedPages: number;
  largeCommittedPages: number;
  segContexts: number;
  segContextSize: number;
  vsContext: number;
  lfhContext: number;
  size: number;
}

export interface SegContextOffsets {
  segmentMask: number;
  unitShift: number;
  pagesPerUnitShift: number;
  firstDescriptorIndex: number;
  segmentListHead: number;
  segmentCount: number;
  lfhContext: number;
  vsContext: number;
  heap: number;
}

export interface SegmentHeapLayout {
  name: "1809" | "2004";
  bitness: 32 | 64;
  heap: SegmentHeapOffsets;
  ctx: SegContextOffsets;
}

export const SEGMENT_HEAP_SIGNATURE = 0xddeeddee;
export const VS_SUBSEGMENT_CHECK = 0x2bed;

const L1809_64: SegmentHeapLayout = {
  name: "1809",
  bitness: 64,
  heap: { signature: 0x10, userContext: -1, largeAllocMetadata: 0x88, largeReservedPages: 0x98, largeCommittedPages: 0xa0, segContexts: 0xa8, segContextSize: 0x98, vsContext: 0x220, lfhContext: 0x298, size: 0x710 },
  ctx: { segmentMask: 0, unitShift: 8, pagesPerUnitShift: 9, firstDescriptorIndex: 0xa, segmentListHead: 0x20, segmentCount: 0x30, lfhContext: 0x70, vsContext: 0x78, heap: 0x90 },
};
const L1809_32: SegmentHeapLayout = {
  name: "1809",
  bitness: 32,
  heap: { signature: 0x08, userContext: -1, largeAllocMetadata: 0x50, largeReservedPages: 0x58, largeCommittedPages: 0x5c, segContexts: 0x60, segContextSize: 0x50, vsContext: 0x124, lfhContext: 0x164, size: 0x3a4 },
  ctx: { segmentMask: 0, unitShift: 4, pagesPerUnitShift: 5, firstDescriptorIndex: 6, segmentListHead: 0x14, segmentCount: 0x1c, lfhContext: 0x3c, vsContext: 0x40, heap: 0x4c },
};
const L2004_64: SegmentHeapLayout = {
  name: "2004",
  bitness: 64,
  heap: { signature: 0x10, userContext: 0x28, largeAllocMetadata: 0x48, largeReservedPages: 0x58, largeCommittedPages: 0x60, segContexts: 0x100, segContextSize: 0xc0, vsContext: 0x280, lfhContext: 0x340, size: 0x800 },
  ctx: { segmentMask: 0, unitShift: 8, pagesPerUnitShift: 9, firstDescriptorIndex: 0xa, segmentListHead: 0x48, segmentCount: 0x58, lfhContext: 0x18, vsContext: 0x20, heap: 0x38 },
};
const L2004_32: SegmentHeapLayout = {
  name: "2004",
  bitness: 32,
  heap: { signature: 0x08, userContext: 0x1c, largeAllocMetadata: 0x44, largeReservedPages: 0x4c, largeCommittedPages: 0x50, segContexts: 0x100, segContextSize: 0x80, vsContext: 0x200, lfhContext: 0x2c0, size: 0x580 },
  ctx: { segmentMask: 0, unitShift: 4, pagesPerUnitShift: 5, firstDescriptorIndex: 6, segmentListHead: 0x44, segmentCount: 0x4c, lfhContext: 0x14, vsContext: 0x18, heap: 0x24 },
};

export const SEGMENT_LAYOUTS: readonly SegmentHeapLayout[] = [L1809_64, L1809_32, L2004_64, L2004_32];

/**
 * The table to try first for a build: 16299-17763 (1709-1809) the 1809 table, 18362-22631
 * (1903-23H2) the 2004 table; undefined for builds before 1709 (no SegContexts) and for 24H2+
 * (unknown: probed).
 */
export function segmentLayoutForBuild(build: number, bitness: 32 | 64): SegmentHeapLayout | undefined {
  if (build >= 16299 && build <= 17763) return bitness === 64 ? L1809_64 : L1809_32;
  if (build > 17763 && build < 26100) return bitness === 64 ? L2004_64 : L2004_32;
  return undefined;
}

/** Candidate layouts for probing, nearest family first. */
export function probeCandidates(build: number, bitness: 32 | 64): SegmentHeapLayout[] {
  const all = SEGMENT_LAYOUTS.filter((l) => l.bitness === bitness);
  return build > 17763 || build === 0 ? all.slice().reverse() : all;
}

/** Block size of segment-LFH bucket `i` (1..128), 0 for an invalid index. */
export function lfhBucketBlockSize(i: number): number {
  if (!(i >= 1 && i <= 128)) return 0;
  if (i <= 64) return i * 16;
  if (i <= 80) return 0x400 + (i - 64) * 64;
  if (i <= 96) return 0x800 + (i - 80) * 128;
  if (i <= 112) return 0x1000 + (i - 96) * 256;
  return 0x2000 + (i - 112) * 512;
}
