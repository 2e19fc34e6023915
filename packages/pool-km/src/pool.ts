import { type Address, type AddressSpace, type Diagnostics, emptyWindow, formatAddress } from "@leakscope/core";
import type { KernelDump } from "./kdump.js";
import { PAGE_SIZE } from "./physical.js";

const SOURCE = "pool-km";

/**
 * One `!poolused` row: a tag with its nonpaged and paged counters. "Allocs" are allocations,
 * "Frees" frees; outstanding = allocs − frees (what `!poolused` prints as Allocs in its short
 * form); "Bytes" is pool in use (`Used`). Rows parsed from non-verbose `!poolused` text carry the
 * outstanding count in `*Allocs` and 0 in `*Frees`.
 */
export interface PoolUsageRow {
  /** The tag as 4 printable characters (non-printable bytes shown as '.'; short tags space-padded). */
  tag: string;
  /** The raw u32 key when known (from a dump), for `UNKNOWN pooltag` messages. */
  key?: number;
  nonPagedAllocs: number;
  nonPagedFrees: number;
  nonPagedBytes: number;
  pagedAllocs: number;
  pagedFrees: number;
  pagedBytes: number;
}

/** How the rows were obtained. */
export type PoolUsageMethod = "tracker-tables" | "pool-header-scan" | "none";

/** Layout of one _POOL_TRACKER_TABLE entry. */
export interface TrackerLayout {
  size: number;
  /** Field offsets and widths (4 or 8 bytes). */
  fields: Record<"nonPagedAllocs" | "nonPagedFrees" | "nonPagedBytes" | "pagedAllocs" | "pagedFrees" | "pagedBytes", [offset: number, width: 4 | 8]>;
}

/** The tracker entry layout for a build and pointer size (kernel-pool.md §4.2). */
export function trackerLayout(build: number, pointerSize: 4 | 8): TrackerLayout {
  if (pointerSize === 8) {
    if (build < 16299) {
      return {
        size: 0x28,
        fields: { nonPagedAllocs: [4, 4], nonPagedFrees: [8, 4], nonPagedBytes: [0x10, 8], pagedAllocs: [0x18, 4], pagedFrees: [0x1c, 4], pagedBytes: [0x20, 8] },
      };
    }
    return {
      size: build < 22000 ? 0x38 : 0x50,
      fields: { nonPagedBytes: [8, 8], nonPagedAllocs: [0x10, 8], nonPagedFrees: [0x18, 8], pagedBytes: [0x20, 8], pagedAllocs: [0x28, 8], pagedFrees: [0x30, 8] },
    };
  }
  if (build < 16299) {
    return {
      size: 0x1c,
      fields: { nonPagedAllocs: [4, 4], nonPagedFrees: [8, 4], nonPagedBytes: [0xc, 4], pagedAllocs: [0x10, 4], pagedFrees: [0x14, 4], pagedBytes: [0x18, 4] },
    };
  }
  return {
    size: 0x30,
    fields: { nonPagedBytes: [4, 4], nonPagedAllocs: [8, 8], nonPagedFrees: [0x10, 8], pagedBytes: [0x18, 4], pagedAllocs: [0x20, 8], pagedFrees: [0x28, 8] },
  };
}

/** ExpComputeHashForTag before masking (kernel-pool.md §4.4): r = 0x9E5F × tag; r ^ (r >> 32). */
export function poolTagHash(key: number): number {
  const r = 0x9e5f * (key >>> 0);
  const hi = Math.floor(r / 4294967296);
  return ((r - hi * 4294967296) ^ hi) >>> 0;
}

/** The u32 key of a 4-character tag ('Proc' -> 0x636f7250); short tags are space-padded. */
export function tagToKey(tag: string): number {
  const t = tag.padEnd(4, " ");
  return (t.charCodeAt(0) | (t.charCodeAt(1) << 8) | (t.charCodeAt(2) << 16) | (t.charCodeAt(3) << 24)) >>> 0;
}

/** The printable form of a key: 4 characters, non-printable bytes as '.' (like `!poolused`). */
export function keyToTag(key: number): string {
  let s = "";
  for (let i = 0; i < 4; i++) {
    const c = (key >>> (i * 8)) & 0xff;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : ".";
  }
  return s;
}

