import { type Report, crashHeadline, crashMemoryHint } from "@leakscope/core";

/**
 * The crash lines at the head of a report (exception or bugcheck, and what a heap-symptom crash
 * means for the analysis); empty when the dump records no crash.
 */
export function crashHead(report: Report): string[] {
  const c = report.target?.crash;
  if (!c) return [];
  const out = crashHeadline(c).map((l) => l.replace(/^(\w+): +/, "$1: "));
  const hint = crashMemoryHint(c);
  if (hint) out.push(`This crash is a memory symptom: ${hint}.`);
  return out;
}
