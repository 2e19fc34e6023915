import { type AnalysisSection, type InputCoverage, type Run, SUSPECT_SCORE_FLOOR, type Suspect, isUserAllocation } from "@leakscope/core";

/** Container diagnostics that mean the file was cut short (memory the producer wrote is missing). */
export const TRUNCATION_CODES: ReadonlySet<string> = new Set([
  "MINIDUMP_DIRECTORY_TRUNCATED",
  "MINIDUMP_STREAM_OUT_OF_BOUNDS",
  "MINIDUMP_MEMORY_OUT_OF_BOUNDS",
  "KDUMP_TRUNCATED",
]);

/** Below this share of captured busy blocks the heaps cannot be judged. */
export const MIN_CAPTURED = 0.5;

/** What a full capture is, said once in every reason that asks for one. */
const FULL_DUMP = "take a full-memory dump instead (procdump -ma <pid>, Task Manager's \"Create dump file\", or .dump /ma in WinDbg)";

export interface Coverage extends InputCoverage {
  truncated: boolean;
  incompleteHeaps: number;
  reason?: string;
}

/** Share of busy user blocks whose first byte is in the dump (sampled for big sets). */
export function capturedShare(run: Run): number {
  const set = run.allocations;
  const step = Math.max(1, Math.floor(set.count / 4096));
  let seen = 0;
  let mapped = 0;
  for (let i = 0; i < set.count; i += step) {
    if (!isUserAllocation(set.flags(i))) continue;
    const heap = run.heaps[set.heap(i)];
    if (!heap) continue;
    seen++;
    if (heap.view.space.isMapped(set.userAddress(i), 1)) mapped++;
  }
  return seen === 0 ? 0 : mapped / seen;
}

/**
 * What the input could show: figures at all, the captured share of the busy blocks, truncation
 * (container diagnostics or a plugin's word) and heaps whose walk did not complete, merged with
 * what plugins reported through `sink.coverage(...)` (a log reports its own).
 */
export function coverageOf(run: Run, busyCount: number, reported: Partial<InputCoverage>): Coverage {
  const kind = run.target.kind;
  const sizeGroups = (run.data.sizeGroups?.length ?? 0) > 0;
  const hasFigures = busyCount > 0 || sizeGroups || reported.hasFigures === true;
  let captured = kind === "user" && busyCount > 0 && !sizeGroups ? capturedShare(run) : hasFigures ? 1 : 0;
  if (reported.captured !== undefined) captured = Math.min(captured, reported.captured);
  const cut = run.allDiagnostics().find((d) => TRUNCATION_CODES.has(d.code));
  const truncated = cut !== undefined || reported.truncated === true;
  const incompleteHeaps = run.heaps.filter((h) => h.incomplete === true).length;
  const c: Coverage = { hasFigures, captured, truncated, incompleteHeaps };
  const listed = run.heaps.length;
  if (reported.reason) c.reason = reported.reason;
  else if (truncated) {
    c.reason = `The ${kind === "text" ? "log" : "dump"} is cut short${cut ? ` (${cut.code})` : ""}: part of its memory is missing and a leak could hide there; copy the whole file again, or ${FULL_DUMP}.`;
  } else if (!hasFigures) {
    if (kind === "text") {
      c.reason =
        "This log holds no heap or pool figures: add the output of `!heap -s`, `!heap -stat -h <heap>` and `!heap -flt s <size>` (or a UMDH log, or `!poolused 2` for kernel pool) and run analyze on it.";
    } else if (kind === "kernel") {
      c.reason = "This kernel dump yields no pool figures to judge: take a kernel or complete memory dump with pool tagging, or run `!poolused 2` in WinDbg and analyze that log.";
    } else if (listed > 0) {
      c.reason = `The dump lists ${listed} heap(s) but holds none of their blocks (a minidump without heap memory): ${FULL_DUMP}.`;
    } else {
      c.reason = `The dump holds no heap memory, not even the PEB that lists the heaps: ${FULL_DUMP}.`;
    }
  } else if (captured < MIN_CAPTURED) {
    c.reason = `Only ${Math.round(captured * 100)}% of the busy blocks' memory is in the dump: ${FULL_DUMP}.`;
  } else if (incompleteHeaps > 0 && incompleteHeaps * 2 > listed) {
    c.reason = `${incompleteHeaps} of ${listed} heaps could not be walked completely (their memory is damaged or missing): ${FULL_DUMP}, or check them with \`!heap -s\` and \`!heap -stat -h <heap>\` in WinDbg.`;
  }
  return c;
}

/** The report's `analysis.coverage` (the captured share with three decimals). */
export function coverageSection(c: Coverage): NonNullable<AnalysisSection["coverage"]> {
  return { hasFigures: c.hasFigures, captured: Math.round(c.captured * 1000) / 1000, truncated: c.truncated, incompleteHeaps: c.incompleteHeaps };
}

/** A score as the reports print it (two decimals, never rounded up across 0.3). */
export const shownScore = (score: number): string => (Math.floor(score * 100) / 100).toFixed(2);

/**
 * The verdict from the suspects and the coverage: `cannot-judge` wins when the input cannot
 * support the question. `signals` names what the leading suspect rests on (its leak signals).
 */
/** Suspect kinds whose evidence does not come from heap blocks: a dump without heap memory can still show them. */
const NON_HEAP_KINDS = new Set(["handles", "gdi", "threads", "virtual-memory"]);

/**
 * The suspect the verdict names: the first scoring at least 0.3, or, when the heaps cannot be
 * judged, the first of a kind that does not need them (handles, GDI objects, threads, private
 * virtual memory).
 */
export function verdictLead(suspects: readonly Suspect[], coverage: Coverage): Suspect | undefined {
  return suspects.find((s) => s.score >= SUSPECT_SCORE_FLOOR && (!coverage.reason || NON_HEAP_KINDS.has(s.kind)));
}

export function verdictOf(
  suspects: readonly Suspect[],
  coverage: Coverage,
  examined: string,
  signals: (s: Suspect) => string[] = () => [],
): Pick<AnalysisSection, "verdict" | "verdictReason"> {
  const lead = verdictLead(suspects, coverage);
  if (coverage.reason && !lead) return { verdict: "cannot-judge", verdictReason: coverage.reason };
  if (lead) {
    const more = suspects.filter((s) => s !== lead && s.score >= SUSPECT_SCORE_FLOOR && (!coverage.reason || NON_HEAP_KINDS.has(s.kind))).length;
    const why = signals(lead);
    return {
      verdict: "leak-suspected",
      verdictReason:
        `Suspect #${lead.rank} scores ${shownScore(lead.score)}${why.length > 0 ? ` on ${why.join(", ")}` : ""}` +
        `${more > 0 ? `; ${more} more score 0.3 or above` : ""}.` +
        // the heaps could not be judged: say so, with what to capture for them
        (coverage.reason ? ` The heaps themselves cannot be judged: ${coverage.reason}` : ""),
    };
  }
  return { verdict: "no-leak-evidence", verdictReason: `No cause scores 0.3 or more in ${examined}.` };
}
