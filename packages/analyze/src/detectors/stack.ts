import { callSiteOf, formatAddress } from "@leakscope/core";
import { type AnalysisDetector, EVIDENCE_FLOORS, causeKey, countRamp, hex, pct, ramp, stackFrames } from "./context.js";

/** Most one stack's share of the process can give on its own. */
export const CONCENTRATION_MAX = 0.15;

/**
 * Stack concentration: one allocation stack behind many live blocks (any size, any heap).
 * Strength: 0.15 × ramp(share of busy bytes, 1% → 40%) × (0.5 + 0.5 × ramp(log2 count, 16 → 256)).
 */
export const stackDetector: AnalysisDetector = {
  name: "stack",
  detect(run, ctx, sink) {
    const total = ctx.table.busy.bytes;
    if (!ctx.traces || total <= 0) return;
    for (const g of ctx.stacks) {
      const share = g.bytes / total;
      if (g.count < EVIDENCE_FLOORS.minBlocks || share < EVIDENCE_FLOORS.minShare) continue;
      const frames = stackFrames(ctx.traces, g.id);
      const site = callSiteOf(frames);
      sink.add({
        detector: "stack",
        signal: "concentration",
        keys: [causeKey.stack(g.id)],
        strength: CONCENTRATION_MAX * ramp(share, EVIDENCE_FLOORS.minShare, 0.4) * (0.5 + 0.5 * countRamp(g.count)),
        count: g.count,
        bytes: g.bytes,
        text: `One allocation stack${site ? ` (${site.text})` : ""} holds ${g.count} live blocks of ${g.sizes.length} size(s) (${g.sizes.map(hex).join(", ")}), ${pct(g.bytes, total)}% of all busy bytes.`,
        leakKind: "heap",
        sizes: g.sizes,
        stack: frames,
        ...(site ? { callSite: site.text } : {}),
        samples: g.samples.map((i) => formatAddress(run.allocations.userAddress(i))),
      });
    }
  },
};
