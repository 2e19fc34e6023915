/**
 * Segment heap offsets per layout and bitness. Every row cites the PDB-derived listing it comes
 * from (shared/docs/layout-evidence.md has the comparison):
 *   [ND] GitHub ntdiff/headers: Win10_1709_RS3/x64/System32/ntdll.dll/Standalone/_SEGMENT_HEAP.h
 *        and _HEAP_SEG_CONTEXT.h (offsets); Win10_1809_RS5/x64/.../Standalone/_SEGMENT_HEAP.h (an
 *        RS5 insider build); Win10_1903_19H1_18282/x86/System32/ntoskrnl.exe/Standalone/_HEAP_SEG_CONTEXT.h;
 *   [SS] GitHub AndreyBazhan/SymStore Include/ntdll.dll/ntdll.dll-<version>-<arch>.h (field lists
 *        by build; offsets derived with MSVC layout rules);
 *   [VL] unlabelled PDB listings with `// Offset=` comments (the newest layout's build is inferred).
 * A layout is used for a heap only when the heap's bytes agree with it (see the walker's
 * resolveLayout): both SegContexts point back at the heap, the first VS subsegments pass their
 * signature check, the first LFH subsegments' owner or bucket is consistent.
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

/** `_HEAP_VS_CONTEXT` / `_HEAP_VS_SUBSEGMENT` fields the walker reads. */
export interface VsOffsets {
  /** `_HEAP_VS_CONTEXT.SubsegmentList`; -1 when the field does not exist (newest layout). */
  subsegmentList: number;
  /** `_HEAP_VS_SUBSEGMENT.Size` and `.Signature` (u16 each). */
  size: number;
  signature: number;
}

/** `_HEAP_LFH_SUBSEGMENT` fields the walker reads. */
export interface LfhSubsegmentOffsets {
  /** `Owner` pointer to the `_HEAP_LFH_SUBSEGMENT_OWNER` (bucket); -1 when the field is a state union (newest layout). */
  owner: number;
  /** `BucketRef` (newest layout), else -1. */
  bucketRef: number;
  freeCount: number;
  blockCount: number;
  blockOffsets: number;
  /** `BlockBitmap` (= the header size). */
  blockBitmap: number;
}

export type SegmentLayoutName = "1709" | "1803" | "rs5-insider" | "2004" | "win11" | "newest";

export interface SegmentHeapLayout {
  name: SegmentLayoutName;
  bitness: 32 | 64;
  heap: SegmentHeapOffsets;
  ctx: SegContextOffsets;
  vs: VsOffsets;
  lfh: LfhSubsegmentOffsets;
}

export const SEGMENT_HEAP_SIGNATURE = 0xddeeddee;
export const VS_SUBSEGMENT_CHECK = 0x2bed;

// _HEAP_VS_SUBSEGMENT x64 {ListEntry, CommitBitmap, CommitLock, USHORT Size 0x20, Signature:15 0x22}: [SS] 17763 .. 22000, [ND] 1709 (u16 Signature); x86 Size 0x14, Signature 0x16: [VL]
const VS_64 = { size: 0x20, signature: 0x22 };
const VS_32 = { size: 0x14, signature: 0x16 };
// _HEAP_LFH_SUBSEGMENT x64 Owner 0x10, FreeCount 0x20, BlockCount 0x22, BlockOffsets 0x28, BlockBitmap 0x30: [ND] 1709 x64 ALL_SORTED.h, [SS] 17763.292 .. 22000
const LFH_64: LfhSubsegmentOffsets = { owner: 0x10, bucketRef: -1, freeCount: 0x20, blockCount: 0x22, blockOffsets: 0x28, blockBitmap: 0x30 };
// x86 Owner 0x08, FreeCount 0x10, BlockCount 0x12, BlockOffsets 0x18, bitmap 0x20 (size 0x24): [VL]
const LFH_32: LfhSubsegmentOffsets = { owner: 0x08, bucketRef: -1, freeCount: 0x10, blockCount: 0x12, blockOffsets: 0x18, blockBitmap: 0x20 };
// _HEAP_SEG_CONTEXT 2004 form (17763.1 .. newest): [SS] 17763.1 field list; [VL] x64 LfhContext 0x18, VsContext 0x20, Heap 0x38, SegmentListHead 0x48, SegmentCount 0x58, size 0xc0
const CTX_2004_64: SegContextOffsets = { segmentMask: 0, unitShift: 8, pagesPerUnitShift: 9, firstDescriptorIndex: 0xa, segmentListHead: 0x48, segmentCount: 0x58, lfhContext: 0x18, vsContext: 0x20, heap: 0x38 };
// x86: [ND] Win10_1903_19H1_18282/x86/.../_HEAP_SEG_CONTEXT.h 0x04, 0x06, 0x14, 0x18, 0x24, 0x44, 0x4c (size 0x80)
const CTX_2004_32: SegContextOffsets = { segmentMask: 0, unitShift: 4, pagesPerUnitShift: 5, firstDescriptorIndex: 6, segmentListHead: 0x44, segmentCount: 0x4c, lfhContext: 0x14, vsContext: 0x18, heap: 0x24 };

