import { type AddressSpace, type AllocationSet, type MemoryRange, emptySpan, isUserAllocation } from "@leakscope/core";

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
 * times log(blocks) only for words that fall inside the heap address range. Memory is about 6
 * bytes per block: every block's index in address order (4, with 4 more while it is sorted),
 * compacted in place to the busy blocks' order and at the end to the unreferenced ones; a mark (1);
 * a sparse address index (0.5); and a work stack that holds only the blocks reached and not yet
 * scanned.
 */
export function findUnreferenced(
  set: AllocationSet,
  space: AddressSpace,
  ranges: readonly MemoryRange[],
  options: { pointerSize?: 4 | 8; heaps?: ReadonlySet<number> } = {},
): ReachabilityResult {
  const ps = options.pointerSize ?? space.pointerSize;
  // Every block (any state) in block-address order: busy user blocks do not overlap, so they
  // come in user-address order too. The root gaps (captured memory outside every block) are taken
  // from it, then it is compacted in place to the busy blocks' order.
  const order0 = sortedByBlockAddress(set);
  const gaps = rootGaps(set, order0, ranges);
  let n = 0;
  for (let k = 0; k < order0.length; k++) if (isBusyUser(set, order0[k]!, options.heaps)) order0[n++] = order0[k]!;
  const order = order0.subarray(0, n);
  const start = (k: number): number => set.userAddress(order[k]!);
  const end = (k: number): number => set.userAddress(order[k]!) + Math.max(1, set.requestedSize(order[k]!));
  // Sparse index: the start of every SPARSE-th busy block, so lookups touch the columns only for
  // the last few steps of a binary search.
  const sparse = new Float64Array(Math.ceil(n / SPARSE));
  for (let q = 0; q < sparse.length; q++) sparse[q] = start(q * SPARSE);
  const lowest = n > 0 ? start(0) : 0;
  let highest = 0;
  for (let k = 0; k < n; k++) if (end(k) > highest) highest = end(k);

  const marked = new Uint8Array(n);
  // the blocks reached but not scanned yet; grows as needed (depth first keeps it short)
  let work = new Int32Array(1024);
  let top = 0;
  const push = (k: number): void => {
    if (top === work.length) {
      const bigger = new Int32Array(Math.min(Math.max(n, 1024), work.length * 2));
      bigger.set(work);
      work = bigger;
    }
    work[top++] = k;
  };

  const lookup = (p: number): number => {
    let lo = 0;
    let hi = sparse.length - 1;
    let q = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (sparse[mid]! <= p) {
        q = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (q < 0) return -1;
    lo = q * SPARSE;
    hi = Math.min(n, lo + SPARSE) - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (start(mid) <= p) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best >= 0 && p < end(best) ? best : -1;
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
          push(k);
        }
      }
      const advanced = words * ps;
      scanned += advanced;
      if (advanced === 0) break;
      va += advanced;
    }
  };

  // Roots: captured memory outside every heap block span (busy, free, hosts, bookkeeping).
  let rootBytes = 0;
  for (let g = 0; g < gaps.length; g += 2) {
    scan(gaps[g]!, gaps[g + 1]!);
    rootBytes += gaps[g + 1]! - gaps[g]!;
  }
  // Propagate through reachable blocks, depth first.
  while (top > 0) {
    const k = work[--top]!;
    scan(start(k), end(k));
  }
  let reachableCount = 0;
  let reachableBytes = 0;
  let unreferencedBytes = 0;
  for (let k = 0; k < n; k++) {
    if (marked[k]) {
      reachableCount++;
      reachableBytes += set.requestedSize(order[k]!);
    } else unreferencedBytes += set.requestedSize(order[k]!);
  }
  // the unreferenced indices, compacted in place at the front of the busy order (no copy)
  let u = 0;
  for (let k = 0; k < n; k++) if (!marked[k]) order[u++] = order[k]!;
  const unreferenced = order.subarray(0, u);
  return {
    method: REACHABILITY_METHOD,
    rootBytes,
    scannedBytes: scanned,
    reachableCount,
    reachableBytes,
    unreferenced,
    unreferencedBytes,
  };
}

