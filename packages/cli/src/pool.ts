import type { PoolSection, Run } from "@leakscope/core";
import {
  type PoolKmApi,
  type PoolSort,
  type PoolUsageRow,
  findTagOwnersInDirectory,
  findTagOwnersInDump,
  outstanding,
  rankOwners,
  sortPoolRows,
  systemTagHint,
} from "@leakscope/pool-km";
import { poolDescription } from "@leakscope/format";
import { poolRowsOf } from "@leakscope/windbg-text";
import { dec, hex } from "./text.js";

export type PoolRowOut = PoolSection["rows"][number];

/** Pool rows of a run: tracker tables of a kernel dump, or the `!poolused` / poolmon rows of a log. */
export function poolRowsOfRun(run: Run): { rows: PoolUsageRow[]; method: string } | undefined {
  const target = run.target;
  if (target.kind === "kernel") {
    const api = run.engine.api<PoolKmApi>("pool-km");
    const dump = (target.data as { kernelDump?: Parameters<PoolKmApi["poolUsage"]>[0] }).kernelDump;
    if (!api || !dump) return undefined;
    const usage = api.poolUsage(dump); // its diagnostics go to the target's collector
    return { rows: usage.rows, method: usage.method };
  }
  if (target.kind === "text") {
    const rows = poolRowsOf(target);
    return rows.length > 0 ? { rows: rows as PoolUsageRow[], method: "log" } : undefined;
  }
  return undefined;
}

/** The `pool` report section: sorted rows with descriptions, owning drivers and next-step hints. */
export function poolSection(
  run: Run,
  rows: PoolUsageRow[],
  method: string,
  options: { sort: PoolSort; top: number; drivers?: string; owners: boolean },
): PoolSection {
  const api = run.engine.api<PoolKmApi>("pool-km");
  const db = api?.pooltag();
  const sorted = sortPoolRows(rows, options.sort).slice(0, options.top);
  const notes: string[] = [];
  if (!db && !rows.some((r) => (r as { description?: string }).description !== undefined)) notes.push("No pooltag.txt found: pass --pooltag FILE (Debugging Tools for Windows ships one) for tag descriptions.");
  if (method === "pool-header-scan") notes.push("Totals come from a scan of the pool headers present in the dump, not from the tracker tables: a lower bound.");
  if (method === "none") notes.push("The pool tracker tables are not in this dump and no pool pages could be scanned: take a full or kernel memory dump.");
  const tags = sorted.map((r) => r.tag);
  const ownersByTag = new Map<string, string[]>();
  if (options.owners && tags.length > 0) {
    const found = [
      ...(run.target.kind === "kernel" ? ownersInDump(run, tags) : []),
      ...(options.drivers ? findTagOwnersInDirectory(options.drivers, tags) : []),
    ];
    for (const o of rankOwners(found, tags)) {
      const list = ownersByTag.get(o.tag) ?? [];
      if (!list.includes(o.driver)) list.push(o.driver);
      ownersByTag.set(o.tag, list);
    }
  }
  return {
    source: run.target.format,
    method,
    sort: options.sort,
    notes,
    rows: sorted.map((r) => {
      const out: PoolRowOut = {
        tag: r.tag,
        nonPagedAllocs: outstanding(r.nonPagedAllocs, r.nonPagedFrees),
        nonPagedBytes: r.nonPagedBytes,
        pagedAllocs: outstanding(r.pagedAllocs, r.pagedFrees),
        pagedBytes: r.pagedBytes,
      };
      // A log's own description and owner win; pooltag.txt fills what it left blank.
      const own = r as { description?: string; binary?: string };
      const d = own.description === undefined || own.binary === undefined ? db?.lookup(r.tag) : undefined;
      const description = own.description ?? d?.description;
      const binary = own.binary ?? d?.binary;
      if (description) out.description = description;
      if (binary) out.binary = binary;
      const owners = ownersByTag.get(r.tag);
      if (owners?.length) out.owners = owners;
      const hint = systemTagHint(r.tag);
      if (hint) out.hint = hint;
      return out;
    }),
  };
}

function ownersInDump(run: Run, tags: string[]) {
  const kd = (run.target.data as { kernelDump?: { space?: import("@leakscope/core").AddressSpace } }).kernelDump;
  const space = kd?.space;
  return space ? findTagOwnersInDump(space, run.target.modules, tags) : [];
}

/** `!poolused`-like text (counts in decimal, bytes in hex, as every leakscope table). */
export function renderPool(section: PoolSection): string {
  const lines = [
    ` Sorting by ${section.sort === "paged" ? "Paged" : section.sort === "tag" ? "Tag" : section.sort === "allocs" ? "Allocations" : "NonPaged"} Pool Consumed (${section.method})`,
    "",
    "                NonPaged                    Paged",
    " Tag   Allocs (dec)  Used (hex)   Allocs (dec)  Used (hex)",
    "",
  ];
  for (const r of section.rows) {
    const desc = poolDescription(r);
    lines.push(
      ` ${r.tag.padEnd(4)} ${dec(r.nonPagedAllocs).padStart(14)} ${hex(r.nonPagedBytes).padStart(11)} ${dec(r.pagedAllocs).padStart(14)} ${hex(r.pagedBytes).padStart(11)}\t${desc || `UNKNOWN pooltag '${r.tag}'`}`,
    );
    if (r.owners?.length) lines.push(`        owners: ${r.owners.join(", ")}`);
    if (r.hint) lines.push(`        next: ${r.hint}`);
  }
  for (const n of section.notes) lines.push("", n);
  return `${lines.join("\n")}\n`;
}
