import type { Address } from "../address.js";
import { Diagnostics, type Diagnostic } from "../diagnostics.js";
import {
  AllocFlags,
  AllocationSet,
  type HeapData,
  type HeapRecord,
  emptyHeapStats,
  isUserAllocation,
} from "../model/allocations.js";
import type { ProcessView, Target } from "../model/target.js";
import { type AddressRanges, type ScanOptions, mergeRanges } from "../memory/scan.js";
import type { TraceTable } from "../model/traces.js";
import type { Engine } from "./engine.js";
import type { InputProbe } from "./hooks.js";

/** Most ranges {@link Run.claimMemory} keeps. */
export const MAX_MEMORY_CLAIMS = 1 << 16;

/** How far a run goes. Each depth includes the ones before it. */
export type RunDepth = "open" | "discover" | "walk" | "analyze";

/** Progress for long work. The CLI shows it on a TTY; library users may ignore it. */
export interface ProgressReporter {
  /** A phase starts; `total` when known, in `unit` (items when absent, or bytes). */
  start(label: string, total?: number, unit?: "bytes"): void;
  /** `done` so far in the current phase. */
  update(done: number): void;
  end(): void;
}

export const silentProgress: ProgressReporter = Object.freeze({
  start() {},
  update() {},
  end() {},
});

export interface RunRequest {
  /** The command this run serves (`info`, `heaps`, `analyze`...), recorded in the report. */
  command: string;
  depth: RunDepth;
  /** Command options, visible to plugins (JSON-safe). */
  options?: Record<string, unknown>;
  /** Walk only the heaps this accepts (discovery still finds all). */
  heapFilter?: (heap: HeapRecord) => boolean;
  progress?: ProgressReporter;
  signal?: AbortSignal;
}

/** What a discovery plugin passes to {@link Run.addHeap}. */
export interface HeapInit {
  address: Address;
  bitness: 32 | 64;
  kind: string;
  foundBy: string;
  view: ProcessView;
  walker?: string;
  label?: string;
  flags?: number;
}

/**
 * State of one run over one input: the target, the heaps, the allocation set, diagnostics and
 * plugin data. Plugins receive it in every hook after `resolveReader`.
 */
export class Run {
  readonly engine: Engine;
  readonly request: RunRequest;
  readonly input: InputProbe;
  /** Run-level diagnostics (the target's own are merged into the report). */
  readonly diagnostics = new Diagnostics();
  readonly heaps: HeapRecord[] = [];
  readonly allocations = new AllocationSet();
  readonly progress: ProgressReporter;
  /** Plugin state, extended by module augmentation of {@link RunData}. */
  readonly data: RunData = {};
  private targetValue: Target | undefined;
  /** claimMemory pairs (start, end), and their sorted, merged form. */
  private readonly claims: number[] = [];
  private claimed: AddressRanges | undefined;
  /** Bytes of heap memory walked so far ({@link walked}). */
  private walkedBytes = 0;

  constructor(engine: Engine, request: RunRequest, input: InputProbe) {
    this.engine = engine;
    this.request = request;
    this.input = input;
    this.progress = request.progress ?? silentProgress;
  }

  get target(): Target {
    if (!this.targetValue) throw new Error("the target is not open yet (resolveReader has not run)");
    return this.targetValue;
  }

  get hasTarget(): boolean {
    return this.targetValue !== undefined;
  }

  /** @internal set by the engine */
  setTarget(target: Target): void {
    this.targetValue = target;
  }

  /**
   * Record that [start, end) is an allocator's own memory (the committed pages of a heap
   * segment), found while discovering heaps. Signature scans skip claimed memory (see
   * {@link ScanOptions.skip}): no heap starts inside another heap's segment, and a leaking
   * process is mostly heap, so this saves most of a scan's reading. Empty or invalid ranges are
   * ignored, and so is every claim after the first {@link MAX_MEMORY_CLAIMS} (scans then read
   * more, nothing else changes).
   */
  claimMemory(start: Address, end: Address): void {
    if (!(start === start && end > start) || this.claims.length >= MAX_MEMORY_CLAIMS * 2) return;
    this.claims.push(start, end);
    this.claimed = undefined;
  }

  /** The claimed ranges, sorted by start and merged where they overlap or touch. */
  claimedMemory(): AddressRanges {
    this.claimed ??= mergeRanges(this.claims);
    return this.claimed;
  }

