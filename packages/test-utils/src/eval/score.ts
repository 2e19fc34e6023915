/**
 * Scoring of the accuracy benchmark: match a report's suspects (or a diff's growth rows) to a
 * scenario's ground truth, and aggregate per family: top-1 accuracy, precision and recall of the
 * suspects at or above the score floor, false suspects on healthy processes, the verdict
 * confusion matrix and the pass/fail targets. Works on the report JSON only (no @leakscope/core
 * import), so the same code scores today's analyze and tomorrow's.
 */
import type { EvalFamily, EvalLeakKind, EvalScenario, EvalVerdict, TrendTruth, TruthCause } from "./scenarios.js";
import type { TruthFrame } from "./process.js";
import { KIND_LEAKS } from "../minidump/kinds.js";

/** Score from which a suspect is "worth a look" (SUSPECT_SCORE_FLOOR of @leakscope/core). */
export const EVAL_SCORE_FLOOR = 0.3;

/** The fields of a report suspect (or a diff row turned into one) the matcher reads. */
export interface SuspectLike {
  rank?: number;
  kind?: string;
  title?: string;
  score: number;
  size?: number;
  typeName?: string;
  callSite?: string;
  stack?: { address?: string; text?: string }[];
  evidence?: string[];
  /** The cause keys the suspect merges (`stack:…`, `handles:Event`, `region:0x…`). */
  keys?: string[];
  count?: number;
  bytes?: number;
}

export type MatchResult = { cause: string; how: "type" | "call-site" | "size" | "text" | "key"; related: boolean } | undefined;

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Does the suspect's call site (or, without one, any of its frames) name this frame? */
export function frameMatches(s: SuspectLike, f: TruthFrame): boolean {
  const want = hex(f.address);
  if (s.callSite !== undefined) {
    if (s.callSite === f.text) return true;
    if (f.exportName && s.callSite.startsWith(`${f.module}!${f.exportName}+`)) return true;
    // the frame the call site was taken from, by address
    const fr = s.stack?.find((x) => x.text === s.callSite);
    return fr?.address !== undefined && fr.address.toLowerCase() === want;
  }
  return (s.stack ?? []).some((x) => x.address?.toLowerCase() === want);
}

/** Which cause (if any) a suspect names, and how. A call site or a type that contradicts the cause rules a size match out. */
export function matchSuspect(s: SuspectLike, causes: readonly TruthCause[]): MatchResult {
  for (const c of causes) {
    if (c.key !== undefined) {
      if ((c.kind === undefined || s.kind === c.kind) && s.keys?.includes(c.key)) return { cause: c.id, how: "key", related: false };
      continue;
    }
    if (c.text && c.text.length > 0) {
      const hay = [s.title ?? "", s.callSite ?? "", ...(s.stack ?? []).map((f) => f.text ?? ""), ...(s.evidence ?? [])].join("\n");
      if (c.text.some((t) => hay.includes(t))) return { cause: c.id, how: "text", related: false };
      continue;
    }
    if (c.typeName && s.typeName === c.typeName) return { cause: c.id, how: "type", related: false };
    if (c.callSite && (s.callSite !== undefined || s.stack !== undefined) && frameMatches(s, c.callSite)) return { cause: c.id, how: "call-site", related: false };
    const siteAgrees = !(c.callSite && s.callSite !== undefined && !frameMatches(s, c.callSite));
    if (s.size !== undefined && c.sizes.includes(s.size) && siteAgrees) return { cause: c.id, how: "size", related: false };
  }
  for (const c of causes) {
    const r = c.related;
    if (!r) continue;
    if (r.callSite && s.callSite !== undefined && frameMatches(s, r.callSite)) return { cause: c.id, how: "call-site", related: true };
    const siteAgrees = !(r.callSite && s.callSite !== undefined && !frameMatches(s, r.callSite));
    if (s.size !== undefined && r.sizes.includes(s.size) && siteAgrees) return { cause: c.id, how: "size", related: true };
  }
  return undefined;
}

/** A diff's growth rows as suspects: rows that grew, whole-heap rows left out, in the diff's order. */
export function growthRowsAsSuspects(rows: readonly { kind: string; key: string; size?: number; frames?: { address?: string; text?: string }[]; delta: { bytes: number; count: number } }[]): SuspectLike[] {
  return rows
    .filter((r) => r.kind !== "heap" && r.delta.bytes > 0)
    .map((r, i) => ({
      rank: i + 1,
      kind: r.kind,
      title: r.key,
      score: 1,
      ...(r.size !== undefined ? { size: r.size } : {}),
      ...(r.frames ? { stack: r.frames } : {}),
      ...(r.kind === "type" ? { typeName: r.key } : {}),
      count: r.delta.count,
      bytes: r.delta.bytes,
    }));
}

