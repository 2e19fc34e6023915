import {
  type AddressSpace,
  type AllocationSet,
  type MemoryRange,
  emptySpan,
  isUserAllocation,
} from "@leakscope/core";

export interface ReachabilityResult {
  method: string;
  /** Bytes scanned as roots (memory outside every heap block). */
  rootBytes: number;
  /** Bytes scanned in total (roots plus reachable blocks). */
  scannedBytes: number;
  reachableCount: number;
  reachableBytes: number;
  /** Allocation indices of busy user blocks no root reaches. */
  unreferenced: Uint32Array;
  unreferencedBytes: number;
}

export const REACHABILITY_METHOD =
  "Conservative mark from roots, like !heap -l: every pointer-aligned word of the captured memory " +
  "outside heap blocks (thread stacks, module images, PEB/TEB, other private memory) is a root; " +
  "a word that points into a busy user block (interior pointers count) marks it, and marked blocks " +
  "are scanned in turn. Blocks no chain reaches are reported. Words that merely look like " +
  "pointers keep blocks alive, so real leaks can be missed, but a reported block was not referenced " +
  "by any captured memory.";

/**
 * Find busy user blocks not referenced from any root. Time is proportional to the bytes scanned
 * times log(blocks) only for words that fall inside the heap address range; memory is
 * O(blocks) typed arrays.
 */
export function findUnreferenced(
  set: AllocationSet,
  space: AddressSpace,
  ranges: readonly MemoryRange[],
  options: { pointerSize?: 4 | 8; heaps?: ReadonlySet<number> } = {},
): ReachabilityResult {
  const ps = options.pointerSize ?? space.pointerSize;
  // Busy user blocks sorted by user address: [start, end) of the user data.
  const ids: number[] = [];
  set.forEachChunk((c, n, base) => {
    for (let i = 0; i < n; i++) {
      if (!isUserAllocation(c.flags[i]!)) continue;
      if (options.heaps && !options.heaps.has(c.heap[i]!)) continue;
      ids.push(base + i);
    }
  });
  const n = ids.length;
  const order = Uint32Array.from(ids);
  const keyStart = new Float64Array(set.count);
  for (const i of order) keyStart[i] = set.userAddress(i);
  order.sort((a, b) => keyStart[a]! - keyStart[b]!);
  const starts = new Float64Array(n);
  const ends = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    starts[k] = set.userAddress(i);
    ends[k] = starts[k]! + Math.max(1, set.requestedSize(i));
  }
  const lowest = n > 0 ? starts[0]! : 0;
  let highest = 0;
  for (let k = 0; k < n; k++) if (ends[k]! > highest) highest = ends[k]!;

  const marked = new Uint8Array(n);
  const work = new Int32Array(n);
  let top = 0;

  const lookup = (p: number): number => {
    let lo = 0;
    let hi = n - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= p) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best >= 0 && p < ends[best]! ? best : -1;
  };

  const span = emptySpan();
  let scanned = 0;
  const scan = (from: number, to: number): void => {
    let va = from + ((ps - (from % ps)) % ps);
    while (va + ps <= to) {
      if (!space.span(va, span)) {
        // skip to the next range start
        const next = nextRangeStart(ranges, va);
        if (next === undefined || next >= to) return;
        va = next + ((ps - (next % ps)) % ps);
        continue;
      }
      const avail = Math.min(span.length, to - va);
      const words = Math.floor(avail / ps);
      const dv = span.view;
      let off = span.index;
      for (let w = 0; w < words; w++, off += ps) {
        let p: number;
        if (ps === 8) {
          const hi = dv.getUint32(off + 4, true);
          if (hi > 0x1fffff) continue;
          p = hi * 4294967296 + dv.getUint32(off, true);
        } else p = dv.getUint32(off, true);
        if (p < lowest || p >= highest) continue;
        const k = lookup(p);
        if (k >= 0 && marked[k] === 0) {
          marked[k] = 1;
          work[top++] = k;
        }
      }
      const advanced = words * ps;
      scanned += advanced;
      if (advanced === 0) break;
      va += advanced;
    }
  };

  // Roots: captured memory minus every heap block span (busy, free, hosts, bookkeeping).
  const blockSpans = heapSpans(set);
  let rootBytes = 0;
  for (const r of ranges) {
    let cur = r.address;
    const end = r.address + r.size;
    let j = firstSpanAtOrAfter(blockSpans.starts, blockSpans.ends, cur);
    while (cur < end) {
      const s = j < blockSpans.starts.length ? blockSpans.starts[j]! : Infinity;
      const gapEnd = Math.min(end, s);
      if (gapEnd > cur) {
        scan(cur, gapEnd);
        rootBytes += gapEnd - cur;
      }
      if (s >= end) break;
      cur = Math.max(cur, blockSpans.ends[j]!);
      j++;
    }
  }
  // Propagate through reachable blocks.
  while (top > 0) {
    const k = work[--top]!;
    scan(starts[k]!, ends[k]!);
  }
  let reachableCount = 0;
  let reachableBytes = 0;
  const unref: number[] = [];
  let unreferencedBytes = 0;
  for (let k = 0; k < n; k++) {
    if (marked[k]) {
      reachableCount++;
      reachableBytes += set.requestedSize(order[k]!);
    } else {
      unref.push(order[k]!);
      unreferencedBytes += set.requestedSize(order[k]!);
    }
  }
  return {
    method: REACHABILITY_METHOD,
    rootBytes,
    scannedBytes: scanned,
    reachableCount,
    reachableBytes,
    unreferenced: Uint32Array.from(unref),
    unreferencedBytes,
  };
}

function nextRangeStart(ranges: readonly MemoryRange[], va: number): number | undefined {
  for (const r of ranges) if (r.address > va) return r.address;
  return undefined;
}

/** Sorted, merged spans of every block in the set (any state). */
function heapSpans(set: AllocationSet): { starts: Float64Array; ends: Float64Array } {
  const order = set.blockOrder();
  const starts: number[] = [];
  const ends: number[] = [];
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    const s = set.blockAddress(i);
    const e = s + Math.max(set.blockSize(i), 1);
    const last = starts.length - 1;
    if (last >= 0 && s <= ends[last]!) {
      if (e > ends[last]!) ends[last] = e;
    } else {
      starts.push(s);
      ends.push(e);
    }
  }
  return { starts: Float64Array.from(starts), ends: Float64Array.from(ends) };
}

function firstSpanAtOrAfter(starts: Float64Array, ends: Float64Array, va: number): number {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ends[mid]! <= va) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