/** The raw bytes of a key as Latin-1 text (what `!poolused` quotes in UNKNOWN pooltag lines). */
export function keyToRaw(key: number): string {
  let s = "";
  for (let i = 0; i < 4; i++) s += String.fromCharCode((key >>> (i * 8)) & 0xff);
  return s;
}

/**
 * Addresses of nt globals (the `&nt!Symbol` values WinDbg would take from the PDB). Each is the
 * address of the variable, not its value. Any may be omitted: leakscope then uses KDBG and
 * heuristics, and says so in diagnostics.
 */
export interface PoolSymbols {
  PoolTrackTable?: Address;
  PoolTrackTableSize?: Address;
  ExPoolTagTables?: Address;
  PoolTrackTableExpansion?: Address;
  PoolTrackTableExpansionSize?: Address;
  PoolBigPageTable?: Address;
  PoolBigPageTableSize?: Address;
}

export interface PoolUsageOptions {
  symbols?: PoolSymbols;
  /** PoolTrackTableSize when known (entries). Otherwise read from symbols or inferred. */
  poolTrackTableSize?: number;
  /** Override the entry layout (default: by build and pointer size). */
  layout?: TrackerLayout;
  /** Fall back to a pool-header scan of captured pages when the tables are not found. Default true. */
  headerScanFallback?: boolean;
  /** Largest tracker table accepted (entries). Default 1,048,576. */
  maxTableSize?: number;
  /** Most tracker entries read over all tables. Default 2^26. */
  maxEntryReads?: number;
}

/** Big-pool allocations summed by tag (from PoolBigPageTable). */
export interface BigPoolSummary {
  tag: string;
  key: number;
  nonPagedCount: number;
  nonPagedBytes: number;
  pagedCount: number;
  pagedBytes: number;
}

export interface PoolUsage {
  method: PoolUsageMethod;
  rows: PoolUsageRow[];
  /** VA of the global table, when found. */
  table?: Address;
  tableSize?: number;
  /** How the size was obtained. */
  tableSizeSource?: "option" | "symbol" | "inferred";
  entrySize?: number;
  /** Per-processor tables summed (index 0 = global), when found. */
  perCpuTables: Address[];
  /** How the per-processor tables were found. */
  perCpuSource?: "symbol" | "heuristic";
  expansionEntries: number;
  bigPool?: BigPoolSummary[];
  /** Pages scanned by the header-scan fallback. */
  scannedPages?: number;
}

class RowSet {
  readonly rows: PoolUsageRow[] = [];
  private readonly index = new Map<number, number>();
  get(key: number): PoolUsageRow {
    const i = this.index.get(key);
    if (i !== undefined) return this.rows[i]!;
    const row: PoolUsageRow = { tag: keyToTag(key), key, nonPagedAllocs: 0, nonPagedFrees: 0, nonPagedBytes: 0, pagedAllocs: 0, pagedFrees: 0, pagedBytes: 0 };
    this.index.set(key, this.rows.length);
    this.rows.push(row);
    return row;
  }
}

function readField(space: AddressSpace, at: Address, width: 4 | 8): number {
  return width === 4 ? space.u32(at) : space.u64(at);
}

/** Add the entry at `at` into `row`; false when any field is missing. */
function addEntry(space: AddressSpace, at: Address, layout: TrackerLayout, row: PoolUsageRow): boolean {
  const f = layout.fields;
  const npA = readField(space, at + f.nonPagedAllocs[0], f.nonPagedAllocs[1]);
  const npF = readField(space, at + f.nonPagedFrees[0], f.nonPagedFrees[1]);
  const npB = readField(space, at + f.nonPagedBytes[0], f.nonPagedBytes[1]);
  const pA = readField(space, at + f.pagedAllocs[0], f.pagedAllocs[1]);
  const pF = readField(space, at + f.pagedFrees[0], f.pagedFrees[1]);
  const pB = readField(space, at + f.pagedBytes[0], f.pagedBytes[1]);
  if (!(npA >= 0 && npF >= 0 && npB >= 0 && pA >= 0 && pF >= 0 && pB >= 0)) return false;
  row.nonPagedAllocs += npA;
  row.nonPagedFrees += npF;
  row.nonPagedBytes += npB;
  row.pagedAllocs += pA;
  row.pagedFrees += pF;
  row.pagedBytes += pB;
  return true;
}

