import type { Address } from "@leakscope/core";

/**
 * What the NT backend walker learns about a heap and leaves on `heap.data.nt` for front ends
 * (heap-lfh) and stack-trace extraction. Written by heap-nt at `walkHeap` / STAGE_BACKEND,
 * read by later stages. Offsets are resolved for the heap's build family and bitness.
 */
export interface NtHeapState {
  /** Layout the walker chose (`win7`, `win8` (9200-10586), `win10-1607` (14393-17134), `win10-1809` (17763-22631), `win11-24h2`). */
  layout: string;
  /** True when the layout was probed from the structure rather than taken from the build table. */
  probed: boolean;
  /** 8 (x86) or 16 (x64). */
  granularity: 8 | 16;
  /** Backend header encoding is on (EncodeFlagMask has 0x100000). */
  encoded: boolean;
  /** The 8 decoding bytes of `_HEAP.Encoding` (x64: the 8 useful bytes at Encoding+8). */
  encoding: Uint8Array;
  /** `_HEAP.Flags` and `ForceFlags`. */
  flags: number;
  forceFlags: number;
  /** `_HEAP.FrontEndHeapType` (2 = LFH) and `FrontEndHeap` pointer (NaN when absent). */
  frontEndHeapType: number;
  frontEndHeap: Address;
  /**
   * What the heap's bytes prove of the front end with the chosen layout: `lfh` (type 2, and the
   * `_LFH_HEAP` points back, or it is not captured), `none` (type 0), `unproven` (no layout fits:
   * NT_HEAP_LAYOUT_NONE; the LFH is not walked).
   */
  frontEnd?: "lfh" | "none" | "unproven";
  /** Segment base addresses walked. */
  segments: Address[];
  /**
   * Indices (in run.allocations) of busy backend blocks flagged as front-end hosts
   * (header Flags 0x08 "internal" in an LFH heap): the LFH user-block allocations.
   */
  hostBlocks: number[];
  /** Stack-trace database hints found while walking (+ust), if any. */
  ustEnabled: boolean;
  /** Indices of busy backend blocks with header flag 0x08 that are not LFH user blocks (zone blocks...), flagged INTERNAL. */
  internalBlocks: number[];
  /** Segments whose block loop ran on a worker thread (0 when the heap was walked on one thread). */
  walkedInWorkers: number;
  /** One entry per segment walked, in SegmentList order. */
  segmentWalks: NtSegmentWalk[];
  /** Entries on `_HEAP.FreeLists` (NaN when the list could not be walked). */
  freeListLength: number;
  /** True when the free list holds exactly the free blocks of the segment walks. */
  freeListAgrees: boolean;
  /** Headers that failed their checksum. */
  checksumFailures: number;
  /** VirtualAlloc'd blocks walked. */
  virtualBlocks: number;
}

/** What one segment walk found (for `heaps` summaries and consistency checks). */
export interface NtSegmentWalk {
  base: Address;
  firstEntry: Address;
  lastValidEntry: Address;
  /** Bytes of blocks walked (busy + free, headers included). */
  blockBytes: number;
  busyBytes: number;
  freeBytes: number;
  /** Uncommitted ranges skipped and their bytes. */
  ucrs: number;
  ucrBytes: number;
  blocks: number;
  /** The walk stopped exactly at LastValidEntry. */
  endedAtEnd: boolean;
}

declare module "@leakscope/core" {
  interface HeapData {
    nt?: NtHeapState;
  }
}
