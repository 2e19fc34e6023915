import { BATCH_LINE_SCHEMA_VERSION, type BatchLine, type BatchSuspect, type Report, VERSION } from "@leakscope/core";
import type { BatchInput } from "./inputs.js";

/** Options of one input's analysis, as `leakscope analyze` takes them. */
export interface BatchAnalyzeOptions {
  /** Suspects kept per line. */
  top: number;
  reachability: boolean;
  types: boolean;
  symbols: string[];
}

/** What identifies a suspect's cause across dumps. */
export function causeOf(s: { kind: string; size?: number; typeName?: string; callSite?: string; tag?: string }): string {
  if (s.callSite) return `at ${s.callSite}`;
  if (s.typeName) return s.typeName;
  if (s.tag) return `pool tag '${s.tag}'`;
  return s.size !== undefined ? `${s.kind} 0x${s.size.toString(16)}` : s.kind;
}

/** The line of an input whose analysis produced a report. */
export function lineOfReport(input: BatchInput, report: Report, top: number, durationMs: number): BatchLine {
  const t = report.target;
  const diagnostics: Record<string, number> = {};
  for (const d of report.diagnostics) diagnostics[d.code] = (diagnostics[d.code] ?? 0) + 1;
  const line: BatchLine = {
    schemaVersion: BATCH_LINE_SCHEMA_VERSION,
    input: { path: input.key, size: input.size },
    status: "ok",
    diagnostics,
    durationMs: Math.round(durationMs),
    tool: `leakscope ${VERSION}`,
  };
  if (t) {
    const main = report.extensions?.["batch-program"] as { name: string; version?: string; timestamp: number } | undefined;
    line.target = {
      kind: t.kind,
      format: t.format,
      arch: t.arch,
      os: `${t.os.major}.${t.os.minor}.${t.os.build}`,
      wow64: t.wow64,
      ...(main ? { program: { name: main.name, ...(main.version ? { version: main.version } : {}), timestamp: `0x${main.timestamp.toString(16)}` } } : {}),
    };
  }
  const a = report.analysis;
  if (a) {
    line.verdict = a.verdict;
    line.verdictReason = a.verdictReason;
    if (a.leakKind) line.leakKind = a.leakKind;
    line.suspects = a.suspects.slice(0, top).map((s): BatchSuspect => {
      const out: BatchSuspect = { rank: s.rank, kind: s.kind, title: s.title, score: s.score, count: s.count, bytes: s.bytes, cause: causeOf(s) };
      if (s.size !== undefined) out.size = s.size;
      if (s.typeName) out.typeName = s.typeName;
      if (s.callSite) out.callSite = s.callSite;
      if (s.tag) out.tag = s.tag;
      return out;
    });
  }
  if (report.heaps) {
    const h = report.heaps;
    line.heaps = {
      count: h.length,
      busy: { count: h.reduce((n, x) => n + x.busy.count, 0), bytes: h.reduce((n, x) => n + x.busy.bytes, 0) },
      free: { count: h.reduce((n, x) => n + x.free.count, 0), bytes: h.reduce((n, x) => n + x.free.bytes, 0) },
      committed: h.reduce((n, x) => n + x.committed, 0),
    };
  }
  return line;
}

/** The line of an input that could not be analysed. */
export function lineOfError(input: BatchInput, code: string, message: string, exitCode: number, durationMs: number): BatchLine {
  return {
    schemaVersion: BATCH_LINE_SCHEMA_VERSION,
    input: { path: input.key, size: input.size },
    status: "error",
    error: { code, message, exitCode },
    diagnostics: {},
    durationMs: Math.round(durationMs),
    tool: `leakscope ${VERSION}`,
  };
}

/** `leakscope: error [CODE]: message` as the CLI prints it, split into code and message. */
export function parseCliError(stderr: string, exitCode: number): { code: string; message: string } {
  const m = /leakscope: (?:internal )?error(?: \[([A-Z0-9_]+)\])?: ([^\n]*)/.exec(stderr);
  if (m) return { code: m[1] ?? (exitCode === 3 ? "INTERNAL_ERROR" : "USAGE"), message: m[2]!.trim() };
  const first = stderr.trim().split("\n")[0] ?? "";
  return { code: exitCode === 3 ? "INTERNAL_ERROR" : "INPUT_ERROR", message: first || `analyze exited with code ${exitCode}` };
}