const L1709_64: SegmentHeapLayout = {
  name: "1709",
  bitness: 64,
  // [ND] Win10_1709_RS3/x64/System32/ntdll.dll/Standalone/_SEGMENT_HEAP.h: Signature 0x10, LargeAllocMetadata 0x50, LargeReservedPages 0x60, LargeCommittedPages 0x68, SegContexts 0x70 (2 x 0x68), VsContext 0x168, LfhContext 0x1e0, size 0x6c0
  heap: { signature: 0x10, userContext: -1, largeAllocMetadata: 0x50, largeReservedPages: 0x60, largeCommittedPages: 0x68, segContexts: 0x70, segContextSize: 0x68, vsContext: 0x168, lfhContext: 0x1e0, size: 0x6c0 },
  // [ND] same folder, _HEAP_SEG_CONTEXT.h: SegmentListHead 0x20, SegmentCount 0x30, LfhContext 0x50, VsContext 0x58, Heap 0x60
  ctx: { segmentMask: 0, unitShift: 8, pagesPerUnitShift: 9, firstDescriptorIndex: 0xa, segmentListHead: 0x20, segmentCount: 0x30, lfhContext: 0x50, vsContext: 0x58, heap: 0x60 },
  // [ND] same file, _HEAP_VS_CONTEXT: SubsegmentList 0x18
  vs: { subsegmentList: 0x18, ...VS_64 },
  lfh: LFH_64,
};
const L1709_32: SegmentHeapLayout = {
  name: "1709",
  bitness: 32,
  // [ND] Win10_1709_RS3/x86/System32/ntdll.dll/Standalone/_SEGMENT_HEAP.h: Signature 0x08, LargeAllocMetadata 0x30, LargeReservedPages 0x38, LargeCommittedPages 0x3c, SegContexts 0x40 (2 x 0x38), VsContext 0xc4, LfhContext 0x100, size 0x370
  heap: { signature: 0x08, userContext: -1, largeAllocMetadata: 0x30, largeReservedPages: 0x38, largeCommittedPages: 0x3c, segContexts: 0x40, segContextSize: 0x38, vsContext: 0xc4, lfhContext: 0x100, size: 0x370 },
  // [ND] same file, _HEAP_SEG_CONTEXT: UnitShift 4, FirstDescriptorIndex 6, SegmentListHead 0x14, SegmentCount 0x1c, LfhContext 0x2c, VsContext 0x30, Heap 0x34
  ctx: { segmentMask: 0, unitShift: 4, pagesPerUnitShift: 5, firstDescriptorIndex: 6, segmentListHead: 0x14, segmentCount: 0x1c, lfhContext: 0x2c, vsContext: 0x30, heap: 0x34 },
  // [ND] same file, _HEAP_VS_CONTEXT: SubsegmentList 0x0c; the VS and LFH subsegment offsets are the later x86 ones (not in that listing)
  vs: { subsegmentList: 0x0c, ...VS_32 },
  lfh: LFH_32,
};
const L1803_64: SegmentHeapLayout = {
  name: "1803",
  bitness: 64,
  // [SS] ntdll.dll-10.0.17134.1-x64.h _SEGMENT_HEAP {EnvHandle; Signature; GlobalFlags; MemStats; Interceptor; ProcessHeapListIndex; GlobalLockCount; GlobalLockOwner; AllocatedFromMetadata:1; LargeMetadataLock; LargeAllocMetadata; LargeReservedPages; LargeCommittedPages; SegContexts[2]; StackTraceInitVar; ContextExtendLock; AllocatedBase; UncommittedBase; ReservedLimit; VsContext; LfhContext} (offsets derived): LargeAllocMetadata 0x50, SegContexts 0x70 (2 x 0x78), VsContext 0x188, LfhContext 0x200
  heap: { signature: 0x10, userContext: -1, largeAllocMetadata: 0x50, largeReservedPages: 0x60, largeCommittedPages: 0x68, segContexts: 0x70, segContextSize: 0x78, vsContext: 0x188, lfhContext: 0x200, size: 0x700 },
  // [SS] 17134.1 _HEAP_SEG_CONTEXT {SegmentMask; UnitShift; PagesPerUnitShift; FirstDescriptorIndex; CachedCommitSoftShift; CachedCommitHighShift; Flags; MaxAllocationSize; SegmentLock; SegmentListHead; SegmentCount; FreePageRanges; MemStats; LfhContext; VsContext; RTL_HP_ENV_HANDLE EnvHandle; Heap}: SegmentListHead 0x20, LfhContext 0x50, VsContext 0x58, Heap 0x70, size 0x78 (derived)
  ctx: { segmentMask: 0, unitShift: 8, pagesPerUnitShift: 9, firstDescriptorIndex: 0xa, segmentListHead: 0x20, segmentCount: 0x30, lfhContext: 0x50, vsContext: 0x58, heap: 0x70 },
  // [SS] 17134.1 _HEAP_VS_CONTEXT {ULONG64 Lock; LockType; RTL_RB_TREE FreeChunkTree; LIST_ENTRY SubsegmentList}: SubsegmentList 0x20 (1709 had no LockType: 0x18)
  vs: { subsegmentList: 0x20, ...VS_64 },
  lfh: LFH_64,
};
const LRS5_64: SegmentHeapLayout = {
  name: "rs5-insider",
  bitness: 64,
  // [ND] Win10_1809_RS5/x64/System32/ntdll.dll/Standalone/_SEGMENT_HEAP.h (an RS5 insider build; no shipped build has it, layout-evidence.md D5)
  heap: { signature: 0x10, userContext: -1, largeAllocMetadata: 0x88, largeReservedPages: 0x98, largeCommittedPages: 0xa0, segContexts: 0xa8, segContextSize: 0x98, vsContext: 0x220, lfhContext: 0x298, size: 0x710 },
  ctx: { segmentMask: 0, unitShift: 8, pagesPerUnitShift: 9, firstDescriptorIndex: 0xa, segmentListHead: 0x20, segmentCount: 0x30, lfhContext: 0x70, vsContext: 0x78, heap: 0x90 },
  vs: { subsegmentList: 0x20, ...VS_64 },
  lfh: LFH_64,
};
const LRS5_32: SegmentHeapLayout = {
  name: "rs5-insider",
  bitness: 32,
  // the x86 counterpart of the RS5 insider table (heap-internals.md §6; no x86 listing re-read)
  heap: { signature: 0x08, userContext: -1, largeAllocMetadata: 0x50, largeReservedPages: 0x58, largeCommittedPages: 0x5c, segContexts: 0x60, segContextSize: 0x50, vsContext: 0x124, lfhContext: 0x164, size: 0x3a4 },
  ctx: { segmentMask: 0, unitShift: 4, pagesPerUnitShift: 5, firstDescriptorIndex: 6, segmentListHead: 0x14, segmentCount: 0x1c, lfhContext: 0x3c, vsContext: 0x40, heap: 0x4c },
  vs: { subsegmentList: 0x10, ...VS_32 },
  lfh: LFH_32,
};
const L2004_64: SegmentHeapLayout = {
  name: "2004",
  bitness: 64,
  // [VL] UserContext 0x28, LargeAllocMetadata 0x48, LargeReserved/Committed 0x58/0x60, SegContexts 0x100 (2 x 0xc0), VsContext 0x280, LfhContext 0x340; [SS] 17763.1 (union overlay), 17763.292 = 18362 = 19041 field lists
  heap: { signature: 0x10, userContext: 0x28, largeAllocMetadata: 0x48, largeReservedPages: 0x58, largeCommittedPages: 0x60, segContexts: 0x100, segContextSize: 0xc0, vsContext: 0x280, lfhContext: 0x340, size: 0x800 },
  ctx: CTX_2004_64,
  // _HEAP_VS_CONTEXT {Lock; LockType; FreeChunkTree 0x10; SubsegmentList 0x20}: [SS] 17763 .. 22000
  vs: { subsegmentList: 0x20, ...VS_64 },
  lfh: LFH_64,
};
const L2004_32: SegmentHeapLayout = {
  name: "2004",
  bitness: 32,
  // [VL] x86: LargeAllocMetadata 0x44, 0x4c/0x50, SegContexts 0x100 (2 x 0x80), VsContext 0x200, LfhContext 0x2c0
  heap: { signature: 0x08, userContext: 0x1c, largeAllocMetadata: 0x44, largeReservedPages: 0x4c, largeCommittedPages: 0x50, segContexts: 0x100, segContextSize: 0x80, vsContext: 0x200, lfhContext: 0x2c0, size: 0x580 },
  ctx: CTX_2004_32,
  vs: { subsegmentList: 0x10, ...VS_32 },
  lfh: LFH_32,
};
const LWIN11_64: SegmentHeapLayout = {
  name: "win11",
  bitness: 64,
  // [SS] ntdll.dll-10.0.22000.120-x64.h: the 19041 list + Tag + ReservedRegionEnd, so SegContexts 0x140 (64-byte aligned), VsContext 0x2c0, LfhContext 0x380; LargeAllocMetadata stays 0x48 (layout-evidence.md D3); [VL] Win11-era kernel _SEGMENT_HEAP: SegContexts 0x140, VsContext 0x2c0, LfhContext 0x380
  heap: { signature: 0x10, userContext: 0x28, largeAllocMetadata: 0x48, largeReservedPages: 0x58, largeCommittedPages: 0x60, segContexts: 0x140, segContextSize: 0xc0, vsContext: 0x2c0, lfhContext: 0x380, size: 0x900 },
  ctx: CTX_2004_64,
  vs: { subsegmentList: 0x20, ...VS_64 },
  lfh: LFH_64,
};
const LNEWEST_64: SegmentHeapLayout = {
  name: "newest",
  bitness: 64,
  // [VL] the newest listing (size 0xa00, UserContext 0x38: inferred 24H2): SegContexts 0x140, VsContext 0x2c0, LfhContext 0x340; LargeAllocMetadata 0x48 (layout-evidence.md D3, D4)
  heap: { signature: 0x10, userContext: 0x38, largeAllocMetadata: 0x48, largeReservedPages: 0x58, largeCommittedPages: 0x60, segContexts: 0x140, segContextSize: 0xc0, vsContext: 0x2c0, lfhContext: 0x340, size: 0xa00 },
  ctx: CTX_2004_64,
  // [VL] _HEAP_VS_CONTEXT (size 0x60) has no SubsegmentList; _HEAP_VS_SUBSEGMENT: Size 0x20, OwnerSlotRef 0x22, Signature 0x24 (size 0x28)
  vs: { subsegmentList: -1, size: 0x20, signature: 0x24 },
  // [VL] _HEAP_LFH_SUBSEGMENT: union _HEAP_LFH_SUBSEGMENT_STATE at 0x10 (no Owner pointer), FreeCount 0x20, BlockCount 0x22, BlockOffsets 0x28, BucketRef 0x2c, BlockBitmap 0x40 (size 0x48)
  lfh: { owner: -1, bucketRef: 0x2c, freeCount: 0x20, blockCount: 0x22, blockOffsets: 0x28, blockBitmap: 0x40 },
};

