/**
 * `_HEAP` and related offsets per layout and bitness. Every offset comes from listings generated
 * from Microsoft's ntdll PDBs; the rows cite them:
 *   [SS] GitHub AndreyBazhan/SymStore, Include/ntdll.dll/ntdll.dll-<version>-<arch>.h (field
 *        lists by exact build, offsets derived with MSVC layout rules);
 *   [ND] GitHub ntdiff/headers, Win10_1709_RS3/x64/System32/ntdll.dll/ALL_SORTED.h (offsets);
 *   [VL] unlabelled PDB listings with `// Offset=` comments (see shared/docs/layout-evidence.md).
 * The segment part, Encoding and the entry layout are stable from Win7 to Win11. The `_HEAP`
 * tail moves at 9200 (PointerKey removed), 14393 (StackTraceInitVar inserted before
 * FrontEndHeap) and 17763 (CommitLimitData inserted); 10240/10586 keep the 9200 tail and
 * 16299/17134 the 14393 one (layout-evidence.md D1, D2).
 */
export type NtLayoutName = "win7" | "win8" | "win10-1607" | "win10-1809" | "win11-24h2";

export interface NtHeapLayout {
  name: NtLayoutName;
  bitness: 32 | 64;
  /** Pointer size and granule (8 x86, 16 x64). */
  ptr: 4 | 8;
  granule: 8 | 16;
  /** Bytes of a `_HEAP_ENTRY` (8 / 16); the decoded 8 bytes start at `entryData`. */
  entrySize: 8 | 16;
  entryData: 0 | 8;
  segmentSignature: number;
  flags: number;
  forceFlags: number;
  encodeFlagMask: number;
  /** The 8 useful Encoding bytes (x64: Encoding + 8). */
  encoding: number;
  signature: number;
  processHeapsListIndex: number;
  ucrList: number;
  virtualAllocdBlocks: number;
  segmentList: number;
  freeLists: number;
  frontEndHeap: number;
  frontEndHeapType: number;
  /** 24H2 heap-descriptor list pointer (x64 only), else -1. */
  userContext: number;
  /** `_LFH_HEAP.Heap`: the back-pointer that proves FrontEndHeap (front end type 2). */
  lfhHeapBackPointer: number;
  // _HEAP_SEGMENT
  segListEntry: number;
  segHeap: number;
  segBaseAddress: number;
  segNumberOfPages: number;
  segFirstEntry: number;
  segLastValidEntry: number;
  segUncommittedPages: number;
  segUncommittedRanges: number;
  segUcrList: number;
  // _HEAP_UCR_DESCRIPTOR
  ucrSegmentEntry: number;
  ucrAddress: number;
  ucrSize: number;
  ucrDescriptorSize: number;
  // _HEAP_VIRTUAL_ALLOC_ENTRY
  vaCommitSize: number;
  vaReserveSize: number;
  vaBusyBlock: number;
  vaUser: number;
  /** +ust: trace pointer and user data of a VA block. */
  vaUstPointer: number;
  vaUstUser: number;
  /** FreeList link inside a free entry. */
  freeLink: number;
}

interface FamilyOffsets {
  signature: number;
  phli: number;
  ucrList: number;
  va: number;
  segmentList: number;
  freeLists: number;
  feh: number;
  fehType: number;
  userContext: number;
  /** `_LFH_HEAP.Heap`. */
  lfhHeap: number;
}

