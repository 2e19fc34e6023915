import type { TrendSection, TrendSeries } from "@leakscope/core";
import { count, hex, humanBytes, safeText, signedCount, signedHex } from "./common.js";

/** Sparkline of a series (▁▂▃▄▅▆▇█), scaled from its minimum to its maximum. */
export function sparkline(values: readonly number[]): string {
  const bars = "▁▂▃▄▅▆▇█";
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo)) return bars[0]!.repeat(values.length);
  return values.map((v) => bars[Math.min(7, Math.floor(((v - lo) / (hi - lo)) * 7.999))]!).join("");
}

const STATUS_TEXT: Record<TrendSeries["status"], string> = {
  growing: "keeps growing",
  "started-growing": "started growing",
  "grew-then-stopped": "grew, then stopped",
  shrinking: "shrinking",
  flat: "flat",
  noisy: "up and down",
};

export function trendStatusText(s: TrendSeries): string {
  const base = STATUS_TEXT[s.status];
  return s.since !== undefined && s.status === "started-growing" ? `${base} at input ${s.since + 1}` : base;
}

/** A series that counts objects (handles, GDI objects, threads): its figures are `counts`, its slopes `slopeCount*`. */
const countsObjects = (s: TrendSeries): boolean => s.slopeCountPerSnapshot !== undefined;

/** What a series' sparkline draws: bytes, or the counts of a series of objects. */
const drawn = (s: TrendSeries): readonly number[] => (countsObjects(s) ? s.counts : s.bytes);

function rate(t: TrendSection, s: TrendSeries): string {
  if (countsObjects(s)) {
    const per = t.timeBasis === "capture-time" ? s.slopeCountPerHour ?? 0 : s.slopeCountPerSnapshot ?? 0;
    return `${signedCount(per)}/${t.timeBasis === "capture-time" ? "h" : "snapshot"}`;
  }
  return t.timeBasis === "capture-time" ? `${signedHex(s.slopeBytesPerHour)}/h` : `${signedHex(s.slopeBytesPerSnapshot)}/snapshot`;
}

function seriesLine(t: TrendSection, s: TrendSeries): string {
  return (
    `${sparkline(drawn(s))}  ${rate(t, s).padStart(14)}  ${signedHex(s.growth.bytes).padStart(12)}  ` +
    signedCount(s.growth.count).padStart(10) +
    `  ${trendStatusText(s).padEnd(19)} ${safeText(s.label)}`
  );
}

/** The terminal part of a trend report. */
export function trendText(t: TrendSection, top = 10): string[] {
  const out: string[] = [];
  const byKey = new Map(t.series.map((s) => [s.key, s]));
  out.push(
    `Trend over ${t.inputs.length} snapshots (${t.timeBasis === "capture-time" ? `capture times, ${t.inputs[t.inputs.length - 1]!.hours.toFixed(2)} h` : "input order: no capture times"}):`,
  );
  for (const [i, x] of t.inputs.entries()) {
    out.push(`  ${String(i + 1).padStart(2)}. ${safeText(x.path)}${x.capturedAt ? `  ${x.capturedAt}` : ""}  busy ${count(x.busy.count)} blocks, ${hex(x.busy.bytes)} bytes`);
  }
  out.push("");
  out.push(`Keeps growing (leak suspects, by slope and steadiness; growth under ${hex(t.minGrowthBytes)} bytes ignored):`);
  if (t.suspects.length === 0) out.push("  none: no stack, type, size class, pool tag, handle or GDI type, thread count or private memory grew steadily.");
  const head = `  ${"#".padStart(2)}  ${"bytes".padEnd(Math.max(5, t.inputs.length))}  ${"rate".padStart(14)}  ${"+bytes (hex)".padStart(12)}  ${"+count".padStart(8)}  ${"status".padEnd(19)} what`;
  if (t.suspects.length > 0) out.push(head);
  for (const r of t.suspects.slice(0, top)) {
    const s = byKey.get(r.key);
    if (s) out.push(`  ${String(r.rank).padStart(2)}  ${seriesLine(t, s)}  [${s.kind}, score ${s.score.toFixed(2)}]`);
  }
  if (t.stopped.length > 0) {
    out.push("");
    out.push("Grew, then stopped (a cache or pool filling up, not a leak):");
    for (const k of t.stopped.slice(0, top)) {
      const s = byKey.get(k);
      if (s) out.push(`      ${seriesLine(t, s)}  [${s.kind}]`);
    }
  }
  const heaps = t.series.filter((s) => s.kind === "heap");
  if (heaps.length > 0) {
    out.push("");
    out.push("Heaps:");
    for (const s of heaps.slice(0, top)) out.push(`      ${seriesLine(t, s)}`);
  }
  return out;
}

