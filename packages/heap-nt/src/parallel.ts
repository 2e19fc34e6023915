import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Address, type AllocationColumns, type DiagnosticLocation, type SpaceSlice, type SyncWorker, SyncWorkerPool } from "@leakscope/core";
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

/** A diagnostic a worker raised, with the number of blocks it had appended by then. */
export interface RecordedDiagnostic {
  code: string;
  severity: string;
  message: string;
  location: DiagnosticLocation | undefined;
  at: number;
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

/**
 * By default a heap is walked on several threads only from this many bytes of segments: a
 * worker's part costs a few milliseconds to post and merge, and a worker's first part runs
 * slower while V8 compiles the block loop. Each lane gets at least a quarter of it.
 */
export const PARALLEL_MIN_BYTES = 32 << 20;

/**
 * Cut the prepared segments into contiguous lanes of about equal bytes: returns the lane
 * boundaries [0, b1, ..., n] (one lane, [0, n], when parallel walking does not pay). Depends only
 * on the segments, `workers` and `minBytes`, never on timing.
 */
export function planLanes(prepared: readonly PreparedSegment[], workers: number, minBytes = PARALLEL_MIN_BYTES): number[] {
  const n = prepared.length;
  let total = 0;
  for (const p of prepared) total += p.last - p.first;
  const laneMin = Math.max(1, minBytes / 4);
  const lanes = Math.min(Math.floor(workers) + 1, n, Math.floor(total / laneMin));
  if (!(workers >= 1) || total < minBytes || lanes < 2) return [0, n];
  const bounds = [0];
  let acc = 0;
  for (let k = 0; k < n && bounds.length < lanes; k++) {
    acc += prepared[k]!.last - prepared[k]!.first;
    // close lane `bounds.length - 1` once the lanes so far hold their share of the bytes
    if (acc >= (total * bounds.length) / lanes && k + 1 < n) bounds.push(k + 1);
  }
  bounds.push(n);
  return bounds;
}

let pool: SyncWorkerPool | null | undefined;

/** The worker module beside this one (dist/worker.js), or from the sources the built one. */
function workerModule(): URL | undefined {
  for (const rel of ["./worker.js", "../dist/worker.js"]) {
    const u = new URL(rel, import.meta.url);
    try {
      if (u.protocol === "file:" && existsSync(fileURLToPath(u))) return u;
    } catch {
      // not a file URL: no worker
    }
  }
  return undefined;
}

/** Up to `n` workers for NT segment walks (none when the worker module is not there). */
export function ntWorkers(n: number): SyncWorker[] {
  if (pool === undefined) {
    const url = workerModule();
    pool = url ? new SyncWorkerPool(url, "walkNtSegments") : null;
  }
  return pool ? pool.take(n) : [];
}

/** Stop the NT walk's worker threads (they are also stopped with the process). */
export async function closeNtWorkers(): Promise<void> {
  if (pool) await pool.close();
  pool = undefined;
}
