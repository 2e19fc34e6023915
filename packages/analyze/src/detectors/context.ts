import {
  type Evidence,
  type EvidenceSink,
  type Frame,
  type HeapRecord,
  type InputCoverage,
  type Run,
  type TraceTable,
  formatAddress,
  isUserAllocation,
} from "@leakscope/core";
import type { ReachabilityResult } from "../reachability.js";
import { RttiResolver, type RttiType } from "../rtti.js";
import { SizeClassCounter, type SizeClassTable, classKey } from "../size-classes.js";

/** What the built-in detectors may look at. */
export interface DetectorOptions {
  /** Recover C++ classes from vtables (MSVC RTTI). */
  types: boolean;
  /** Most stack groups and types kept in the context. */
  topGroups: number;
}

/** One allocation stack's blocks (any heap, any size). */
export interface StackAggregate {
  id: number;
  count: number;
  bytes: number;
  /** Distinct requested sizes (at most 16). */
  sizes: number[];
  /** Allocation indices (at most 5). */
  samples: number[];
}

/** Live objects of one C++ type (one vtable). */
export interface TypeAggregate {
  type: RttiType;
  count: number;
  bytes: number;
  samples: number[];
}

/** Unreferenced blocks of one size class. */
export interface UnreferencedClass {
  heap: number;
  size: number;
  count: number;
  bytes: number;
  samples: number[];
}

/**
 * What one shared pass over the blocks found, handed to every detector. Memory is proportional
 * to the number of distinct size classes, stacks and types, never to the number of blocks.
 */
export interface AnalysisContext {
  run: Run;
  /** Busy user blocks by (heap, requested size), largest bytes first; process and per-heap totals. */
  table: SizeClassTable;
  /** Where a class's figures came from when the input printed them itself (`!heap -stat -h`). */
  sources: Map<number, string>;
  traces: TraceTable | undefined;
  /** Stacks by bytes, largest first (all of them). */
  stacks: StackAggregate[];
  /** Per class key: the stack that allocated most of its blocks. */
  dominantStack: Map<number, { stack: number; count: number }>;
  /** Per requested size (any heap): the first stack seen and how many blocks of that size it has. */
  stackBySize: Map<number, { stack: number; count: number; heap: number; address: number }>;
  /** C++ types by bytes, largest first. */
  types: TypeAggregate[];
  /** Per class key: the type most of its blocks are. */
  dominantType: Map<number, { type: RttiType; count: number }>;
  /** Reachability, when it ran and is meaningful. */
  reach: ReachabilityResult | undefined;
  /** Unreferenced blocks per class key (when reachability ran). */
  unreferenced: Map<number, UnreferencedClass>;
  /** Unreferenced blocks per allocation stack id (when reachability ran and stacks exist). */
  unreferencedByStack: Map<number, UnreferencedClass>;
  /** Share of all busy blocks that are unreferenced (0 when reachability did not run). */
  unreferencedShare: number;
}

/** A built-in detector: reads the context, emits evidence. */
export interface AnalysisDetector {
  readonly name: string;
  detect(run: Run, context: AnalysisContext, sink: EvidenceSink): void;
}

export { classKey };

export const hex = (n: number): string => `0x${n.toString(16)}`;

/** Cause keys, as the core evidence model names them. */
export const causeKey = {
  stack: (id: number | string): string => `stack:${id}`,
  type: (name: string): string => `type:${name}`,
  sizeClass: (heap: string, size: number): string => `class:${heap}:${hex(size)}`,
  heap: (address: string): string => `heap:${address}`,
  tag: (tag: string): string => `tag:${tag}`,
};

/** 0 at `low`, 1 at `high`, linear between (clamped). */
export function ramp(x: number, low: number, high: number): number {
  if (!(x > low)) return 0;
  if (x >= high) return 1;
  return (x - low) / (high - low);
}

/** 0 at `low` items, 1 at `high` items, on a log scale: 16 -> 0, 256 -> 1 for the defaults. */
export function countRamp(count: number, low: number = EVIDENCE_FLOORS.minBlocks, high = 256): number {
  if (!(count > low)) return 0;
  return ramp(Math.log2(count), Math.log2(low), Math.log2(high));
}