/** Every candidate layout, oldest first. */
export const SEGMENT_LAYOUTS: readonly SegmentHeapLayout[] = [L1709_64, L1709_32, L1803_64, LRS5_64, LRS5_32, L2004_64, L2004_32, LWIN11_64, LNEWEST_64];

/**
 * The build's own table: 16299 the 1709 table, 17134 the 1803 table (x64; no x86 listing found),
 * 17763-19045 the 2004 table, 22000-22631 the Windows 11 table (x64; x86 WoW64 keeps the 2004
 * table: no x86 22000 listing), 26100+ the newest table (x64). Undefined before 16299 (no
 * SegContexts) and where no listing exists: then every candidate is tried.
 */
export function segmentLayoutForBuild(build: number, bitness: 32 | 64): SegmentHeapLayout | undefined {
  const x64 = bitness === 64;
  if (build >= 16299 && build < 17134) return x64 ? L1709_64 : L1709_32;
  if (build >= 17134 && build < 17763) return x64 ? L1803_64 : undefined;
  if (build >= 17763 && build < 22000) return x64 ? L2004_64 : L2004_32;
  if (build >= 22000 && build < 26100) return x64 ? LWIN11_64 : L2004_32;
  if (build >= 26100 && build < 30000) return x64 ? LNEWEST_64 : undefined;
  return undefined;
}

