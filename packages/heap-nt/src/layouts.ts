/**
 * `_HEAP` and related offsets per build family and bitness (facts: shared/docs/heap-internals.md
 * §3-§4). The segment part, Encoding and the entry layout are stable from Win7 to Win11; what
 * moves is everything after Encoding (Win8 removed PointerKey) and FrontEndHeap (Win10 1507 and
 * 1709 inserted fields before it).
 */
export type NtLayoutName = "win7" | "win8" | "win10-1507" | "win10-1709" | "win11" | "win11-24h2";

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
}

const X86: Record<NtLayoutName, FamilyOffsets> = {
  win7: { signature: 0x64, phli: 0x80, ucrList: 0x90, va: 0xa0, segmentList: 0xa8, freeLists: 0xc4, feh: 0xd4, fehType: 0xda, userContext: -1 },
  win8: { signature: 0x60, phli: 0x7c, ucrList: 0x8c, va: 0x9c, segmentList: 0xa4, freeLists: 0xc0, feh: 0xd0, fehType: 0xd6, userContext: -1 },
  "win10-1507": { signature: 0x60, phli: 0x7c, ucrList: 0x8c, va: 0x9c, segmentList: 0xa4, freeLists: 0xc0, feh: 0xd4, fehType: 0xda, userContext: -1 },
  "win10-1709": { signature: 0x60, phli: 0x7c, ucrList: 0x8c, va: 0x9c, segmentList: 0xa4, freeLists: 0xc0, feh: 0xe4, fehType: 0xea, userContext: -1 },
  win11: { signature: 0x60, phli: 0x7c, ucrList: 0x8c, va: 0x9c, segmentList: 0xa4, freeLists: 0xc0, feh: 0xe4, fehType: 0xea, userContext: -1 },
  "win11-24h2": { signature: 0x60, phli: 0x7c, ucrList: 0x8c, va: 0x9c, segmentList: 0xa4, freeLists: 0xc0, feh: 0xe4, fehType: 0xea, userContext: -1 },
};

const X64: Record<NtLayoutName, FamilyOffsets> = {
  win7: { signature: 0xa0, phli: 0xd8, ucrList: 0xf8, va: 0x118, segmentList: 0x128, freeLists: 0x158, feh: 0x178, fehType: 0x182, userContext: -1 },
  win8: { signature: 0x98, phli: 0xd0, ucrList: 0xf0, va: 0x110, segmentList: 0x120, freeLists: 0x150, feh: 0x170, fehType: 0x17a, userContext: -1 },
  "win10-1507": { signature: 0x98, phli: 0xd0, ucrList: 0xf0, va: 0x110, segmentList: 0x120, freeLists: 0x150, feh: 0x178, fehType: 0x182, userContext: -1 },
  "win10-1709": { signature: 0x98, phli: 0xd0, ucrList: 0xf0, va: 0x110, segmentList: 0x120, freeLists: 0x150, feh: 0x198, fehType: 0x1a2, userContext: -1 },
  win11: { signature: 0x98, phli: 0xd0, ucrList: 0xf0, va: 0x110, segmentList: 0x120, freeLists: 0x150, feh: 0x198, fehType: 0x1a2, userContext: -1 },
  "win11-24h2": { signature: 0x98, phli: 0xd0, ucrList: 0xf0, va: 0x110, segmentList: 0x120, freeLists: 0x150, feh: 0x198, fehType: 0x1a2, userContext: 0x188 },
};

export const NT_LAYOUT_NAMES: readonly NtLayoutName[] = ["win7", "win8", "win10-1507", "win10-1709", "win11", "win11-24h2"];

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
 * The layout family for an OS build, or undefined when the build is not in the table
 * (then the walker probes). Win11 21H2-23H2 (22000-22631) share the 1709 `_HEAP` offsets.
 */
export function layoutForBuild(build: number): NtLayoutName | undefined {
  if (!(build > 0)) return undefined;
  if (build >= 7600 && build <= 7601) return "win7";
  if (build >= 9200 && build <= 9600) return "win8";
  if (build >= 10240 && build <= 15063) return "win10-1507";
  if (build >= 16299 && build <= 19045) return "win10-1709";
  if (build >= 22000 && build <= 22631) return "win11";
  if (build >= 26100 && build < 30000) return "win11-24h2";
  return undefined;
}

export const SEGMENT_SIGNATURE = 0xffeeffee;
export const HEAP_SIGNATURE = 0xeeffeeff;
export const SEGMENT_HEAP_SIGNATURE = 0xddeeddee;
export const ENCODE_FLAG = 0x100000;
/** `_HEAP.Flags` HEAP_CAPTURE_STACK_BACKTRACES (set with +ust). */
export const HEAP_CAPTURE_STACK_BACKTRACES = 0x08000000;
