import { type DiffSection, type Evidence, type EvidenceSink, type GrowthRow, callSiteOf } from "@leakscope/core";
import { EVIDENCE_FLOORS, causeKey, countRamp, hex, pct, ramp } from "./context.js";

/** Growth alone starts here; many blocks gained make it "worth a look" and more. */
export const GROWTH_MIN = 0.2;
export const GROWTH_MAX = 0.9;

/**
 * Growth between two snapshots (a `leakscope diff`): size classes, stacks and pool tags that
 * gained at least 4 blocks and 0.5% of the later snapshot's busy bytes. A leak gains blocks, not
 * only bytes (a few large buffers come and go in any process), so the count leads. Strength:
 * 0.2 + 0.7 × ramp(log2 gained blocks, 8 → 256) × (0.5 + 0.5 × max(ramp(gained share of the
 * later busy bytes, 0.5% → 10%), ramp(gained blocks / blocks before, 10% → 100%))). A stack row and a size-class row that grew by exactly the same blocks
 * and bytes are one cause and carry each other's key.
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
        (GROWTH_MAX - GROWTH_MIN) *
          countRamp(r.delta.count, 8, 256) *
          (0.5 + 0.5 * Math.max(ramp(share, EVIDENCE_FLOORS.minGrowthShare, 0.1), ramp(r.delta.count / Math.max(1, r.before.count), 0.1, 1))),
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
