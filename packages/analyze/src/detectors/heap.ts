import { formatAddress } from "@leakscope/core";
import { type AnalysisDetector, causeKey, hex } from "./context.js";

/** Most a fragmented heap can score: it wastes memory but is not a leak. */
export const FRAGMENTATION_MAX = 0.2;

/**
 * Heap level: heaps holding more free than busy bytes (over 1 MiB free): memory committed but not
 * used. Reported for completeness, never above 0.2: fragmentation is not a leak.
 */
export const heapDetector: AnalysisDetector = {
  name: "fragmentation",
  detect(_run, ctx, sink) {
    for (const h of ctx.run.heaps) {
      const busy = h.stats.busy.bytes;
      const free = h.stats.free.bytes;
      if (!(free > 1 << 20 && free > busy)) continue;
      const address = formatAddress(h.address);
      sink.add({
        detector: "fragmentation",
        signal: "reported",
        keys: [causeKey.heap(address)],
        strength: Math.min(FRAGMENTATION_MAX, free / (free + busy + 1) / 2.5),
        count: h.stats.free.count,
        bytes: free,
        title: `Heap ${address} holds more free (${hex(free)}) than busy (${hex(busy)}) bytes`,
        text: `${h.stats.free.count} free blocks: memory is committed but not used (fragmentation), not leaked.`,
        heap: address,
        nextStep: "Look for many short-lived allocations of varying sizes; consider the LFH or a dedicated heap for them.",
      });
    }
  },
};