/**
 * The floors a cause must pass before it is evidence at all (see the README's evidence rules).
 * A single block or a handful of them is never a leak signal: it goes to `analysis.largest`.
 */
export const EVIDENCE_FLOORS = {
  /** Blocks (objects) a class, stack or type must hold. */
  minBlocks: 16,
  /** Share of the process's busy bytes a class, stack or type must hold. */
  minShare: 0.01,
  /** Unreferenced blocks a class must hold. */
  minUnreferenced: 8,
  /** Blocks a cause must have gained between snapshots. */
  minGrowthBlocks: 4,
  /** Share of the later snapshot's busy bytes the growth must be. */
  minGrowthShare: 0.005,
} as const;

/** Percent with two decimals, clamped to 100. */
export function pct(part: number, whole: number): number {
  return whole > 0 ? Math.min(100, Math.round((part / whole) * 10000) / 100) : 0;
}

/** Frames of a stack as report frames (symbolized text when a symbolizer ran). */
export function stackFrames(traces: TraceTable, id: number): Frame[] {
  const s = traces.stacks[id];
  if (!s) return [];
  return s.frames.map((a, k) => {
    const t = s.text?.[k];
    const f: Frame = { address: formatAddress(a), text: t?.text ?? formatAddress(a) };
    if (t?.module !== undefined) f.module = t.module;
    if (t?.symbol !== undefined) f.symbol = t.symbol;
    if (t?.offset !== undefined) f.offset = t.offset;
    return f;
  });
}

/** Heap address (hex) of a heap index. */
export function heapAddress(run: Run, heap: number): string {
  const h = run.heaps[heap];
  return h ? formatAddress(h.address) : "?";
}

/** Free blocks and bytes of every heap of the run (`analysis.summary.free`). */
export function freeTotals(run: Run): { count: number; bytes: number } {
  return run.heaps.reduce((acc, h) => ({ count: acc.count + h.stats.free.count, bytes: acc.bytes + h.stats.free.bytes }), { count: 0, bytes: 0 });
}

/** `analysis.summary.traces`: the trace table's status, else disabled in a user dump, unsupported elsewhere. */
export function traceStatus(run: Run): TraceTable["status"] {
  return run.data.traces?.status ?? (run.target.kind === "user" ? "disabled" : "unsupported");
}

/** A sink that keeps what it is given (records in order, coverage merged as documented in core). */
export class CollectingSink implements EvidenceSink {
  readonly records: Evidence[] = [];
  readonly reported: Partial<InputCoverage> = {};
  add(evidence: Evidence): void {
    if (!evidence || !Array.isArray(evidence.keys) || evidence.keys.length === 0) return;
    this.records.push(evidence);
  }
  coverage(c: Partial<InputCoverage>): void {
    if (c.hasFigures !== undefined) this.reported.hasFigures = c.hasFigures;
    if (c.truncated !== undefined) this.reported.truncated = c.truncated;
    if (c.reason !== undefined) this.reported.reason = c.reason;
    if (c.captured !== undefined && Number.isFinite(c.captured)) {
      this.reported.captured = Math.min(this.reported.captured ?? 1, Math.max(0, Math.min(1, c.captured)));
    }
  }
}

/**
 * The one pass over all busy user blocks behind every built-in detector: size classes (per heap
 * and process totals), stack groups, C++ type groups, and for each size class its most common
 * stack and type. Memory is proportional to distinct classes, stacks and types.
 */
