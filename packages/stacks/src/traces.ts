import {
  type Address,
  AllocFlags,
  type FrameText,
  type ModuleInfo,
  type ProcessView,
  type Run,
  type StackRecord,
  type TraceTable,
  PEB_OFFSETS,
  formatAddress,
  readNtGlobalFlag,
} from "@leakscope/core";
import { type TraceDatabase, findTraceDatabase, resolveLegacyIndex } from "./tracedb.js";

/** `PEB.NtGlobalFlag` offsets (x86 / x64), from core's PEB table, and the gflags bits used here. */
export const PEB_NTGLOBALFLAG = { 32: PEB_OFFSETS[32].ntGlobalFlag, 64: PEB_OFFSETS[64].ntGlobalFlag } as const;
export const FLG_USER_STACK_TRACE_DB = 0x1000;
export const FLG_HEAP_PAGE_ALLOCS = 0x02000000;

/** `_RTL_STACK_TRACE_ENTRY` field offsets per bitness (Win7 through Win11). */
export const TRACE_ENTRY = {
  32: { index: 0x08, depth: 0x0a, frames: 0x0c },
  64: { index: 0x0c, depth: 0x0e, frames: 0x10 },
} as const;
export const MAX_FRAMES = 32;

export interface GlobalFlags {
  bitness: 32 | 64;
  value: number;
  ust: boolean;
  hpa: boolean;
}

/** NtGlobalFlag of each view's PEB (undefined when the PEB is not in the dump). */
export function readGlobalFlags(view: ProcessView): GlobalFlags | undefined {
  const value = readNtGlobalFlag(view);
  if (value === undefined) return undefined;
  return {
    bitness: view.bitness,
    value,
    ust: (value & FLG_USER_STACK_TRACE_DB) !== 0,
    hpa: (value & FLG_HEAP_PAGE_ALLOCS) !== 0,
  };
}

/** Sorted module ranges for "is this a code address" checks and module+offset text. */
export class ModuleMap {
  private readonly mods: ModuleInfo[];
  private readonly starts: Float64Array;
  constructor(modules: readonly ModuleInfo[]) {
    this.mods = modules.filter((m) => m.size > 0 && m.base === m.base).slice().sort((a, b) => a.base - b.base);
    this.starts = Float64Array.from(this.mods.map((m) => m.base));
  }
  get size(): number {
    return this.mods.length;
  }
  find(va: Address): ModuleInfo | undefined {
    let lo = 0;
    let hi = this.starts.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid]! <= va) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const m = best >= 0 ? this.mods[best] : undefined;
    return m && va < m.base + m.size ? m : undefined;
  }
}

/** WinDbg-style module name: file name without extension. */
export function moduleShortName(m: ModuleInfo): string {
  return m.name.replace(/^.*[\\/]/, "").replace(/\.(dll|exe|sys|drv|ocx|cpl)$/i, "");
}

/** `module+0x1234` for every frame (the symbol-free baseline; a symbolizer may replace it). */
export function moduleOffsetText(frames: readonly Address[], modules: ModuleMap): FrameText[] {
  return frames.map((a) => {
    const m = modules.find(a);
    if (!m) return { text: formatAddress(a) };
    const name = moduleShortName(m);
    return { text: `${name}+0x${(a - m.base).toString(16)}`, module: name, offset: a - m.base };
  });
}

/**
 * Read one `_RTL_STACK_TRACE_ENTRY`: the frame count is `Index` for +ust heap traces and
 * `Depth` for page-heap traces; frames must be non-zero, and when modules are known the first
 * frame must be code in a module. Returns undefined for anything that does not look like one.
 */
export function readTraceEntry(view: ProcessView, entry: Address, modules: ModuleMap): Address[] | undefined {
  const layout = TRACE_ENTRY[view.bitness];
  const space = view.space;
  const ps = view.bitness === 64 ? 8 : 4;
  for (const at of [layout.index, layout.depth]) {
    const n = space.u16(entry + at);
    if (!(n >= 1 && n <= MAX_FRAMES)) continue;
    const frames: Address[] = [];
    let ok = true;
    for (let k = 0; k < n; k++) {
      const f = space.ptr(entry + layout.frames + k * ps);
      if (!(f === f) || f === 0) {
        ok = false;
        break;
      }
      frames.push(f);
    }
    if (!ok) continue;
    if (modules.size > 0 && !modules.find(frames[0]!)) {
      // the innermost frame is the allocator's return address: it must be code
      if (!frames.some((f) => modules.find(f))) continue;
    }
    return frames;
  }
  return undefined;
}

/**
 * Decode the stack of every allocation that carries a trace pointer, deduplicate identical
 * stacks, and say plainly whether traces exist. One read per distinct trace entry (cached), so
 * millions of blocks sharing a few thousand stacks cost a map lookup each.
 */
