import { type Report, osVersionText } from "@leakscope/core";

/** Sizes and addresses: hex with `0x`, a minus sign in front when negative (`-0xe100`). */
export const hex = (n: number): string => (n < 0 ? `-0x${Math.round(-n).toString(16)}` : `0x${Math.round(n).toString(16)}`);

/** A growth in bytes: hex with its sign always shown (`+0x120`, `-0xe100`, `0x0`). */
export const signedHex = (n: number): string => (n > 0 ? `+${hex(n)}` : hex(n));

/** Counts: decimal with thousands separators (`12,345`). */
export const count = (n: number): string => Math.round(n).toLocaleString("en-US");

/** A growth in a count: decimal with separators and its sign always shown (`+240`, `-1,024`). */
export const signedCount = (n: number): string => (n > 0 ? `+${count(n)}` : count(n));

export function humanBytes(n: number): string {
  const a = Math.abs(n);
  const sign = n < 0 ? "-" : "";
  if (a >= 1 << 30) return `${sign}${(a / (1 << 30)).toFixed(2)} GiB`;
  if (a >= 1 << 20) return `${sign}${(a / (1 << 20)).toFixed(2)} MiB`;
  if (a >= 1 << 10) return `${sign}${(a / (1 << 10)).toFixed(1)} KiB`;
  return `${sign}${a} B`;
}

/** Escape text for a Markdown table cell or paragraph (dump strings are untrusted). */
export function mdEscape(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+!|<>&]/g, (ch) => `\\${ch}`).replace(/[\r\n]+/g, " ");
}

/** One-line description of the input. */
export function inputLine(report: Report): string {
  const t = report.target;
  // a log that names no Windows version says nothing rather than "Windows 0.0 build 0"
  const os = t && t.os.major > 0 ? osVersionText(t.os) : "";
  const arch = t ? `${t.arch}${t.wow64 ? " (WoW64)" : ""}` : "";
  return [report.input.path, report.input.format, arch, os].filter(Boolean).join(" · ");
}

/** Remove terminal control characters from dump-derived text before printing it. */
export function safeText(s: string): string {
  // biome-ignore lint: control characters are the point
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "?");
}

type ReportDiagnostic = Report["diagnostics"][number];

/**
 * The diagnostics in groups: for a diff, one group per input (`before: path`, `after: path`,
 * matched by the file each diagnostic names), then any others; otherwise one untitled group.
 */
export function diagnosticGroups(report: Report): { title: string; items: ReportDiagnostic[] }[] {
  const d = report.diff;
  if (!d) return report.diagnostics.length ? [{ title: "", items: report.diagnostics }] : [];
  const groups = [
    { title: `before (${d.before.path})`, path: d.before.path, items: [] as ReportDiagnostic[] },
    { title: `after (${d.after.path})`, path: d.after.path, items: [] as ReportDiagnostic[] },
    { title: "the comparison", path: undefined, items: [] as ReportDiagnostic[] },
  ];
  for (const x of report.diagnostics) {
    const file = x.location?.file;
    const which = file === d.before.path ? 0 : file === d.after.path ? 1 : 2;
    groups[which]!.items.push(x);
  }
  return groups.filter((g) => g.items.length > 0).map(({ title, items }) => ({ title, items }));
}

/** The verdict line every analyze report leads with. */
export function verdictLine(a: { verdict: string; verdictReason: string }): string {
  const label = a.verdict === "leak-suspected" ? "LEAK SUSPECTED" : a.verdict === "cannot-judge" ? "CANNOT JUDGE" : "NO LEAK EVIDENCE";
  return `Verdict: ${label} — ${a.verdictReason}`;
}

/** Diagnostics grouped by code, in first-seen order: each code once, with its count and first message. */
export function groupDiagnostics<D extends { code: string; severity: string; message: string }>(list: readonly D[]): { first: D; count: number }[] {
  const by = new Map<string, { first: D; count: number }>();
  for (const d of list) {
    const g = by.get(d.code);
    if (g) g.count++;
    else by.set(d.code, { first: d, count: 1 });
  }
  return [...by.values()];
}

/** A pool tag's description cell: the pooltag.txt description and the binary it names (`… , Binary: x.sys`). */
export function poolDescription(r: { description?: string | undefined; binary?: string | undefined }): string {
  return [r.description, r.binary ? `Binary: ${r.binary}` : undefined].filter(Boolean).join(" , ");
}