function keyAt(space: AddressSpace, at: Address): number {
  const k = space.u32(at);
  return k < 0 ? -1 : (k & 0x7fffffff) >>> 0 === 0 ? 0 : (k & ~0x80000000) >>> 0;
}

/**
 * Infer PoolTrackTableSize from slot hashes: for each power-of-two candidate, count the non-zero
 * keys whose home slot (hash & (size − 1)) reaches their slot through occupied slots (linear
 * probing); the best-scoring candidate wins. Returns 0 when nothing is readable.
 */
export function inferTableSize(space: AddressSpace, table: Address, entrySize: number, maxSize = 1 << 20): number {
  // Read keys until the table stops being readable or maxSize.
  let readable = 0;
  const keys = new Uint32Array(Math.min(maxSize, 1 << 20));
  while (readable < keys.length) {
    const k = keyAt(space, table + readable * entrySize);
    if (k < 0) break;
    keys[readable++] = k;
  }
  let best = 0;
  let bestScore = 0;
  for (let size = 64; size <= readable; size *= 2) {
    const mask = size - 1;
    let score = 0;
    for (let i = 0; i < size; i++) {
      const k = keys[i]!;
      if (k === 0) continue;
      let home = poolTagHash(k) & mask;
      let ok = false;
      for (let steps = 0; steps < 64; steps++) {
        if (home === i) {
          ok = true;
          break;
        }
        if (keys[home] === 0) break;
        home = (home + 1) & mask;
      }
      score += ok ? 1 : -1;
    }
    if (score > bestScore) {
      bestScore = score;
      best = size;
    }
  }
  return best;
}

/**
 * Find ExPoolTagTables without symbols: near `&nt!PoolTrackTable`, an array whose element 0 is the
 * global table, followed by `count − 1` kernel pointers to tables whose occupied slots agree with
 * the global table's keys. Returns the array address or undefined.
 */
export function findPerCpuTables(space: AddressSpace, poolTrackTableVar: Address, table: Address, count: number, tableSize: number, entrySize: number): Address | undefined {
  if (count < 2) return undefined;
  const sample: number[] = [];
  for (let i = 0; i < tableSize && sample.length < 16; i++) if (keyAt(space, table + i * entrySize) > 0) sample.push(i);
  const start = poolTrackTableVar - 0x4000;
  for (let off = 0; off <= 0x8000; off += 8) {
    const at = start + off;
    if (at === poolTrackTableVar || space.ptr64(at) !== table) continue;
    let ok = true;
    for (let c = 1; c < count && ok; c++) {
      const t = space.ptr64(at + c * 8);
      if (t === 0) continue; // an absent processor
      if (!(t < 0) || t === table) {
        ok = false;
        break;
      }
      for (const slot of sample) {
        const k = keyAt(space, t + slot * entrySize);
        if (k < 0 || (k !== 0 && k !== keyAt(space, table + slot * entrySize))) {
          ok = false;
          break;
        }
      }
    }
    if (ok) return at;
  }
  return undefined;
}

function symbolValue(space: AddressSpace, at: Address | undefined): number | undefined {
  if (at === undefined || !(at === at)) return undefined;
  const v = space.ptr(at);
  return v === v ? v : undefined;
}

/**
 * Pool usage by tag, like `!poolused`: the global tracker table plus the per-processor tables
 * summed slot by slot, plus the expansion table (merged by tag); the big-page table as a separate
 * summary. Without the tables, falls back to a pool-header scan (labelled, diagnostic).
 */
