import {
  AsyncSeriesHook,
  AsyncSeriesWaterfallHook,
  SyncBailHook,
  SyncHook,
} from "tapable";
import type { ByteSource } from "../io/byte-source.js";
import type { HeapRecord } from "../model/allocations.js";
import type { Target } from "../model/target.js";
import type { Report } from "../report/schema.js";
import type { EvidenceSink } from "./evidence.js";
import type { Run } from "./run.js";

/**
 * Tap stages, in execution order. Tap with `{ name, stage }`; never rely on registration order.
 * Gaps leave room for third-party plugins between the built-in ones.
 */
export const STAGE_EARLY = -200;
/** Allocator backends (NT backend, segment heap, page heap). */
export const STAGE_BACKEND = -100;
export const STAGE_DEFAULT = 0;
/** Front ends that expand backend host blocks (NT LFH). */
export const STAGE_FRONTEND = 100;
/** Work on finished allocations: stack traces, symbols, types. */
export const STAGE_ENRICH = 200;
export const STAGE_LATE = 300;

/** What a reader sees to decide whether it handles an input. */
export interface InputProbe {
  /** Path as given. */
  path: string;
  size: number;
  /** The first bytes (up to 64 KiB). */
  head: Uint8Array;
  /** The open input; a reader that claims it keeps using it (the engine closes it). */
  source: ByteSource;
}

/** Opens an input the reader claimed into a {@link Target}. */
export interface InputReader {
  /** Stable name, e.g. `minidump`, `kernel-dump`, `windbg-text`. */
  readonly name: string;
  open(probe: InputProbe, run: Run): Promise<Target> | Target;
}

/**
 * Create the engine's hooks, one frozen object grouped by lifecycle phase. Each hook's TSDoc
 * gives its Type, Kind, Previous/Next and what taps return; `packages/core/README.md` repeats it.
 */
export function createHooks() {
  return Object.freeze({
    // ---- input ------------------------------------------------------------------------------
    /**
     * Choose the reader for an input.
     * Type: `(probe: InputProbe) => InputReader | undefined`
     * Kind: sync, bail — the first tap that returns a reader wins.
     * Previous: — · Next: `targetOpened`
     * Tapped by: minidump (core), kernel-dump (pool-km), windbg-text.
     */
    resolveReader: new SyncBailHook<[InputProbe], InputReader | undefined>(["probe"]),

    /**
     * The target is open: inspect or augment it (`target.data`), add diagnostics.
     * Type: `(target: Target, run: Run) => Promise<void>`
     * Kind: async, series.
     * Previous: `resolveReader` · Next: `discoverHeaps`
     */
    targetOpened: new AsyncSeriesHook<[Target, Run]>(["target", "run"]),

    // ---- allocators -------------------------------------------------------------------------
    /**
     * Find allocator instances and register each with `run.addHeap(...)` (duplicates found by
     * several methods are merged, their `foundBy` combined).
     * Type: `(run: Run) => Promise<void>`
     * Kind: async, series (stage order).
     * Previous: `targetOpened` · Next: `walkHeap`
     * Tapped by: heap-nt, heap-segment, page heap, windbg-text.
     */
    discoverHeaps: new AsyncSeriesHook<[Run]>(["run"]),

    /**
     * Walk one heap, appending its blocks to `run.allocations` (columnar, streaming). Every tap
     * sees every heap and handles the kinds it knows. A throwing tap marks the heap incomplete
     * with `ALLOCATOR_WALK_FAILED`; other heaps are still walked.
     * Type: `(heap: HeapRecord, run: Run) => Promise<void>`
     * Kind: async, series — backends at `STAGE_BACKEND`, front ends (LFH) at `STAGE_FRONTEND`.
     * Previous: `discoverHeaps` · Next: `heapsWalked`
     */
    walkHeap: new AsyncSeriesHook<[HeapRecord, Run]>(["heap", "run"]),

    /**
     * All heaps are walked: cross-heap fix-ups (at STAGE_BACKEND, e.g. light page-heap blocks
     * inside NT blocks), then stack traces, symbols, types (STAGE_ENRICH). Per-heap totals are
     * computed right after this hook.
     * Type: `(run: Run) => Promise<void>`
     * Kind: async, series.
     * Previous: `walkHeap` · Next: `analyze`
     */
    heapsWalked: new AsyncSeriesHook<[Run]>(["run"]),

    // ---- analysis ---------------------------------------------------------------------------
    /**
     * Analyzers: rank suspects, group by stack, diff, reachability. Results go to `run.data`
     * and to report sections through the `report` hook.
     * Type: `(run: Run) => Promise<void>`
     * Kind: async, series.
     * Previous: `heapsWalked` · Next: `report`
     */
    analyze: new AsyncSeriesHook<[Run]>(["run"]),

    /**
     * Detectors from plugins: add {@link EvidenceSink.add | evidence} about causes (a stack, a
     * type, a size class, a pool tag, a handle type...) and what the input could show. Called by
     * `@leakscope/analyze` from its `analyze` tap, after its built-in detectors, before evidence
     * is combined into suspects and the verdict is taken.
     * Type: `(sink: EvidenceSink, run: Run) => Promise<void>`
     * Kind: async, series.
     * Previous: `analyze` (inside it) · Next: `report`
     * Tapped by: windbg-text (totals and UMDH growth printed in logs), pool-km.
     */
    evidence: new AsyncSeriesHook<[EvidenceSink, Run]>(["sink", "run"]),

    // ---- report -----------------------------------------------------------------------------
    /**
     * Build the report: core passes the base report (input, target, heaps, diagnostics); each
     * tap returns it with its sections added or rewritten.
     * Type: `(report: Report, run: Run) => Promise<Report>`
     * Kind: async, series, waterfall.
     * Previous: `analyze` · Next: `done`
     */
    report: new AsyncSeriesWaterfallHook<[Report, Run]>(["report", "run"]),

    /**
     * The run finished; the report is final (formatters, exporters).
     * Type: `(report: Report, run: Run) => Promise<void>`
     * Kind: async, series.
     * Previous: `report` · Next: —
     */
    done: new AsyncSeriesHook<[Report, Run]>(["report", "run"]),

    /**
     * The run failed with an error (already wrapped in `PluginError` when a tap threw).
     * Type: `(error: Error, run: Run | undefined) => void`
     * Kind: sync.
     * Previous: any · Next: —
     */
    failed: new SyncHook<[Error, Run | undefined]>(["error", "run"]),
  });
}

export type EngineHooks = ReturnType<typeof createHooks>;
