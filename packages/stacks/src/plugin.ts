import { Type } from "@leakscope/core";
import {
  type Run,
  STAGE_ENRICH,
  type StackGroup,
  type StacksSection,
  callSiteOf,
  definePlugin,
  formatAddress,
  isUserAllocation,
} from "@leakscope/core";
import { buildTraceTable } from "./traces.js";

/**
 * Live user allocations grouped by stack: count, bytes, sizes seen (at most 16), sample
 * addresses; sorted by bytes. The data behind `leakscope stacks` and the analyzer's call sites.
 */
export function groupByStack(run: Run, top = 20): StacksSection {
  const traces = run.data.traces ?? buildTraceTable(run);
  const agg = new Map<number, { count: number; bytes: number; sizes: Set<number>; samples: number[] }>();
  run.allocations.forEachChunk((c, n, base) => {
    for (let i = 0; i < n; i++) {
      if (!isUserAllocation(c.flags[i]!)) continue;
      const sid = traces.stackOf[base + i] ?? -1;
      if (sid < 0) continue;
      let g = agg.get(sid);
      if (!g) agg.set(sid, (g = { count: 0, bytes: 0, sizes: new Set(), samples: [] }));
      g.count++;
      g.bytes += c.requestedSize[i]!;
      if (g.sizes.size < 16) g.sizes.add(c.requestedSize[i]!);
      if (g.samples.length < 5) g.samples.push(base + i);
    }
  });
  const groups: StackGroup[] = [...agg.entries()]
    .sort((a, b) => b[1].bytes - a[1].bytes || b[1].count - a[1].count || a[0] - b[0])
    .slice(0, top)
    .map(([id, g]) => {
      const s = traces.stacks[id]!;
      return {
        id,
        count: g.count,
        bytes: g.bytes,
        sizes: [...g.sizes].sort((x, y) => x - y),
        samples: g.samples.map((i) => formatAddress(run.allocations.userAddress(i))),
        frames: s.frames.map((a, k) => {
          const t = s.text?.[k];
          return {
            address: formatAddress(a),
            text: t?.text ?? formatAddress(a),
            ...(t?.module !== undefined ? { module: t.module } : {}),
            ...(t?.symbol !== undefined ? { symbol: t.symbol } : {}),
            ...(t?.offset !== undefined ? { offset: t.offset } : {}),
          };
        }),
      };
    });
  for (const g of groups) {
    const site = callSiteOf(g.frames);
    if (site) g.callSite = site.text;
  }
  return { status: traces.status, note: traces.note, ust: traces.ust, hpa: traces.hpa, distinct: traces.stacks.length, groups };
}

export const StacksOptions = Type.Object({}, { additionalProperties: false });

/**
 * Decodes allocation stacks (+ust trace pointers stored with NT, LFH and segment-heap blocks,
 * page-heap traces) into `run.data.traces` at `heapsWalked` / STAGE_ENRICH, and reads
 * NtGlobalFlag so reports can say when traces cannot exist.
 */
export const stackTraces = definePlugin({
  name: "stacks",
  options: StacksOptions,
  setup: () => ({
    apply(engine) {
      engine.hooks.heapsWalked.tapPromise({ name: "stacks", stage: STAGE_ENRICH }, async (run) => {
        if (run.target.kind !== "user") return;
        run.data.traces = buildTraceTable(run);
      });
    },
  }),
});
