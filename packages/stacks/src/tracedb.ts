import type { Address, ProcessView } from "@leakscope/core";
import { MAX_FRAMES, type ModuleMap, TRACE_ENTRY } from "./traces.js";

/**
 * `_STACK_TRACE_DATABASE` fields used to resolve legacy (Windows 7) back-trace indices:
 * `EntryIndexArray` points at the top of the database region and grows down, so the entry of
 * trace index i is the pointer at `EntryIndexArray - i * pointerSize`.
 */
export const TRACE_DB = {
  32: { entryIndexArray: 0x64, numberOfBuckets: 0x178, buckets: 0x17c },
  64: { entryIndexArray: 0xb8, numberOfBuckets: 0x2d0, buckets: 0x2d8 },
} as const;

/** Largest database region accepted (gflags /tracedb allows up to a few hundred MB). */
const MAX_DB_SPAN = 1024 * 1024 * 1024;

export interface TraceDatabase {
  base: Address;
  entryIndexArray: Address;
}

/** Frames of a legacy entry: `Depth` is the frame count, `Index` must equal the trace index. */
export function readLegacyEntry(view: ProcessView, entry: Address, index: number, modules: ModuleMap): Address[] | undefined {
  const layout = TRACE_ENTRY[view.bitness];
  const space = view.space;
  const ps = view.bitness === 64 ? 8 : 4;
  if (space.u16(entry + layout.index) !== index) return undefined;
  const n = space.u16(entry + layout.depth);
  if (!(n >= 1 && n <= MAX_FRAMES)) return undefined;
  const frames: Address[] = [];
  for (let k = 0; k < n; k++) {
    const f = space.ptr(entry + layout.frames + k * ps);
    if (!(f === f) || f === 0) return undefined;
    frames.push(f);
  }
  if (modules.size > 0 && !frames.some((f) => modules.find(f))) return undefined;
  return frames;
}

function entryFor(view: ProcessView, db: TraceDatabase, index: number): Address {
  const ps = view.bitness === 64 ? 8 : 4;
  const slot = db.entryIndexArray - index * ps;
  if (slot <= db.base) return Number.NaN;
  const e = view.space.ptr(slot);
  return e === e && e > db.base && e < db.entryIndexArray ? e : Number.NaN;
}

/**
 * Find the stack trace database of a view without symbols: try each captured region start as
 * a `_STACK_TRACE_DATABASE` header (EntryIndexArray above it in range, a sane bucket count and
 * bucket array) and keep the candidate that resolves the most of the given sample indices to
 * valid entries. Bounded: at most `maxCandidates` region starts are tried.
 */
export function findTraceDatabase(
  view: ProcessView,
  sampleIndices: readonly number[],
  modules: ModuleMap,
  maxCandidates = 200_000,
): TraceDatabase | undefined {
  const L = TRACE_DB[view.bitness];
  const ps = view.bitness === 64 ? 8 : 4;
  const space = view.space;
  let best: TraceDatabase | undefined;
  let bestHits = 0;
  let tried = 0;
  const samples = sampleIndices.slice(0, 16);
  for (const r of space.ranges()) {
    // headers sit at the start of their reserved region (64 KiB aligned) or at a page start
    for (let p = r.address + ((0x1000 - (r.address % 0x1000)) % 0x1000); p < r.address + r.size && p < r.address + 0x10000; p += 0x1000) {
      if (++tried > maxCandidates) return best;
      const e = space.ptr(p + L.entryIndexArray);
      if (!(e === e) || e <= p || e - p > MAX_DB_SPAN || e % ps !== 0) continue;
      const nb = space.u32(p + L.numberOfBuckets);
      if (!(nb >= 1 && nb <= 0x100000)) continue;
      const buckets = space.ptr(p + L.buckets);
      if (!(buckets === buckets) || buckets < p || buckets >= e) continue;
      const db = { base: p, entryIndexArray: e };
      let hits = 0;
      for (const i of samples) {
        const entry = entryFor(view, db, i);
        if (entry === entry && readLegacyEntry(view, entry, i, modules)) hits++;
      }
      if (hits > bestHits) {
        bestHits = hits;
        best = db;
      }
    }
  }
  return best;
}

/** Resolve one legacy index to frames through a found database. */
export function resolveLegacyIndex(view: ProcessView, db: TraceDatabase, index: number, modules: ModuleMap): Address[] | undefined {
  const entry = entryFor(view, db, index);
  return entry === entry ? readLegacyEntry(view, entry, index, modules) : undefined;
}
