import type { Report } from "@leakscope/core";
import { count, humanBytes } from "./common.js";

type ProcessSection = NonNullable<Report["process"]>;
type ProcessGrowthRows = NonNullable<NonNullable<Report["diff"]>["process"]>;

/** A cell: dump-derived text (escaped by the renderer), or a figure (right-aligned in HTML). */
type Cell = string | { n: string };

/** One part of the process section, format-neutral: a heading, sentences and a table. */
interface Block {
  title: string;
  /** Sentences; every one is escaped by the renderer (they carry type names, paths, symbols). */
  lines: string[];
  headers?: string[];
  rows?: Cell[][];
}

const num = (n: number): Cell => ({ n: count(n) });
const pct = (part: number, whole: number): string => (whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : "0%");

/** ProcessVmCounters in words (`private bytes 12.00 MiB`, `commit ... (peak ...)`, working set, virtual size). */
export function vmCounterParts(v: Record<string, number> | undefined): string[] {
  if (!v) return [];
  return [
    v.privateUsage !== undefined ? `private bytes ${humanBytes(v.privateUsage)}` : "",
    v.pagefileUsage !== undefined ? `commit ${humanBytes(v.pagefileUsage)} (peak ${humanBytes(v.peakPagefileUsage ?? 0)})` : "",
    v.workingSetSize !== undefined ? `working set ${humanBytes(v.workingSetSize)}` : "",
    v.virtualSize !== undefined ? `virtual ${humanBytes(v.virtualSize)}` : "",
  ].filter(Boolean);
}

/** The triage, memory, handles, GDI objects and threads of the `process` section, as blocks. */
function sectionBlocks(p: ProcessSection): Block[] {
  const blocks: Block[] = [];
  blocks.push({
    title: "Which kind of leak",
    lines: [],
    headers: ["kind", "abnormal", "what", "next step"],
    rows: p.triage.map((r) => [r.kind, r.abnormal ? "yes" : "no", r.text, r.nextStep]),
  });
  const c = p.composition;
  const memory: string[] = [
    `${count(c.regions)} regions (${c.source === "memory-info-list" ? "MemoryInfoList" : "captured ranges only"}); committed ${count(c.committed)} bytes (${humanBytes(c.committed)}): image ${count(c.committedByType.image)}, mapped ${count(c.committedByType.mapped)}, private ${count(c.committedByType.private)}; reserved ${count(c.reserved)}.`,
  ];
  const heaps = c.heaps.filter((h) => h.allocations > 0);
  if (heaps.length > 0) {
    const hc = heaps.reduce((s, h) => s + h.committed, 0);
    memory.push(`Heaps hold ${humanBytes(hc)} committed in ${heaps.length} heap(s), ${pct(hc, c.committedByType.private + c.committedByType.mapped)} of the private and mapped bytes.`);
  }
  const parts = vmCounterParts(c.vmCounters);
  if (parts.length > 0) memory.push(`Counters: ${parts.join(", ")}.`);
  blocks.push({
    title: "Memory (like !address -summary)",
    lines: memory,
    headers: ["usage", "regions", "size", "committed", "% busy"],
    rows: c.usage.map((u) => [u.name, num(u.regions), num(u.bytes), num(u.committed), { n: u.percent.toFixed(2) }]),
  });
  if (c.heaps.length > 0) {
    blocks.push({
      title: "Heaps",
      lines: [],
      headers: ["heap", "label", "allocations", "committed", "reserved", "busy", "free", "overhead"],
      rows: c.heaps.map((h) => [
        h.heap,
        h.label ?? "",
        num(h.allocations),
        num(h.committed),
        num(h.reserved),
        h.busy !== undefined ? num(h.busy) : "",
        h.free !== undefined ? num(h.free) : "",
        h.overhead !== undefined ? num(h.overhead) : "",
      ]),
    });
  }
  if (c.privateGroups.length > 0) {
    blocks.push({
      title: "Private allocations in no heap, stack or TEB",
      lines: [],
      headers: ["size", "count", "committed", "bases", "pointed at from"],
      rows: c.privateGroups.map((g) => [num(g.size), num(g.count), num(g.committed), g.samples.join(" "), g.referrers.join(", ")]),
    });
  }
  const h = p.handles;
  blocks.push({
    title: "Handles",
    lines: [h.source === "none" ? "Not in the dump (no HandleData stream): take the dump with procdump -ma." : `${count(h.total)} handles (${h.source}).`],
    ...(h.byType.length > 0
      ? {
          headers: ["type", "count", "handle count", "pointer count", "typical"],
          rows: h.byType.map((t) => [t.type, num(t.count), num(t.handleCount), num(t.pointerCount), t.typical !== undefined ? `above ${count(t.typical)}` : ""]),
        }
      : {}),
  });
  if (h.names.length > 0) {
    blocks.push({ title: "Most repeated handle names", lines: [], headers: ["count", "type", "name"], rows: h.names.map((x) => [num(x.count), x.type, x.name]) });
  }
  const g = p.gdi;
  blocks.push({
    title: "GDI objects",
    lines: [g.status === "present" ? `${count(g.total)} objects of the ${count(g.quota)} per-process quota.` : g.note],
    ...(g.status === "present" && g.byType.length > 0 ? { headers: ["type", "count"], rows: g.byType.map((t) => [t.type, num(t.count)]) } : {}),
  });
  const th = p.threads;
  blocks.push({
    title: "Threads",
    lines: [`${count(th.count)} thread(s).`],
    ...(th.groups.length > 0
      ? {
          headers: ["count", "start", "top frames", "created"],
          rows: th.groups.map((x) => [num(x.count), x.start, x.top, x.created ? `${x.created.first} – ${x.created.last}` : ""]),
        }
      : {}),
  });
  const notes = [...c.notes, ...h.notes, ...th.notes];
  if (notes.length > 0) blocks.push({ title: "Notes", lines: notes });
  return blocks;
}