export function readPoolUsage(dump: KernelDump, options: PoolUsageOptions = {}): PoolUsage {
  const diagnostics = dump.diagnostics;
  const space = dump.space;
  const sym = options.symbols ?? {};
  const layout = options.layout ?? trackerLayout(dump.header.minorVersion, space.pointerSize);
  const maxSize = options.maxTableSize ?? 1 << 20;
  const result: PoolUsage = { method: "none", rows: [], perCpuTables: [], expansionEntries: 0 };

  const varAddr = sym.PoolTrackTable ?? dump.kdbg?.poolTrackTable;
  const table = symbolValue(space, varAddr);
  if (table === undefined || table === 0) {
    diagnostics.report(
      SOURCE,
      "POOL_TRACK_TABLE_MISSING",
      "warning",
      varAddr === undefined || !(varAddr === varAddr)
        ? "the address of nt!PoolTrackTable is unknown (no KDBG, no symbol)"
        : `nt!PoolTrackTable at ${formatAddress(varAddr)} is not captured in the dump`,
      varAddr !== undefined && varAddr === varAddr ? { address: formatAddress(varAddr) } : { file: dump.source.name },
    );
    if (options.headerScanFallback !== false) return scanPoolHeaders(dump, result);
    return result;
  }
  result.table = table;
  result.entrySize = layout.size;

  // Table size.
  let size = options.poolTrackTableSize;
  if (size !== undefined) result.tableSizeSource = "option";
  else {
    const s = symbolValue(space, sym.PoolTrackTableSize);
    if (s !== undefined && s > 0) {
      size = s;
      result.tableSizeSource = "symbol";
    } else {
      size = inferTableSize(space, table, layout.size, maxSize);
      result.tableSizeSource = "inferred";
      diagnostics.report(SOURCE, "POOL_TRACK_TABLE_SIZE_GUESSED", "info", `PoolTrackTableSize inferred as ${size} from slot hashes`, { address: formatAddress(table) });
    }
  }
  if (!(size > 0) || size > maxSize) {
    diagnostics.report(SOURCE, "POOL_TRACK_TABLE_MISSING", "warning", `tracker table size ${size} is not usable`, { address: formatAddress(table) });
    return options.headerScanFallback !== false ? scanPoolHeaders(dump, result) : result;
  }
  result.tableSize = size;

  // Per-processor tables.
  const cpus = Math.min(Math.max(1, dump.header.numberProcessors), 0x800);
  let tables: Address[] = [table];
  let arrayAt: Address | undefined = sym.ExPoolTagTables;
  if (arrayAt !== undefined) result.perCpuSource = "symbol";
  else if (cpus > 1 && varAddr !== undefined) {
    arrayAt = findPerCpuTables(space, varAddr, table, cpus, size, layout.size);
    if (arrayAt !== undefined) result.perCpuSource = "heuristic";
  }
  if (arrayAt !== undefined) {
    tables = [];
    for (let i = 0; i < cpus; i++) {
      const t = space.ptr(arrayAt + i * space.pointerSize);
      if (!(t === t)) {
        diagnostics.report(SOURCE, "POOL_TABLE_UNREADABLE", "warning", `ExPoolTagTables[${i}] is not captured`, { address: formatAddress(arrayAt + i * space.pointerSize) });
        continue;
      }
      if (t !== 0 && !tables.includes(t)) tables.push(t);
    }
    if (tables[0] !== table) tables = [table, ...tables.filter((t) => t !== table)];
  } else if (cpus > 1) {
    diagnostics.report(SOURCE, "POOL_PER_CPU_TABLES_MISSING", "warning", `${cpus} processors but ExPoolTagTables was not found; totals come from the global table only`, {
      address: formatAddress(table),
    });
  }
  result.perCpuTables = tables;

  // Sum slot by slot, within a budget of entry reads (hostile sizes and table counts).
  const rows = new RowSet();
  let budget = options.maxEntryReads ?? 1 << 26;
  for (const t of tables) {
    let missing = 0;
    let firstMissing: Address = 0;
    for (let i = 0; i < size && budget > 0; i++, budget--) {
      const at = t + i * layout.size;
      const key = keyAt(space, at);
      if (key < 0) {
        // Skip to the first entry that starts in the next page.
        if (firstMissing === 0) firstMissing = at;
        const pageEnd = (Math.floor(at / PAGE_SIZE) + 1) * PAGE_SIZE;
        const next = Math.min(size, Math.max(i + 1, Math.ceil((pageEnd - t) / layout.size)));
        missing += next - i;
        i = next - 1;
        continue;
      }
      if (key === 0) continue;
      if (!addEntry(space, at, layout, rows.get(key))) {
        missing++;
        if (firstMissing === 0) firstMissing = at;
      }
    }
    if (budget <= 0) {
      diagnostics.report(SOURCE, "POOL_SCAN_LIMIT", "warning", `stopped in the tracker table at ${formatAddress(t)}: entry-read limit reached`, { address: formatAddress(t) });
      break;
    }
    if (missing > 0) {
      diagnostics.report(SOURCE, "POOL_TABLE_UNREADABLE", "warning", `${missing} entries of the tracker table at ${formatAddress(t)} are not captured`, { address: formatAddress(firstMissing) });
    }
  }

  // Expansion table (merged by tag).
  const expansion = symbolValue(space, sym.PoolTrackTableExpansion);
  const expansionSize = symbolValue(space, sym.PoolTrackTableExpansionSize);
  if (expansion && expansionSize && expansionSize > 0) {
    const n = Math.min(expansionSize, maxSize);
    for (let i = 0; i < n; i++) {
      const at = expansion + i * layout.size;
      const key = keyAt(space, at);
      if (key < 0) {
        diagnostics.report(SOURCE, "POOL_TABLE_UNREADABLE", "warning", `the expansion table stops being readable at entry ${i}`, { address: formatAddress(at) });
        break;
      }
      if (key !== 0 && addEntry(space, at, layout, rows.get(key))) result.expansionEntries++;
    }
  }

  // Big pages.
  const big = symbolValue(space, sym.PoolBigPageTable);
  const bigSize = symbolValue(space, sym.PoolBigPageTableSize);
  if (big && bigSize && bigSize > 0) result.bigPool = readBigPool(space, big, Math.min(bigSize, maxSize * 4), dump.header.minorVersion, diagnostics);

  result.method = "tracker-tables";
  result.rows = rows.rows;
  return result;
}

