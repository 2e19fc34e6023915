import type { HeapEntry } from "./model.js";

/** One row of a recomputed `!heap -s -h` range table. */
export interface RecomputedRange {
  from: number;
  to: number;
  busy: number;
  free: number;
}

/**
 * Recompute the "Default heap Busy / Free by size range" table that `!heap -s -h` prints, from a
 * `!heap -h` / `!heap -a` entry listing: each busy or free entry (block size in bytes) is counted
 * in the range `[k * bucket, (k + 1) * bucket)` holding its size. `internal` blocks count as
 * busy; uncommitted pseudo-entries and entries of unknown size are ignored. Rows with no block
 * are left out, as WinDbg does; rows are sorted by size.
 */
export function recomputeRangeTable(entries: Iterable<HeapEntry>, bucket = 1024): RecomputedRange[] {
  const rows = new Map<number, RecomputedRange>();
  if (!(bucket > 0)) return [];
  for (const e of entries) {
    if (!(e.size >= 0)) continue;
    const busy = e.state === "busy" || e.state === "internal" || e.state === "virtualalloc";
    const free = e.state === "free";
    if (!busy && !free) continue;
    const k = Math.floor(e.size / bucket);
    let row = rows.get(k);
    if (!row) {
      row = { from: k * bucket, to: (k + 1) * bucket, busy: 0, free: 0 };
      rows.set(k, row);
    }
    if (busy) row.busy++;
    else row.free++;
  }
  return [...rows.values()].sort((a, b) => a.from - b.from);
}
