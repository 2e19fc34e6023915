import type { Run } from "@leakscope/core";
import { type Snapshot, addTypesToSnapshot, snapshotOfRun } from "@leakscope/analyze";
import { outstanding } from "@leakscope/pool-km";
import { poolRowsOfRun } from "./pool.js";

/** A walked run as a snapshot for `diff` and `trend`: heaps, size classes, stacks, pool tags and (optionally) C++ types. */
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
