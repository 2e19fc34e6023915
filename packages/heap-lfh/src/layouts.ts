/**
 * NT front-end (LFH) structure offsets per family and bitness (facts: shared/docs/heap-internals.md
 * §5.1). `win7` is Windows 7 SP1; `win8` covers Windows 8, 8.1, 10 and 11 (the Win8 redesign:
 * zones counted by NextIndex, user-data headers with EncodedOffsets and a busy bitmap).
 *
 * `win8-rtm` is Windows 8 RTM (9200): the Win8 layout, but its `_LFH_BLOCK_ZONE` still holds
 * FreePointer/Limit ([SS] AndreyBazhan/SymStore Include/ntdll.dll/ntdll.dll-6.2.9200.16384-{x64,x86}.h;
 * NextIndex appears in 6.3.9600.16384; shared/docs/layout-evidence.md D6). Which form a heap
 * uses is proven from its first zone (see the walker).
 *
 * Verified on a real dump: Win7 x86 (WoW64). Win7 x64 offsets match a public PDB-derived Win7 SP1
 * x64 structure profile (_LFH_HEAP.SubSegmentZones 0x28, zone header 0x20, _HEAP_SUBSEGMENT 0x30
 * with BlockSize 0x18, user-data Signature 0x18); the Win8+ x64 user-data header matches the
 * public Win10 x64 headers. Win8/8.1 and Win11 are assumed equal to Win10 (no dump yet).
 */
export type LfhFamily = "win7" | "win8-rtm" | "win8";

export interface LfhLayout {
  family: LfhFamily;
  bitness: 32 | 64;
  ptr: 4 | 8;
  /** Granule (8 x86, 16 x64) and `_HEAP_ENTRY` size. */
  granule: 8 | 16;
  entry: 8 | 16;
  /** Where the 8 header bytes (SubSegmentCode, PreviousSize, SegmentOffset, UnusedBytes) start. */
  entryData: 0 | 8;
  /** Right shift of the block header address in the SubSegmentCode (3 x86, 4 x64). */
  shift: 3 | 4;
  // _LFH_HEAP
  lfhZones: number;
  // _LFH_BLOCK_ZONE
  zoneArray: number;
  /** Win7: FreePointer and Limit; -1 otherwise. */
  zoneFreePointer: number;
  zoneLimit: number;
  /** Win8+: NextIndex (u32); -1 otherwise. */
  zoneNextIndex: number;
  // _HEAP_SUBSEGMENT
  ssUserBlocks: number;
  ssAggregate: number;
  ssBlockSize: number;
  ssBlockCount: number;
  ssSizeIndex: number;
  ssSize: number;
  // _HEAP_USERDATA_HEADER
  udSizeIndex: number;
  udSignature: number;
  /** Win7: first block offset (header size); Win8+: -1 (blocks start at FirstAllocationOffset). */
  udFirstBlock: number;
  udEncodedOffsets: number;
  udBitmapSize: number;
  udBitmapBuffer: number;
  udBitmapData: number;
}

export const USERDATA_SIGNATURE = 0xf0e0d0c0;

const layouts = new Map<string, LfhLayout>();

