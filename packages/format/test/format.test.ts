import { validateReport } from "@leakscope/core";
import { describe, expect, it } from "vitest";
import { csvField, esc, formatCsv, formatHtml, formatMarkdown, formatReport, formatText } from "../src/index.js";
import { hostileReport } from "./sample.js";

describe("formatters", () => {
  const report = hostileReport();

  it("the sample report is schema-valid", () => {
    expect(validateReport(report).errors).toEqual([]);
  });

  it("text names the suspect, no colour unless asked, no raw control characters", () => {
    const plain = formatText(report);
    expect(plain).toContain("#1 30 × 0x3fff-byte blocks");
    expect(plain).toContain("!main+0x69");
    expect(plain).not.toContain("\x1b[");
    expect(formatText(report, { color: true })).toContain("\x1b[1m");
    const withCtl = hostileReport();
    withCtl.analysis!.suspects[0]!.title = "bad\x1b[2Jtitle";
    expect(formatText(withCtl)).not.toContain("\x1b[2J");
  });

  it("markdown escapes table-breaking and HTML characters", () => {
    const md = formatMarkdown(report);
    expect(md).toContain("| 1 | size-class |");
    // outside code fences (literal text in every renderer) nothing is raw HTML
    const prose = md.replace(/```text\n[\s\S]*?```/g, "");
    expect(prose).not.toContain("<script>");
    expect(prose).toContain("\\<script\\>");
    // a backtick in a frame cannot close the fence
    const fenced = hostileReport();
    fenced.analysis!.suspects[0]!.stack![1]!.text = "a```b";
    expect(formatMarkdown(fenced)).not.toContain("a```b");
  });

  it("csv has one suspect row with stable columns and defused formulas", () => {
    const csv = formatCsv(report).trim().split("\r\n");
    expect(csv[0]).toBe("rank,kind,score,heap,size,count,bytes,percent,type,call_site,samples,title,next_step");
    expect(csv).toHaveLength(2);
    expect(csv[1]!.startsWith("1,size-class,0.98,0x7a0000,16383,30,491490,97.9,")).toBe(true);
    expect(csvField("=1+1")).toBe("'=1+1");
    expect(csvField('a,"b"')).toBe('"a,""b"""');
  });

  it("html escapes every dump-derived string and loads nothing", () => {
    const html = formatHtml(report);
    expect(html).not.toMatch(/<script>alert/);
    expect(html).not.toMatch(/<img src=x/);
    expect(html).toContain("&#60;script&#62;");
    expect(html).toContain("Content-Security-Policy");
    expect(html).not.toMatch(/\b(src|href)=["']?(https?:|\/\/)/);
    expect(esc(`<a href="x">'&`)).toBe("&#60;a href=&#34;x&#34;&#62;&#39;&#38;");
  });

  it("json is the report itself", () => {
    expect(JSON.parse(formatReport(report, "json"))).toEqual(report);
  });

  it("leads with the verdict and says each diagnostic, stack and next step once (text and Markdown)", () => {
    const r = hostileReport();
    const a = r.analysis!;
    const first = a.suspects[0]!;
    a.suspects.push({ ...first, rank: 2, title: "same stack, same advice", size: 0x40 });
    r.diagnostics = [0, 1, 2].map((k) => ({ code: "NT_HEAP_NOT_CAPTURED", severity: "warning" as const, source: "heap-nt", message: `heap ${k} missing` }));
    expect(validateReport(r).errors).toEqual([]);
    const text = formatText(r);
    expect(text.split("\n")[1]).toMatch(/^Verdict: LEAK SUSPECTED — Suspect #1 /);
    expect(text.split("\n").filter((l) => l.includes("!main+0x69") && !l.includes("next:"))).toHaveLength(1);
    expect(text).toContain("stack: as in #1");
    expect(text).toContain("next: as for #1");
    expect(text.match(/NT_HEAP_NOT_CAPTURED/g)).toHaveLength(1);
    expect(text).toContain("NT_HEAP_NOT_CAPTURED ×3: heap 0 missing");
    const md = formatMarkdown(r);
    expect(md.split("\n")[4]).toMatch(/^\*\*Verdict: LEAK SUSPECTED/);
    expect(md.match(/NT_HEAP_NOT_CAPTURED/g)).toHaveLength(1);
    expect(md).toContain("Stack: as in 1.");
    expect(formatHtml(r)).toMatch(/<section id="verdict" class="verdict leak-suspected"><div><span class="badge">Leak suspected<\/span>/);
    a.verdict = "cannot-judge";
    a.verdictReason = "The dump holds no heap memory: take a full-memory dump (procdump -ma).";
    expect(formatText(r).split("\n")[1]).toBe(`Verdict: CANNOT JUDGE — ${a.verdictReason}`);
  });
});
