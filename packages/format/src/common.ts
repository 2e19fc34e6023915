import type { Report } from "@leakscope/core";

export const hex = (n: number): string => `0x${Math.round(n).toString(16)}`;

export function humanBytes(n: number): string {
  const a = Math.abs(n);
  const sign = n < 0 ? "-" : "";
  if (a >= 1 << 30) return `${sign}${(a / (1 << 30)).toFixed(2)} GiB`;
  if (a >= 1 << 20) return `${sign}${(a / (1 << 20)).toFixed(2)} MiB`;
  if (a >= 1 << 10) return `${sign}${(a / (1 << 10)).toFixed(1)} KiB`;
  return `${sign}${a} B`;
}

/** One-line description of the input. */
export function inputLine(report: Report): string {
  const t = report.target;
  // A log that names no Windows version says nothing rather than "Windows 0.0 build 0".
  const os = t && t.os.major > 0 ? `Windows ${t.os.major}.${t.os.minor}${t.os.build > 0 ? ` build ${t.os.build}` : ""}` : "";
  const arch = t ? `${t.arch}${t.wow64 ? " (WoW64)" : ""}` : "";
  return [report.input.path, report.input.format, arch, os].filter(Boolean).join(" · ");
}

/** Remove terminal control characters from dump-derived text before printing it. */
export function safeText(s: string): string {
  // biome-ignore lint: control characters are the point
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "?");
}
