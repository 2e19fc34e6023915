import { type BatchLine, SUSPECT_SCORE_FLOOR } from "@leakscope/core";

/** A cause that leads in several dumps of a fleet. */
export interface FleetCause {
  cause: string;
  kind: string;
  /** Dumps in which it is a suspect scoring at least 0.3. */
  dumps: number;
  /** Dumps in which it is the first suspect. */
  leading: number;
  maxScore: number;
  /** Largest bytes it holds in one dump. */
  maxBytes: number;
  /** `program version` of those dumps, with counts. */
  programs: { program: string; dumps: number }[];
}

export interface FleetProgram {
  program: string;
  version: string;
  dumps: number;
  verdicts: Record<string, number>;
  causes: FleetCause[];
}

/** `leakscope batch --summarize`: the fleet view of one or more NDJSON files. */
export interface FleetView {
  dumps: number;
  /** Lines that did not parse (a run killed mid-line) and inputs recorded twice (counted once). */
  unreadable: number;
  duplicates: number;
  status: { ok: number; error: number };
  verdicts: Record<string, number>;
  errors: { code: string; dumps: number }[];
  programs: FleetProgram[];
  causes: FleetCause[];
}

const byCount = <T extends { dumps: number }>(key: (x: T) => string) => (a: T, b: T) => b.dumps - a.dumps || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

function programOf(line: BatchLine): { program: string; version: string } {
  const p = line.target?.program;
  if (p) return { program: p.name.toLowerCase(), version: p.version ?? "?" };
  if (line.target) return { program: line.target.kind === "kernel" ? "(kernel)" : `(${line.target.format})`, version: line.target.os };
  return { program: "(unreadable)", version: "-" };
}

/**
 * Merge NDJSON lines into the fleet view: verdicts, errors, and which causes (call sites, types,
 * pool tags) are top suspects in how many dumps, overall and per program and version. The view
 * depends only on the set of lines (each input counted once), never on their order, so shards
 * summarized together give the same view as one run.
 */
export function summarizeFleet(lines: readonly BatchLine[], unreadable = 0, top = 20): FleetView {
  const seen = new Map<string, BatchLine>();
  let duplicates = 0;
  for (const l of lines) {
    const prev = seen.get(l.input.path);
    if (prev) {
      duplicates++;
      // an ok line wins over an error line for the same input (a resumed run that succeeded)
      if (prev.status === "error" && l.status === "ok") seen.set(l.input.path, l);
    } else seen.set(l.input.path, l);
  }
  const unique = [...seen.values()];
  const verdicts: Record<string, number> = {};
  const errors = new Map<string, number>();
  const status = { ok: 0, error: 0 };
  const programs = new Map<string, { program: string; version: string; dumps: number; verdicts: Record<string, number>; causes: Map<string, FleetCause> }>();
  const causes = new Map<string, FleetCause>();
  const addCause = (map: Map<string, FleetCause>, s: NonNullable<BatchLine["suspects"]>[number], lead: boolean, prog: string) => {
    const key = `${s.kind}\u0000${s.cause}`;
    let c = map.get(key);
    if (!c) map.set(key, (c = { cause: s.cause, kind: s.kind, dumps: 0, leading: 0, maxScore: 0, maxBytes: 0, programs: [] }));
    c.dumps++;
    if (lead) c.leading++;
    c.maxScore = Math.max(c.maxScore, s.score);
    c.maxBytes = Math.max(c.maxBytes, s.bytes);
    const p = c.programs.find((x) => x.program === prog);
    if (p) p.dumps++;
    else c.programs.push({ program: prog, dumps: 1 });
  };
  for (const l of unique) {
    status[l.status]++;
    if (l.status === "error") errors.set(l.error?.code ?? "ERROR", (errors.get(l.error?.code ?? "ERROR") ?? 0) + 1);
    const v = l.verdict ?? (l.status === "error" ? "error" : "none");
    verdicts[v] = (verdicts[v] ?? 0) + 1;
    const { program, version } = programOf(l);
    const pk = `${program}\u0000${version}`;
    let p = programs.get(pk);
    if (!p) programs.set(pk, (p = { program, version, dumps: 0, verdicts: {}, causes: new Map() }));
    p.dumps++;
    p.verdicts[v] = (p.verdicts[v] ?? 0) + 1;
    const strong = (l.suspects ?? []).filter((s) => s.score >= SUSPECT_SCORE_FLOOR);
    const seenCause = new Set<string>();
    for (const s of strong) {
      const k = `${s.kind}\u0000${s.cause}`;
      if (seenCause.has(k)) continue;
      seenCause.add(k);
      const lead = s === strong[0];
      addCause(causes, s, lead, `${program} ${version}`);
      addCause(p.causes, s, lead, `${program} ${version}`);
    }
  }
  const finish = (m: Map<string, FleetCause>) =>
    [...m.values()]
      .map((c) => ({ ...c, programs: c.programs.sort(byCount((x) => x.program)) }))
      .sort((a, b) => b.dumps - a.dumps || b.leading - a.leading || (a.cause < b.cause ? -1 : a.cause > b.cause ? 1 : 0) || (a.kind < b.kind ? -1 : 1))
      .slice(0, top);
  return {
    dumps: unique.length,
    unreadable,
    duplicates,
    status,
    verdicts: Object.fromEntries(Object.entries(verdicts).sort(([a], [b]) => (a < b ? -1 : 1))),
    errors: [...errors].map(([code, dumps]) => ({ code, dumps })).sort(byCount((x) => x.code)),
    programs: [...programs.values()]
      .map((p) => ({ program: p.program, version: p.version, dumps: p.dumps, verdicts: Object.fromEntries(Object.entries(p.verdicts).sort(([a], [b]) => (a < b ? -1 : 1))), causes: finish(p.causes) }))
      .sort((a, b) => b.dumps - a.dumps || (`${a.program} ${a.version}` < `${b.program} ${b.version}` ? -1 : 1)),
    causes: finish(causes),
  };
}