export function trendMarkdown(t: TrendSection, esc: (s: string) => string): string[] {
  const out: string[] = ["## Trend", ""];
  out.push(`${t.inputs.length} snapshots, ${t.timeBasis === "capture-time" ? "ordered by capture time" : "in input order (no capture times)"}.`, "");
  out.push("| # | series | status | rate | growth (bytes, hex) | growth (count) | score |", "|---|---|---|---|---|---|---|");
  const byKey = new Map(t.series.map((s) => [s.key, s]));
  for (const r of t.suspects) {
    const s = byKey.get(r.key);
    if (s) out.push(`| ${r.rank} | ${esc(s.label)} \`${sparkline(drawn(s))}\` | ${trendStatusText(s)} | ${rate(t, s)} | ${signedHex(s.growth.bytes)} | ${signedCount(s.growth.count)} | ${s.score.toFixed(2)} |`);
  }
  for (const k of t.stopped) {
    const s = byKey.get(k);
    if (s) out.push(`| – | ${esc(s.label)} \`${sparkline(drawn(s))}\` | ${trendStatusText(s)} | ${rate(t, s)} | ${signedHex(s.growth.bytes)} | ${signedCount(s.growth.count)} | – |`);
  }
  out.push("");
  return out;
}

/**
 * An inline SVG line chart of the leading series (bytes over time), one polyline each, with a
 * legend. Self-contained: no script, no external resource.
 */
export function trendChartSvg(t: TrendSection, esc: (s: string) => string, maxSeries = 6): string {
  const byKey = new Map(t.series.map((s) => [s.key, s]));
  const shown: TrendSeries[] = [];
  // a chart of bytes: series of objects (handles, threads) are in the table only
  for (const r of t.suspects) {
    const s = byKey.get(r.key);
    if (s && !countsObjects(s) && shown.length < maxSeries) shown.push(s);
  }
  for (const k of t.stopped) {
    const s = byKey.get(k);
    if (s && !countsObjects(s) && shown.length < maxSeries) shown.push(s);
  }
  if (shown.length === 0) return "";
  const W = 640;
  const H = 240;
  const L = 70;
  const B = 28;
  const xs = t.inputs.map((x) => x.hours);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  let yMax = 0;
  for (const s of shown) for (const v of s.bytes) yMax = Math.max(yMax, v);
  const px = (x: number) => L + (x1 > x0 ? ((x - x0) / (x1 - x0)) * (W - L - 10) : 0);
  const py = (y: number) => H - B - (yMax > 0 ? (y / yMax) * (H - B - 10) : 0);
  const colors = ["#c0392b", "#2471a3", "#229954", "#b9770e", "#7d3c98", "#566573"];
  const lines = shown
    .map((s, i) => {
      const pts = s.bytes.map((v, j) => `${px(xs[j]!).toFixed(1)},${py(v).toFixed(1)}`).join(" ");
      const dash = s.status === "grew-then-stopped" ? ` stroke-dasharray="5 4"` : "";
      return `<polyline class="trend-line" data-key="${esc(s.key)}" fill="none" stroke="${colors[i % colors.length]}" stroke-width="2"${dash} points="${pts}"/>`;
    })
    .join("");
  const axis = `<line x1="${L}" y1="${H - B}" x2="${W - 5}" y2="${H - B}" stroke="#888"/><line x1="${L}" y1="5" x2="${L}" y2="${H - B}" stroke="#888"/>`;
  const labels =
    `<text x="${L - 4}" y="14" text-anchor="end" font-size="11">${hex(yMax)}</text>` +
    `<text x="${L - 4}" y="${H - B}" text-anchor="end" font-size="11">0</text>` +
    `<text x="${W - 5}" y="${H - 8}" text-anchor="end" font-size="11">${t.timeBasis === "capture-time" ? `${x1.toFixed(2)} h` : `input ${t.inputs.length}`}</text>`;
  const legend = shown
    .map(
      (s, i) =>
        `<li><span style="display:inline-block;width:12px;height:3px;background:${colors[i % colors.length]};vertical-align:middle"></span> ${esc(s.label)} — ${esc(trendStatusText(s))} (${esc(humanBytes(s.growth.bytes))})</li>`,
    )
    .join("");
  return `<figure class="trend-chart"><svg role="img" aria-label="bytes per series over the snapshots" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">${axis}${lines}${labels}</svg><ul class="trend-legend">${legend}</ul></figure>`;
}

/** A series' growth: bytes, or objects for a series of objects. */
const grown = (s: TrendSeries): string => (countsObjects(s) ? `${signedCount(s.growth.count)} objects` : signedHex(s.growth.bytes));

/** The HTML part of a trend report: chart and table. */
export function trendHtml(t: TrendSection, esc: (s: string) => string): string {
  const byKey = new Map(t.series.map((s) => [s.key, s]));
  const rows: string[] = [];
  for (const r of t.suspects) {
    const s = byKey.get(r.key);
    if (s) rows.push(`<tr class="trend-suspect"><td>${r.rank}</td><td>${esc(s.label)}</td><td>${esc(trendStatusText(s))}</td><td>${esc(rate(t, s))}</td><td>${esc(grown(s))}</td><td>${s.score.toFixed(2)}</td></tr>`);
  }
  for (const k of t.stopped) {
    const s = byKey.get(k);
    if (s) rows.push(`<tr class="trend-stopped"><td>–</td><td>${esc(s.label)}</td><td>${esc(trendStatusText(s))}</td><td>${esc(rate(t, s))}</td><td>${esc(grown(s))}</td><td>–</td></tr>`);
  }
  return (
    `<section id="trend"><h2>Trend over ${t.inputs.length} snapshots</h2>${trendChartSvg(t, esc)}` +
    `<table><thead><tr><th>#</th><th>series</th><th>status</th><th>rate</th><th>growth (bytes)</th><th>score</th></tr></thead><tbody>${rows.join("")}</tbody></table></section>`
  );
}
