import type { Address } from "@leakscope/core";

/**
 * What the NT backend walker learns about a heap and leaves on `heap.data.nt` for front ends
 * (heap-lfh) and stack-trace extraction. Written by heap-nt at `walkHeap` / STAGE_BACKEND,
 * read by later stages. Offsets are resolved for the heap's build family and bitness.
 */
export interface NtHeapState {
  /** Layout family the walker chose (e.g. `win7`, `win8`, `win10-1507`, `win10-1709`, `win11-24h2`). */
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
  /** Segment base addresses walked. */
  segments: Address[];
  /**
   * Indices (in run.allocations) of busy backend blocks flagged as front-end hosts
   * (header Flags 0x08 "internal" in an LFH heap): the LFH user-block allocations.
   */
  hostBlocks: number[];
  /** Stack-trace database hints found while walking (+ust), if any. */
  ustEnabled: boolean;
}

declare module "@leakscope/core" {
  interface HeapData {
    nt?: NtHeapState;
  }
}
