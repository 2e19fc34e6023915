import { type DiffSection, type Evidence, type EvidenceSink, type GrowthRow, callSiteOf } from "@leakscope/core";
import { EVIDENCE_FLOORS, causeKey, countRamp, hex, pct, ramp } from "./context.js";

/** Growth between snapshots is the strongest heap signal: it starts at "worth a look". */
export const GROWTH_MIN = 0.3;
export const GROWTH_MAX = 0.9;

/**
 * Growth between two snapshots (a `leakscope diff`): size classes, stacks and pool tags that
 * gained at least 4 blocks and 0.5% of the later snapshot's busy bytes. Strength: 0.3 + 0.6 ×
 * ramp(gained share of the later busy bytes, 0.5% → 25%) × (0.5 + 0.5 × ramp(log2 gained
 * blocks, 4 → 256)). A stack row and a size-class row that grew by exactly the same blocks and
 * bytes are one cause and carry each other's key.
 */
export function growthEvidence(diff: DiffSection, sink: EvidenceSink): void {
  const total = Math.max(1, diff.total.after.bytes);
  const keyOf = (r: GrowthRow): string | undefined => {
    switch (r.kind) {
      case "size-class":
        return causeKey.sizeClass(r.heap ?? "*", r.size ?? 0);
      case "stack":
        return causeKey.stack(r.key);
      case "pool-tag":
        return causeKey.tag(r.key);
      default:
        return undefined; // heap totals sum the rows; types have no growth rows yet
    }
  };
  const rows = diff.rows.filter((r) => r.delta.count >= EVIDENCE_FLOORS.minGrowthBlocks && r.delta.bytes / total >= EVIDENCE_FLOORS.minGrowthShare && keyOf(r));
  for (const r of rows) {
    const keys = [keyOf(r)!];
    for (const o of rows) {
      if (o !== r && o.kind !== r.kind && o.kind !== "pool-tag" && r.kind !== "pool-tag" && o.delta.count === r.delta.count && o.delta.bytes === r.delta.bytes) keys.push(keyOf(o)!);
    }
    const share = r.delta.bytes / total;
    const what =
      r.kind === "size-class"
        ? `blocks of ${hex(r.size ?? 0)} bytes in heap ${r.heap}`
        : r.kind === "stack"
          ? `blocks allocated at this stack`
          : `allocations of pool tag ${r.key}`;
    const e: Evidence = {
      detector: "growth",
      signal: "growth",
      keys,
      strength:
        GROWTH_MIN +
        (GROWTH_MAX - GROWTH_MIN) * ramp(share, EVIDENCE_FLOORS.minGrowthShare, 0.25) * (0.5 + 0.5 * countRamp(r.delta.count, EVIDENCE_FLOORS.minGrowthBlocks, 256)),
      count: r.after.count,
      bytes: r.after.bytes,
      delta: r.delta,
      text: `${r.delta.count} more ${what} between the snapshots (${r.before.count} → ${r.after.count}, +${hex(r.delta.bytes)} bytes, ${pct(r.delta.bytes, total)}% of the later busy bytes).`,
      leakKind: r.kind === "pool-tag" ? "pool" : "heap",
    };
    if (r.heap) e.heap = r.heap;
    if (r.size !== undefined) e.size = r.size;
    if (r.frames) {
      e.stack = r.frames;
      const site = callSiteOf(r.frames);
      if (site) e.callSite = site.text;
    }
    if (r.kind === "pool-tag") e.tag = r.key;
    sink.add(e);
  }
}
