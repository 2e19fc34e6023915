import { type Report, validateReport } from "@leakscope/core";
import { describe, expect, it } from "vitest";
import { formatHtml, formatMarkdown, processMarkdown, mdEscape, trendMarkdown, trendText } from "../src/index.js";
import { hostileReport } from "./sample.js";

const evil = `<script>alert("x")</script><img src=x onerror=alert(1)>|x`;

/** The hostile sample with a process section whose every string comes from the dump (and is hostile). */
function withProcess(): Report {
  const r = hostileReport();
  r.process = {
    composition: {
      source: "memory-info-list",
      regions: 168,
      committed: 9281536,
      reserved: 1 << 20,
      committedByType: { image: 4 << 20, mapped: 1 << 20, private: 3 << 20 },
      usage: [{ name: `Heap ${evil}`, regions: 12, bytes: 1 << 20, committed: 1 << 19, percent: 12.5 }],
      type: [],
      state: [],
      protect: [],
      heaps: [{ heap: "0x500000", label: `process heap ${evil}`, allocations: 2, committed: 1 << 19, reserved: 1 << 20, busy: 1000, free: 200, overhead: 300 }],
      privateGroups: [{ size: 0x100000, count: 400, committed: 400 << 20, reserved: 0, samples: ["0x20000000"], referrers: [`${evil}+0x30000`] }],
      vmCounters: { privateUsage: 400 << 20 },
      notes: [`note ${evil}`],
    },
    handles: {
      source: "HandleData",
      total: 20092,
      byType: [{ type: `Event${evil}`, count: 20040, handleCount: 20040, pointerCount: 20040 * 32, typical: 2000 }],
      names: [{ type: "Event", name: `\\BaseNamedObjects\\${evil}`, count: 5000 }],
      notes: [],
    },
    gdi: { status: "present", total: 9100, quota: 10000, byType: [{ type: "Bitmap", count: 9000 }], note: "" },
    threads: { count: 301, groups: [{ start: `${evil}+0x1500`, top: `${evil}!wait`, count: 300, ids: [0x200] }], notes: [] },
    triage: [
      { kind: "handles", abnormal: true, text: `20,040 Event handles named ${evil}`, key: "handles:Event", nextStep: `!handle 0 f ${evil}` },
      { kind: "heap", abnormal: false, text: "1 heap(s)", nextStep: "Run analyze." },
    ],
  };
  return r;
}

describe("the process section in Markdown and HTML", () => {
  it("the sample is schema-valid", () => {
    expect(validateReport(withProcess()).errors).toEqual([]);
  });

  it("Markdown: right after the verdict, before the suspects; every dump string escaped; tables keep their columns", () => {
    const md = formatMarkdown(withProcess());
    const at = md.indexOf("## Process");
    expect(at).toBeGreaterThan(md.indexOf("**Verdict"));
    expect(at).toBeLessThan(md.indexOf("## Suspects"));
    expect(md).toContain("### Which kind of leak");
    expect(md).toContain("### Handles");
    expect(md).toContain("| 20,040 |");
    const prose = md.replace(/```text\n[\s\S]*?```/g, "");
    expect(prose).not.toMatch(/(?<!\\)<(script|img)/);
    // an unescaped | would add a column: every row of the handle table has its 5 cells
    const lines = md.split("\n");
    const head = lines.indexOf("| type | count | handle count | pointer count | typical |");
    expect(head).toBeGreaterThan(0);
    expect(lines[head + 2]!.split(/(?<!\\)\|/).length - 2).toBe(5);
    // a report without process facts: nothing
    expect(processMarkdown(hostileReport(), mdEscape)).toEqual([]);
  });

  it("HTML: one section after the verdict, self-contained, every dump string escaped", () => {
    const html = formatHtml(withProcess());
    expect(html.indexOf('<section id="process" data-abnormal="handles">')).toBeGreaterThan(html.indexOf('id="verdict"'));
    expect(html.indexOf('id="process"')).toBeLessThan(html.indexOf('id="suspects"'));
    expect(html).toContain('<a href="#process">Process</a>');
    expect(html).not.toMatch(/<script|<img/i);
    expect(html).toContain("&#60;script&#62;");
    expect(html).toContain('<td class="n">20,040</td>');
    expect(html).not.toMatch(/(src|href)=["']?https?:/);
    // info: no verdict, the section comes first
    const info = withProcess();
    info.command = "info";
    delete info.analysis;
    expect(formatHtml(info)).toMatch(/<main><section id="process"/);
    expect(formatMarkdown(info)).toContain("## Process");
  });

  it("a diff's process figures that changed, in both", () => {
    const r = hostileReport();
    r.command = "diff";
    r.diff = {
      before: { path: "a.dmp", kind: "user", format: "minidump" },
      after: { path: "b.dmp", kind: "user", format: "minidump" },
      total: { before: { count: 0, bytes: 0 }, after: { count: 0, bytes: 0 } },
      rows: [],
      process: [{ key: `handles:${evil}`, kind: "handles", before: 40, after: 20040, delta: 20000 }],
    };
    expect(validateReport(r).errors).toEqual([]);
    expect(formatMarkdown(r)).toMatch(/### Process figures that changed[\s\S]*\| handles:\\<script\\>.* \| 40 \| 20,040 \| \+20,000 \|/);
    const html = formatHtml(r);
    expect(html).toContain('<td class="n">+20,000</td>');
    expect(html).not.toContain("<script");
    r.diff.process = [];
    expect(formatMarkdown(r)).toContain("Memory, handles, GDI objects and threads: unchanged.");
  });
});

describe("trend series of objects", () => {
  it("handles are drawn and rated by their counts", () => {
    const t = {
      timeBasis: "capture-time" as const,
      inputs: [0, 1, 2].map((i) => ({ path: `s${i}.dmp`, kind: "user", format: "minidump", hours: i, busy: { count: 0, bytes: 0 } })),
      minGrowthBytes: 65536,
      series: [
        {
          key: "handles:Event",
          kind: "handles" as const,
          label: "Event handles",
          counts: [40, 2040, 4040],
          bytes: [0, 0, 0],
          growth: { count: 4000, bytes: 0 },
          slopeBytesPerHour: 0,
          slopeBytesPerSnapshot: 0,
          slopeCountPerHour: 2000,
          slopeCountPerSnapshot: 2000,
          r2: 1,
          steadiness: 1,
          status: "growing" as const,
          score: 0.9,
        },
      ],
      suspects: [{ rank: 1, key: "handles:Event" }],
      stopped: [],
    };
    const text = trendText(t).join("\n");
    expect(text).toMatch(/▁▄█\s+\+2,000\/h .* \+4,000\s+keeps growing\s+Event handles/);
    expect(trendMarkdown(t, mdEscape).join("\n")).toContain("| 1 | Event handles `▁▄█` | keeps growing | +2,000/h |");
  });
});
