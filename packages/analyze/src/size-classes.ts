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

/** The number both heap index and requested size are packed into (heap < 65536). */
export function classKey(heap: number, size: number): number {
  return size * 65536 + heap;
}

export interface SizeClassTable {
  classes: SizeClass[];
  /** Busy user bytes and count per heap index. */
  heapBusy: { count: number; bytes: number }[];
  busy: { count: number; bytes: number };
}

/**
 * Counts busy user allocations by (heap, requested size) as they are fed, one block at a time:
 * memory is proportional to the number of distinct classes, not to the number of blocks.
 */
export class SizeClassCounter {
  private readonly map = new Map<number, SizeClass>();
  private readonly heapBusy: { count: number; bytes: number }[];
  private count = 0;
  private bytes = 0;
  constructor(heaps: number) {
    this.heapBusy = Array.from({ length: heaps }, () => ({ count: 0, bytes: 0 }));
  }
  /** Count block `index`; returns its {@link classKey}. */
  add(heap: number, size: number, index: number): number {
    const key = classKey(heap, size);
    let cls = this.map.get(key);
    if (!cls) this.map.set(key, (cls = { heap, size, count: 0, bytes: 0, samples: [] }));
    cls.count++;
    cls.bytes += size;
    if (cls.samples.length < SAMPLE_LIMIT) cls.samples.push(index);
    const hb = this.heapBusy[heap];
    if (hb) {
      hb.count++;
      hb.bytes += size;
    }
    this.count++;
    this.bytes += size;
    return key;
  }
  /** The classes, largest bytes first, with per-heap and process totals. */
  table(): SizeClassTable {
    const classes = [...this.map.values()].sort((a, b) => b.bytes - a.bytes || b.count - a.count || a.size - b.size);
    return { classes, heapBusy: this.heapBusy, busy: { count: this.count, bytes: this.bytes } };
  }
}

/** Group busy user allocations by (heap, requested size) in one pass over the columns. */
export function sizeClasses(set: AllocationSet, heaps: readonly HeapRecord[]): SizeClassTable {
  const counter = new SizeClassCounter(heaps.length);
  set.forEachChunk((c, n, base) => {
    for (let i = 0; i < n; i++) if (isUserAllocation(c.flags[i]!)) counter.add(c.heap[i]!, c.requestedSize[i]!, base + i);
  });
  return counter.table();
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