/** `diff`: the process figures that changed. */
function growthBlocks(rows: ProcessGrowthRows): Block[] {
  if (rows.length === 0) return [{ title: "Process figures", lines: ["Memory, handles, GDI objects and threads: unchanged."] }];
  return [
    {
      title: "Process figures that changed",
      lines: ["Memory in bytes, the others in counts."],
      headers: ["figure", "before", "after", "delta"],
      rows: rows.map((r) => [r.key, num(r.before), num(r.after), { n: `${r.delta > 0 ? "+" : ""}${count(r.delta)}` }]),
    },
  ];
}

/** The blocks of a report's process facts: its `process` section, else a diff's process growth, else none. */
function blocksOf(report: Report): Block[] {
  if (report.process) return sectionBlocks(report.process);
  if (report.diff?.process) return growthBlocks(report.diff.process);
  return [];
}

/**
 * The process section in Markdown (the triage, memory, handles, GDI objects, threads; for a diff,
 * the process figures that changed), every dump-derived string through `esc`. Empty when the
 * report has none.
 */
export function processMarkdown(report: Report, esc: (s: string) => string): string[] {
  const blocks = blocksOf(report);
  if (blocks.length === 0) return [];
  const out: string[] = ["## Process", ""];
  for (const b of blocks) {
    out.push(`### ${esc(b.title)}`, "");
    for (const l of b.lines) out.push(esc(l), "");
    if (b.headers && b.rows && b.rows.length > 0) {
      out.push(`| ${b.headers.join(" | ")} |`, `|${b.headers.map(() => "---").join("|")}|`);
      // figures are ours (digits, separators, a sign): only text cells need escaping
      for (const r of b.rows) out.push(`| ${r.map((c) => (typeof c === "string" ? esc(c) : c.n)).join(" | ")} |`);
      out.push("");
    }
  }
  return out;
}

/**
 * The process section as one HTML `<section id="process">` (no script, nothing loaded), every
 * dump-derived string through `esc`. Empty when the report has none.
 */
export function processHtml(report: Report, esc: (s: string) => string): string {
  const blocks = blocksOf(report);
  if (blocks.length === 0) return "";
  const body = blocks
    .map((b) => {
      const lines = b.lines.map((l) => `<p>${esc(l)}</p>`).join("");
      const table =
        b.headers && b.rows && b.rows.length > 0
          ? `<table><thead><tr>${b.headers.map((x) => `<th>${esc(x)}</th>`).join("")}</tr></thead><tbody>${b.rows
              .map((r) => `<tr>${r.map((c) => (typeof c === "string" ? `<td>${esc(c)}</td>` : `<td class="n">${esc(c.n)}</td>`)).join("")}</tr>`)
              .join("")}</tbody></table>`
          : "";
      return `<h3>${esc(b.title)}</h3>${lines}${table}`;
    })
    .join("");
  const abnormal = report.process?.triage.filter((r) => r.abnormal).map((r) => r.kind) ?? [];
  return `<section id="process"${abnormal.length > 0 ? ` data-abnormal="${esc(abnormal.join(" "))}"` : ""}><h2>Process: which kind of leak</h2>${body}</section>`;
}
