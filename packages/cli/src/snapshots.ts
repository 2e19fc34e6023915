import { type Report, type Run, minidumpOf } from "@leakscope/core";
import { type Snapshot, addTypesToSnapshot, snapshotOfRun } from "@leakscope/analyze";
import { outstanding } from "@leakscope/pool-km";
import { logDiffGroups } from "@leakscope/windbg-text";
import { poolRowsOfRun } from "./pool.js";

/** A walked run as a snapshot for `diff` and `trend`: heaps, size classes, stacks, pool tags and (optionally) C++ types. */
export function snapshotForCompare(run: Run, options: { types?: boolean } = {}): Snapshot {
  const snap = snapshotOfRun(run);
  if (options.types) addTypesToSnapshot(run, snap);
  // A log's own -stat tables and !heap -s commit are what it says about each heap.
  const log = logDiffGroups(run);
  if (log) {
    for (const h of log.heaps) snap.heaps.set(h.key, { count: h.count, bytes: h.bytes });
    for (const k of [...snap.classes.keys()]) if (log.heaps.some((h) => k.startsWith(`${h.key}/`))) snap.classes.delete(k);
    for (const c of log.classes) snap.classes.set(c.key, { heap: c.heap, size: c.size, count: c.count, bytes: c.bytes });
    snap.other ??= new Map();
    for (const c of log.commits) snap.other.set(c.key, { kind: "heap", count: 0, bytes: c.bytes });
  }
  const pool = poolRowsOfRun(run);
  if (pool) {
    snap.other ??= new Map();
    for (const row of pool.rows) {
      const count = outstanding(row.nonPagedAllocs, row.nonPagedFrees) + outstanding(row.pagedAllocs, row.pagedFrees);
      snap.other.set(row.tag, { kind: "pool-tag", count, bytes: row.nonPagedBytes + row.pagedBytes });
    }
  }
  return snap;
}

/** What says two dumps come from one program, and when each was written (`diff`, `trend`, `batch`). */
export interface InputIdentity {
  path: string;
  /** The main module (a process's executable, a kernel's ntoskrnl); absent for text logs. */
  program?: { name: string; size: number; timestamp: number };
  /** When the dump was written, seconds since 1970 (UTC). */
  capturedAt?: number;
}

export function identify(run: Run): InputIdentity {
  const t = run.target;
  const id: InputIdentity = { path: run.input.path };
  const main = t.kind === "text" ? undefined : t.modules[0];
  if (main) id.program = { name: (main.name.split(/[\\/]/).pop() ?? main.name).toLowerCase(), size: main.size, timestamp: main.timestamp >>> 0 };
  const md = minidumpOf(t);
  if (md && md.header.timestamp > 0) id.capturedAt = md.header.timestamp;
  const kd = (t.data as { kernelDump?: { header: { systemTime: bigint } } }).kernelDump;
  if (kd && kd.header.systemTime > 0n) id.capturedAt = Number(kd.header.systemTime / 10_000_000n) - 11_644_473_600;
  return id;
}

const describeProgram = (p: NonNullable<InputIdentity["program"]>): string => `${p.name} (size 0x${p.size.toString(16)}, timestamp 0x${p.timestamp.toString(16)})`;

/**
 * `A is app.exe (…) but B is other.exe (…)` when two inputs are dumps of different programs (main
 * module name, size or link time stamp differ); undefined when they are one program or either is
 * a log.
 */
export function differentPrograms(a: InputIdentity, b: InputIdentity): string | undefined {
  const x = a.program;
  const y = b.program;
  if (!x || !y || (x.name === y.name && x.size === y.size && x.timestamp === y.timestamp)) return undefined;
  return `${a.path} is ${describeProgram(x)} but ${b.path} is ${describeProgram(y)}`;
}

/** Each diagnostic names the input it came from, so the outputs can group them per input. */
export function tagInput(diagnostics: Report["diagnostics"], path: string): Report["diagnostics"] {
  return diagnostics.map((d) => ({ ...d, location: { ...d.location, file: d.location?.file ?? path } }));
}