export type ActualVerdict = EvalVerdict | "none" | "error";

export interface ScenarioResult {
  id: string;
  family: EvalFamily;
  fraction?: number;
  form?: string;
  expectedVerdict: EvalVerdict;
  verdict: ActualVerdict;
  verdictReason?: string;
  /** `analysis.leakKind` when the report gives one, and the kind the scenario expects. */
  leakKind?: string;
  expectedLeakKind?: EvalLeakKind;
  /** Leak scenarios with an expected kind: `analysis.leakKind` is it and suspect #1 is of that kind. */
  kindAtTop?: boolean;
  /** Exit code of the command (0/1 ran; 2/3 failed). */
  exitCode: number;
  error?: string;
  /** Leak scenarios: the first suspect names a planted cause (diff: the first suspect of its analysis, or its first growth row without one). */
  top1?: boolean;
  /** diff: the first growth row (by bytes) names a planted cause. */
  rowTop1?: boolean;
  /** Suspects at or above the floor: how many, how many name a cause (or a leaked block's child). */
  above: number;
  aboveMatched: number;
  /** Causes planted, and found by a suspect at or above the floor. */
  causes: number;
  causesFound: number;
  /** The first suspects as seen (rank, kind, score, what it names, what it matched). */
  suspects: { rank: number; kind: string; score: number; size?: number; typeName?: string; callSite?: string; match?: string }[];
  seconds: number;
}

/** Score one report against its scenario. `report` is the JSON leakscope printed (undefined when it failed). */
export function scoreReport(
  s: Pick<EvalScenario, "id" | "family" | "fraction" | "form" | "command"> & { expected: EvalScenario["expected"] },
  report: unknown,
  exitCode: number,
  seconds: number,
  error?: string,
): ScenarioResult {
  const r = (report ?? {}) as { analysis?: { verdict?: EvalVerdict; verdictReason?: string; leakKind?: string; suspects?: SuspectLike[] }; diff?: { rows?: Parameters<typeof growthRowsAsSuspects>[0] } };
  const expectedKind = s.expected.leakKind;
  const causes = s.expected.causes;
  const verdict: ActualVerdict = error !== undefined || report === undefined ? "error" : (r.analysis?.verdict ?? "none");
  const suspects = r.analysis?.suspects ?? [];
  const rows = s.command === "diff" ? growthRowsAsSuspects(r.diff?.rows ?? []) : [];
  // diff: its analysis (the verdict's suspects) when it has one, else its growth rows
  const ranked = s.command === "diff" && suspects.length === 0 ? rows : suspects;
  const res: ScenarioResult = {
    id: s.id,
    family: s.family,
    ...(s.fraction !== undefined ? { fraction: s.fraction } : {}),
    ...(s.form !== undefined ? { form: s.form } : {}),
    expectedVerdict: s.expected.verdict,
    verdict,
    ...(r.analysis?.verdictReason ? { verdictReason: r.analysis.verdictReason } : {}),
    ...(r.analysis?.leakKind ? { leakKind: r.analysis.leakKind } : {}),
    ...(expectedKind ? { expectedLeakKind: expectedKind } : {}),
    exitCode,
    ...(error !== undefined ? { error } : {}),
    above: 0,
    aboveMatched: 0,
    causes: causes.length,
    causesFound: 0,
    suspects: [],
    seconds,
  };
  if (causes.length > 0) {
    const first = ranked[0];
    const m = first ? matchSuspect(first, causes) : undefined;
    res.top1 = m !== undefined && !m.related;
    if (s.command === "diff") {
      const row = rows[0] ? matchSuspect(rows[0], causes) : undefined;
      res.rowTop1 = row !== undefined && !row.related;
    }
  }
  if (expectedKind) res.kindAtTop = r.analysis?.leakKind === expectedKind && suspects[0] !== undefined && suspectLeakKind(suspects[0].kind) === expectedKind;
  const found = new Set<string>();
  for (const x of suspects) {
    if (!(x.score >= EVAL_SCORE_FLOOR)) continue;
    res.above++;
    const m = matchSuspect(x, causes);
    if (m) {
      res.aboveMatched++;
      if (!m.related) found.add(m.cause);
    }
  }
  // a diff without an analysis section: its growth rows stand for the suspects
  if (s.command === "diff" && suspects.length === 0) {
    for (const x of rows.slice(0, 5)) {
      const m = matchSuspect(x, causes);
      if (m && !m.related) found.add(m.cause);
    }
  }
  res.causesFound = found.size;
  res.suspects = ranked.slice(0, 5).map((x, i) => {
    const m = matchSuspect(x, causes);
    return {
      rank: x.rank ?? i + 1,
      kind: x.kind ?? "?",
      score: x.score,
      ...(x.size !== undefined ? { size: x.size } : {}),
      ...(x.typeName ? { typeName: x.typeName } : {}),
      ...(x.callSite ? { callSite: x.callSite } : {}),
      ...(m ? { match: `${m.cause}${m.related ? " (related)" : ""} by ${m.how}` } : {}),
    };
  });
  return res;
}

