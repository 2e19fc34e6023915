import type { Report } from "@leakscope/core";
import { count, diagnosticGroups, groupDiagnostics, hex, humanBytes, inputLine, poolDescription, safeText, signedCount, signedHex, verdictLine } from "./common.js";
import { foldAllocatorFrames, stackLine } from "./frames.js";
import { trendText } from "./trend.js";
import { crashHead } from "./target-head.js";
import { extensionsText } from "./extensions.js";

export interface TextOptions {
  /** ANSI colour (only on a TTY without NO_COLOR; the CLI decides). */
  color?: boolean;
  /** Suspects shown in full. */
  top?: number;
  /**
   * Lines a caller adds to the head of the report (the CLI's process triage): after the verdict
   * and the heap summary, before the cards; after the input line when there is no analysis.
   */
  preamble?: string;
}

/** The terminal report of `leakscope analyze` / `diff`. */
export function formatText(report: Report, options: TextOptions = {}): string {
  const c = options.color === true;
  const bold = (s: string) => (c ? `\x1b[1m${s}\x1b[22m` : s);
  const dim = (s: string) => (c ? `\x1b[2m${s}\x1b[22m` : s);
  const red = (s: string) => (c ? `\x1b[31m${s}\x1b[39m` : s);
  const out: string[] = [];
  out.push(bold(`leakscope ${report.command}`) + dim(`  ${safeText(inputLine(report))}`));
  const a = report.analysis;
  // the verdict first, then the crash the dump records
  if (a) {
    const vl = verdictLine(a);
    out.push(a.verdict === "leak-suspected" ? bold(red(safeText(vl))) : bold(safeText(vl)));
  }
  for (const l of crashHead(report)) out.push(red(safeText(l)));
  if (!a && options.preamble) out.push(options.preamble.replace(/\n+$/, ""));
  if (a) {
    out.push(
      `Busy: ${count(a.summary.busy.count)} blocks, ${hex(a.summary.busy.bytes)} bytes (${humanBytes(a.summary.busy.bytes)}) in ${count(a.summary.heaps)} heap(s); free: ${hex(a.summary.free.bytes)} bytes (${humanBytes(a.summary.free.bytes)}).`,
    );
    out.push(`Stacks: ${a.summary.traces}${a.summary.traces === "present" ? "" : ` — ${safeText(a.summary.tracesNote)}`}`);
    for (const n of a.notes ?? []) out.push(dim(safeText(n)));
    if (options.preamble) out.push(options.preamble.replace(/\n+$/, ""));
    out.push("");
    if (a.suspects.length === 0 && a.verdict !== "cannot-judge") out.push("No leak suspects: no size class, stack or type carries a leak signal.", "");
    // say each stack and each next step once: later cards refer to the first that showed it
    const stackShown = new Map<string, number>();
    const stepShown = new Map<string, number>();
    for (const s of a.suspects.slice(0, options.top ?? 10)) {
      out.push(`${bold(`#${s.rank}`)} ${red(safeText(s.title))}  ${dim(`[${s.kind}, score ${(Math.floor(s.score * 100) / 100).toFixed(2)}]`)}`);
      for (const e of s.evidence) out.push(`    ${safeText(e)}`);
      if (s.sizes && s.sizes.length > 1) out.push(`    sizes: ${s.sizes.map(hex).join(" ")}`);
      if (s.typeName) out.push(`    type: ${safeText(s.typeName)}`);
      if (s.stack && s.stack.length > 0) {
        const key = s.stack.map((f) => f.address).join(" ");
        const seen = stackShown.get(key);
        if (seen !== undefined) out.push(`    stack: as in #${seen}`);
        else {
          stackShown.set(key, s.rank);
          const folded = foldAllocatorFrames(s.stack);
          out.push(
            `    stack${s.stackId !== undefined ? ` ${s.stackId}` : ""}${folded.folded.length ? ` (${folded.folded.length} allocator frame${folded.folded.length === 1 ? "" : "s"} above ▶, the first caller)` : ""}:`,
          );
          for (const f of s.stack.slice(0, 12)) out.push(`    ${f === folded.shown[0] ? "▶" : " "} ${(f.address === "0x0" ? "" : f.address).padStart(18, " ")} ${safeText(f.text)}`);
          if (s.stack.length > 12) out.push(`      ... ${s.stack.length - 12} more frames`);
        }
      }
      if (s.samples.length) out.push(`    samples: ${s.samples.join(" ")}`);
      if (s.preview?.ascii) out.push(`    text: "${safeText(s.preview.ascii).slice(0, 80)}"`);
      else if (s.preview?.utf16) out.push(`    text (UTF-16): "${safeText(s.preview.utf16).slice(0, 80)}"`);
      if (s.preview?.hex) out.push(`    bytes: ${s.preview.hex}`);
      const step = stepShown.get(s.nextStep);
      if (step !== undefined) out.push(`    ${bold("next:")} as for #${step}`);
      else {
        stepShown.set(s.nextStep, s.rank);
        out.push(`    ${bold("next:")} ${safeText(s.nextStep)}`);
      }
      out.push("");
    }
    if (a.largest && a.largest.length > 0) {
      out.push("Largest (size alone is not a leak signal):");
      for (const l of a.largest) {
        out.push(`  ${l.count === 1 ? "1 block" : `${l.count} blocks`} of ${hex(l.size)} bytes in heap ${l.heap}: ${humanBytes(l.bytes)} (${l.percent}% of busy bytes)`);
      }
      out.push("");
    }
    if (a.reachability) {
      out.push(
        `Reachability: ${count(a.reachability.unreferenced.count)} busy blocks (${hex(a.reachability.unreferenced.bytes)} bytes) not referenced from roots; ` +
          `${hex(a.reachability.scannedBytes)} bytes scanned.`,
      );
    }
  }
  const p = report.analysis ? report.pool : undefined;
  if (p && p.rows.length > 0) {
    out.push(bold(`Pool (${safeText(p.method === "log" ? "as the log lists it" : p.method)}): top tags by ${p.sort === "paged" ? "paged" : "non-paged"} bytes`));
    out.push(`  ${"Tag".padEnd(4)} ${"NP allocs".padStart(10)} ${"NP bytes".padStart(12)} ${"P allocs".padStart(9)} ${"P bytes".padStart(12)}  description`);
    for (const r of p.rows.slice(0, 10)) {
      const desc = poolDescription(r);
      out.push(
        `  ${safeText(r.tag).padEnd(4)} ${String(r.nonPagedAllocs).padStart(10)} ${String(r.nonPagedBytes).padStart(12)} ${String(r.pagedAllocs).padStart(9)} ${String(r.pagedBytes).padStart(12)}  ${safeText(desc)}`,
      );
    }
    for (const n of p.notes) out.push(dim(`  ${safeText(n)}`));
    out.push("");
  }
  const d = report.diff;
  if (d) {
    const bytes = d.total.after.bytes - d.total.before.bytes;
    const blocks = d.total.after.count - d.total.before.count;
    out.push(`Growth from ${safeText(d.before.path)} to ${safeText(d.after.path)}: ${signedHex(bytes)} bytes (${humanBytes(bytes)}), ${signedCount(blocks)} blocks`);
    out.push("");
    out.push(`  ${"Δ bytes (hex)".padStart(14)} ${"Δ count".padStart(9)}  ${"kind".padEnd(10)}  what (stacks: ▶ first caller, allocator frames folded)`);
    for (const r of d.rows.slice(0, options.top ?? 20)) {
      const what =
        r.kind === "size-class"
          ? `size ${hex(r.size ?? 0)} in heap ${r.heap}`
          : r.kind === "stack"
            ? safeText(stackLine(r.frames ?? []))
            : safeText(r.key);
      out.push(`  ${signedHex(r.delta.bytes).padStart(14)} ${signedCount(r.delta.count).padStart(9)}  ${r.kind.padEnd(10)}  ${what}`);
    }
  }
  if (report.trend) out.push(...trendText(report.trend, options.top ?? 10));
  out.push(...extensionsText(report));
  const groups = diagnosticGroups(report);
  if (groups.length > 0) {
    out.push("");
    out.push(dim(`${count(report.diagnostics.length)} diagnostic(s); --json lists them all:`));
    for (const g of groups) {
      if (g.title) out.push(dim(` ${safeText(g.title)}:`));
      // each code once, with its count
      const kinds = groupDiagnostics(g.items);
      for (const { first: x, count: n } of kinds.slice(0, 12)) out.push(dim(`  ${x.severity} ${x.code}${n > 1 ? ` ×${count(n)}` : ""}: ${safeText(x.message)}`));
      if (kinds.length > 12) out.push(dim(`  … ${count(kinds.length - 12)} more kind(s)`));
    }
  }
  return `${out.join("\n")}\n`;
}
