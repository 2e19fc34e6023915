import { type Run, UsageError, minidumpOf } from "@leakscope/core";
import { type Snapshot, addTypesToSnapshot, snapshotOfRun } from "@leakscope/analyze";
import { outstanding } from "@leakscope/pool-km";
import { poolRowsOfRun } from "./pool.js";

/** Unix epoch of the FILETIME epoch (1601-01-01), in milliseconds. */
const FILETIME_EPOCH_MS = 11_644_473_600_000n;

/**
 * When the input was captured, in milliseconds since 1970: the minidump header's time stamp, or
 * a kernel dump header's SystemTime. Undefined for logs and for dumps that record no time.
 */
export function captureTimeOf(run: Run): number | undefined {
  const md = minidumpOf(run.target);
  if (md) return md.header.timestamp > 0 ? md.header.timestamp * 1000 : undefined;
  const kd = (run.target.data as { kernelDump?: { header: { systemTime?: bigint } } }).kernelDump;
  const ft = kd?.header.systemTime;
  if (typeof ft === "bigint" && ft > 0n) {
    const ms = ft / 10_000n - FILETIME_EPOCH_MS;
    if (ms > 0n && ms < 8_640_000_000_000_000n) return Number(ms);
  }
  return undefined;
}

/** Which program a dump is of: its main module's name, size and link time stamp. */
export interface ProgramIdentity {
  name: string;
  size: number;
  timestamp: number;
}

/**
 * The program of a user-mode dump (the first module of the module list is the main image); the
 * kernel for a kernel dump; undefined for logs (nothing to compare).
 */
export function programOf(run: Run): ProgramIdentity | undefined {
  const t = run.target;
  if (t.kind === "text") return undefined;
  const main = t.modules[0];
  if (!main) return undefined;
  return { name: main.name.toLowerCase(), size: main.size, timestamp: main.timestamp };
}

/** Throws a usage error (exit 2) when two inputs are dumps of different programs, unless forced. */
export function checkSameProgram(first: { path: string; program: ProgramIdentity | undefined }, other: { path: string; program: ProgramIdentity | undefined }, force: boolean): void {
  const a = first.program;
  const b = other.program;
  if (force || !a || !b) return;
  const differs: string[] = [];
  if (a.name !== b.name) differs.push(`main module ${a.name} vs ${b.name}`);
  else {
    if (a.size !== b.size) differs.push(`image size 0x${a.size.toString(16)} vs 0x${b.size.toString(16)}`);
    if (a.timestamp !== b.timestamp) differs.push(`link time stamp 0x${a.timestamp.toString(16)} vs 0x${b.timestamp.toString(16)}`);
  }
  if (differs.length > 0) {
    throw new UsageError(
      `${other.path} is not a dump of the same program as ${first.path} (${differs.join(", ")}): compare snapshots of one build of one program, or pass --force`,
    );
  }
}

/** A walked run as a snapshot for `diff` and `trend`: heaps, size classes, stacks, C++ types and pool tags. */
export function snapshotForCompare(run: Run, options: { types?: boolean } = {}): Snapshot {
  const snap = snapshotOfRun(run);
  if (options.types) addTypesToSnapshot(run, snap);
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