export function lfhLayout(family: LfhFamily, bitness: 32 | 64): LfhLayout {
  const key = `${family}/${bitness}`;
  const seen = layouts.get(key);
  if (seen) return seen;
  const x64 = bitness === 64;
  const base = {
    family,
    bitness,
    ptr: x64 ? 8 : 4,
    granule: x64 ? 16 : 8,
    entry: x64 ? 16 : 8,
    entryData: x64 ? 8 : 0,
    shift: x64 ? 4 : 3,
  } as const;
  let l: LfhLayout;
  if (family === "win7") {
    l = {
      ...base,
      lfhZones: x64 ? 0x28 : 0x18,
      zoneArray: x64 ? 0x20 : 0x10,
      zoneFreePointer: x64 ? 0x10 : 0x08,
      zoneLimit: x64 ? 0x18 : 0x0c,
      zoneNextIndex: -1,
      ssUserBlocks: x64 ? 0x08 : 0x04,
      ssAggregate: x64 ? 0x10 : 0x08,
      ssBlockSize: x64 ? 0x18 : 0x10,
      ssBlockCount: x64 ? 0x1c : 0x14,
      ssSizeIndex: x64 ? 0x1e : 0x16,
      ssSize: x64 ? 0x30 : 0x20,
      udSizeIndex: x64 ? 0x10 : 0x08,
      udSignature: x64 ? 0x18 : 0x0c,
      udFirstBlock: x64 ? 0x20 : 0x10,
      udEncodedOffsets: -1,
      udBitmapSize: -1,
      udBitmapBuffer: -1,
      udBitmapData: -1,
    };
  } else {
    const rtm = family === "win8-rtm";
    l = {
      ...base,
      // [SS] 9200 .. 22000 x86/x64 _LFH_HEAP {RTL_SRWLOCK Lock; LIST_ENTRY SubSegmentZones; PVOID Heap}
      lfhZones: x64 ? 0x08 : 0x04,
      // [SS] 9200: {LIST_ENTRY ListEntry; PVOID FreePointer; PVOID Limit}; 9600 .. 22000: {LIST_ENTRY ListEntry; LONG NextIndex} (array 0x10 / 0x20 in both)
      zoneArray: x64 ? 0x20 : 0x10,
      zoneFreePointer: rtm ? (x64 ? 0x10 : 0x08) : -1,
      zoneLimit: rtm ? (x64 ? 0x18 : 0x0c) : -1,
      zoneNextIndex: rtm ? -1 : x64 ? 0x10 : 0x08,
      ssUserBlocks: x64 ? 0x08 : 0x04,
      ssAggregate: x64 ? 0x20 : 0x10,
      ssBlockSize: x64 ? 0x24 : 0x14,
      ssBlockCount: x64 ? 0x28 : 0x18,
      ssSizeIndex: x64 ? 0x2a : 0x1a,
      ssSize: x64 ? 0x40 : 0x28,
      udSizeIndex: x64 ? 0x10 : 0x08,
      udSignature: x64 ? 0x14 : 0x0c,
      udFirstBlock: -1,
      udEncodedOffsets: x64 ? 0x18 : 0x10,
      udBitmapSize: x64 ? 0x20 : 0x14,
      udBitmapBuffer: x64 ? 0x28 : 0x18,
      udBitmapData: x64 ? 0x30 : 0x1c,
    };
  }
  Object.freeze(l);
  layouts.set(key, l);
  return l;
}

/** The LFH family for heap-nt's `_HEAP` layout name and the OS build (9200: `win8-rtm`). */
export function familyForNtLayout(ntLayout: string, build = 0): LfhFamily {
  if (ntLayout === "win7") return "win7";
  return build >= 9200 && build < 9600 ? "win8-rtm" : "win8";
}

/** `_LFH_BLOCK_ZONE.NextIndex` (Win8.1+) or `.FreePointer`/`.Limit` (Win7, Win8 RTM), for `leakscope layouts`. */
export function lfhOffsets(build: number, bitness: 32 | 64): Record<string, number> {
  const L = lfhLayout(build > 0 && build < 9200 ? "win7" : familyForNtLayout("win8", build), bitness);
  const out: Record<string, number> = {
    "_LFH_HEAP.SubSegmentZones": L.lfhZones,
    "_LFH_HEAP.Heap": L.lfhZones + 2 * L.ptr + (L.family === "win7" ? L.ptr : 0),
  };
  if (L.zoneNextIndex >= 0) out["_LFH_BLOCK_ZONE.NextIndex"] = L.zoneNextIndex;
  else {
    out["_LFH_BLOCK_ZONE.FreePointer"] = L.zoneFreePointer;
    out["_LFH_BLOCK_ZONE.Limit"] = L.zoneLimit;
  }
  out["_HEAP_SUBSEGMENT.UserBlocks"] = L.ssUserBlocks;
  out["_HEAP_SUBSEGMENT.BlockSize"] = L.ssBlockSize;
  out["_HEAP_SUBSEGMENT.BlockCount"] = L.ssBlockCount;
  out["_HEAP_USERDATA_HEADER.Signature"] = L.udSignature;
  if (L.udEncodedOffsets >= 0) out["_HEAP_USERDATA_HEADER.EncodedOffsets"] = L.udEncodedOffsets;
  return out;
}
