import { type Address, type ModuleInfo, formatAddress } from "@leakscope/core";

/** Modules sorted by base for {@link nameAddress}. */
export function sortModules(modules: readonly ModuleInfo[]): ModuleInfo[] {
  return [...modules].sort((a, b) => a.base - b.base);
}

/**
 * Index of the item of `sorted` (by start, not overlapping) whose [start, end) holds `a`, or -1:
 * a binary search shared by module names and allocation groups.
 */
export function findRange<T>(sorted: readonly T[], a: number, start: (x: T) => number, end: (x: T) => number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const x = sorted[mid]!;
    if (a < start(x)) hi = mid - 1;
    else if (a >= end(x)) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** `module+0xoff` for an address inside a module, else the address in hex. */
export function nameAddress(sorted: readonly ModuleInfo[], a: Address): string {
  if (!(a === a)) return "?";
  const k = findRange(sorted, a, (m) => m.base, (m) => m.base + m.size);
  if (k < 0) return formatAddress(a);
  const m = sorted[k]!;
  return `${m.name.replace(/\.(dll|exe|sys)$/i, "")}+0x${(a - m.base).toString(16)}`;
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
