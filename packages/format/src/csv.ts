import type { Report } from "@leakscope/core";

/** RFC 4180 field; also defuses spreadsheet formulas in dump-derived text. */
export function csvField(v: string | number | undefined): string {
  if (v === undefined) return "";
  let s = String(v);
  if (typeof v === "string" && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * One CSV table: suspects for `analyze`, growth rows for `diff`, size classes otherwise.
 * Columns are stable; numbers are decimal.
 */
export function formatCsv(report: Report): string {
  const rows: (string | number | undefined)[][] = [];
  if (report.diff) {
    rows.push(["kind", "key", "heap", "size", "before_count", "before_bytes", "after_count", "after_bytes", "delta_count", "delta_bytes", "top_frame"]);
    for (const r of report.diff.rows) {
      rows.push([r.kind, r.key, r.heap, r.size, r.before.count, r.before.bytes, r.after.count, r.after.bytes, r.delta.count, r.delta.bytes, r.frames?.[0]?.text]);
    }
  } else if (report.analysis) {
    rows.push(["rank", "kind", "score", "heap", "size", "count", "bytes", "percent", "type", "call_site", "samples", "title", "next_step"]);
    for (const s of report.analysis.suspects) {
      const site = s.callSite;
      rows.push([s.rank, s.kind, s.score, s.heap, s.size, s.count, s.bytes, s.percent, s.typeName, site, s.samples.join(" "), s.title, s.nextStep]);
    }
  } else if (report.stat) {
    rows.push(["size", "count", "total", "percent"]);
    for (const r of report.stat.rows) rows.push([r.size, r.count, r.total, r.percent]);
  } else if (report.heaps) {
    rows.push(["address", "bitness", "kind", "busy_count", "busy_bytes", "free_count", "free_bytes", "reserved", "committed", "found_by"]);
    for (const h of report.heaps) rows.push([h.address, h.bitness, h.kind, h.busy.count, h.busy.bytes, h.free.count, h.free.bytes, h.reserved, h.committed, h.foundBy.join(" ")]);
  }
  return rows.map((r) => r.map(csvField).join(",")).join("\r\n") + (rows.length ? "\r\n" : "");
}