/** Suspect kinds that are not the heap's (a heap suspect is a size class, stack, type, heap, …). */
const PROCESS_KINDS: ReadonlySet<string> = new Set(KIND_LEAKS);

/** The kind of leak a suspect's kind stands for. */
export function suspectLeakKind(kind: string | undefined): EvalLeakKind {
  return kind !== undefined && PROCESS_KINDS.has(kind) ? (kind as EvalLeakKind) : "heap";
}

export interface FamilySummary {
  family: string;
  scenarios: number;
  /** Share of leak scenarios whose first suspect names a planted cause (null: no leak scenario). */
  top1: number | null;
  precision: number | null;
  recall: number | null;
  /** Healthy scenarios: share with at least one suspect at or above the floor. */
  falseSuspectRate: number | null;
  verdictAccuracy: number;
}

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);

export function summarize(family: string, results: readonly ScenarioResult[]): FamilySummary {
  const withCauses = results.filter((r) => r.top1 !== undefined);
  const above = results.reduce((x, r) => x + r.above, 0);
  const matched = results.reduce((x, r) => x + r.aboveMatched, 0);
  const causes = results.reduce((x, r) => x + r.causes, 0);
  const found = results.reduce((x, r) => x + r.causesFound, 0);
  const clean = results.filter((r) => r.causes === 0 && r.expectedVerdict === "no-leak-evidence");
  return {
    family,
    scenarios: results.length,
    top1: ratio(withCauses.filter((r) => r.top1).length, withCauses.length),
    precision: causes > 0 ? ratio(matched, above) : null,
    recall: ratio(found, causes),
    falseSuspectRate: ratio(clean.filter((r) => r.above > 0).length, clean.length),
    verdictAccuracy: ratio(results.filter((r) => r.verdict === r.expectedVerdict).length, results.length) ?? 0,
  };
}

export const VERDICTS: readonly ActualVerdict[] = ["leak-suspected", "no-leak-evidence", "cannot-judge", "none", "error"];

/** Expected verdict (rows) x actual verdict (columns). */
export function confusionMatrix(results: readonly ScenarioResult[]): Record<string, Record<string, number>> {
  const m: Record<string, Record<string, number>> = {};
  for (const e of VERDICTS.slice(0, 3)) m[e] = Object.fromEntries(VERDICTS.map((a) => [a, 0]));
  for (const r of results) m[r.expectedVerdict]![r.verdict]!++;
  return m;
}

/** Per kind of leak: scenarios expecting it, and those with the right kind at the top (`kindAtTop`). */
export function kindAccuracy(results: readonly ScenarioResult[]): { kind: EvalLeakKind; scenarios: number; right: number; missed: string[] }[] {
  const kinds: EvalLeakKind[] = ["heap", ...KIND_LEAKS];
  return kinds
    .map((kind) => {
      const rs = results.filter((r) => r.expectedLeakKind === kind);
      return { kind, scenarios: rs.length, right: rs.filter((r) => r.kindAtTop).length, missed: rs.filter((r) => !r.kindAtTop).map((r) => r.id) };
    })
    .filter((k) => k.scenarios > 0);
}

