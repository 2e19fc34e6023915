import { type Address, type ModuleInfo, formatAddress } from "@leakscope/core";

/** Modules sorted by base for {@link nameAddress}. */
export function sortModules(modules: readonly ModuleInfo[]): ModuleInfo[] {
  return [...modules].sort((a, b) => a.base - b.base);
}

/** `module+0xoff` for an address inside a module, else the address in hex. */
export function nameAddress(sorted: readonly ModuleInfo[], a: Address): string {
  if (!(a === a)) return "?";
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = sorted[mid]!;
    if (a < m.base) hi = mid - 1;
    else if (a >= m.base + m.size) lo = mid + 1;
    else return `${m.name.replace(/\.(dll|exe|sys)$/i, "")}+0x${(a - m.base).toString(16)}`;
  }
  return formatAddress(a);
}

/** Decimal with thousands separators. */
export function thousands(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** A byte count for sentences: `12.3 MiB`. */
export function human(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}