  /**
   * A walker reports that it walked `bytes` more bytes of heap memory: call it per segment or
   * page segment, never per block. The engine's "walking heaps" progress counts these bytes over
   * all heaps, so a dump whose leak sits in one big heap still shows its progress; a walker that
   * reports nothing is credited its heap's committed bytes when the heap is done.
   */
  walked(bytes: number): void {
    if (!(bytes > 0)) return;
    this.walkedBytes += bytes;
    this.progress.update(this.walkedBytes);
  }

  /** Bytes reported by {@link walked} so far. */
  get bytesWalked(): number {
    return this.walkedBytes;
  }

  /** Register a heap; a heap already known at the same address and bitness gains `foundBy`. */
  addHeap(init: HeapInit): HeapRecord {
    const seen = this.heaps.find((h) => h.address === init.address && h.bitness === init.bitness);
    if (seen) {
      if (!seen.foundBy.includes(init.foundBy)) seen.foundBy.push(init.foundBy);
      if (seen.label === undefined && init.label !== undefined) seen.label = init.label;
      return seen;
    }
    if (this.heaps.length >= 0xffff) {
      throw new Error("more than 65,535 heaps registered: the discovery is running away");
    }
    // every field present from the start, so all heaps share one object layout: fields added
    // to some heaps only gave the walkers' optimized code a second layout to meet at the
    // second heap, which threw that code away ("wrong map")
    const heap: HeapRecord = {
      index: this.heaps.length,
      address: init.address,
      bitness: init.bitness,
      kind: init.kind,
      foundBy: [init.foundBy],
      view: init.view,
      walker: init.walker,
      label: init.label,
      flags: init.flags,
      stats: emptyHeapStats(),
      summary: {},
      incomplete: false,
      data: {} as HeapData,
    };
    this.heaps.push(heap);
    return heap;
  }

  /**
   * Recompute every heap's busy/free totals from the allocation set: busy = live user
   * allocations (front-end blocks counted, their host blocks and allocator bookkeeping not)
   * with their requested bytes; free = backend free blocks with their block sizes.
   */
  computeHeapStats(): void {
    const heaps = this.heaps;
    const n = heaps.length;
    // per-heap sums in typed arrays: no object property writes per block
    const busyCount = new Float64Array(n);
    const busyBytes = new Float64Array(n);
    const freeCount = new Float64Array(n);
    const freeBytes = new Float64Array(n);
    this.allocations.forEachChunk((c, used) => {
      const flags = c.flags;
      const heap = c.heap;
      const requested = c.requestedSize;
      const size = c.blockSize;
      for (let i = 0; i < used; i++) {
        const f = flags[i]!;
        const h = heap[i]!;
        if (h >= n) continue;
        if (isUserAllocation(f)) {
          busyCount[h]!++;
          busyBytes[h]! += requested[i]!;
        } else if ((f & AllocFlags.FREE) !== 0 && (f & AllocFlags.LFH) === 0) {
          freeCount[h]!++;
          freeBytes[h]! += size[i]!;
        }
      }
    });
    for (let k = 0; k < n; k++) {
      const st = heaps[k]!.stats;
      st.busy.count = busyCount[k]!;
      st.busy.bytes = busyBytes[k]!;
      st.free.count = freeCount[k]!;
      st.free.bytes = freeBytes[k]!;
    }
  }

  /** All diagnostics: the target's, then the run's. */
  allDiagnostics(): Diagnostic[] {
    const out = this.hasTarget ? this.target.diagnostics.list() : [];
    return out.concat(this.diagnostics.list());
  }

  /** Throw if the request's signal was aborted. */
  checkAborted(): void {
    if (this.request.signal?.aborted) throw this.request.signal.reason ?? new Error("aborted");
  }
}

/**
 * Typed per-run plugin state, extended by module augmentation:
 * `declare module "@leakscope/core" { interface RunData { stacks?: StackGroups } }`.
 */
export interface RunData {
  /** Allocation stacks, written by the stack-trace plugin at `heapsWalked` (STAGE_ENRICH). */
  traces?: TraceTable;
  /**
   * Size groups an input reports itself (WinDbg `!heap -stat -h`, UMDH totals) for heaps whose
   * blocks are not all listed. Analyzers use them instead of grouping `allocations` for those
   * heaps. `heap` is the index in `run.heaps`.
   */
  sizeGroups?: SizeGroup[];
}

/** One row of a size histogram reported by the input (not computed from blocks). */
export interface SizeGroup {
  heap: number;
  size: number;
  count: number;
  bytes: number;
  /** The input's own percentage, when it printed one. */
  percent?: number;
  /** Where it came from, e.g. `!heap -stat -h 028a0000` at line 42. */
  source: string;
}