// The prefix (Signature .. FreeLists) is unchanged 9200 -> 22000 ([SS], [ND] 1709 x64 _HEAP).
const X86: Record<NtLayoutName, FamilyOffsets> = {
  // [SS] ntdll.dll-6.1.7601.17514-x86.h _HEAP (PointerKey present); _LFH_HEAP: _HEAP_LOCK (0x18), SubSegmentZones 0x18, ZoneBlockSize 0x20, Heap 0x24 (derived; checked on the real Win7 WoW64 dump)
  win7: { signature: 0x64, phli: 0x80, ucrList: 0x90, va: 0xa0, segmentList: 0xa8, freeLists: 0xc4, feh: 0xd4, fehType: 0xda, userContext: -1, lfhHeap: 0x24 },
  // [SS] ntdll.dll-6.2.9200.16384-x86.h, 6.3.9600.16384-x86.h, 10.0.10240.16384-x86.h, 10.0.10586.0-x86.h _HEAP (same field list): FrontEndHeap 0xd0, FrontEndHeapType 0xd6; _LFH_HEAP {SRWLOCK Lock; LIST_ENTRY SubSegmentZones; PVOID Heap} Heap 0x0c
  win8: { signature: 0x60, phli: 0x7c, ucrList: 0x8c, va: 0x9c, segmentList: 0xa4, freeLists: 0xc0, feh: 0xd0, fehType: 0xd6, userContext: -1, lfhHeap: 0x0c },
  // [SS] ntdll.dll-10.0.14393.0-x86.h, 15063.0, 16299.15, 17134.1 -x86.h _HEAP (+StackTraceInitVar): 0xd4 / 0xda
  "win10-1607": { signature: 0x60, phli: 0x7c, ucrList: 0x8c, va: 0x9c, segmentList: 0xa4, freeLists: 0xc0, feh: 0xd4, fehType: 0xda, userContext: -1, lfhHeap: 0x0c },
  // [SS] ntdll.dll-10.0.17763.1-x86.h .. 19041.928-x86.h _HEAP (+CommitLimitData); [VL] x86 FrontEndHeap 0xe4, FrontEndHeapType 0xea
  "win10-1809": { signature: 0x60, phli: 0x7c, ucrList: 0x8c, va: 0x9c, segmentList: 0xa4, freeLists: 0xc0, feh: 0xe4, fehType: 0xea, userContext: -1, lfhHeap: 0x0c },
  // no x86 26100 listing found: the 17763 offsets, taken only when the heap's bytes prove them
  "win11-24h2": { signature: 0x60, phli: 0x7c, ucrList: 0x8c, va: 0x9c, segmentList: 0xa4, freeLists: 0xc0, feh: 0xe4, fehType: 0xea, userContext: -1, lfhHeap: 0x0c },
};

const X64: Record<NtLayoutName, FamilyOffsets> = {
  // [SS] ntdll.dll-6.1.7601.17514-x64.h _HEAP; _LFH_HEAP: _HEAP_LOCK (0x28), SubSegmentZones 0x28, ZoneBlockSize 0x38, Heap 0x40 (derived)
  win7: { signature: 0xa0, phli: 0xd8, ucrList: 0xf8, va: 0x118, segmentList: 0x128, freeLists: 0x158, feh: 0x178, fehType: 0x182, userContext: -1, lfhHeap: 0x40 },
  // [SS] ntdll.dll-6.2.9200.16384-x64.h, 6.3.9600.16384-x64.h, 10.0.10240.16384-x64.h, 10.0.10586.0-x64.h _HEAP: FrontEndHeap 0x170, FrontEndHeapType 0x17a; [VL] _LFH_HEAP.Heap 0x18
  win8: { signature: 0x98, phli: 0xd0, ucrList: 0xf0, va: 0x110, segmentList: 0x120, freeLists: 0x150, feh: 0x170, fehType: 0x17a, userContext: -1, lfhHeap: 0x18 },
  // [ND] Win10_1709_RS3/x64/System32/ntdll.dll/ALL_SORTED.h _HEAP: StackTraceInitVar 0x170, FrontEndHeap 0x178, FrontEndHeapType 0x182; [SS] 14393.0, 15063.0, 16299.15, 17134.1 -x64.h same field list
  "win10-1607": { signature: 0x98, phli: 0xd0, ucrList: 0xf0, va: 0x110, segmentList: 0x120, freeLists: 0x150, feh: 0x178, fehType: 0x182, userContext: -1, lfhHeap: 0x18 },
  // [SS] ntdll.dll-10.0.17763.1-x64.h (+CommitLimitData) .. 19041.928-x64.h, 22000.120-x64.h (same _HEAP as 17763.1); [VL] 0x198 / 0x1a2
  "win10-1809": { signature: 0x98, phli: 0xd0, ucrList: 0xf0, va: 0x110, segmentList: 0x120, freeLists: 0x150, feh: 0x198, fehType: 0x1a2, userContext: -1, lfhHeap: 0x18 },
  // UserContext 0x188: x64dbg PR #3478 via heap-internals.md (no 26100 PDB listing found); the rest as 17763
  "win11-24h2": { signature: 0x98, phli: 0xd0, ucrList: 0xf0, va: 0x110, segmentList: 0x120, freeLists: 0x150, feh: 0x198, fehType: 0x1a2, userContext: 0x188, lfhHeap: 0x18 },
};