/** Candidate layouts for a heap: the build's own first, then the others, nearest build first. */
export function probeCandidates(build: number, bitness: 32 | 64): SegmentHeapLayout[] {
  const all = SEGMENT_LAYOUTS.filter((l) => l.bitness === bitness);
  const own = segmentLayoutForBuild(build, bitness);
  const rest = all.filter((l) => l !== own);
  if (build >= 19041 || build === 0) rest.reverse();
  return own ? [own, ...rest] : rest;
}

/** The segment-heap offsets leakscope uses for a build (`leakscope layouts`), keyed as the PDB spells them. */
export function segmentOffsets(build: number, bitness: 32 | 64): Record<string, number> {
  const L = segmentLayoutForBuild(build, bitness);
  if (!L) return {};
  const out: Record<string, number> = {
    "_SEGMENT_HEAP.Signature": L.heap.signature,
    "_SEGMENT_HEAP.LargeAllocMetadata": L.heap.largeAllocMetadata,
    "_SEGMENT_HEAP.LargeReservedPages": L.heap.largeReservedPages,
    "_SEGMENT_HEAP.LargeCommittedPages": L.heap.largeCommittedPages,
    "_SEGMENT_HEAP.SegContexts": L.heap.segContexts,
    "_SEGMENT_HEAP.VsContext": L.heap.vsContext,
    "_SEGMENT_HEAP.LfhContext": L.heap.lfhContext,
    "_HEAP_SEG_CONTEXT.UnitShift": L.ctx.unitShift,
    "_HEAP_SEG_CONTEXT.FirstDescriptorIndex": L.ctx.firstDescriptorIndex,
    "_HEAP_SEG_CONTEXT.SegmentListHead": L.ctx.segmentListHead,
    "_HEAP_SEG_CONTEXT.LfhContext": L.ctx.lfhContext,
    "_HEAP_SEG_CONTEXT.VsContext": L.ctx.vsContext,
    "_HEAP_SEG_CONTEXT.Heap": L.ctx.heap,
    "_HEAP_VS_SUBSEGMENT.Size": L.vs.size,
    "_HEAP_VS_SUBSEGMENT.Signature": L.vs.signature,
    "_HEAP_LFH_SUBSEGMENT.FreeCount": L.lfh.freeCount,
    "_HEAP_LFH_SUBSEGMENT.BlockCount": L.lfh.blockCount,
    "_HEAP_LFH_SUBSEGMENT.BlockOffsets": L.lfh.blockOffsets,
    "_HEAP_LFH_SUBSEGMENT.BlockBitmap": L.lfh.blockBitmap,
  };
  if (L.heap.userContext >= 0) out["_SEGMENT_HEAP.UserContext"] = L.heap.userContext;
  if (L.vs.subsegmentList >= 0) out["_HEAP_VS_CONTEXT.SubsegmentList"] = L.vs.subsegmentList;
  if (L.lfh.owner >= 0) out["_HEAP_LFH_SUBSEGMENT.Owner"] = L.lfh.owner;
  if (L.lfh.bucketRef >= 0) out["_HEAP_LFH_SUBSEGMENT.BucketRef"] = L.lfh.bucketRef;
  return out;
}

/** Block sizes of the 128 segment-LFH buckets, bucket 1 first. */
export const LFH_BUCKET_BLOCK_SIZES: readonly number[] = Array.from({ length: 128 }, (_, i) => lfhBucketBlockSize(i + 1));

/** Whether `bytes` is the block size of a segment-LFH bucket. */
export function isLfhBucketBlockSize(bytes: number): boolean {
  return LFH_BUCKET_BLOCK_SIZES.includes(bytes);
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
