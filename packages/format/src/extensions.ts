import type { Report } from "@leakscope/core";
import { mdEscape, safeText } from "./common.js";

/**
 * Plugin sections (`report.extensions`) in text, Markdown and HTML, without knowing them: scalars
 * as `key: value`, arrays of objects as tables (columns = the keys of the rows), arrays of scalars
 * as lists, nested objects as sub-headings. Bounded: at most {@link MAX_ROWS} rows per table and
 * {@link MAX_DEPTH} levels; the rest is counted, and `--json` has all of it.
 */

export const MAX_ROWS = 50;
const MAX_DEPTH = 3;
const MAX_COLUMNS = 12;
const MAX_CELL = 120;

/** One renderable piece of a section. */
export type ExtensionBlock =
  | { kind: "heading"; label: string; depth: number }
  | { kind: "field"; label: string; value: string; depth: number }
  | { kind: "table"; label: string; columns: string[]; rows: string[][]; more: number; depth: number };

function scalarText(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  let json: string;
  try {
    json = JSON.stringify(v) ?? "";
  } catch {
    json = String(v);
  }
  return json.length > MAX_CELL ? `${json.slice(0, MAX_CELL - 1)}…` : json;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

function tableOf(label: string, rows: readonly unknown[], depth: number, maxRows: number): ExtensionBlock {
  const columns: string[] = [];
  for (const r of rows.slice(0, maxRows)) {
    if (!isRecord(r)) continue;
    for (const k of Object.keys(r)) if (!columns.includes(k) && columns.length < MAX_COLUMNS) columns.push(k);
  }
  const shown = rows.slice(0, maxRows).map((r) => (isRecord(r) ? columns.map((c) => scalarText(r[c])) : [scalarText(r)]));
  return { kind: "table", label, columns, rows: shown, more: Math.max(0, rows.length - maxRows), depth };
}

function blocksOf(label: string, value: unknown, depth: number, maxRows: number, out: ExtensionBlock[]): void {
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every(isRecord) && depth <= MAX_DEPTH) {
      out.push(tableOf(label, value, depth, maxRows));
    } else {
      const items = value.slice(0, maxRows).map(scalarText);
      const more = value.length > maxRows ? ` … ${value.length - maxRows} more` : "";
      out.push({ kind: "field", label, value: value.length === 0 ? "(none)" : items.join(", ") + more, depth });
    }
    return;
  }
  if (isRecord(value) && depth < MAX_DEPTH) {
    out.push({ kind: "heading", label, depth });
    for (const [k, v] of Object.entries(value)) blocksOf(k, v, depth + 1, maxRows, out);
    return;
  }
  out.push({ kind: "field", label, value: scalarText(value), depth });
}

/** The plugin sections of a report as blocks, section by section (in the report's key order). */
export function extensionBlocks(report: Report, maxRows = MAX_ROWS): ExtensionBlock[] {
  const out: ExtensionBlock[] = [];
  for (const [name, value] of Object.entries(report.extensions ?? {})) blocksOf(name, value, 0, maxRows, out);
  return out;
}

/** Text lines for the terminal report (dump- and plugin-derived text made safe). */
export function extensionsText(report: Report): string[] {
  const blocks = extensionBlocks(report);
  if (blocks.length === 0) return [];
  const out: string[] = ["", "Plugin sections:"];
  for (const b of blocks) {
    const pad = "  ".repeat(b.depth + 1);
    if (b.kind === "heading") out.push(`${pad}${safeText(b.label)}:`);
    else if (b.kind === "field") out.push(`${pad}${safeText(b.label)}: ${safeText(b.value)}`);
    else {
      out.push(`${pad}${safeText(b.label)}:`);
      const cols = b.columns.length > 0 ? b.columns : ["value"];
      const widths = cols.map((c, i) => Math.min(40, Math.max(c.length, ...b.rows.map((r) => (r[i] ?? "").length))));
      const line = (cells: string[]) =>
        `${pad}  ${cells.map((cell, i) => safeText(cell.length > widths[i]! ? `${cell.slice(0, widths[i]! - 1)}…` : cell).padEnd(widths[i]!)).join("  ").trimEnd()}`;
      out.push(line(cols));
      for (const r of b.rows) out.push(line(r));
      if (b.more > 0) out.push(`${pad}  … ${b.more} more rows (--json lists them all)`);
    }
  }
  return out;
}

/** Markdown for the plugin sections: `## Plugin sections`, one `###` per section. */
export function extensionsMarkdown(report: Report): string[] {
  const blocks = extensionBlocks(report);
  if (blocks.length === 0) return [];
  const out: string[] = ["", "## Plugin sections"];
  for (const b of blocks) {
    if (b.depth === 0 && b.kind !== "field") out.push("", `### ${mdEscape(b.label)}`);
    if (b.kind === "heading") {
      if (b.depth > 0) out.push("", `**${mdEscape(b.label)}**`);
    } else if (b.kind === "field") {
      out.push("", `- ${mdEscape(b.label)}: ${mdEscape(b.value)}`);
    } else {
      if (b.depth > 0) out.push("", `**${mdEscape(b.label)}**`);
      const cols = b.columns.length > 0 ? b.columns : ["value"];
      out.push("", `| ${cols.map(mdEscape).join(" | ")} |`, `|${cols.map(() => "---").join("|")}|`);
      for (const r of b.rows) out.push(`| ${r.map(mdEscape).join(" | ")} |`);
      if (b.more > 0) out.push("", `${b.more} more rows in the JSON report.`);
    }
  }
  return out;
}

/** One `<section id="extensions">` for the HTML report; `esc` is the report's escaper. */
export function extensionsHtml(report: Report, esc: (s: string) => string): string {
  const blocks = extensionBlocks(report, 500);
  if (blocks.length === 0) return "";
  const parts: string[] = [];
  for (const b of blocks) {
    const h = `h${Math.min(6, 3 + b.depth)}`;
    if (b.kind === "heading") parts.push(`<${h}>${esc(b.label)}</${h}>`);
    else if (b.kind === "field") parts.push(`<p><b>${esc(b.label)}:</b> ${esc(b.value)}</p>`);
    else {
      const cols = b.columns.length > 0 ? b.columns : ["value"];
      parts.push(
        `<${h}>${esc(b.label)}</${h}><table><thead><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join("")}</tr></thead><tbody>` +
          b.rows.map((r) => `<tr>${r.map((cell) => `<td>${esc(cell)}</td>`).join("")}</tr>`).join("") +
          `</tbody></table>${b.more > 0 ? `<p class="muted">${b.more} more rows in the JSON report.</p>` : ""}`,
      );
    }
  }
  return `<section id="extensions"><h2>Plugin sections</h2>${parts.join("")}</section>`;
}
