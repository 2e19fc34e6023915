import type { Address } from "../address.js";

/** One symbolized frame (filled by a symbolizer; `text` is WinDbg style `module!symbol+0x12`). */
export interface FrameText {
  text: string;
  module?: string;
  symbol?: string;
  /** Offset from the symbol (or module base when there is no symbol). */
  offset?: number;
}

/** One distinct allocation stack. */
export interface StackRecord {
  /** Return addresses, innermost first, as recorded by the allocator (+ust / page heap). */
  frames: Address[];
  /** Symbolized frames, same length as `frames`, when a symbolizer ran. */
  text?: FrameText[];
}

/** Why traces are or are not available, for reports that must say so plainly. */
export type TraceStatus =
  /** Traces were found and decoded. */
  | "present"
  /** The process did not record traces (+ust and page heap off in NtGlobalFlag). */
  | "disabled"
  /** Recording was on but the trace database is not in the dump. */
  | "not-captured"
  /** The input cannot carry traces (kernel dumps, most logs). */
  | "unsupported";

/**
 * Allocation stacks of a run, deduplicated. Written by the stack-trace plugin at
 * `heapsWalked` (STAGE_ENRICH) on `run.data.traces`; read by analyzers and reports.
 */
export interface TraceTable {
  status: TraceStatus;
  /** `FLG_USER_STACK_TRACE_DB` (+ust) and `FLG_HEAP_PAGE_ALLOCS` (+hpa) per view bitness. */
  ust: boolean;
  hpa: boolean;
  /** Plain-language explanation shown when status is not `present`. */
  note: string;
  stacks: StackRecord[];
  /**
   * Per allocation index: index into `stacks`, or -1. Length = run.allocations.count, or 0 when
   * no allocation has a decoded stack: read it as `stackOf[i] ?? -1`.
   */
  stackOf: Int32Array;
}
