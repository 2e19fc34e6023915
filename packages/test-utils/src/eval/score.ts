/**
 * Scoring of the accuracy benchmark: match a report's suspects (or a diff's growth rows) to a
 * scenario's ground truth, and aggregate per family: top-1 accuracy, precision and recall of the
 * suspects at or above the score floor, false suspects on healthy processes, the verdict
 * confusion matrix and the pass/fail targets. Works on the report JSON only (no @leakscope/core
 * import), so the same code scores today's analyze and tomorrow's.
 */
import type { EvalFamily, EvalScenario, EvalVerdict, TruthCause } from "./scenarios.js";
import type { TruthFrame } from "./process.js";

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
  count?: number;
  bytes?: number;
}

export type MatchResult = { cause: string; how: "type" | "call-site" | "size" | "text"; related: boolean } | undefined;

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
  /** `analysis.leakKind` when the report gives one. */
  leakKind?: string;
  /** Exit code of the command (0/1 ran; 2/3 failed). */
  exitCode: number;
  error?: string;
  /** Leak scenarios: the first suspect (first growth row for diff) names a planted cause. */
  top1?: boolean;
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
  const causes = s.expected.causes;
  const verdict: ActualVerdict = error !== undefined || report === undefined ? "error" : (r.analysis?.verdict ?? "none");
  const suspects = r.analysis?.suspects ?? [];
  const rows = s.command === "diff" ? growthRowsAsSuspects(r.diff?.rows ?? []) : [];
  const ranked = s.command === "diff" ? rows : suspects;
  const res: ScenarioResult = {
    id: s.id,
    family: s.family,
    ...(s.fraction !== undefined ? { fraction: s.fraction } : {}),
    ...(s.form !== undefined ? { form: s.form } : {}),
    expectedVerdict: s.expected.verdict,
    verdict,
    ...(r.analysis?.verdictReason ? { verdictReason: r.analysis.verdictReason } : {}),
    ...(r.analysis?.leakKind ? { leakKind: r.analysis.leakKind } : {}),
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
  }
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

export interface TargetResult {
  name: string;
  pass: boolean;
  detail: string;
}

/** The targets of issue #21 item 3. */
export function evalTargets(results: readonly ScenarioResult[]): TargetResult[] {
  const big = results.filter((r) => r.family === "leak" && (r.fraction ?? 0) >= 0.02);
  const hits = big.filter((r) => r.top1).length;
  const clean = results.filter((r) => r.family === "healthy" || r.id === "real-fizzbuzz-wow64-full");
  const cleanOk = clean.filter((r) => r.above === 0 && r.verdict === "no-leak-evidence");
  const noHeap = results.filter((r) => r.family === "no-heap" || r.family === "truncated");
  const judged = noHeap.filter((r) => r.verdict === "cannot-judge");
  const pct = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(1)}%` : "n/a");
  return [
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
      detail: `${judged.length}/${noHeap.length}`,
    },
  ];
}