export function groupBlocks(run: Run, options: DetectorOptions): Omit<AnalysisContext, "sources" | "reach" | "unreferenced" | "unreferencedByStack" | "unreferencedShare"> {
  const set = run.allocations;
  const traces = run.data.traces;
  const counter = new SizeClassCounter(run.heaps.length);
  const stackAgg = new Map<number, { count: number; bytes: number; sizes: Set<number>; samples: number[] }>();
  const perClassStacks = new Map<number, Map<number, number>>();
  const stackBySize = new Map<number, { stack: number; count: number; heap: number; address: number }>();
  const typeAgg = new Map<number, TypeAggregate>();
  const perClassTypes = new Map<number, Map<number, number>>();

  const resolvers = new Map<HeapRecord["view"], RttiResolver>();
  const resolverFor = (h: HeapRecord): RttiResolver => {
    let r = resolvers.get(h.view);
    if (!r) {
      r = new RttiResolver(h.view.space, h.view.modules.length > 0 ? h.view.modules : run.target.modules);
      resolvers.set(h.view, r);
    }
    return r;
  };
  const useTypes = options.types && run.target.kind === "user";
  const stackOf = traces && traces.stackOf.length > 0 ? traces.stackOf : undefined;

  set.forEachChunk((c, n, base) => {
    for (let i = 0; i < n; i++) {
      if (!isUserAllocation(c.flags[i]!)) continue;
      const index = base + i;
      const heapIndex = c.heap[i]!;
      const size = c.requestedSize[i]!;
      const key = counter.add(heapIndex, size, index);
      const sid = stackOf ? (stackOf[index] ?? -1) : -1;
      if (sid >= 0) {
        let g = stackAgg.get(sid);
        if (!g) stackAgg.set(sid, (g = { count: 0, bytes: 0, sizes: new Set(), samples: [] }));
        g.count++;
        g.bytes += size;
        if (g.sizes.size < 16) g.sizes.add(size);
        if (g.samples.length < 5) g.samples.push(index);
        let m = perClassStacks.get(key);
        if (!m) perClassStacks.set(key, (m = new Map()));
        m.set(sid, (m.get(sid) ?? 0) + 1);
        const bySize = stackBySize.get(size);
        if (!bySize) stackBySize.set(size, { stack: sid, count: 1, heap: heapIndex, address: c.userAddress[i]! });
        else if (bySize.stack === sid) bySize.count++;
      }
      if (useTypes) {
        const heap = run.heaps[heapIndex];
        if (!heap || size < heap.view.space.pointerSize) continue;
        const r = resolverFor(heap);
        const vt = heap.view.space.ptr(c.userAddress[i]!);
        if (!(vt === vt) || !r.moduleAt(vt)) continue;
        const t = r.typeOfVtable(vt);
        if (!t) continue;
        let g = typeAgg.get(vt);
        if (!g) typeAgg.set(vt, (g = { type: t, count: 0, bytes: 0, samples: [] }));
        g.count++;
        g.bytes += size;
        if (g.samples.length < 5) g.samples.push(index);
        let m = perClassTypes.get(key);
        if (!m) perClassTypes.set(key, (m = new Map()));
        m.set(vt, (m.get(vt) ?? 0) + 1);
      }
    }
  });

  const stacks: StackAggregate[] = [...stackAgg.entries()]
    .map(([id, g]) => ({ id, count: g.count, bytes: g.bytes, sizes: [...g.sizes].sort((x, y) => x - y), samples: g.samples }))
    .sort((a, b) => b.bytes - a.bytes || b.count - a.count || a.id - b.id);
  const dominantStack = new Map<number, { stack: number; count: number }>();
  for (const [key, m] of perClassStacks) {
    let best = -1;
    let bestCount = 0;
    for (const [sid, cnt] of m) if (cnt > bestCount) [best, bestCount] = [sid, cnt];
    if (best >= 0) dominantStack.set(key, { stack: best, count: bestCount });
  }
  const types = [...typeAgg.values()].sort((a, b) => b.bytes - a.bytes || b.count - a.count);
  const dominantType = new Map<number, { type: RttiType; count: number }>();
  for (const [key, m] of perClassTypes) {
    let best = -1;
    let bestCount = 0;
    for (const [vt, cnt] of m) if (cnt > bestCount) [best, bestCount] = [vt, cnt];
    const g = typeAgg.get(best);
    if (g) dominantType.set(key, { type: g.type, count: bestCount });
  }
  const table = counter.table();
  return { run, table, traces, stacks, dominantStack, stackBySize, types, dominantType };
}
