import { type Evidence, callSiteOf, formatAddress } from "@leakscope/core";
import { type AnalysisContext, type AnalysisDetector, EVIDENCE_FLOORS, type UnreferencedClass, causeKey, classKey, countRamp, heapAddress, hex, pct, ramp, stackFrames } from "./context.js";
import { classLinks } from "./size-class.js";

/** Most unreferenced blocks can give on their own. */
export const UNREFERENCED_MAX = 0.6;

/**
 * The unreferenced share of an ordinary block: over the size classes where at most half of the
 * blocks are unreferenced (the others are the candidates being judged). When such classes hold
 * under a tenth of the busy blocks, the dump lacks roots and the share of all blocks is used.
 */
export function unreferencedBaseline(ctx: AnalysisContext): number {
  if (!ctx.reach || ctx.table.busy.count === 0) return 1;
  let n = 0;
  let u = 0;
  for (const cls of ctx.table.classes) {
    const g = ctx.unreferenced.get(classKey(cls.heap, cls.size));
    const uc = g?.count ?? 0;
    if (uc * 2 > cls.count) continue;
    n += cls.count;
    u += uc;
  }
  return n * 10 >= ctx.table.busy.count ? u / n : ctx.unreferencedShare;
}

/**
 * How far a group of `u` unreferenced blocks out of `c` stands out from an ordinary block
 * ({@link unreferencedBaseline}: when the dump lacks roots everything looks unreferenced and
 * nothing stands out). Strength: 0.6 × excess × (0.6 + 0.4 × ramp(log2 u, 8 → 128)) × trust,
 * where excess = (u/c − baseline) / (1 − baseline) and trust = 1 − ramp(baseline, 25% → 60%).
 */
export function unreferencedStrength(ctx: AnalysisContext, u: number, c: number, baseline = unreferencedBaseline(ctx)): number {
  if (baseline >= 1 || c <= 0) return 0;
  const excess = Math.max(0, Math.min(1, u / c) - baseline) / (1 - baseline);
  const trust = 1 - ramp(baseline, 0.25, 0.6);
  return UNREFERENCED_MAX * excess * (0.6 + 0.4 * countRamp(u, EVIDENCE_FLOORS.minUnreferenced, 128)) * trust;
}

function passes(ctx: AnalysisContext, g: UnreferencedClass): boolean {
  return g.count >= EVIDENCE_FLOORS.minUnreferenced && g.bytes >= ctx.table.busy.bytes * EVIDENCE_FLOORS.minShare * 0.1;
}

/**
 * Unreferenced blocks (reachability, like `!heap -l`), by size class and by allocation stack: no
 * pointer in the captured memory outside the heaps, nor in any block reachable from it, points
 * into them, so the program cannot free them any more.
 */
export const unreferencedDetector: AnalysisDetector = {
  name: "unreferenced",
  detect(run, ctx, sink) {
    if (!ctx.reach) return;
    const baseline = unreferencedBaseline(ctx);
    const fmt = (i: number) => formatAddress(run.allocations.userAddress(i));
    for (const g of ctx.unreferenced.values()) {
      if (!passes(ctx, g)) continue;
      const cls = ctx.table.classes.find((c) => c.heap === g.heap && c.size === g.size);
      const count = cls?.count ?? g.count;
      const links = classLinks(ctx, g.heap, g.size, count);
      const e: Evidence = {
        detector: "unreferenced",
        signal: "unreferenced",
        keys: links.keys,
        strength: unreferencedStrength(ctx, g.count, count, baseline),
        count: g.count,
        bytes: g.bytes,
        text: `${g.count} of the ${count} busy ${hex(g.size)}-byte blocks are not referenced from any root (reachability search), against ${pct(baseline, 1)}% of ordinary blocks.`,
        leakKind: "heap",
        heap: heapAddress(run, g.heap),
        size: g.size,
        samples: g.samples.map(fmt),
        nextStep: "These blocks cannot be freed by the program any more: find the code that allocates them and where it drops the last pointer.",
      };
      if (links.stack) e.stack = links.stack;
      if (links.callSite) e.callSite = links.callSite;
      if (links.typeName) e.typeName = links.typeName;
      sink.add(e);
    }
    if (!ctx.traces) return;
    const counts = new Map(ctx.stacks.map((s) => [s.id, s]));
    for (const [id, g] of ctx.unreferencedByStack) {
      if (!passes(ctx, g)) continue;
      const all = counts.get(id);
      const frames = stackFrames(ctx.traces, id);
      const site = callSiteOf(frames);
      sink.add({
        detector: "unreferenced",
        signal: "unreferenced",
        keys: [causeKey.stack(id)],
        strength: unreferencedStrength(ctx, g.count, all?.count ?? g.count, baseline),
        count: g.count,
        bytes: g.bytes,
        text: `${g.count} of the ${all?.count ?? g.count} live blocks allocated at ${site?.text ?? "this stack"} are not referenced from any root.`,
        leakKind: "heap",
        stack: frames,
        ...(site ? { callSite: site.text } : {}),
        samples: g.samples.map(fmt),
        nextStep: `Blocks allocated at ${site?.text ?? "this stack"} are dropped without being freed: find where the last pointer to them is lost.`,
      });
    }
  },
};
