import type { Report } from "@leakscope/core";
import { count, diagnosticGroups, groupDiagnostics, hex, humanBytes, inputLine, mdEscape, poolDescription, signedCount, signedHex, verdictLine } from "./common.js";
import { stackLine } from "./frames.js";
import { trendMarkdown } from "./trend.js";
import { processMarkdown } from "./process.js";
import { crashHead } from "./target-head.js";
import { extensionsMarkdown } from "./extensions.js";


export function formatMarkdown(report: Report): string {
  const out: string[] = [`# leakscope ${report.command}`, "", mdEscape(inputLine(report)), ""];
  const crash = crashHead(report);
  const a = report.analysis;
  // the verdict first, then the crash the dump records
  if (a) out.push(`**${mdEscape(verdictLine(a))}**`, "");
  if (crash.length > 0) out.push(...crash.map((l) => `**${mdEscape(l)}**  `), "");
  out.push(...processMarkdown(report, mdEscape));
  if (a) {
    out.push(`Busy: **${count(a.summary.busy.count)}** blocks, **${hex(a.summary.busy.bytes)}** bytes (${humanBytes(a.summary.busy.bytes)}); stacks: ${a.summary.traces}.`, "");
    out.push("## Suspects", "", "| # | kind | suspect | count (dec) | bytes (hex) | % | type | call site |", "|---|---|---|---|---|---|---|---|");
    for (const s of a.suspects) {
      const site = s.callSite ?? "";
      out.push(
        `| ${s.rank} | ${s.kind} | ${mdEscape(s.title)} | ${count(s.count)} | ${hex(s.bytes)} | ${s.percent} | ${mdEscape(s.typeName ?? "")} | ${mdEscape(site)} |`,
      );
    }
    const stackShown = new Map<string, number>();
    const stepShown = new Map<string, number>();
    for (const s of a.suspects) {
      out.push("", `### ${s.rank}. ${mdEscape(s.title)}`, "");
      for (const e of s.evidence) out.push(`- ${mdEscape(e)}`);
      if (s.sizes && s.sizes.length > 1) out.push(`- Sizes: ${s.sizes.map(hex).join(", ")}`);
      if (s.stack?.length) {
        const key = s.stack.map((f) => f.address).join(" ");
        const seen = stackShown.get(key);
        if (seen !== undefined) out.push(`- Stack: as in ${seen}.`);
        else {
          stackShown.set(key, s.rank);
          out.push("", "```text");
          for (const f of s.stack) out.push(`${f.address} ${f.text.replace(/`/g, "'")}`);
          out.push("```");
        }
      }
      const step = stepShown.get(s.nextStep);
      if (step === undefined) stepShown.set(s.nextStep, s.rank);
      out.push("", `**Next step:** ${step === undefined ? mdEscape(s.nextStep) : `as for ${step}.`}`);
    }
    if (a.largest?.length) {
      out.push("", "## Largest (not suspects: size alone is not a leak signal)", "", "| heap | size | count | bytes | % of busy |", "|---|---|---|---|---|");
      for (const l of a.largest) out.push(`| ${l.heap} | ${hex(l.size)} | ${l.count} | ${hex(l.bytes)} | ${l.percent} |`);
    }
    out.push("", "## Size classes", "", "| heap | size (hex) | count (dec) | bytes (hex) | % of heap |", "|---|---|---|---|---|");
    for (const c of a.sizeClasses.slice(0, 20)) out.push(`| ${c.heap} | ${hex(c.size)} | ${count(c.count)} | ${hex(c.bytes)} | ${c.percent} |`);
  }
  const pool = report.analysis ? report.pool : undefined;
  if (pool && pool.rows.length > 0) {
    out.push("", "## Pool", "", "| tag | non-paged allocs | non-paged bytes | paged allocs | paged bytes | description |", "|---|---|---|---|---|---|");
    for (const r of pool.rows) {
      const desc = poolDescription(r);
      out.push(`| ${mdEscape(r.tag)} | ${r.nonPagedAllocs} | ${r.nonPagedBytes} | ${r.pagedAllocs} | ${r.pagedBytes} | ${mdEscape(desc)} |`);
    }
    for (const n of pool.notes) out.push("", mdEscape(n));
  }
  const d = report.diff;
  if (d) {
    const bytes = d.total.after.bytes - d.total.before.bytes;
    out.push(`Growth from ${mdEscape(d.before.path)} to ${mdEscape(d.after.path)}: **${signedHex(bytes)}** bytes, **${signedCount(d.total.after.count - d.total.before.count)}** blocks.`, "");
    out.push("## Growth", "", "| kind | what | Δ count (decimal) | Δ bytes (hex) |", "|---|---|---|---|");
    for (const r of d.rows) {
      const what = r.kind === "size-class" ? `size ${hex(r.size ?? 0)} in heap ${r.heap}` : r.kind === "stack" ? stackLine(r.frames ?? []) : r.key;
      out.push(`| ${r.kind} | ${mdEscape(what)} | ${signedCount(r.delta.count)} | ${signedHex(r.delta.bytes)} |`);
    }
  }
  if (report.trend) out.push("", ...trendMarkdown(report.trend, mdEscape));
  out.push(...extensionsMarkdown(report));
  const groups = diagnosticGroups(report);
  if (groups.length) {
    out.push("", "## Diagnostics", "");
    for (const g of groups) {
      if (g.title) out.push(`### ${mdEscape(g.title)}`, "");
      for (const { first: x, count: n } of groupDiagnostics(g.items)) out.push(`- **${x.code}** (${x.severity}${n > 1 ? `, ×${count(n)}` : ""}): ${mdEscape(x.message)}`);
      if (g.title) out.push("");
    }
  }
  return `${out.join("\n")}\n`;
}
