import type { AllocationColumns } from "../model/allocations.js";
import type { DiagnosticLocation, Diagnostics, Severity } from "../diagnostics.js";

/**
 * By default an allocator's pieces (segments) are shared out between threads only from this many
 * bytes: a worker's part costs a few milliseconds to post and merge, and a worker's first part runs
 * slower while V8 compiles its loops. Each lane gets at least a quarter of it.
 */
export const PARALLEL_MIN_BYTES = 32 << 20;

/**
 * Cut a list of pieces of `sizes` bytes into contiguous lanes of about equal bytes, one for the
 * calling thread and up to `workers` more: returns the lane boundaries [0, b1, ..., n], lane j
 * being [b_j, b_j+1); [0, n] (one lane) when sharing does not pay (fewer than `minBytes` in all,
 * or lanes would be smaller than a quarter of it). Depends only on its arguments, never on timing,
 * so a walk that merges lanes in order gives the same result whatever the machine.
 */
export function planLanes(sizes: readonly number[], workers: number, minBytes = PARALLEL_MIN_BYTES): number[] {
  const n = sizes.length;
  let total = 0;
  for (const s of sizes) total += s > 0 ? s : 0;
  const laneMin = Math.max(1, minBytes / 4);
  const lanes = Math.min(Math.floor(workers) + 1, n, Math.floor(total / laneMin));
  if (!(workers >= 1) || total < minBytes || lanes < 2) return [0, n];
  const bounds = [0];
  let acc = 0;
  for (let k = 0; k < n && bounds.length < lanes; k++) {
    acc += sizes[k]! > 0 ? sizes[k]! : 0;
    // close lane `bounds.length - 1` once the lanes so far hold their share of the bytes
    if (acc >= (total * bounds.length) / lanes && k + 1 < n) bounds.push(k + 1);
  }
  bounds.push(n);
  return bounds;
}

/** A diagnostic raised on a worker thread, with the number of blocks it had appended by then. */
export interface RecordedDiagnostic {
  code: string;
  severity: Severity;
  message: string;
  location: DiagnosticLocation | undefined;
  at: number;
}

/**
 * A stand-in for `run.diagnostics` on a worker thread: records every report with `count()` (the
 * blocks appended so far), so the main thread can replay it at the same place of its own walk
 * ({@link replayDiagnostics}).
 */
export class DiagnosticRecorder {
  readonly list: RecordedDiagnostic[] = [];
  constructor(private readonly count: () => number) {}
  report(_source: string, code: string, severity: Severity, message: string, location?: DiagnosticLocation): void {
    this.list.push({ code, severity, message, location, at: this.count() });
  }
}

/** Report `list[from..]` whose `at` is at most `upTo` (all by default) to `diagnostics`; returns the index of the first one left. */
export function replayDiagnostics(diagnostics: Diagnostics, source: string, list: readonly RecordedDiagnostic[], from = 0, upTo = Number.POSITIVE_INFINITY): number {
  let d = from;
  while (d < list.length && list[d]!.at <= upTo) {
    const x = list[d++]!;
    diagnostics.report(source, x.code, x.severity, x.message, x.location);
  }
  return d;
}

/**
 * The buffers of column pieces and other typed arrays, for a result's transfer list, each named
 * once. Shared memory is left out: it cannot be transferred, and posting it shares it anyway.
 */
export function transferList(pieces: readonly AllocationColumns[], ...arrays: ArrayBufferView[]): ArrayBuffer[] {
  const all: ArrayBufferView[] = [...arrays];
  for (const c of pieces) all.push(c.userAddress, c.blockAddress, c.requestedSize, c.blockSize, c.tracePointer, c.heap, c.flags, c.host);
  const out = new Set<ArrayBuffer>();
  for (const a of all) if (a.buffer instanceof ArrayBuffer) out.add(a.buffer);
  return [...out];
}
