import { type Frame, type Report, SUSPECT_SCORE_FLOOR, callSiteOf } from "@leakscope/core";
import { count, diagnosticGroups, hex, humanBytes, inputLine, poolDescription, signedCount, signedHex } from "./common.js";
import { foldAllocatorFrames, stackLine } from "./frames.js";
import { trendHtml } from "./trend.js";
import { processHtml } from "./process.js";
import { crashHead } from "./target-head.js";
import { extensionsHtml } from "./extensions.js";

/** Escape for HTML text and attribute values. Every dump-derived string goes through it. */
export function esc(s: string | number | undefined): string {
  return String(s ?? "").replace(/[&<>"'`]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Escaped text whose `backtick` spans become `<code>`: the inline code of evidence and hints. */
export function inlineCode(s: string): string {
  const parts = s.split("`");
  // an unpaired backtick stays literal
  if (parts.length % 2 === 0) return esc(s);
  return parts.map((p, i) => (i % 2 === 1 ? `<code>${esc(p)}</code>` : esc(p))).join("");
}

interface Bar {
  label: string;
  value: number;
  note?: string;
  /** A lighter bar drawn behind (heap commit behind busy bytes), also setting the scale. */
  behind?: { value: number; title: string };
}

/** A horizontal bar chart as inline SVG (no script, no external resource). */
export function barChart(title: string, bars: readonly Bar[], format: (v: number) => string, id?: string): string {
  if (bars.length === 0) return "";
  const max = Math.max(...bars.map((b) => Math.max(Math.abs(b.value), b.behind?.value ?? 0)), 1);
  const rowH = 22;
  const labelW = 200;
  const chartW = 220;
  const valueW = 110;
  const h = bars.length * rowH + 30;
  const rows = bars
    .map((b, i) => {
      const w = Math.max(1, Math.round((Math.abs(b.value) / max) * chartW));
      const wb = b.behind ? Math.max(1, Math.round((b.behind.value / max) * chartW)) : 0;
      const y = 24 + i * rowH;
      const label = b.label.length > 28 ? `${b.label.slice(0, 27)}…` : b.label;
      const shown = b.behind ? b.behind.value : b.value;
      return (
        `<text x="${labelW - 6}" y="${y + 14}" text-anchor="end" class="lbl">${esc(label)}</text>` +
        (b.behind ? `<rect x="${labelW}" y="${y + 1}" width="${wb}" height="${rowH - 4}" class="commit"><title>${esc(b.behind.title)}</title></rect>` : "") +
        `<rect x="${labelW}" y="${y + 3}" width="${w}" height="${rowH - 8}" class="${b.value < 0 ? "neg" : "bar"}"><title>${esc(b.label)}: ${esc(format(b.value))}${b.note ? ` — ${esc(b.note)}` : ""}</title></rect>` +
        `<text x="${labelW + Math.max(w, wb) + 6}" y="${y + 14}" class="val">${esc(format(shown))}</text>`
      );
    })
    .join("");
  const width = labelW + chartW + valueW;
  return `<figure${id ? ` id="${esc(id)}"` : ""}><svg role="img" aria-label="${esc(title)}" width="${width}" height="${h}" viewBox="0 0 ${width} ${h}" xmlns="http://www.w3.org/2000/svg"><text x="0" y="14" class="ttl">${esc(title)}</text>${rows}</svg></figure>`;
}

const CSS = `
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:14px 28px}header h1{margin:0;font-size:19px}header p{margin:2px 0 0;color:#b8c0d0;font-size:13px;overflow-wrap:anywhere}
nav.contents{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid #dde1e8;padding:6px 28px;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:13px}
nav.contents a{color:#2b5797;text-decoration:none}nav.contents a:hover{text-decoration:underline}
main{padding:16px 28px;max-width:1240px}section{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:14px 18px;margin:0 0 16px;scroll-margin-top:40px}
h2{font-size:16px;margin:0 0 10px}table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceff3;vertical-align:top}
th{background:#f0f2f5;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}code,pre{font:12px/1.4 ui-monospace,Consolas,monospace}
code{background:#f1f3f6;border-radius:3px;padding:0 3px;overflow-wrap:anywhere}pre code{background:none;padding:0}
pre{background:#f4f5f7;padding:8px 10px;border-radius:6px;overflow:auto;margin:6px 0}
.verdict{display:flex;gap:16px;align-items:flex-start;border-left:6px solid #888}
.verdict.leak-suspected{border-left-color:#c0392b}.verdict.no-leak-evidence{border-left-color:#2e8b57}.verdict.cannot-judge{border-left-color:#d68910}
.badge{display:inline-block;font-weight:700;font-size:13px;border-radius:4px;padding:2px 8px;color:#fff;background:#888;white-space:nowrap}
.leak-suspected .badge{background:#c0392b}.no-leak-evidence .badge{background:#2e8b57}.cannot-judge .badge{background:#d68910}
.verdict p{margin:2px 0}.facts{display:flex;flex-wrap:wrap;gap:6px 22px;margin-top:8px;font-size:13px;color:#445}.facts b{color:#1d2330}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(540px,1fr));gap:4px 18px}
.suspect{border-left:5px solid #9aa3b2;padding:6px 12px;margin:10px 0;background:#f8f9fb;border-radius:0 6px 6px 0}
.suspect.score-high{border-left-color:#c0392b;background:#fff6f5}.suspect.score-mid{border-left-color:#d68910;background:#fffaf0}.suspect.score-low{border-left-color:#9aa3b2}
.suspect h3{margin:0 0 6px;font-size:15px}.suspect ul{margin:4px 0;padding-left:20px}
.next{background:#eef6ee;padding:6px 10px;border-radius:6px}.muted{color:#667}.kind{font-size:11px;background:#e8ebf0;border-radius:4px;padding:1px 6px;margin-left:6px;font-weight:400}
.caller{font-weight:700;color:#8e1b10}details.alloc{color:#667;margin:2px 0}details.alloc summary{cursor:pointer;font-size:12px}
figure{margin:4px 0}svg .lbl,svg .val{font:12px system-ui,sans-serif;fill:#333}svg .ttl{font:bold 13px system-ui,sans-serif;fill:#1d2330}svg .bar{fill:#3d6fb6}svg .neg{fill:#2e8b57}svg .commit{fill:#c9d3e3}
`;

const VERDICT_TEXT: Record<string, string> = {
  "leak-suspected": "Leak suspected",
  "no-leak-evidence": "No leak evidence",
  "cannot-judge": "Cannot judge",
};

/** A card's colour class: red from 0.7, amber from the "worth a look" floor, grey below. */
function scoreClass(score: number): string {
  return score >= 0.7 ? "score-high" : score >= SUSPECT_SCORE_FLOOR ? "score-mid" : "score-low";
}

/** A stack with the allocator frames folded into a closed `<details>` and the caller marked. */
function stackHtml(frames: readonly Frame[]): string {
  if (frames.length === 0) return "";
  const f = foldAllocatorFrames(frames);
  const line = (x: Frame, cls = "") => `<span${cls ? ` class="${cls}"` : ""}>${esc(x.address)} ${esc(x.text)}</span>`;
  const folded = f.folded.length
    ? `<details class="alloc"><summary>${esc(f.folded.length)} allocator frame${f.folded.length === 1 ? "" : "s"} folded</summary><pre><code>${f.folded.map((x) => line(x)).join("\n")}</code></pre></details>`
    : "";
  const shown = f.shown.map((x, i) => (i === 0 ? `${line(x, "caller")} ◀ first caller` : line(x))).join("\n");
  return `${folded}<pre class="stack"><code>${shown}</code></pre>`;
}

/** Heap commit: committed bytes per heap, with its busy bytes drawn over them. */
function heapCommitChart(heaps: NonNullable<Report["heaps"]>): string {
  const list = [...heaps].sort((a, b) => b.committed - a.committed).slice(0, 12);
  return barChart(
    "Heap commit (hex bytes; dark: busy)",
    list.map((x) => ({
      label: `${x.address} (${x.bitness}-bit ${x.kind})`,
      value: x.busy.bytes,
      note: "busy bytes",
      behind: { value: x.committed, title: `${x.address}: ${hex(x.committed)} bytes committed` },
    })),
    hex,
    "chart-heaps",
  );
}

function table(headers: readonly (string | [string, "n"])[], rows: readonly string[][]): string {
  const th = headers.map((h) => (Array.isArray(h) ? `<th class="n">${esc(h[0])}</th>` : `<th>${esc(h)}</th>`)).join("");
  return `<table><thead><tr>${th}</tr></thead><tbody>${rows.map((r) => `<tr>${r.join("")}</tr>`).join("")}</tbody></table>`;
}
const td = (s: string) => `<td>${s}</td>`;
const tdn = (s: string) => `<td class="n">${esc(s)}</td>`;

function growthWhat(r: NonNullable<Report["diff"]>["rows"][number]): string {
  return r.kind === "size-class" ? `size ${hex(r.size ?? 0)} in heap ${r.heap}` : r.kind === "heap" ? `heap ${r.heap ?? r.key}` : r.kind === "stack" ? stackLine(r.frames ?? []) : r.key;
}

/**
 * One self-contained HTML file: no scripts, no external requests (CSP forbids both), inline SVG
 * charts. The verdict and summary come first, then a contents bar, the charts (size histogram,
 * top stacks by bytes, heap commit), the heaps table and the suspects' cards coloured by score.
 * Every string taken from the dump — module names, symbol names, type names, block contents,
 * paths — is escaped; `backtick` spans in evidence and hints are shown as code.
 */
export function formatHtml(report: Report): string {
  const parts: string[] = [];
  const contents: [string, string][] = [];
  const add = (id: string, label: string, html: string) => {
    contents.push([id, label]);
    parts.push(html);
  };
  const a = report.analysis;
  if (a) {
    const v = a.verdict;
    const facts =
      `<div class="facts"><span><b>${esc(count(a.summary.busy.count))}</b> busy blocks</span><span><b>${esc(hex(a.summary.busy.bytes))}</b> busy bytes (${esc(humanBytes(a.summary.busy.bytes))})</span>` +
      `<span><b>${esc(count(a.summary.heaps))}</b> heap(s)</span><span><b>${esc(hex(a.summary.free.bytes))}</b> free bytes</span>` +
      `<span>allocation stacks: <b>${esc(a.summary.traces)}</b>${a.summary.traces === "present" ? "" : ` — ${inlineCode(a.summary.tracesNote)}`}</span>` +
      `<span><b>${esc(count(a.suspects.length))}</b> suspect(s)</span></div>`;
    add(
      "verdict",
      "Verdict",
      `<section id="verdict" class="verdict ${esc(v)}"><div><span class="badge">${esc(VERDICT_TEXT[v] ?? v)}</span></div><div><p class="reason">${inlineCode(a.verdictReason)}</p>` +
        (a.notes?.length ? `<p class="muted">${a.notes.map(inlineCode).join(" ")}</p>` : "") +
        `${facts}</div></section>`,
    );
    const charts =
      barChart(
        "Busy bytes by requested size (hex)",
        a.histogram.map((b) => ({ label: `${hex(b.low)} – ${hex(b.high)}`, value: b.bytes, note: `${count(b.count)} blocks` })),
        hex,
        "chart-sizes",
      ) +
      barChart(
        "Top allocation stacks by bytes (hex)",
        a.stacks.slice(0, 10).map((g) => ({ label: g.callSite ?? callSiteOf(g.frames)?.text ?? `stack ${g.id}`, value: g.bytes, note: `${count(g.count)} blocks` })),
        hex,
        "chart-stacks",
      ) +
      (report.heaps ? heapCommitChart(report.heaps) : "");
    if (charts) add("charts", "Charts", `<section id="charts"><h2>Charts</h2><div class="charts">${charts}</div></section>`);
  }
  if (report.heaps?.length) {
    add(
      "heaps",
      "Heaps",
      `<section id="heaps"><h2>Heaps</h2>${table(
        ["heap", "bits", "kind", "found by", ["committed (hex)", "n"], ["busy (dec)", "n"], ["busy bytes (hex)", "n"], ["free (dec)", "n"], ["free bytes (hex)", "n"]],
        report.heaps.map((h) => [
          td(`<code>${esc(h.address)}</code>${h.label ? ` ${esc(h.label)}` : ""}`),
          tdn(String(h.bitness)),
          td(esc(h.kind) + (h.summary.lfh === true ? " + LFH" : "") + (h.incomplete ? " (incomplete)" : "")),
          td(esc(h.foundBy.join(", "))),
          tdn(hex(h.committed)),
          tdn(count(h.busy.count)),
          tdn(hex(h.busy.bytes)),
          tdn(count(h.free.count)),
          tdn(hex(h.free.bytes)),
        ]),
      )}</section>`,
    );
  }
  if (a) {
    const cards = a.suspects
      .map((s) => {
        const preview = s.preview
          ? `<p class="muted">Contents: ${s.preview.ascii ? `text <code>${esc(s.preview.ascii)}</code> ` : ""}${s.preview.utf16 ? `UTF-16 <code>${esc(s.preview.utf16)}</code> ` : ""}bytes <code>${esc(s.preview.hex)}</code></p>`
          : "";
        return (
          `<div class="suspect ${scoreClass(s.score)}" data-rank="${esc(s.rank)}" data-score="${esc(s.score)}"><h3>#${esc(s.rank)} ${inlineCode(s.title)}<span class="kind">${esc(s.kind)} · score ${esc(s.score.toFixed(2))}</span></h3>` +
          `<ul>${s.evidence.map((e) => `<li>${inlineCode(e)}</li>`).join("")}</ul>` +
          (s.typeName ? `<p>C++ type: <code class="type">${esc(s.typeName)}</code></p>` : "") +
          stackHtml(s.stack ?? []) +
          (s.samples.length ? `<p class="muted">Sample blocks: <code>${s.samples.map(esc).join(" ")}</code></p>` : "") +
          preview +
          `<p class="next"><b>Next step:</b> ${inlineCode(s.nextStep)}</p></div>`
        );
      })
      .join("");
    add("suspects", "Suspects", `<section id="suspects"><h2>Leak suspects</h2>${cards || "<p>No suspects.</p>"}</section>`);
    add(
      "sizes",
      "Size classes",
      `<section id="sizes"><h2>Size classes</h2>${table(
        ["heap", ["size (hex)", "n"], ["count (dec)", "n"], ["bytes (hex)", "n"], ["% of heap", "n"]],
        a.sizeClasses.slice(0, 30).map((c) => [td(`<code>${esc(c.heap)}</code>`), tdn(hex(c.size)), tdn(count(c.count)), tdn(hex(c.bytes)), tdn(String(c.percent))]),
      )}</section>`,
    );
    if (a.types.length) {
      add(
        "types",
        "C++ types",
        `<section id="types"><h2>C++ types (from vtables)</h2>${table(
          ["type", "module", ["count (dec)", "n"], ["bytes (hex)", "n"]],
          a.types.map((t) => [td(`<code>${esc(t.typeName)}</code>`), td(esc(t.module)), tdn(count(t.count)), tdn(hex(t.bytes))]),
        )}</section>`,
      );
    }
    if (a.reachability) {
      add(
        "reachability",
        "Unreferenced",
        `<section id="reachability"><h2>Unreferenced blocks</h2><p>${esc(count(a.reachability.unreferenced.count))} busy blocks (${esc(hex(a.reachability.unreferenced.bytes))} bytes) are not referenced from any root. ${inlineCode(a.reachability.method)}</p></section>`,
      );
    }
  }
  const pool = report.analysis ? report.pool : undefined;
  if (pool && pool.rows.length > 0) {
    add(
      "pool",
      "Pool",
      `<section id="pool"><h2>Pool</h2>${table(
        ["tag", ["non-paged allocs (dec)", "n"], ["non-paged bytes (hex)", "n"], ["paged allocs (dec)", "n"], ["paged bytes (hex)", "n"], "description"],
        pool.rows.map((r) => [
          td(`<code>${esc(r.tag)}</code>`),
          tdn(count(r.nonPagedAllocs)),
          tdn(hex(r.nonPagedBytes)),
          tdn(count(r.pagedAllocs)),
          tdn(hex(r.pagedBytes)),
          td(esc(poolDescription(r))),
        ]),
      )}${pool.notes.map((n) => `<p>${esc(n)}</p>`).join("")}</section>`,
    );
  }
  if (report.trend) add("trend", "Trend", trendHtml(report.trend, esc));
  const d = report.diff;
  if (d) {
    const bytes = d.total.after.bytes - d.total.before.bytes;
    add(
      "growth",
      "Growth",
      `<section id="growth"><h2>Growth</h2><p><code>${esc(d.before.path)}</code> → <code>${esc(d.after.path)}</code>: <b>${esc(signedHex(bytes))}</b> bytes (${esc(humanBytes(bytes))}), <b>${esc(signedCount(d.total.after.count - d.total.before.count))}</b> blocks</p>` +
        barChart(
          "Growth (hex bytes)",
          d.rows.slice(0, 15).map((r) => ({
            label: r.kind === "size-class" ? `size ${hex(r.size ?? 0)}` : r.kind === "stack" ? (callSiteOf(r.frames ?? [])?.text ?? r.key) : r.kind === "heap" ? `heap ${r.heap ?? r.key}` : r.key,
            value: r.delta.bytes,
            note: `${signedCount(r.delta.count)} blocks`,
          })),
          signedHex,
          "chart-growth",
        ) +
        table(
          ["kind", "what (stacks: ▶ first caller, allocator frames folded)", ["Δ count (dec)", "n"], ["Δ bytes (hex)", "n"]],
          d.rows.map((r) => [td(esc(r.kind)), td(`<code>${esc(growthWhat(r))}</code>`), tdn(signedCount(r.delta.count)), tdn(signedHex(r.delta.bytes))]),
        ) +
        `</section>`,
    );
  }
  const extensions = extensionsHtml(report, esc);
  if (extensions) parts.push(extensions);
  const groups = diagnosticGroups(report);
  if (groups.length) {
    add(
      "diagnostics",
      "Diagnostics",
      `<section id="diagnostics"><h2>Diagnostics</h2>${groups
        .map(
          (g) =>
            (g.title ? `<h3>${esc(g.title)}</h3>` : "") +
            table(
              ["code", "severity", "message"],
              g.items.slice(0, 500).map((x) => [td(`<code>${esc(x.code)}</code>`), td(esc(x.severity)), td(inlineCode(x.message))]),
            ),
        )
        .join("")}</section>`,
    );
  }
  // the process section right after the verdict (first in `info`, which has none)
  const processPart = processHtml(report, esc);
  if (processPart) {
    parts.splice(a ? 1 : 0, 0, processPart);
    contents.splice(a ? 1 : 0, 0, ["process", "Process"]);
  }
  const nav = contents.length > 1 ? `<nav class="contents" aria-label="Contents">${contents.map(([id, label]) => `<a href="#${id}">${esc(label)}</a>`).join("")}</nav>` : "";
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><title>leakscope ${esc(report.command)} — ${esc(report.input.path)}</title><style>${CSS}</style></head>` +
    `<body><header><h1>leakscope ${esc(report.command)}</h1><p>${esc(inputLine(report))} · leakscope ${esc(report.tool.version)}</p>${crashHead(report).map((l) => `<p class="crash">${esc(l)}</p>`).join("")}</header>${nav}<main>${parts.join("")}</main></body></html>\n`
  );
}
