import { type Address, formatAddress } from "../address.js";
import { AllocFlags, type AllocationSet, type HeapRecord, isUserAllocation } from "../model/allocations.js";
import { blockRow } from "./build.js";
import type { BlockSection, BlocksSection, StatSection } from "./schema.js";

/**
 * Queries over a walked allocation set, shared by every allocator: the data behind
 * `leakscope blocks`, `stat` and `block`. They read columns directly and allocate only for the
 * rows they return.
 */
export interface BlockFilter {
  /** Only this heap (by address). */
  heap?: Address;
  /** Requested size equal to this (`!heap -flt s`). */
  size?: number;
  /** Requested size in [min, max] inclusive (`!heap -flt r`). */
  range?: { min: number; max: number };
  /** `busy` = user allocations, `free` = free blocks; default both plus internal blocks. */
  state?: "busy" | "free";
  /** Include allocator-internal blocks (LFH hosts, bookkeeping); default true unless state is set. */
  internal?: boolean;
  /** Most rows returned (the total is still counted). Default 10,000. */
  limit?: number;
}

function heapIndexFor(heaps: readonly HeapRecord[], address: Address | undefined): number {
  if (address === undefined) return -1;
  const h = heaps.find((x) => x.address === address);
  return h ? h.index : -2;
}

/** Blocks matching a filter, in address order (like `!heap -h` / `!heap -flt`). */
export function queryBlocks(set: AllocationSet, heaps: readonly HeapRecord[], filter: BlockFilter = {}): BlocksSection {
  const heapIdx = heapIndexFor(heaps, filter.heap);
  const limit = filter.limit ?? 10_000;
  const wantInternal = filter.internal ?? filter.state === undefined;
  const order = set.blockOrder();
  const rows: BlocksSection["rows"] = [];
  let total = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (heapIdx !== -1 && set.heap(i) !== heapIdx) continue;
    const f = set.flags(i);
    const busy = (f & AllocFlags.BUSY) !== 0;
    const user = isUserAllocation(f);
    if (filter.state === "busy" && !user) continue;
    if (filter.state === "free" && busy) continue;
    if (!wantInternal && busy && !user) continue;
    const req = set.requestedSize(i);
    if (filter.size !== undefined && req !== filter.size) continue;
    if (filter.range && (req < filter.range.min || req > filter.range.max)) continue;
    total++;
    if (rows.length < limit) rows.push(blockRow(set, heaps, i));
  }
  const f: BlocksSection["filter"] = {};
  if (filter.heap !== undefined) f.heap = formatAddress(filter.heap);
  if (filter.size !== undefined) f.size = filter.size;
  if (filter.range) {
    f.min = filter.range.min;
    f.max = filter.range.max;
  }
  if (filter.state) f.state = filter.state;
  return { filter: f, total, truncated: total > rows.length, rows };
}

/**
 * Busy user allocations grouped by requested size, sorted by total bytes (then size), with the
 * percentage of all busy bytes — the data of `!heap -stat -h`.
 */
export function statBySize(set: AllocationSet, heaps: readonly HeapRecord[], heap?: Address, top = 20): StatSection {
  const heapIdx = heapIndexFor(heaps, heap);
  const counts = new Map<number, number>();
  let busyCount = 0;
  let busyBytes = 0;
  set.forEachChunk((c, n) => {
    for (let i = 0; i < n; i++) {
      if (!isUserAllocation(c.flags[i]!)) continue;
      if (heapIdx !== -1 && c.heap[i] !== heapIdx) continue;
      const size = c.requestedSize[i]!;
      counts.set(size, (counts.get(size) ?? 0) + 1);
      busyCount++;
      busyBytes += size;
    }
  });
  const rows = [...counts.entries()]
    .map(([size, count]) => ({ size, count, total: size * count }))
    .sort((a, b) => b.total - a.total || b.size - a.size)
    .slice(0, Math.max(0, top))
    .map((r) => ({ ...r, percent: busyBytes > 0 ? Math.round((r.total / busyBytes) * 10000) / 100 : 0 }));
  return {
    heap: heap === undefined ? null : formatAddress(heap),
    groupBy: "requested-size",
    busy: { count: busyCount, bytes: busyBytes },
    rows,
  };
}

/** The block containing an address (front-end block preferred over its host), like `!heap -x`. */
export function findBlock(set: AllocationSet, heaps: readonly HeapRecord[], address: Address): BlockSection {
  const i = set.findContaining(address);
  const out: BlockSection = { query: formatAddress(address), found: i >= 0 };
  if (i < 0) return out;
  out.block = blockRow(set, heaps, i);
  const host = set.host(i);
  if (host >= 0 && host < set.count) out.host = blockRow(set, heaps, host);
  return out;
}
