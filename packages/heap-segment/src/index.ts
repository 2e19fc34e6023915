import { type Static, Type } from "@sinclair/typebox";
import { STAGE_BACKEND, STAGE_EARLY, definePlugin } from "@leakscope/core";
import { MAX_SCAN_CANDIDATES, claimListedSegmentHeaps, discoverSegmentHeaps } from "./discover.js";
import { SegmentHeapWalker } from "./walk.js";

export { segmentCodes } from "./codes.js";
export { claimListedSegmentHeaps, confirmSegmentHeap, discoverSegmentHeaps, isSegmentHeap } from "./discover.js";
export type { SegmentHeapState } from "./walk.js";
export {
  SEGMENT_HEAP_SIGNATURE,
  SEGMENT_LAYOUTS,
  type SegmentHeapLayout,
  lfhBucketBlockSize,
  segmentLayoutForBuild,
  segmentOffsets,
} from "./layouts.js";

/** Options of the `heap-segment` plugin. */
export const HeapSegmentOptions = Type.Object(
  {
    scan: Type.Boolean({
      default: true,
      description: "Scan captured memory page by page (4 KiB) for 0xDDEEDDEE (finds 24H2 heaps and heaps of dumps without a PEB).",
    }),
    descriptorList: Type.Boolean({
      default: true,
      description: "On Windows 11 24H2 (build >= 26100) x64, follow the heap descriptor list from the first heap's UserContext.",
    }),
    maxScanCandidates: Type.Integer({
      minimum: 1,
      default: MAX_SCAN_CANDIDATES,
      description: "Bound of the page scan: 4 KiB pages visited (the default covers 64 GiB of captured memory); the scan reports SEGMENT_SCAN_LIMIT where it stopped.",
    }),
  },
  { additionalProperties: false },
);
export type HeapSegmentOptions = Static<typeof HeapSegmentOptions>;

/**
 * The segment heap walker: claims the page segments of the PEB-listed segment heaps at
 * `discoverHeaps` / STAGE_EARLY (scans skip them), finds segment heaps (PEB lists of both views,
 * the 24H2 descriptor list, a signature scan) at `discoverHeaps` / STAGE_BACKEND and walks every `kind: "segment"` heap at
 * `walkHeap` / STAGE_BACKEND: VS chunks, segment-LFH blocks, backend blocks, large blocks.
 */
export const heapSegment = definePlugin({
  name: "heap-segment",
  options: HeapSegmentOptions,
  setup(options) {
    const walker = new SegmentHeapWalker();
    return {
      apply(engine) {
        // before any heap is registered: the PEB-listed segment heaps' page segments are claimed,
        // so every signature scan (heap-nt's too) skips them
        engine.hooks.discoverHeaps.tapPromise({ name: "heap-segment", stage: STAGE_EARLY }, async (run) => {
          claimListedSegmentHeaps(run);
        });
        engine.hooks.discoverHeaps.tapPromise({ name: "heap-segment", stage: STAGE_BACKEND }, async (run) => {
          discoverSegmentHeaps(run, {
            scan: options.scan ?? true,
            descriptorList: options.descriptorList ?? true,
            maxScanCandidates: options.maxScanCandidates ?? MAX_SCAN_CANDIDATES,
          });
        });
        engine.hooks.walkHeap.tapPromise({ name: "heap-segment", stage: STAGE_BACKEND }, async (heap, run) => {
          // heaps another plugin owns (e.g. heaps read from a WinDbg log) are not ours to walk
          if (heap.kind !== "segment" || (heap.walker !== undefined && heap.walker !== "heap-segment")) return;
          walker.walk(heap, run);
        });
      },
    };
  },
});