/** `_POOL_TRACKER_BIG_PAGES` field offsets and entry size. */
export interface BigPagesLayout {
  Va: number;
  Key: number;
  /** The `Pattern:8, PoolType:12, SlushSize:12` dword. */
  PoolType: number;
  NumberOfBytes: number;
  size: number;
  /** Bytes of Va and NumberOfBytes (pointer-sized). */
  ptr: 4 | 8;
}

/**
 * `_POOL_TRACKER_BIG_PAGES` per build and pointer size ([SS] GitHub AndreyBazhan/SymStore
 * Include/ntoskrnl.exe/ntoskrnl.exe-<version>-<arch>.h):
 * x64 `{PVOID Va; ULONG Key; ULONG Pattern:8, PoolType:12, SlushSize:12; SIZE_T NumberOfBytes}`
 * 0x18 (15063, 19041), + `ProcessBilled` 0x20 from 22000 (22000.194); x86 the same fields with
 * 4-byte Va and NumberOfBytes, 0x10 (16299.15, 19041.928; layout-evidence.md D8).
 */
export function bigPagesLayout(build: number, pointerSize: 4 | 8): BigPagesLayout {
  if (pointerSize === 4) return { Va: 0, Key: 4, PoolType: 8, NumberOfBytes: 12, size: 0x10, ptr: 4 };
  return { Va: 0, Key: 8, PoolType: 12, NumberOfBytes: 16, size: build >= 22000 ? 0x20 : 0x18, ptr: 8 };
}

/** The pool offsets leakscope uses for a build (`leakscope layouts`), keyed `Struct.Field` as the PDB spells them. */
export function poolOffsets(build: number, pointerSize: 4 | 8): Record<string, number> {
  const b = bigPagesLayout(build, pointerSize);
  return {
    "_POOL_TRACKER_BIG_PAGES.Va": b.Va,
    "_POOL_TRACKER_BIG_PAGES.Key": b.Key,
    "_POOL_TRACKER_BIG_PAGES.NumberOfBytes": b.NumberOfBytes,
    "_POOL_TRACKER_BIG_PAGES.size": b.size,
  };
}

/**
 * Sum PoolBigPageTable by tag (entries laid out by {@link bigPagesLayout}); an entry is free when
 * `Va & 1`.
 */
