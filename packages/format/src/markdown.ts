import type { Report } from "@leakscope/core";
import { groupDiagnostics, hex, humanBytes, inputLine, verdictLine } from "./common.js";

/** Escape text for a Markdown table cell or paragraph (dump strings are untrusted). */
export function mdEscape(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+!|<>&]/g, (ch) => `\\${ch}`).replace(/[\r\n]+/g, " ");
}

export function formatMarkdown(report: Report): string {
  const out: string[] = [`# leakscope ${report.command}`, "", mdEscape(inputLine(report)), ""];
  const a = report.analysis;
  if (a) {
    out.push(`**${mdEscape(verdictLine(a))}**`, "");
    out.push(`Busy: **${a.summary.busy.count}** blocks, **${humanBytes(a.summary.busy.bytes)}**; stacks: ${a.summary.traces}.`, "");
    out.push("## Suspects", "", "| # | kind | suspect | count | bytes | % | type | call site |", "|---|---|---|---|---|---|---|---|");
    for (const s of a.suspects) {
      const site = s.callSite ?? "";
      out.push(
        `| ${s.rank} | ${s.kind} | ${mdEscape(s.title)} | ${s.count} | ${hex(s.bytes)} | ${s.percent} | ${mdEscape(s.typeName ?? "")} | ${mdEscape(site)} |`,
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
    out.push("", "## Size classes", "", "| heap | size | count | bytes | % of heap |", "|---|---|---|---|---|");
    for (const c of a.sizeClasses.slice(0, 20)) out.push(`| ${c.heap} | ${hex(c.size)} | ${c.count} | ${hex(c.bytes)} | ${c.percent} |`);
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
    for (const { first: x, count } of groupDiagnostics(report.diagnostics)) {
      out.push(`- **${x.code}** (${x.severity}${count > 1 ? `, ×${count}` : ""}): ${mdEscape(x.message)}`);
    }
  }
  return `${out.join("\n")}\n`;
}
