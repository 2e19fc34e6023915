/**
 * NT front-end (LFH) structure offsets per family and bitness (facts: shared/docs/heap-internals.md
 * §5.1). `win7` is Windows 7 SP1; `win8` covers Windows 8, 8.1, 10 and 11 (the Win8 redesign:
 * zones counted by NextIndex, user-data headers with EncodedOffsets and a busy bitmap).
 *
 * Verified on a real dump: Win7 x86 (WoW64). Win7 x64 offsets match a public PDB-derived Win7 SP1
 * x64 structure profile (_LFH_HEAP.SubSegmentZones 0x28, zone header 0x20, _HEAP_SUBSEGMENT 0x30
 * with BlockSize 0x18, user-data Signature 0x18); the Win8+ x64 user-data header matches the
 * public Win10 x64 headers. Win8/8.1 and Win11 are assumed equal to Win10 (no dump yet).
 */
export type LfhFamily = "win7" | "win8";

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
    l = {
      ...base,
      lfhZones: x64 ? 0x08 : 0x04,
      zoneArray: x64 ? 0x20 : 0x10,
      zoneFreePointer: -1,
      zoneLimit: -1,
      zoneNextIndex: x64 ? 0x10 : 0x08,
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

/** The LFH family for heap-nt's `_HEAP` layout name (`win7` or anything newer). */
export function familyForNtLayout(ntLayout: string): LfhFamily {
  return ntLayout === "win7" ? "win7" : "win8";
}
