import type { Report } from "@leakscope/core";
import { hex, humanBytes, inputLine } from "./common.js";

/** Escape text for a Markdown table cell or paragraph (dump strings are untrusted). */
export function mdEscape(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+!|<>&]/g, (ch) => `\\${ch}`).replace(/[\r\n]+/g, " ");
}

export function formatMarkdown(report: Report): string {
  const out: string[] = [`# leakscope ${report.command}`, "", mdEscape(inputLine(report)), ""];
  const a = report.analysis;
  if (a) {
    out.push(`Busy: **${a.summary.busy.count}** blocks, **${humanBytes(a.summary.busy.bytes)}**; stacks: ${a.summary.traces}.`, "");
    out.push("## Suspects", "", "| # | kind | suspect | count | bytes | % | type | call site |", "|---|---|---|---|---|---|---|---|");
    for (const s of a.suspects) {
      const site = s.callSite ?? "";
      out.push(
        `| ${s.rank} | ${s.kind} | ${mdEscape(s.title)} | ${s.count} | ${hex(s.bytes)} | ${s.percent} | ${mdEscape(s.typeName ?? "")} | ${mdEscape(site)} |`,
      );
    }
    for (const s of a.suspects) {
      out.push("", `### ${s.rank}. ${mdEscape(s.title)}`, "");
      for (const e of s.evidence) out.push(`- ${mdEscape(e)}`);
      if (s.stack?.length) {
        out.push("", "```text");
        for (const f of s.stack) out.push(`${f.address} ${f.text.replace(/`/g, "'")}`);
        out.push("```");
      }
      out.push("", `**Next step:** ${mdEscape(s.nextStep)}`);
    }
    out.push("", "## Size classes", "", "| heap | size | count | bytes | % of heap |", "|---|---|---|---|---|");
    for (const c of a.sizeClasses.slice(0, 20)) out.push(`| ${c.heap} | ${hex(c.size)} | ${c.count} | ${hex(c.bytes)} | ${c.percent} |`);
  }
  const pool = report.analysis ? report.pool : undefined;
  if (pool && pool.rows.length > 0) {
    out.push("", "## Pool", "", "| tag | non-paged allocs | non-paged bytes | paged allocs | paged bytes | description |", "|---|---|---|---|---|---|");
    for (const r of pool.rows) {
      const desc = [r.description, r.binary ? `Binary: ${r.binary}` : undefined].filter(Boolean).join(" , ");
      out.push(`| ${mdEscape(r.tag)} | ${r.nonPagedAllocs} | ${r.nonPagedBytes} | ${r.pagedAllocs} | ${r.pagedBytes} | ${mdEscape(desc)} |`);
    }
    for (const n of pool.notes) out.push("", mdEscape(n));
  }
  const d = report.diff;
  if (d) {
    out.push("## Growth", "", "| kind | what | Δ count | Δ bytes |", "|---|---|---|---|");
    for (const r of d.rows) {
      const what = r.kind === "size-class" ? `size ${hex(r.size ?? 0)} in heap ${r.heap}` : r.kind === "stack" ? (r.frames ?? []).map((f) => f.text).slice(0, 3).join(" ← ") : r.key;
      out.push(`| ${r.kind} | ${mdEscape(what)} | ${r.delta.count} | ${hex(r.delta.bytes)} |`);
    }
  }
  if (report.diagnostics.length) {
    out.push("", "## Diagnostics", "");
    for (const x of report.diagnostics) out.push(`- **${x.code}** (${x.severity}): ${mdEscape(x.message)}`);
  }
  return `${out.join("\n")}\n`;
}
