/** Plain-text tables for terminal output: right-aligned numbers, left-aligned text. */
export interface Column {
  header: string;
  align?: "left" | "right";
}

export function table(columns: readonly Column[], rows: readonly (readonly string[])[], indent = "  "): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (cells: readonly string[]): string =>
    indent +
    cells
      .map((cell, i) => {
        const w = widths[i] ?? 0;
        return columns[i]?.align === "left" ? cell.padEnd(w) : cell.padStart(w);
      })
      .join("  ")
      .trimEnd();
  const lines = [fmt(columns.map((c) => c.header)), indent + widths.map((w) => "-".repeat(w)).join("  ")];
  for (const r of rows) lines.push(fmt(r));
  return `${lines.join("\n")}\n`;
}

/**
 * One number style in every output, the format package's: sizes and addresses in hex with `0x`,
 * counts (`dec`) in decimal with thousands separators; column headers say which (`(hex)`, `(dec)`).
 */
export { hex, count as dec } from "@leakscope/format";

/** A report address (already `0x…` text) as printed: kept with its prefix. */
export function addr(address: string): string {
  return address.startsWith("0x") || address.startsWith("-0x") ? address : `0x${address}`;
}

export function bytesHuman(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(2)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}
