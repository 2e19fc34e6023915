import { type PoolUsageRow, keyToRaw } from "./pool.js";
import type { PoolTagDatabase } from "./pooltag.js";

/** Sort keys mirroring `!poolused` flags: 0 tag, 2 nonpaged bytes, 4 paged bytes; plus allocs. */
export type PoolSort = "tag" | "nonpaged" | "paged" | "allocs";

/** Outstanding allocations (allocs − frees, never negative). */
export function outstanding(allocs: number, frees: number): number {
  return allocs > frees ? allocs - frees : 0;
}

/** Sort rows like `!poolused`: bytes descending (nonpaged / paged), outstanding allocations, or tag. Ties by tag. */
export function sortPoolRows(rows: readonly PoolUsageRow[], by: PoolSort = "nonpaged"): PoolUsageRow[] {
  const tagCmp = (a: PoolUsageRow, b: PoolUsageRow): number => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0);
  const key = (r: PoolUsageRow): number =>
    by === "nonpaged"
      ? r.nonPagedBytes
      : by === "paged"
        ? r.pagedBytes
        : by === "allocs"
          ? outstanding(r.nonPagedAllocs, r.nonPagedFrees) + outstanding(r.pagedAllocs, r.pagedFrees)
          : 0;
  return rows.slice().sort((a, b) => key(b) - key(a) || tagCmp(a, b));
}

export interface PoolUsedTextOptions {
  /** `!poolused` flags: bit 0 verbose, 2 sort by nonpaged, 4 sort by paged (else by tag). */
  flags?: number;
  /** Sort override (e.g. "allocs", which `!poolused` has no flag for). */
  sort?: PoolSort;
  /** Only tags matching this pattern (`?` and `*` wildcards, as `!poolused 1 Hack`). */
  tagFilter?: string;
  /** At most this many rows (`/t N`). */
  top?: number;
  /** Descriptions for the last column. */
  pooltag?: PoolTagDatabase;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, " ");
}

function tagMatcher(pattern: string): (tag: string) => boolean {
  let re = "^";
  for (const ch of pattern) re += ch === "?" ? "." : ch === "*" ? ".*" : ch.replace(/[\\^$.|+()[\]{}]/g, "\\$&");
  const rx = new RegExp(pattern.includes("*") ? re : `${re}\\s*$`, "i");
  return (tag) => rx.test(tag);
}

/**
 * Render rows in the modern kdexts `!poolused` text format (kernel-pool.md §7.1), line for line:
 * title, blank, two header lines, blank, rows (`" %-4s %9d %12d %10d %12d\t%s"` or the verbose
 * form), and for verbose output a blank line and the TOTAL row.
 */
export function renderPoolUsed(rows: readonly PoolUsageRow[], options: PoolUsedTextOptions = {}): string {
  const flags = options.flags ?? 2;
  const verbose = (flags & 1) !== 0;
  const sort: PoolSort = options.sort ?? ((flags & 2) !== 0 ? "nonpaged" : (flags & 4) !== 0 ? "paged" : "tag");
  let list = sortPoolRows(rows, sort);
  if (options.tagFilter) {
    const m = tagMatcher(options.tagFilter);
    list = list.filter((r) => m(r.tag));
  }
  if (options.top !== undefined) list = list.slice(0, Math.max(0, options.top));
  const title = sort === "nonpaged" ? " Sorting by NonPaged Pool Consumed" : sort === "paged" ? " Sorting by Paged Pool Consumed" : sort === "allocs" ? " Sorting by Allocations" : " Sorting by Tag";
  const out: string[] = [title, ""];
  if (verbose) {
    out.push("                            NonPaged                                         Paged");
    out.push(" Tag       Allocs       Frees      Diff         Used       Allocs       Frees      Diff         Used");
  } else {
    out.push("               NonPaged                  Paged");
    out.push(" Tag     Allocs         Used     Allocs         Used");
  }
  out.push("");
  const tot = [0, 0, 0, 0, 0, 0, 0, 0];
  for (const r of list) {
    const desc = options.pooltag ? options.pooltag.describe(r.tag, r.key !== undefined ? keyToRaw(r.key) : r.tag) : "";
    const npDiff = r.nonPagedAllocs - r.nonPagedFrees;
    const pDiff = r.pagedAllocs - r.pagedFrees;
    if (verbose) {
      out.push(
        ` ${r.tag.padEnd(4)} ${pad(r.nonPagedAllocs, 11)} ${pad(r.nonPagedFrees, 11)} ${pad(npDiff, 9)} ${pad(r.nonPagedBytes, 12)}  ${pad(r.pagedAllocs, 11)} ${pad(r.pagedFrees, 11)} ${pad(pDiff, 9)} ${pad(r.pagedBytes, 12)}\t${desc}`,
      );
    } else {
      out.push(` ${r.tag.padEnd(4)} ${pad(outstanding(r.nonPagedAllocs, r.nonPagedFrees), 9)} ${pad(r.nonPagedBytes, 12)} ${pad(outstanding(r.pagedAllocs, r.pagedFrees), 10)} ${pad(r.pagedBytes, 12)}\t${desc}`);
    }
    tot[0]! += r.nonPagedAllocs;
    tot[1]! += r.nonPagedFrees;
    tot[2]! += npDiff;
    tot[3]! += r.nonPagedBytes;
    tot[4]! += r.pagedAllocs;
    tot[5]! += r.pagedFrees;
    tot[6]! += pDiff;
    tot[7]! += r.pagedBytes;
  }
  if (verbose) {
    out.push("");
    out.push(`TOTAL ${pad(tot[0]!, 11)} ${pad(tot[1]!, 11)} ${pad(tot[2]!, 9)} ${pad(tot[3]!, 12)}  ${pad(tot[4]!, 11)} ${pad(tot[5]!, 11)} ${pad(tot[6]!, 9)} ${pad(tot[7]!, 12)}`);
  }
  return out.join("\n") + "\n";
}