export const NT_LAYOUT_NAMES: readonly NtLayoutName[] = ["win7", "win8", "win10-1607", "win10-1809", "win11-24h2"];

const cache = new Map<string, NtHeapLayout>();

/** The full layout for a family and bitness. */
export function ntLayout(name: NtLayoutName, bitness: 32 | 64): NtHeapLayout {
  const key = `${name}/${bitness}`;
  const seen = cache.get(key);
  if (seen) return seen;
  const f = (bitness === 32 ? X86 : X64)[name];
  const x64 = bitness === 64;
  const layout: NtHeapLayout = Object.freeze({
    name,
    bitness,
    ptr: x64 ? 8 : 4,
    granule: x64 ? 16 : 8,
    entrySize: x64 ? 16 : 8,
    entryData: x64 ? 8 : 0,
    segmentSignature: x64 ? 0x10 : 0x08,
    flags: x64 ? 0x70 : 0x40,
    forceFlags: x64 ? 0x74 : 0x44,
    encodeFlagMask: x64 ? 0x7c : 0x4c,
    encoding: x64 ? 0x88 : 0x50,
    signature: f.signature,
    processHeapsListIndex: f.phli,
    ucrList: f.ucrList,
    virtualAllocdBlocks: f.va,
    segmentList: f.segmentList,
    freeLists: f.freeLists,
    frontEndHeap: f.feh,
    frontEndHeapType: f.fehType,
    userContext: f.userContext,
    lfhHeapBackPointer: f.lfhHeap,
    segListEntry: x64 ? 0x18 : 0x10,
    segHeap: x64 ? 0x28 : 0x18,
    segBaseAddress: x64 ? 0x30 : 0x1c,
    segNumberOfPages: x64 ? 0x38 : 0x20,
    segFirstEntry: x64 ? 0x40 : 0x24,
    segLastValidEntry: x64 ? 0x48 : 0x28,
    segUncommittedPages: x64 ? 0x50 : 0x2c,
    segUncommittedRanges: x64 ? 0x54 : 0x30,
    segUcrList: x64 ? 0x60 : 0x38,
    ucrSegmentEntry: x64 ? 0x10 : 0x08,
    ucrAddress: x64 ? 0x20 : 0x10,
    ucrSize: x64 ? 0x28 : 0x14,
    ucrDescriptorSize: x64 ? 0x30 : 0x18,
    vaCommitSize: x64 ? 0x20 : 0x10,
    vaReserveSize: x64 ? 0x28 : 0x14,
    vaBusyBlock: x64 ? 0x30 : 0x18,
    vaUser: x64 ? 0x40 : 0x20,
    vaUstPointer: x64 ? 0x40 : 0x20,
    vaUstUser: x64 ? 0x60 : 0x30,
    freeLink: x64 ? 0x10 : 0x08,
  });
  cache.set(key, layout);
  return layout;
}

/**
 * The layout for an OS build, or undefined when the build is not in the table (then the walker
 * probes). Split points follow the [SS] field lists: 9200, 14393, 17763 (22000 = 17763.1).
 * 22621/22631 have no public listing: they take the 17763 table, checked by proof.
 */