/** A trend series scored: where the leak's size class ranks, and what else was flagged. */
export interface TrendResult {
  id: string;
  kind: string;
  snapshots: number;
  exitCode: number;
  error?: string;
  leakSize?: number;
  /** Leaking series: the leak's size class is trend suspect #1. */
  top1?: boolean;
  /** Leaking series: rank of the leak's size class among the suspects (0: not a suspect). */
  leakRank?: number;
  /** The leak's series score and status (e.g. `growing`, `started-growing`). */
  leakScore?: number;
  leakStatus?: string;
  /** The cache's size class is a suspect (a false alarm), and the status trend gave its series. */
  plateauFlagged: boolean;
  plateauStatus?: string;
  /** Churning size classes among the suspects. */
  churnFlagged: number[];
  /** Suspects that name neither the leak nor the plateau nor the churn (by key). */
  suspects: string[];
  /** The inputs came out in capture order (the truth's times ascending along the report's inputs). */
  ordered: boolean;
  seconds: number;
}

interface TrendSeries {
  key: string;
  kind: string;
  size?: number;
  status?: string;
  score?: number;
}

/** Score a `trend --json` report against its series' truth. `files` are the inputs in capture order. */
export function scoreTrend(id: string, truth: TrendTruth, files: readonly string[], report: unknown, exitCode: number, seconds: number, error?: string): TrendResult {
  const t = ((report ?? {}) as { trend?: { inputs?: { path: string }[]; series?: TrendSeries[]; suspects?: { key: string }[] } }).trend;
  const series = t?.series ?? [];
  const byKey = new Map(series.map((x) => [x.key, x]));
  const suspects = (t?.suspects ?? []).map((x) => byKey.get(x.key) ?? { key: x.key, kind: "?" });
  const sizeOf = (x: TrendSeries) => (x.kind === "size-class" ? x.size : undefined);
  const res: TrendResult = {
    id,
    kind: truth.kind,
    snapshots: truth.times.length,
    exitCode,
    ...(error !== undefined ? { error } : {}),
    ...(truth.leakSize !== undefined ? { leakSize: truth.leakSize } : {}),
    plateauFlagged: suspects.some((x) => sizeOf(x) === truth.plateauSize),
    churnFlagged: suspects.map(sizeOf).filter((z): z is number => z !== undefined && truth.churnSizes.includes(z)),
    suspects: [],
    ordered: t?.inputs !== undefined && t.inputs.length === files.length && t.inputs.every((x, i) => x.path === files[i]),
    seconds,
  };
  const plateau = series.find((x) => sizeOf(x) === truth.plateauSize);
  if (plateau?.status) res.plateauStatus = plateau.status;
  if (truth.leakSize !== undefined) {
    const rank = suspects.findIndex((x) => sizeOf(x) === truth.leakSize);
    res.leakRank = rank + 1;
    res.top1 = rank === 0;
    const leak = series.find((x) => sizeOf(x) === truth.leakSize);
    if (leak?.score !== undefined) res.leakScore = leak.score;
    if (leak?.status) res.leakStatus = leak.status;
  }
  // other suspects: whole-heap series and anything not a size class of the truth
  res.suspects = suspects.filter((x) => { const z = sizeOf(x); return z === undefined || (z !== truth.leakSize && z !== truth.plateauSize && !truth.churnSizes.includes(z)); }).map((x) => x.key);
  return res;
}

export interface TrendSummary {
  scenarios: number;
  /** Leaking series whose leak is suspect #1. */
  top1: number | null;
  /** Series where the plateau (the filled cache) is a suspect: the false alarm trend must avoid. */
  plateauFlagged: number | null;
  /** Series where the plateau is reported `grew-then-stopped`. */
  plateauStopped: number | null;
  /** Plateau-only series with no suspect at all. */
  plateauOnlyClean: number | null;
  churnFlagged: number;
  errors: number;
}

export function summarizeTrend(results: readonly TrendResult[]): TrendSummary {
  const leaking = results.filter((r) => r.top1 !== undefined);
  const plateauOnly = results.filter((r) => r.kind === "plateau-only");
  return {
    scenarios: results.length,
    top1: ratio(leaking.filter((r) => r.top1).length, leaking.length),
    plateauFlagged: ratio(results.filter((r) => r.plateauFlagged).length, results.length),
    plateauStopped: ratio(results.filter((r) => r.plateauStatus === "grew-then-stopped").length, results.length),
    plateauOnlyClean: ratio(plateauOnly.filter((r) => !r.plateauFlagged && r.churnFlagged.length === 0 && r.suspects.length === 0).length, plateauOnly.length),
    churnFlagged: results.filter((r) => r.churnFlagged.length > 0).length,
    errors: results.filter((r) => r.error !== undefined).length,
  };
}

