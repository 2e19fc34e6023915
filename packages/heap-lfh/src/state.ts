import type { Address } from "@leakscope/core";
import type { LfhFamily } from "./layouts.js";

/** One LFH bucket (block size) of a heap: what `!heap -s`'s fast-heap part shows, per size. */
export interface LfhBucket {
  /** Block size in bytes, header included (subsegment BlockSize x granule). */
  blockSize: number;
  /** `_HEAP_SUBSEGMENT.SizeIndex` of the first subsegment seen with this size. */
  sizeIndex: number;
  /** Live subsegments walked with this block size. */
  subsegments: number;
  /** Blocks in those subsegments (sum of BlockCount, as walked). */
  totalBlocks: number;
  busyBlocks: number;
  freeBlocks: number;
  /** Requested bytes of the busy blocks. */
  busyBytes: number;
}

/** What the LFH walker found for one heap; left on `heap.data.lfh`. */
export interface LfhHeapState {
  family: LfhFamily;
  /** `_HEAP.FrontEndHeap` (the `_LFH_HEAP`). */
  lfhHeap: Address;
  /** The recovered 32-bit RtlpLFHKey (as XORed with the NT heap address), or null if none was found. */
  key: number | null;
  zones: number;
  /** Live subsegments walked (user blocks inside a host block, back-pointer matching). */
  subsegments: number;
  /** Zone slots with no user blocks (retired subsegments). */
  emptySlots: number;
  /** Zone slots whose user blocks were released or reused by another subsegment. */
  staleSubsegments: number;
  /** Host blocks walked from their own header because no zone subsegment claimed them. */
  unclaimedHosts: number;
  busy: number;
  free: number;
  busyBytes: number;
  /** Blocks flagged CORRUPT (header checks failed). */
  corrupt: number;
  /** Blocks carrying a +ust stack-trace pointer. */
  traced: number;
  /** Per block size, ascending. */
  buckets: LfhBucket[];
}

declare module "@leakscope/core" {
  interface HeapData {
    lfh?: LfhHeapState;
  }
}
