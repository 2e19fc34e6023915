import type { PoolUsageRow } from "./pool.js";
import { outstanding } from "./poolused.js";

/** One tag in a comparison of two pool snapshots. */
export interface PoolDiffRow {
  tag: string;
  before?: PoolUsageRow;
  after?: PoolUsageRow;
  /** after − before, for outstanding allocations and bytes. */
  nonPagedAllocsDelta: number;
  nonPagedBytesDelta: number;
  pagedAllocsDelta: number;
  pagedBytesDelta: number;
  /** nonPagedBytesDelta + pagedBytesDelta. */
  bytesDelta: number;
  status: "growing" | "shrinking" | "unchanged" | "new" | "gone";
}

function merge(rows: readonly PoolUsageRow[]): Map<string, PoolUsageRow> {
  const m = new Map<string, PoolUsageRow>();
  for (const r of rows) {
    const cur = m.get(r.tag);
    if (!cur) m.set(r.tag, { ...r });
    else {
      cur.nonPagedAllocs += r.nonPagedAllocs;
      cur.nonPagedFrees += r.nonPagedFrees;
      cur.nonPagedBytes += r.nonPagedBytes;
      cur.pagedAllocs += r.pagedAllocs;
      cur.pagedFrees += r.pagedFrees;
      cur.pagedBytes += r.pagedBytes;
    }
  }
  return m;
}

/**
 * Compare two snapshots keyed by tag (rows from dumps or parsed `!poolused` text; duplicate tags
 * are summed). Growing tags come first, by byte growth (then outstanding-allocation growth), then
 * new, unchanged, shrinking and gone tags.
 */
export function diffPoolUsage(before: readonly PoolUsageRow[], after: readonly PoolUsageRow[]): PoolDiffRow[] {
  const a = merge(before);
  const b = merge(after);
  const tags = new Set([...a.keys(), ...b.keys()]);
  const out: PoolDiffRow[] = [];
  for (const tag of tags) {
    const x = a.get(tag);
    const y = b.get(tag);
    const npA = (y ? outstanding(y.nonPagedAllocs, y.nonPagedFrees) : 0) - (x ? outstanding(x.nonPagedAllocs, x.nonPagedFrees) : 0);
    const pA = (y ? outstanding(y.pagedAllocs, y.pagedFrees) : 0) - (x ? outstanding(x.pagedAllocs, x.pagedFrees) : 0);
    const npB = (y?.nonPagedBytes ?? 0) - (x?.nonPagedBytes ?? 0);
    const pB = (y?.pagedBytes ?? 0) - (x?.pagedBytes ?? 0);
    const bytes = npB + pB;
    const allocs = npA + pA;
    let status: PoolDiffRow["status"];
    if (!x) status = "new";
    else if (!y) status = "gone";
    else if (bytes > 0 || (bytes === 0 && allocs > 0)) status = "growing";
    else if (bytes < 0 || allocs < 0) status = "shrinking";
    else status = "unchanged";
    const row: PoolDiffRow = { tag, nonPagedAllocsDelta: npA, nonPagedBytesDelta: npB, pagedAllocsDelta: pA, pagedBytesDelta: pB, bytesDelta: bytes, status };
    if (x) row.before = x;
    if (y) row.after = y;
    out.push(row);
  }
  const rank = (r: PoolDiffRow): number => (r.bytesDelta > 0 || (r.bytesDelta === 0 && r.nonPagedAllocsDelta + r.pagedAllocsDelta > 0) ? 0 : r.bytesDelta === 0 && r.nonPagedAllocsDelta + r.pagedAllocsDelta === 0 ? 1 : 2);
  out.sort(
    (p, q) =>
      rank(p) - rank(q) ||
      q.bytesDelta - p.bytesDelta ||
      q.nonPagedAllocsDelta + q.pagedAllocsDelta - (p.nonPagedAllocsDelta + p.pagedAllocsDelta) ||
      (p.tag < q.tag ? -1 : p.tag > q.tag ? 1 : 0),
  );
  return out;
}

function signed(n: number, w: number): string {
  return (n > 0 ? `+${n}` : String(n)).padStart(w, " ");
}

/** A text table of a diff: tag, byte and allocation deltas for each pool, status. */
export function renderPoolDiff(rows: readonly PoolDiffRow[], top?: number): string {
  const list = top === undefined ? rows : rows.slice(0, top);
  const out = [" Tag   NonPaged Δbytes  Δallocs    Paged Δbytes  Δallocs   status"];
  for (const r of list) {
    out.push(` ${r.tag.padEnd(4)} ${signed(r.nonPagedBytesDelta, 16)} ${signed(r.nonPagedAllocsDelta, 8)} ${signed(r.pagedBytesDelta, 15)} ${signed(r.pagedAllocsDelta, 8)}   ${r.status}`);
  }
  return out.join("\n") + "\n";
}