export interface TargetResult {
  name: string;
  pass: boolean;
  detail: string;
}

/**
 * The targets of issue #21 item 3, and (when their scenarios ran) those of #26 (the right kind of
 * leak at the top) and #25 (trend ranks the leak first and never flags the plateau).
 */
export function evalTargets(results: readonly ScenarioResult[], trend: readonly TrendResult[] = []): TargetResult[] {
  const big = results.filter((r) => r.family === "leak" && (r.fraction ?? 0) >= 0.02);
  const hits = big.filter((r) => r.top1).length;
  const clean = results.filter((r) => r.family === "healthy" || r.id === "real-fizzbuzz-wow64-full" || (r.family === "kinds" && r.expectedVerdict === "no-leak-evidence"));
  const cleanOk = clean.filter((r) => r.above === 0 && r.verdict === "no-leak-evidence");
  const noHeap = results.filter((r) => r.family === "no-heap" || r.family === "truncated" || (r.family === "kinds" && r.expectedVerdict === "cannot-judge"));
  const judged = noHeap.filter((r) => r.verdict === "cannot-judge");
  const pct = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(1)}%` : "n/a");
  const out: TargetResult[] = [
    {
      name: "top-1 >= 95% for planted leaks >= 2% of busy bytes",
      pass: big.length > 0 && hits / big.length >= 0.95,
      detail: `${hits}/${big.length} (${pct(hits, big.length)})${hits < big.length ? `; missed: ${big.filter((r) => !r.top1).map((r) => r.id).join(", ")}` : ""}`,
    },
    {
      name: "healthy processes and fizzbuzz: no suspect >= 0.3, verdict no-leak-evidence",
      pass: clean.length > 0 && cleanOk.length === clean.length,
      detail: `${cleanOk.length}/${clean.length}${clean.length > cleanOk.length ? `; failing: ${clean.filter((r) => !cleanOk.includes(r)).map((r) => r.id).join(", ")}` : ""}`,
    },
    {
      name: "dumps without heap memory (and truncated): cannot-judge",
      pass: noHeap.length > 0 && judged.length === noHeap.length,
      detail: `${judged.length}/${noHeap.length}${judged.length < noHeap.length ? `; failing: ${noHeap.filter((r) => r.verdict !== "cannot-judge").map((r) => r.id).join(", ")}` : ""}`,
    },
  ];
  const kinds = results.filter((r) => r.family === "kinds" && (r.expectedLeakKind !== undefined || r.expectedVerdict === "cannot-judge"));
  if (kinds.length > 0) {
    const ok = kinds.filter((r) => (r.expectedLeakKind !== undefined ? r.kindAtTop && r.top1 && r.verdict === "leak-suspected" : r.above === 0));
    out.push({
      name: "handle, GDI, thread and VirtualAlloc leaks: verdict leak-suspected, leakKind and suspect #1 of that kind, naming the cause; normal loads: no suspect >= 0.3",
      pass: ok.length === kinds.length,
      detail: `${ok.length}/${kinds.length}${ok.length < kinds.length ? `; failing: ${kinds.filter((r) => !ok.includes(r)).map((r) => r.id).join(", ")}` : ""}`,
    });
  }
  if (trend.length > 0) {
    const leaking = trend.filter((r) => r.top1 !== undefined);
    const first = leaking.filter((r) => r.top1);
    out.push({
      name: "trend: the leak's size class is suspect #1 in every leaking series",
      pass: leaking.length > 0 && first.length === leaking.length,
      detail: `${first.length}/${leaking.length}${first.length < leaking.length ? `; missed: ${leaking.filter((r) => !r.top1).map((r) => r.id).join(", ")}` : ""}`,
    });
    const bad = trend.filter((r) => r.plateauFlagged || r.error !== undefined || (r.kind === "plateau-only" && (r.churnFlagged.length > 0 || r.suspects.length > 0)));
    out.push({
      name: "trend: the plateau (a cache that filled) never a suspect; no suspect on a plateau-only series",
      pass: bad.length === 0,
      detail: `${trend.length - bad.length}/${trend.length}${bad.length > 0 ? `; failing: ${bad.map((r) => r.id).join(", ")}` : ""}`,
    });
  }
  return out;
}
