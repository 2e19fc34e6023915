import type { Run } from "@leakscope/core";
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