export function readBigPool(space: AddressSpace, table: Address, size: number, build: number, diagnostics?: Diagnostics): BigPoolSummary[] {
  const L = bigPagesLayout(build, space.pointerSize === 4 ? 4 : 8);
  const stride = L.size;
  const out: BigPoolSummary[] = [];
  const index = new Map<number, number>();
  for (let i = 0; i < size; i++) {
    const at = table + i * stride;
    const vaLo = space.u32(at + L.Va);
    if (vaLo < 0) {
      diagnostics?.report(SOURCE, "POOL_TABLE_UNREADABLE", "warning", `the big-page table stops being readable at entry ${i}`, { address: formatAddress(at) });
      break;
    }
    if (vaLo & 1) continue;
    const va = L.ptr === 8 ? space.ptr64(at + L.Va) : vaLo;
    if (va === 0) continue;
    const key = keyAt(space, at + L.Key);
    const flags = space.u32(at + L.PoolType);
    const bytes = L.ptr === 8 ? space.u64(at + L.NumberOfBytes) : space.u32(at + L.NumberOfBytes);
    if (key <= 0 || flags < 0 || !(bytes >= 0)) continue;
    let j = index.get(key);
    if (j === undefined) {
      j = out.length;
      index.set(key, j);
      out.push({ tag: keyToTag(key), key, nonPagedCount: 0, nonPagedBytes: 0, pagedCount: 0, pagedBytes: 0 });
    }
    const s = out[j]!;
    if ((flags >>> 8) & 1) {
      s.pagedCount++;
      s.pagedBytes += bytes;
    } else {
      s.nonPagedCount++;
      s.nonPagedBytes += bytes;
    }
  }
  return out;
}

/**
 * Fallback: scan every captured physical page for a chain of x64 _POOL_HEADERs that tiles the page
 * exactly (PreviousSize of each block = BlockSize of the one before, printable tags). Counts
 * allocated blocks per tag as outstanding allocations. Allocation-free per block.
 */
export function scanPoolHeaders(dump: KernelDump, result: PoolUsage = { method: "none", rows: [], perCpuTables: [], expansionEntries: 0 }): PoolUsage {
  const diagnostics = dump.diagnostics;
  if (dump.header.headerBits !== 64 || dump.phys.segmentCount === 0) {
    result.method = "none";
    return result;
  }
  const copy = new Uint8Array(PAGE_SIZE);
  const copyView = new DataView(copy.buffer);
  const win = emptyWindow();
  const rows = new RowSet();
  let scanned = 0;
  const src = dump.phys.source;
  for (const seg of dump.phys.segments()) {
    for (let p = 0; p < seg.pageCount; p++) {
      const off = seg.fileOffset + p * PAGE_SIZE;
      // Read in place through the source's window; copy only when a page crosses a cache block.
      let page: Uint8Array;
      let view: DataView;
      let base: number;
      if (src.window(off, win) && win.length >= PAGE_SIZE) {
        page = win.bytes;
        view = win.view;
        base = win.index;
      } else {
        if (src.readInto(off, copy, 0, PAGE_SIZE) !== PAGE_SIZE) continue;
        page = copy;
        view = copyView;
        base = 0;
      }
      scanned++;
      // Validate the chain first.
      let at = 0;
      let prev = 0;
      let ok = true;
      let blocks = 0;
      while (at < PAGE_SIZE) {
        const ps = page[base + at]!;
        const bs = page[base + at + 2]!;
        const type = page[base + at + 3]!;
        if (bs === 0 || ps !== prev || at + bs * 16 > PAGE_SIZE) {
          ok = false;
          break;
        }
        if (type !== 0) {
          for (let c = 4; c < 8; c++) {
            const ch = page[base + at + c]!;
            if (ch < 0x20 || ch > 0x7e) {
              ok = false;
              break;
            }
          }
          if (!ok) break;
        }
        prev = bs;
        at += bs * 16;
        blocks++;
      }
      if (!ok || at !== PAGE_SIZE || blocks < 2) continue;
      at = 0;
      while (at < PAGE_SIZE) {
        const bs = page[base + at + 2]!;
        const type = page[base + at + 3]!;
        if (type !== 0) {
          const row = rows.get(view.getUint32(base + at + 4, true));
          if (((type - 1) & 1) === 1) {
            row.pagedAllocs++;
            row.pagedBytes += bs * 16;
          } else {
            row.nonPagedAllocs++;
            row.nonPagedBytes += bs * 16;
          }
        }
        at += bs * 16;
      }
    }
  }
  diagnostics.report(SOURCE, "POOL_HEADER_SCAN", "info", `tag totals come from a pool-header scan of ${scanned} captured pages, not from the tracker tables; they are a lower bound`, {
    file: dump.source.name,
  });
  result.method = "pool-header-scan";
  result.rows = rows.rows;
  result.scannedPages = scanned;
  return result;
}