export function buildTraceTable(run: Run): TraceTable {
  const set = run.allocations;
  // allocated at the first decoded stack: most dumps have none, and 4 bytes per block (64 MB at
  // 16M blocks) written with -1 cost a page fault per 4 KiB
  let stackOf: Int32Array | undefined;
  const stacks: StackRecord[] = [];
  const byKey = new Map<string, number>();
  const flags = run.target.views.map(readGlobalFlags);
  const ust = flags.some((f) => f?.ust === true);
  const hpa = flags.some((f) => f?.hpa === true);
  const moduleMaps = new Map<ProcessView, ModuleMap>();
  const entryCache = new Map<ProcessView, Map<number, number>>();
  let withPointer = 0;
  let decoded = 0;
  let indexOnly = 0;

  const moduleMapFor = (view: ProcessView): ModuleMap => {
    let mm = moduleMaps.get(view);
    if (!mm) {
      mm = new ModuleMap(view.modules.length > 0 ? view.modules : run.target.modules);
      moduleMaps.set(view, mm);
    }
    return mm;
  };
  // Legacy (Windows 7) indices: find each view's trace database once, from sample indices.
  const databases = new Map<ProcessView, TraceDatabase | null>();
  const databaseFor = (view: ProcessView): TraceDatabase | undefined => {
    let db = databases.get(view);
    if (db === undefined) {
      const samples: number[] = [];
      for (let i = 0; i < set.count && samples.length < 16; i++) {
        const f = set.flags(i);
        const h = run.heaps[set.heap(i)];
        if ((f & AllocFlags.TRACE_INDEX) !== 0 && h?.view === view && !samples.includes(set.tracePointer(i))) samples.push(set.tracePointer(i));
      }
      db = findTraceDatabase(view, samples, moduleMapFor(view)) ?? null;
      databases.set(view, db);
    }
    return db ?? undefined;
  };
  let legacyDecoded = 0;

  const visit = (i: number, f: number): void => {
    const heap = run.heaps[set.heap(i)];
    if (!heap) return;
    const view = heap.view;
    const legacy = (f & AllocFlags.TRACE_INDEX) !== 0;
    if (legacy) indexOnly++;
    else withPointer++;
    const mm = moduleMapFor(view);
    let cache = entryCache.get(view);
    if (!cache) entryCache.set(view, (cache = new Map()));
    const ptr = set.tracePointer(i);
    // legacy indices and pointers never collide in one cache: indices are stored negated
    const cacheKey = legacy ? -ptr - 1 : ptr;
    let id = cache.get(cacheKey);
    if (id === undefined) {
      let frames: Address[] | undefined;
      if (legacy) {
        const db = databaseFor(view);
        frames = db ? resolveLegacyIndex(view, db, ptr, mm) : undefined;
      } else frames = readTraceEntry(view, ptr, mm);
      if (frames) {
        const key = frames.join(",");
        id = byKey.get(key);
        if (id === undefined) {
          id = stacks.length;
          byKey.set(key, id);
          stacks.push({ frames, text: moduleOffsetText(frames, mm) });
        }
      } else id = -1;
      if (cache.size < 5_000_000) cache.set(cacheKey, id);
    }
    if (id >= 0) {
      stackOf ??= new Int32Array(set.count).fill(-1);
      stackOf[i] = id;
      decoded++;
      if (legacy) legacyDecoded++;
    }
  };
  // column by column: most blocks carry no trace, and the accessors' range checks add up at 10^7 blocks
  set.forEachChunk((c, n, base) => {
    const flagColumn = c.flags;
    for (let k = 0; k < n; k++) {
      const f = flagColumn[k]!;
      if ((f & AllocFlags.HAS_TRACE) !== 0) visit(base + k, f);
    }
  });

  let status: TraceTable["status"];
  let note: string;
  if (decoded > 0) {
    status = "present";
    note = `${decoded} of ${withPointer + indexOnly} blocks with a trace reference have a decoded stack (${stacks.length} distinct stacks).`;
    if (indexOnly > 0) note += ` ${legacyDecoded} of ${indexOnly} Windows 7 back-trace indices were resolved through the stack trace database.`;
  } else if (withPointer > 0 || indexOnly > 0) {
    status = "not-captured";
    note =
      indexOnly > 0 && withPointer === 0
        ? `${indexOnly} blocks carry a Windows 7 back-trace index, but the stack trace database was not resolved.`
        : `${withPointer} blocks carry a trace pointer, but the stack trace database is not in the dump: take a full-memory dump (procdump -ma).`;
  } else if (ust || hpa) {
    status = "not-captured";
    note = `NtGlobalFlag has ${ust ? "+ust" : ""}${ust && hpa ? " and " : ""}${hpa ? "+hpa" : ""}, but no block carries a trace: the heaps may predate the flag or the trace data is not in the dump.`;
  } else if (run.target.kind !== "user") {
    status = "unsupported";
    note = "This input does not carry allocation stacks.";
  } else {
    status = "disabled";
    const known = flags.filter((x): x is GlobalFlags => x !== undefined);
    note =
      known.length > 0
        ? `Stack traces cannot exist in this dump: NtGlobalFlag is ${known.map((x) => `0x${x.value.toString(16)} (${x.bitness}-bit PEB)`).join(", ")}, without +ust (0x1000). Enable it with gflags /i <program>.exe +ust, restart the program and take new dumps.`
        : "No allocation carries a stack trace and the PEB is not in the dump, so +ust cannot be checked.";
  }
  return { status, ust, hpa, note, stacks, stackOf: stackOf ?? new Int32Array(0) };
}