/**
 * Captured memory outside every block, as [start, end) pairs: the spans of all blocks (in address
 * order) merged on the fly and cut out of the captured ranges. Their number follows the ranges and
 * segments, not the blocks.
 */
function rootGaps(set: AllocationSet, order: Uint32Array, ranges: readonly MemoryRange[]): number[] {
  const gaps: number[] = [];
  let j = 0;
  let spanStart = Number.NaN;
  let spanEnd = Number.NaN;
  const nextSpan = (): void => {
    if (j >= order.length) {
      spanStart = spanEnd = Number.POSITIVE_INFINITY;
      return;
    }
    spanStart = set.blockAddress(order[j]!);
    spanEnd = spanStart + Math.max(set.blockSize(order[j]!), 1);
    j++;
    while (j < order.length) {
      const s2 = set.blockAddress(order[j]!);
      if (s2 > spanEnd) break;
      const e2 = s2 + Math.max(set.blockSize(order[j]!), 1);
      if (e2 > spanEnd) spanEnd = e2;
      j++;
    }
  };
  nextSpan();
  for (const r of [...ranges].sort((a, b) => a.address - b.address)) {
    let cur = r.address;
    const rEnd = r.address + r.size;
    while (spanEnd <= cur) nextSpan();
    while (cur < rEnd) {
      const gapEnd = Math.min(rEnd, spanStart);
      if (gapEnd > cur) gaps.push(cur, gapEnd);
      if (spanStart >= rEnd) break;
      cur = Math.max(cur, spanEnd);
      if (spanEnd <= rEnd) nextSpan();
      else break;
    }
  }
  return gaps;
}

/** Busy blocks between two entries of the sparse address index. */
const SPARSE = 16;

function isBusyUser(set: AllocationSet, i: number, heaps: ReadonlySet<number> | undefined): boolean {
  return isUserAllocation(set.flags(i)) && (!heaps || heaps.has(set.heap(i)));
}

function nextRangeStart(ranges: readonly MemoryRange[], va: number): number | undefined {
  let best: number | undefined;
  for (const r of ranges) if (r.address > va && (best === undefined || r.address < best)) best = r.address;
  return best;
}

/**
 * Indices of all blocks sorted by block address (ties by index): a natural merge sort of the
 * ascending runs the walk produced (a heap's blocks mostly come in address order), reading the
 * addresses from the set's columns. 4 bytes per block, plus 4 while sorting; no key copy.
 */
export function sortedByBlockAddress(set: AllocationSet): Uint32Array {
  const n = set.count;
  let a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  if (n < 2) return a;
  const before = (x: number, y: number): boolean => {
    const ax = set.blockAddress(x);
    const ay = set.blockAddress(y);
    return ax < ay || (ax === ay && x < y);
  };
  // run boundaries: a run is a stretch where every next index sorts after the previous one
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) if (before(i, i - 1)) sorted = false;
  if (sorted) return a;
  let b = new Uint32Array(n);
  for (;;) {
    let runs = 0;
    let i = 0;
    let o = 0;
    while (i < n) {
      // first run [i, m), second run [m, e)
      let m = i + 1;
      while (m < n && !before(a[m]!, a[m - 1]!)) m++;
      let e = m;
      if (m < n) {
        e = m + 1;
        while (e < n && !before(a[e]!, a[e - 1]!)) e++;
      }
      let x = i;
      let y = m;
      while (x < m && y < e) b[o++] = before(a[y]!, a[x]!) ? a[y++]! : a[x++]!;
      while (x < m) b[o++] = a[x++]!;
      while (y < e) b[o++] = a[y++]!;
      runs++;
      i = e;
    }
    [a, b] = [b, a];
    if (runs <= 1) return a;
  }
}
