import { type Report, callSiteOf } from "@leakscope/core";
import { hex, humanBytes, inputLine, signedCount, signedHex, verdictLine } from "./common.js";
import { stackLine } from "./frames.js";
import { trendHtml } from "./trend.js";
import { processHtml } from "./process.js";
import { crashHead } from "./target-head.js";

/** Escape for HTML text and attribute values. Every dump-derived string goes through it. */
export function esc(s: string | number | undefined): string {
  return String(s ?? "").replace(/[&<>"'`]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

interface Bar {
  label: string;
  value: number;
  note?: string;
}

/** A horizontal bar chart as inline SVG (no script, no external resource). */
export function barChart(title: string, bars: readonly Bar[], format: (v: number) => string): string {
  if (bars.length === 0) return "";
  const max = Math.max(...bars.map((b) => Math.abs(b.value)), 1);
  const rowH = 22;
  const labelW = 260;
  const chartW = 420;
  const h = bars.length * rowH + 30;
  const rows = bars
    .map((b, i) => {
      const w = Math.max(1, Math.round((Math.abs(b.value) / max) * chartW));
      const y = 24 + i * rowH;
      const label = b.label.length > 34 ? `${b.label.slice(0, 33)}…` : b.label;
      return (
        `<text x="${labelW - 6}" y="${y + 14}" text-anchor="end" class="lbl">${esc(label)}</text>` +
        `<rect x="${labelW}" y="${y + 3}" width="${w}" height="${rowH - 8}" class="${b.value < 0 ? "neg" : "bar"}"><title>${esc(b.label)}: ${esc(format(b.value))}${b.note ? ` — ${esc(b.note)}` : ""}</title></rect>` +
        `<text x="${labelW + w + 6}" y="${y + 14}" class="val">${esc(format(b.value))}</text>`
      );
    })
    .join("");
  return `<figure><svg role="img" aria-label="${esc(title)}" width="${labelW + chartW + 120}" height="${h}" viewBox="0 0 ${labelW + chartW + 120} ${h}" xmlns="http://www.w3.org/2000/svg"><text x="0" y="14" class="ttl">${esc(title)}</text>${rows}</svg></figure>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#b8c0d0}
main{padding:20px 28px;max-width:1200px}section{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:16px 20px;margin:0 0 18px}
h2{font-size:16px;margin:0 0 10px}table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eceff3;vertical-align:top}
th{background:#f0f2f5}td.n{text-align:right;font-variant-numeric:tabular-nums}code,pre{font:12px/1.4 ui-monospace,Consolas,monospace}
pre{background:#f4f5f7;padding:8px 10px;border-radius:6px;overflow:auto;margin:6px 0}.suspect{border-left:4px solid #c0392b;padding:6px 12px;margin:10px 0;background:#fff8f7}
.suspect h3{margin:0 0 6px;font-size:15px}.next{background:#eef6ee;padding:6px 10px;border-radius:6px}.muted{color:#667}.kind{font-size:11px;background:#e8ebf0;border-radius:4px;padding:1px 6px;margin-left:6px}
figure{margin:8px 0}svg .lbl,svg .val{font:12px system-ui,sans-serif;fill:#333}svg .ttl{font:bold 13px system-ui,sans-serif;fill:#1d2330}svg .bar{fill:#3d6fb6}svg .neg{fill:#2e8b57}
`;

/**
 * One self-contained HTML file: no scripts, no external requests (CSP forbids both), inline SVG
 * charts (size histogram, top suspects, top stacks, growth). Every string taken from the dump —
 * module names, symbol names, type names, block contents, paths — is escaped.
 */
export function formatHtml(report: Report): string {
  const parts: string[] = [];
  const a = report.analysis;
  if (a) {
    parts.push(`<section id="verdict" class="verdict ${esc(a.verdict)}"><h2>${esc(verdictLine(a))}</h2></section>`);
    parts.push(
      `<section id="summary"><h2>Summary</h2><p>${esc(a.summary.busy.count)} busy blocks holding ${esc(humanBytes(a.summary.busy.bytes))} in ${esc(a.summary.heaps)} heap(s); ${esc(humanBytes(a.summary.free.bytes))} free. Allocation stacks: <b>${esc(a.summary.traces)}</b>${a.summary.traces === "present" ? "" : ` — ${esc(a.summary.tracesNote)}`}</p></section>`,
    );
    const sus = a.suspects
      .map((s) => {
        const stack = s.stack?.length ? `<pre>${s.stack.map((f) => `${esc(f.address)} ${esc(f.text)}`).join("\n")}</pre>` : "";
        const preview = s.preview
          ? `<p class="muted">Contents: ${s.preview.ascii ? `text <code>${esc(s.preview.ascii)}</code> ` : ""}${s.preview.utf16 ? `UTF-16 <code>${esc(s.preview.utf16)}</code> ` : ""}bytes <code>${esc(s.preview.hex)}</code></p>`
          : "";
        return (
          `<div class="suspect" data-rank="${esc(s.rank)}"><h3>#${esc(s.rank)} ${esc(s.title)}<span class="kind">${esc(s.kind)} · score ${esc(s.score.toFixed(2))}</span></h3>` +
          `<ul>${s.evidence.map((e) => `<li>${esc(e)}</li>`).join("")}</ul>` +
          (s.typeName ? `<p>C++ type: <code class="type">${esc(s.typeName)}</code></p>` : "") +
          stack +
          (s.samples.length ? `<p class="muted">Sample blocks: <code>${s.samples.map(esc).join(" ")}</code></p>` : "") +
          preview +
          `<p class="next"><b>Next step:</b> ${esc(s.nextStep)}</p></div>`
        );
      })
      .join("");
    parts.push(`<section id="suspects"><h2>Leak suspects</h2>${sus || "<p>No suspects.</p>"}</section>`);
    parts.push(
      `<section id="charts"><h2>Charts</h2>` +
        barChart(
          "Busy bytes by requested size",
          a.histogram.map((b) => ({ label: `${hex(b.low)} – ${hex(b.high)}`, value: b.bytes, note: `${b.count} blocks` })),
          humanBytes,
        ) +
        barChart(
          "Top suspects (bytes)",
          a.suspects.map((s) => ({ label: `#${s.rank} ${s.title}`, value: s.bytes })),
          humanBytes,
        ) +
        barChart(
          "Top allocation stacks (bytes)",
          a.stacks.slice(0, 10).map((g) => ({
            label: g.callSite ?? `stack ${g.id}`,
            value: g.bytes,
            note: `${g.count} blocks`,
          })),
          humanBytes,
        ) +
        `</section>`,
    );
    parts.push(
      `<section id="sizes"><h2>Size classes</h2><table><thead><tr><th>heap</th><th>size</th><th>count</th><th>bytes</th><th>% of heap</th></tr></thead><tbody>${a.sizeClasses
        .slice(0, 30)
        .map((c) => `<tr><td><code>${esc(c.heap)}</code></td><td class="n">${esc(hex(c.size))}</td><td class="n">${esc(c.count)}</td><td class="n">${esc(hex(c.bytes))}</td><td class="n">${esc(c.percent)}</td></tr>`)
        .join("")}</tbody></table></section>`,
    );
    if (a.types.length) {
      parts.push(
        `<section id="types"><h2>C++ types (from vtables)</h2><table><thead><tr><th>type</th><th>module</th><th>count</th><th>bytes</th></tr></thead><tbody>${a.types
          .map((t) => `<tr><td><code>${esc(t.typeName)}</code></td><td>${esc(t.module)}</td><td class="n">${esc(t.count)}</td><td class="n">${esc(hex(t.bytes))}</td></tr>`)
          .join("")}</tbody></table></section>`,
      );
    }
    if (a.reachability) {
      parts.push(
        `<section id="reachability"><h2>Unreferenced blocks</h2><p>${esc(a.reachability.unreferenced.count)} busy blocks (${esc(humanBytes(a.reachability.unreferenced.bytes))}) are not referenced from any root. ${esc(a.reachability.method)}</p></section>`,
      );
    }
  }
  if (report.trend) parts.push(trendHtml(report.trend, esc));
  const d = report.diff;
  if (d) {
    parts.push(
      `<section id="growth"><h2>Growth</h2><p>${esc(d.before.path)} → ${esc(d.after.path)}: ${esc(humanBytes(d.total.after.bytes - d.total.before.bytes))}</p>` +
        barChart(
          "Growth (bytes)",
          d.rows.slice(0, 15).map((r) => ({
            label: r.kind === "size-class" ? `size ${hex(r.size ?? 0)}` : r.kind === "stack" ? (callSiteOf(r.frames ?? [])?.text ?? r.key) : r.key,
            value: r.delta.bytes,
            note: `${r.delta.count} blocks`,
          })),
          humanBytes,
        ) +
        `<table><thead><tr><th>kind</th><th>what</th><th>Δ count (decimal)</th><th>Δ bytes (hex)</th></tr></thead><tbody>${d.rows
          .map((r) => `<tr><td>${esc(r.kind)}</td><td><code>${esc(r.kind === "stack" ? stackLine(r.frames ?? []) : r.key)}</code></td><td class="n">${esc(signedCount(r.delta.count))}</td><td class="n">${esc(signedHex(r.delta.bytes))}</td></tr>`)
          .join("")}</tbody></table></section>`,
    );
  }
  if (report.diagnostics.length) {
    parts.push(
      `<section id="diagnostics"><h2>Diagnostics</h2><table><thead><tr><th>code</th><th>severity</th><th>message</th></tr></thead><tbody>${report.diagnostics
        .slice(0, 500)
        .map((x) => `<tr><td><code>${esc(x.code)}</code></td><td>${esc(x.severity)}</td><td>${esc(x.message)}</td></tr>`)
        .join("")}</tbody></table></section>`,
    );
  }
  parts.splice(a ? 1 : 0, 0, processHtml(report, esc)); // the process section right after the verdict
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><title>leakscope ${esc(report.command)} — ${esc(report.input.path)}</title><style>${CSS}</style></head>` +
    `<body><header><h1>leakscope ${esc(report.command)}</h1><p>${esc(inputLine(report))} · leakscope ${esc(report.tool.version)}</p>${crashHead(report).map((l) => `<p class="crash">${esc(l)}</p>`).join("")}</header><main>${parts.join("")}</main></body></html>\n`
  );
}
