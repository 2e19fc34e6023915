import { type AllocationSet, type HeapRecord, isUserAllocation } from "@leakscope/core";

/** Busy user allocations of one heap and one requested size. */
export interface SizeClass {
  heap: number;
  size: number;
  count: number;
  bytes: number;
  /** Up to {@link SAMPLE_LIMIT} allocation indices (first seen). */
  samples: number[];
}

export const SAMPLE_LIMIT = 8;

export interface SizeClassTable {
  classes: SizeClass[];
  /** Busy user bytes and count per heap index. */
  heapBusy: { count: number; bytes: number }[];
  busy: { count: number; bytes: number };
}

/**
 * Group busy user allocations by (heap, requested size). One pass over the columns; memory is
 * proportional to the number of distinct classes, not to the number of blocks.
 */
export function sizeClasses(set: AllocationSet, heaps: readonly HeapRecord[]): SizeClassTable {
  const map = new Map<number, SizeClass>();
  const heapBusy = heaps.map(() => ({ count: 0, bytes: 0 }));
  let count = 0;
  let bytes = 0;
  set.forEachChunk((c, n, base) => {
    for (let i = 0; i < n; i++) {
      if (!isUserAllocation(c.flags[i]!)) continue;
      const heap = c.heap[i]!;
      const size = c.requestedSize[i]!;
      // heap index < 65536 and sizes are integers < 2^36 in practice: pack both in one key
      const key = size * 65536 + heap;
      let cls = map.get(key);
      if (!cls) {
        cls = { heap, size, count: 0, bytes: 0, samples: [] };
        map.set(key, cls);
      }
      cls.count++;
      cls.bytes += size;
      if (cls.samples.length < SAMPLE_LIMIT) cls.samples.push(base + i);
      const hb = heapBusy[heap];
      if (hb) {
        hb.count++;
        hb.bytes += size;
      }
      count++;
      bytes += size;
    }
  });
  const classes = [...map.values()].sort((a, b) => b.bytes - a.bytes || b.count - a.count || a.size - b.size);
  return { classes, heapBusy, busy: { count, bytes } };
}

/** Busy bytes per power-of-two bucket of requested size. */
export function histogram(set: AllocationSet): { low: number; high: number; count: number; bytes: number }[] {
  const counts = new Float64Array(64);
  const sums = new Float64Array(64);
  set.forEachChunk((c, n) => {
    for (let i = 0; i < n; i++) {
      if (!isUserAllocation(c.flags[i]!)) continue;
      const size = c.requestedSize[i]!;
      const b = size <= 1 ? 0 : Math.min(63, Math.floor(Math.log2(size)));
      counts[b]!++;
      sums[b]! += size;
    }
  });
  const out: { low: number; high: number; count: number; bytes: number }[] = [];
  for (let b = 0; b < 64; b++) {
    if (counts[b] === 0) continue;
    out.push({ low: b === 0 ? 0 : 2 ** b, high: 2 ** (b + 1), count: counts[b]!, bytes: sums[b]! });
  }
  return out;
}
