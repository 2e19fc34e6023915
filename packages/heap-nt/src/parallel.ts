import {
  type Address,
  type AllocationColumns,
  PARALLEL_MIN_BYTES,
  type RecordedDiagnostic,
  type SpaceSlice,
  type SyncWorker,
  type SyncWorkerPool,
  planLanes,
  siblingWorkerPool,
} from "@leakscope/core";
import type { NtHeapLayout } from "./layouts.js";
import type { NtSegmentWalk } from "./state.js";

/** A segment whose header and uncommitted ranges were read: what its block loop needs. */
export interface PreparedSegment {
  seg: Address;
  first: Address;
  last: Address;
  /** Uncommitted ranges sorted by start, then `last` as a sentinel. */
  ucrStart: Float64Array;
  ucrSize: Float64Array;
  /** Size (granules) of the segment's own header entry, -1 when unknown. */
  prevSize: number;
}

/** Block loops of some segments of one heap, for a worker thread (structured-cloneable). */
export interface NtSegmentTask {
  slice: SpaceSlice;
  heapIndex: number;
  heapAddress: Address;
  layout: NtHeapLayout;
  encoded: boolean;
  encLo: number;
  encHi: number;
  lfh: boolean;
  frontEndHeap: Address;
  desc: Float64Array;
  segments: PreparedSegment[];
}

/** What a worker found in its segments: blocks as columns, indices local to them. */
export interface NtSegmentTaskResult {
  /** The blocks, one piece per chunk of the worker's allocation table. */
  pieces: AllocationColumns[];
  walks: NtSegmentWalk[];
  /** Free blocks as (address, Flink) pairs. */
  free: Float64Array;
  hosts: Int32Array;
  internals: Int32Array;
  diagnostics: RecordedDiagnostic[];
  incomplete: boolean;
  checksumFailures: number;
}

/** Lane boundaries for prepared segments (core's {@link planLanes} over their bytes). */
export function planSegmentLanes(prepared: readonly PreparedSegment[], workers: number, minBytes = PARALLEL_MIN_BYTES): number[] {
  return planLanes(
    prepared.map((p) => p.last - p.first),
    workers,
    minBytes,
  );
}

let pool: SyncWorkerPool | null | undefined;

/** Up to `n` workers for NT segment walks (none when the worker module is not there). */
export function ntWorkers(n: number): SyncWorker[] {
  if (pool === undefined) pool = siblingWorkerPool(import.meta.url, "nt-worker.js", "walkNtSegments") ?? null;
  return pool ? pool.take(n) : [];
}

/** Stop the NT walk's worker threads (they are also stopped with the process). */
export async function closeNtWorkers(): Promise<void> {
  if (pool) await pool.close();
  pool = undefined;
}
