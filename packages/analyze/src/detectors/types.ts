import { formatAddress } from "@leakscope/core";
import { type AnalysisDetector, EVIDENCE_FLOORS, causeKey, countRamp, pct, ramp } from "./context.js";

/** Most a C++ type's numbers can give on their own. */
export const TYPE_COUNT_MAX = 0.15;

/**
 * C++ types present in numbers (MSVC RTTI from vtables): at least 16 live objects holding 1% of
 * the busy bytes or being 1% of the busy blocks. Strength: 0.15 × ramp(the larger of the two
 * shares, 1% → 30%) × (0.5 + 0.5 × ramp(log2 count, 16 → 256)).
 */
export const typeDetector: AnalysisDetector = {
  name: "type",
  detect(run, ctx, sink) {
    const { bytes: total, count: blocks } = ctx.table.busy;
    if (total <= 0) return;
    for (const t of ctx.types) {
      const share = Math.max(t.bytes / total, t.count / blocks);
      if (t.count < EVIDENCE_FLOORS.minBlocks || share < EVIDENCE_FLOORS.minShare) continue;
      sink.add({
        detector: "type",
        signal: "count",
        keys: [causeKey.type(t.type.name)],
        strength: TYPE_COUNT_MAX * ramp(share, EVIDENCE_FLOORS.minShare, 0.3) * (0.5 + 0.5 * countRamp(t.count)),
        count: t.count,
        bytes: t.bytes,
        text: `${t.count} live objects of ${t.type.name} (${pct(t.count, blocks)}% of the busy blocks): their first pointer is the vtable ${formatAddress(t.type.vtable)} in ${t.type.module} (MSVC RTTI).`,
        leakKind: "heap",
        typeName: t.type.name,
        samples: t.samples.map((i) => formatAddress(run.allocations.userAddress(i))),
      });
    }
  },
};
