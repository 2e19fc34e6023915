import { type AnalysisSection, type DiffSection, type Frame, type GrowthRow, type InputCoverage, type Run, formatAddress, isUserAllocation } from "@leakscope/core";
import { mergeEvidence, signalWordsOf, suspectsOf } from "./combine.js";
import { CollectingSink, freeTotals, stackFrames, traceStatus } from "./detectors/context.js";
import { growthEvidence } from "./detectors/growth.js";
import { processGrowthEvidence } from "./detectors/process-growth.js";
import { type Coverage, coverageOf, coverageSection, verdictLead, verdictOf } from "./verdict.js";

/**
 * What two snapshots are compared on: per heap, per (heap, size) class, per stack and per type.
 * Built from a walked run ({@link snapshotOfRun}) or from text logs (size groups only).
 */
export interface Snapshot {
  path: string;
  kind: string;
  format: string;
  heaps: Map<string, { count: number; bytes: number }>;
  classes: Map<string, { heap: string; size: number; count: number; bytes: number }>;
  stacks: Map<string, { frames: Frame[]; count: number; bytes: number }>;
  /** Extra keyed groups (pool tags...). */
  other?: Map<string, { kind: GrowthRow["kind"]; count: number; bytes: number }>;
}

export function emptySnapshot(path: string, kind: string, format: string): Snapshot {
  return { path, kind, format, heaps: new Map(), classes: new Map(), stacks: new Map() };
}

/** Whether a snapshot holds any figures (heap blocks, size groups, pool rows) to compare. */
export function snapshotHasFigures(s: Snapshot): boolean {
  for (const h of s.heaps.values()) if (h.count > 0) return true;
  return s.classes.size > 0 || (s.other?.size ?? 0) > 0;
}

/** Summarise a walked run for diffing. */
export function snapshotOfRun(run: Run): Snapshot {
  const snap = emptySnapshot(run.input.path, run.target.kind, run.target.format);
  const traces = run.data.traces;
  const heapKeys = run.heaps.map((h) => `${h.bitness}:${formatAddress(h.address)}`);
  for (const k of heapKeys) snap.heaps.set(k, { count: 0, bytes: 0 });
  const stackKeys = new Map<number, string>();
  run.allocations.forEachChunk((c, n, base) => {
    for (let i = 0; i < n; i++) {
      if (!isUserAllocation(c.flags[i]!)) continue;
      const hk = heapKeys[c.heap[i]!] ?? "?";
      const size = c.requestedSize[i]!;
      const h = snap.heaps.get(hk)!;
      h.count++;
      h.bytes += size;
      const ck = `${hk}/${size}`;
      let cls = snap.classes.get(ck);
      if (!cls) snap.classes.set(ck, (cls = { heap: hk.slice(hk.indexOf(":") + 1), size, count: 0, bytes: 0 }));
      cls.count++;
      cls.bytes += size;
      const sid = traces?.stackOf[base + i] ?? -1;
      if (traces && sid >= 0) {
        let sk = stackKeys.get(sid);
        if (sk === undefined) {
          sk = traces.stacks[sid]!.frames.map((a) => formatAddress(a)).join(" ");
          stackKeys.set(sid, sk);
        }
        let st = snap.stacks.get(sk);
        if (!st) snap.stacks.set(sk, (st = { frames: stackFrames(traces, sid), count: 0, bytes: 0 }));
        st.count++;
        st.bytes += size;
      }
    }
  });
  return snap;
}

function growth<T extends { count: number; bytes: number }>(
  before: Map<string, T>,
  after: Map<string, T>,
  make: (key: string, b: T | undefined, a: T | undefined) => Omit<GrowthRow, "before" | "after" | "delta">,
): GrowthRow[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  const rows: GrowthRow[] = [];
  for (const k of keys) {
    const b = before.get(k);
    const a = after.get(k);
    const bc = { count: b?.count ?? 0, bytes: b?.bytes ?? 0 };
    const ac = { count: a?.count ?? 0, bytes: a?.bytes ?? 0 };
    if (bc.count === ac.count && bc.bytes === ac.bytes) continue;
    rows.push({ ...make(k, b, a), before: bc, after: ac, delta: { count: ac.count - bc.count, bytes: ac.bytes - bc.bytes } });
  }
  return rows;
}

