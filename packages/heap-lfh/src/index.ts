import { type Static, Type } from "@sinclair/typebox";
import { STAGE_FRONTEND, definePlugin } from "@leakscope/core";
import type { HeapNtApi } from "@leakscope/heap-nt";
import { LfhWalker } from "./walk.js";

export * from "./state.js";
export { lfhCodes, type LfhCode } from "./codes.js";
export { type LfhFamily, type LfhLayout, USERDATA_SIGNATURE, familyForNtLayout, lfhLayout, lfhOffsets } from "./layouts.js";
export { type LfhBucketStats, formatLfhBuckets, keyHex, lfhBucketStats } from "./stats.js";

/** Options of the `heap-lfh` plugin. */
export const HeapLfhOptions = Type.Object(
  {
    checkHeaders: Type.Boolean({
      default: true,
      description:
        "Decode every LFH block header with the recovered RtlpLFHKey and check it names its subsegment (blocks that fail are flagged CORRUPT and reported as LFH_BLOCK_HEADER_BAD).",
    }),
  },
  { additionalProperties: false }
);
export type HeapLfhOptions = Static<typeof HeapLfhOptions>;

/**
 * The NT heap front end (low-fragmentation heap): at `walkHeap` / STAGE_FRONTEND, for every
 * `kind: "nt"` heap whose backend state (`heap.data.nt`, from heap-nt) says FrontEndHeapType 2,
 * lists every LFH block (busy and free) with its exact requested size and its backend host block,
 * and leaves per-bucket figures on `heap.data.lfh` and `heap.summary`.
 */
export const heapLfh = definePlugin({
  name: "heap-lfh",
  options: HeapLfhOptions,
  setup(options) {
    const walker = new LfhWalker({ checkHeaders: options.checkHeaders ?? true });
    return {
      apply(engine) {
        // Walk each host as heap-nt finds it (its bytes are in the cache then); subscribed once
        // the first input is open, when every plugin is registered whatever their order.
        let subscribed = false;
        engine.hooks.targetOpened.tapPromise("heap-lfh", async () => {
          if (subscribed) return;
          subscribed = true;
          engine.api<HeapNtApi>("heap-nt")?.onHostBlock((heap, run, index) => walker.hostFound(heap, run, index));
        });
        engine.hooks.walkHeap.tapPromise({ name: "heap-lfh", stage: STAGE_FRONTEND }, async (heap, run) => {
          if (heap.kind !== "nt") return;
          const nt = heap.data.nt;
          if (nt && nt.frontEndHeapType !== 2) return;
          if (!nt && heap.walker !== undefined && heap.walker !== "heap-nt") return;
          walker.walk(heap, run);
        });
      },
    };
  },
});
