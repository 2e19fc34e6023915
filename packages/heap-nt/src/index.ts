import { type Static, Type } from "@sinclair/typebox";
import { PARALLEL_MIN_BYTES, STAGE_BACKEND, defaultTaskWorkerCount, definePlugin } from "@leakscope/core";
import { MAX_SCAN_CANDIDATES, discoverNtHeaps } from "./discover.js";

import { type HeapNtApi, NtHeapWalker } from "./walk.js";

export * from "./state.js";
export { ntCodes } from "./codes.js";
export { NT_LAYOUT_NAMES, type NtHeapLayout, type NtLayoutName, layoutForBuild, ntLayout, ntOffsets } from "./layouts.js";
export { classifyHeap } from "./discover.js";
export type { HeapNtApi, HostBlockListener } from "./walk.js";
export { closeNtWorkers } from "./parallel.js";

/** Options of the `heap-nt` plugin. */
export const HeapNtOptions = Type.Object(
  {
    scan: Type.Boolean({
      default: true,
      description: "Scan captured memory at 64 KiB-aligned addresses for heap bases (finds the CSRSS shared heap, 24H2 heaps, heaps of dumps without a PEB).",
    }),
    descriptorList: Type.Boolean({
      default: true,
      description: "On Windows 11 24H2 (build >= 26100) x64, follow the heap descriptor list from the first heap's UserContext.",
    }),
    maxScanCandidates: Type.Integer({
      minimum: 1,
      default: MAX_SCAN_CANDIDATES,
      description: "Bound of the signature scan: 64 KiB-aligned addresses visited (the default covers 256 GiB of captured memory); the scan reports NT_HEAP_SCAN_LIMIT where it stopped.",
    }),
    workers: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 64,
        description:
          "Worker threads that walk the segments of a big heap (parallelMinBytes) beside the main thread, for dumps read from a file. Default: the CPUs minus two (the main thread and the helper that pages in the allocation table take one each), at most 3, or LEAKSCOPE_WORKERS. 0 walks on one thread; the result is the same either way.",
      }),
    ),
    parallelMinBytes: Type.Integer({
      minimum: 0,
      default: PARALLEL_MIN_BYTES,
      description: "Smallest heap, in bytes of segments, whose segments are shared out between threads (each thread gets at least a quarter of it).",
    }),
  },
  { additionalProperties: false },
);
export type HeapNtOptions = Static<typeof HeapNtOptions>;

/**
 * The NT heap backend: finds NT heaps (and registers segment heaps for their walker) at
 * `discoverHeaps`, walks every `kind: "nt"` heap at `walkHeap` / STAGE_BACKEND.
 */
export const heapNt = definePlugin<typeof HeapNtOptions, HeapNtApi>({
  name: "heap-nt",
  options: HeapNtOptions,
  setup(options) {
    const walker = new NtHeapWalker();
    walker.workers = options.workers ?? defaultTaskWorkerCount();
    walker.parallelMinBytes = options.parallelMinBytes ?? PARALLEL_MIN_BYTES;
    const api: HeapNtApi = {
      onHostBlock(listener) {
        walker.hostListeners.push(listener);
      },
    };
    return {
      api,
      apply(engine) {
        engine.hooks.discoverHeaps.tapPromise({ name: "heap-nt", stage: STAGE_BACKEND }, async (run) => {
          discoverNtHeaps(run, {
            scan: options.scan ?? true,
            descriptorList: options.descriptorList ?? true,
            maxScanCandidates: options.maxScanCandidates ?? MAX_SCAN_CANDIDATES,
          });
        });
        engine.hooks.walkHeap.tapPromise({ name: "heap-nt", stage: STAGE_BACKEND }, async (heap, run) => {
          // heaps another plugin owns (e.g. heaps read from a WinDbg log) are not ours to walk
          if (heap.kind !== "nt" || (heap.walker !== undefined && heap.walker !== "heap-nt")) return;
          walker.walk(heap, run);
        });
      },
    };
  },
});