/**
 * Growth between two snapshots of one process, largest byte growth first (like UMDH's diff,
 * but from dumps): heaps matched by bitness and address, size classes by heap and size, stacks
 * by their return addresses.
 */
export function diffSnapshots(before: Snapshot, after: Snapshot, top = 50): DiffSection {
  const rows: GrowthRow[] = [
    ...growth(before.heaps, after.heaps, (k) => ({ key: k, kind: "heap" as const, heap: k.slice(k.indexOf(":") + 1) })),
    ...growth(before.classes, after.classes, (k, b, a) => {
      const c = (a ?? b)!;
      return { key: k, kind: "size-class" as const, heap: c.heap, size: c.size };
    }),
    ...growth(before.stacks, after.stacks, (k, b, a) => ({ key: k, kind: "stack" as const, frames: (a ?? b)!.frames })),
    ...growth(before.other ?? new Map(), after.other ?? new Map(), (k, b, a) => ({ key: k, kind: (a ?? b)!.kind })),
  ];
  rows.sort((x, y) => y.delta.bytes - x.delta.bytes || y.delta.count - x.delta.count || x.key.localeCompare(y.key));
  const total = (s: Snapshot) => {
    let count = 0;
    let bytes = 0;
    for (const h of s.heaps.values()) {
      count += h.count;
      bytes += h.bytes;
    }
    return { count, bytes };
  };
  return {
    before: { path: before.path, kind: before.kind, format: before.format },
    after: { path: after.path, kind: after.kind, format: after.format },
    total: { before: total(before), after: total(after) },
    rows: rows.slice(0, top),
  };
}

/**
 * The verdict of a diff: growth evidence ({@link growthEvidence}) combined like analyze's (one
 * card per cause), with the later run's coverage and the earlier one's (take it with
 * {@link coverageOf} while the earlier run is open). Growth of the process figures
 * (`diff.process`: handles, GDI objects, threads, private memory outside the heaps) is evidence
 * too ({@link processGrowthEvidence}), judged even when the heaps are not captured.
 */
export function analyzeDiff(diff: DiffSection, after: Run, beforeCoverage?: Coverage, top = 10, afterReported: Partial<InputCoverage> = {}): AnalysisSection {
  const sink = new CollectingSink();
  growthEvidence(diff, sink);
  // handles, GDI objects, threads and private memory outside the heaps that grew: the same path
  if (diff.process) processGrowthEvidence(diff.process, sink);
  const causes = mergeEvidence(sink.records);
  const total = diff.total.after.bytes;
  const heapBytes = new Map<string, number>();
  for (const h of after.heaps) heapBytes.set(formatAddress(h.address), h.stats.busy.bytes);
  const suspects = suspectsOf(
    causes,
    {
      totalBytes: total,
      heapBytes: (a) => heapBytes.get(a) ?? 0,
      stackId: () => undefined,
      noStackStep: "Look at the sample blocks' contents to identify their owner; allocation stacks would name the code (gflags +ust).",
    },
    top,
  );
  const covAfter = coverageOf(after, diff.total.after.count, afterReported);
  const covBefore = beforeCoverage;
  const coverage = covBefore?.reason && !covAfter.reason ? { ...covBefore, reason: `Earlier snapshot: ${covBefore.reason}` } : covAfter;
  const verdict = verdictOf(suspects, coverage, `the growth between ${diff.total.before.count} and ${diff.total.after.count} busy blocks${diff.process ? " and the process figures" : ""}`, (s) =>
    signalWordsOf(causes, s),
  );
  const lead = verdict.verdict === "leak-suspected" ? verdictLead(suspects, coverage) : undefined;
  return {
    ...verdict,
    ...(lead ? { leakKind: causes.find((c) => c.keys === lead.keys)?.leakKind ?? "heap" } : {}),
    summary: {
      heaps: after.heaps.length,
      busy: diff.total.after,
      free: freeTotals(after),
      traces: traceStatus(after),
      tracesNote: after.data.traces?.note ?? "No stack-trace information was found in the later snapshot.",
    },
    suspects,
    sizeClasses: [],
    histogram: [],
    stacks: [],
    types: [],
    coverage: coverageSection(coverage),
  };
}