/** The fleet view as text. */
export function renderFleet(v: FleetView): string {
  const n = (x: number) => x.toLocaleString("en-US");
  const out: string[] = [];
  out.push(`Fleet: ${n(v.dumps)} inputs (${n(v.status.ok)} analysed, ${n(v.status.error)} failed)${v.duplicates ? `; ${n(v.duplicates)} recorded twice, counted once` : ""}${v.unreadable ? `; ${n(v.unreadable)} unreadable line(s) skipped` : ""}`);
  out.push(`Verdicts: ${Object.entries(v.verdicts).map(([k, c]) => `${k} ${n(c)}`).join(", ") || "none"}`);
  if (v.errors.length > 0) out.push(`Errors: ${v.errors.map((e) => `${e.code} ${n(e.dumps)}`).join(", ")}`);
  out.push("");
  out.push("Top suspects across the fleet (score >= 0.3):");
  if (v.causes.length === 0) out.push("  none");
  else out.push(`  ${"dumps".padStart(6)} ${"lead".padStart(5)} ${"max bytes".padStart(12)}  kind          cause`);
  for (const c of v.causes) {
    out.push(`  ${n(c.dumps).padStart(6)} ${n(c.leading).padStart(5)} ${`0x${Math.round(c.maxBytes).toString(16)}`.padStart(12)}  ${c.kind.padEnd(12)}  ${c.cause}`);
    out.push(`  ${"".padStart(26)}in ${c.programs.map((p) => `${p.program} (${n(p.dumps)})`).join(", ")}`);
  }
  out.push("");
  out.push("By program and version:");
  for (const p of v.programs) {
    out.push(`  ${p.program} ${p.version}: ${n(p.dumps)} dump(s); ${Object.entries(p.verdicts).map(([k, c]) => `${k} ${n(c)}`).join(", ")}`);
    for (const c of p.causes.slice(0, 5)) out.push(`      ${n(c.dumps).padStart(6)} × ${c.cause} [${c.kind}]`);
  }
  return `${out.join("\n")}\n`;
}