export function layoutForBuild(build: number): NtLayoutName | undefined {
  if (!(build > 0)) return undefined;
  if (build >= 7600 && build <= 7601) return "win7";
  if (build >= 9200 && build <= 10586) return "win8";
  if (build >= 14393 && build <= 17134) return "win10-1607";
  if (build >= 17763 && build <= 22631) return "win10-1809";
  if (build >= 26100 && build < 30000) return "win11-24h2";
  return undefined;
}

export const SEGMENT_SIGNATURE = 0xffeeffee;
export const HEAP_SIGNATURE = 0xeeffeeff;
export const SEGMENT_HEAP_SIGNATURE = 0xddeeddee;
export const ENCODE_FLAG = 0x100000;
/** `_HEAP.Flags` HEAP_CAPTURE_STACK_BACKTRACES (set with +ust). */
export const HEAP_CAPTURE_STACK_BACKTRACES = 0x08000000;

/**
 * The NT heap offsets leakscope uses for a build (`leakscope layouts`), keyed `Struct.Field` as
 * the PDB spells them; empty when the build has no table (then the layout is probed).
 */
export function ntOffsets(build: number, bitness: 32 | 64): Record<string, number> {
  const name = layoutForBuild(build);
  if (name === undefined) return {};
  const L = ntLayout(name, bitness);
  const out: Record<string, number> = {
    "_HEAP.Flags": L.flags,
    "_HEAP.ForceFlags": L.forceFlags,
    "_HEAP.EncodeFlagMask": L.encodeFlagMask,
    // x64: the 16-byte _HEAP_ENTRY Encoding at 0x80, its useful 8 bytes at +8
    "_HEAP.Encoding": L.bitness === 64 ? L.encoding - 8 : L.encoding,
    "_HEAP.Signature": L.signature,
    "_HEAP.ProcessHeapsListIndex": L.processHeapsListIndex,
    "_HEAP.UCRList": L.ucrList,
    "_HEAP.VirtualAllocdBlocks": L.virtualAllocdBlocks,
    "_HEAP.SegmentList": L.segmentList,
    "_HEAP.FreeLists": L.freeLists,
    "_HEAP.FrontEndHeap": L.frontEndHeap,
    "_HEAP.FrontEndHeapType": L.frontEndHeapType,
    "_HEAP_SEGMENT.SegmentSignature": L.segmentSignature,
    "_HEAP_SEGMENT.SegmentListEntry": L.segListEntry,
    "_HEAP_SEGMENT.Heap": L.segHeap,
    "_HEAP_SEGMENT.BaseAddress": L.segBaseAddress,
    "_HEAP_SEGMENT.NumberOfPages": L.segNumberOfPages,
    "_HEAP_SEGMENT.FirstEntry": L.segFirstEntry,
    "_HEAP_SEGMENT.LastValidEntry": L.segLastValidEntry,
    "_HEAP_SEGMENT.NumberOfUnCommittedPages": L.segUncommittedPages,
    "_HEAP_SEGMENT.NumberOfUnCommittedRanges": L.segUncommittedRanges,
    "_HEAP_SEGMENT.UCRSegmentList": L.segUcrList,
    "_HEAP_UCR_DESCRIPTOR.SegmentEntry": L.ucrSegmentEntry,
    "_HEAP_UCR_DESCRIPTOR.Address": L.ucrAddress,
    "_HEAP_UCR_DESCRIPTOR.Size": L.ucrSize,
    "_HEAP_VIRTUAL_ALLOC_ENTRY.CommitSize": L.vaCommitSize,
    "_HEAP_VIRTUAL_ALLOC_ENTRY.ReserveSize": L.vaReserveSize,
    "_HEAP_VIRTUAL_ALLOC_ENTRY.BusyBlock": L.vaBusyBlock,
    "_HEAP_FREE_ENTRY.FreeList": L.freeLink,
    "_LFH_HEAP.Heap": L.lfhHeapBackPointer,
  };
  if (L.userContext >= 0) out["_HEAP.UserContext"] = L.userContext;
  return out;
}
