import {
  type Address,
  AllocFlags,
  type Arch,
  BytesAddressSpace,
  Diagnostics,
  type FrameText,
  type HeapRecord,
  type InputProbe,
  type InputReader,
  type ModuleInfo,
  type OsInfo,
  type ProcessView,
  type PoolSection,
  type Run,
  type SizeGroup,
  type StackGroup,
  type StacksSection,
  type StatSection,
  STAGE_BACKEND,
  STAGE_ENRICH,
  type StackRecord,
  type Target,
  type TargetData,
  definePlugin,
  formatAddress,
  readBytes,
} from "@leakscope/core";
import { type Static, Type } from "@leakscope/core";
import { windbgTextCodes } from "./codes.js";
import { decodeText, isWindbgText } from "./decode.js";
import type { HeapEntry, PageHeapBlock, SessionBlock, StackFrame, WindbgSession } from "./model.js";
import { type PoolFacts, type PoolSnapshotFacts, detectLogEvidence, logCallSite, printedPoolDescription, reportFrame, statTableBusy, umdhComparison, umdhStacks } from "./evidence.js";
import { parseWindbgLog } from "./session.js";

const NAME = "windbg-text";
const LOG = "log";
/** Most heaps registered from one log (core allows 65,535 heaps per run, other plugins need room too). */
const MAX_HEAPS = 60_000;

/** One `!poolused` / poolmon row as the plugin keeps it on `target.data.windbgPool`. */
export interface WindbgPoolRow {
  tag: string;
  /** Outstanding non-paged allocations (the `Allocs` column; `Diff` for poolmon and verbose `!poolused 1`). */
  nonPagedAllocs: number;
  nonPagedBytes: number;
  pagedAllocs: number;
  pagedBytes: number;
  description: string;
  binary?: string;
  /** Index of the snapshot (pool command or poolmon screen) in `target.data.windbgPool.snapshots`. */
  snapshot: number;
  line: number;
}

/** Pool snapshots of a log: one per `!poolused` command or poolmon screen, in input order. */
export interface WindbgPoolData {
  snapshots: {
    command: string;
    line: number;
    kind: "poolused" | "poolmon";
    /**
     * Snapshots with the same key list the same rows (same `!poolused` flags and tag filter, or
     * poolmon screens): only those are compared. Different flags sort and cut the table differently.
     */
    comparable: string;
    /** True when the author cut rows (`...`): a tag missing from it may still exist. */
    elided: boolean;
    rows: WindbgPoolRow[];
  }[];
}

/** Same shape as pool-km's `PoolUsageRow` (frees are 0: allocations are already outstanding counts). */
export interface PoolUsageRowLike {
  tag: string;
  /** Description and owner as the log printed them (absent when the log printed none). */
  description?: string;
  binary?: string;
  nonPagedAllocs: number;
  nonPagedFrees: number;
  nonPagedBytes: number;
  pagedAllocs: number;
  pagedFrees: number;
  pagedBytes: number;
}

declare module "@leakscope/core" {
  interface TargetData {
    /** The parsed WinDbg / UMDH / poolmon session (targets opened by the windbg-text reader). */
    windbg?: WindbgSession;
    /** Pool rows of `!poolused` / poolmon output in the log. */
    windbgPool?: WindbgPoolData;
  }
}

/** One heap block gathered from the log, merged across commands. */
interface LogBlock {
  bitness: 32 | 64;
  heap: Address;
  entry: Address;
  user: Address;
  requested: number;
  blockSize: number;
  flags: number;
  /** Stack key (`bt:<id>` for UMDH, `p:<frames>` for `-p -a`) and frames. */
  stackKey?: string;
  stack?: StackFrame[];
  line: number;
  /** Index in run.allocations once walked. */
  index: number;
}

interface HeapFacts {
  bitness: 32 | 64;
  address: Address;
  kind: "nt" | "segment" | "page-heap";
  label: string;
  summary: Record<string, number | string | boolean | null>;
  reservedK?: number;
  committedK?: number;
  /** Heap flags printed by `!heap -s`, `-s -h` or a listing's header. */
  flags?: number;
}

/** What the reader derives from a session, kept per run. */
interface LogModel {
  heaps: Map<string, HeapFacts>;
  blocks: Map<string, LogBlock[]>;
  /** Stacks of UMDH diffs (no allocation records), keyed by backtrace id. */
  looseStacks: Map<string, StackFrame[]>;
  statTables: { bitness: 32 | 64; heap: Address; groups: { size: number; count: number; total: number; percent: number }[]; line: number; command: string }[];
  ust: boolean;
  hpa: boolean;
  noHeap: { line: number; what: string }[];
}

const models = new WeakMap<Target, LogModel>();

const POOL_TABLE = /(^|\n)\s*Tag\s+Allocs\s+(Frees\s+Diff\s+)?Used\b/i;

/**
 * True when the reader claims an input: what {@link isWindbgText} accepts, plus prompt-less
 * `!poolused` tables pasted without their command. Never claims MDMP / PAGEDU64 dumps.
 */
export function claimsWindbgText(head: Uint8Array): boolean {
  if (head.length >= 4) {
    const magic = String.fromCharCode(head[0] ?? 0, head[1] ?? 0, head[2] ?? 0, head[3] ?? 0);
    if (magic === "MDMP" || magic === "PAGE") return false;
  }
  if (isWindbgText(head)) return true;
  try {
    const { text, replaced } = decodeText(head.subarray(0, 8192));
    return !replaced && !text.includes("\u0000") && POOL_TABLE.test(text);
  } catch {
    return false;
  }
}

const hk = (bitness: number, address: Address): string => `${bitness}:${address}`;
const is64 = (a: Address): boolean => Number.isFinite(a) && (a < 0 || a > 0xffffffff);

function parseOsVersion(text: string | undefined): OsInfo {
  const os: OsInfo = { major: 0, minor: 0, build: 0 };
  const m = text === undefined ? null : /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (m) {
    os.major = Number(m[1]);
    os.minor = Number(m[2]);
    if (m[3] !== undefined) os.build = Number(m[3]);
  }
  return os;
}

/** Addresses a block prints, used to decide its bitness. */
function addressesOf(b: SessionBlock): Address[] {
  switch (b.kind) {
    case "heapSummary":
      return [...b.heaps.map((h) => h.address), ...b.segmentHeaps.map((h) => h.address)];
    case "heapDetail":
      return [b.heap];
    case "heapStat":
      return b.tables.map((t) => t.heap);
    case "heapListing":
      return b.heaps.flatMap((h) => [h.address, ...h.entries.slice(0, 4).map((e) => e.entry)]);
    case "heapFilter":
      return [...b.heaps.map((h) => h.address), ...b.entries.slice(0, 4).map((e) => e.entry)];
    case "heapAddress":
      return [b.address, ...(b.heap === undefined ? [] : [b.heap])];
    case "heapEntryTable":
    case "heapSearch":
      return b.entries.slice(0, 4).map((e) => e.entry);
    case "umdhLog":
      return [...b.heaps.map((h) => h.address), ...b.allocations.slice(0, 4).map((a) => a.address)];
    case "moduleList":
      return b.modules.map((m) => m.start);
    default:
      return [];
  }
}

const HEAPISH = new Set(["heapSummary", "heapDetail", "heapStat", "heapListing", "heapFilter", "heapAddress", "heapEntryTable", "heapSearch", "umdhLog", "umdhDiff", "moduleList"]);

/**
 * Bitness of every block: `:x86>` prompts and the blocks after `.effmach x86` (until a native
 * prompt) are 32-bit; otherwise 64-bit when the block prints an address above 4 GiB, else the
 * file's default (64 when any native block does, else 32).
 */
function blockBitness(session: WindbgSession): (32 | 64 | undefined)[] {
  const x86: boolean[] = [];
  let mode = false;
  for (const b of session.blocks) {
    const cmd = (b.command ?? "").trim().toLowerCase();
    if (b.prompt !== undefined) mode = /:x86>$/i.test(b.prompt);
    if (/^\.effmach\s+(x86|i386)\b/.test(cmd)) mode = true;
    else if (/^\.effmach\s+(amd64|x64|\.)/.test(cmd)) mode = false;
    x86.push(mode);
  }
  const native64 = session.blocks.some((b, i) => !x86[i] && addressesOf(b).some(is64));
  return session.blocks.map((b, i) => {
    if (!HEAPISH.has(b.kind)) return undefined;
    if (x86[i]) return 32;
    const addrs = addressesOf(b);
    if (addrs.length === 0) return undefined;
    if (addrs.some(is64)) return 64;
    return native64 ? 64 : 32;
  });
}

function backtraceFrame(id: string): StackFrame[] | undefined {
  const address = /^[0-9a-f]{1,16}$/i.test(id) ? Number.parseInt(id, 16) : Number.NaN;
  return Number.isSafeInteger(address) ? [{ address, symbol: `BackTrace${id}`, text: `BackTrace${id}` }] : undefined;
}

function frameTexts(stack: readonly StackFrame[]): FrameText[] {
  return stack.map((f) => {
    const t: FrameText = { text: reportFrame(f).text };
    if (f.module !== undefined) t.module = f.module;
    if (f.symbol !== undefined) t.symbol = f.symbol;
    if (f.offset !== undefined) t.offset = f.offset;
    return t;
  });
}

function entryFlags(e: HeapEntry): number | undefined {
  switch (e.state) {
    case "busy":
      return AllocFlags.BUSY;
    case "free":
      return AllocFlags.FREE;
    case "internal":
      return AllocFlags.BUSY | AllocFlags.INTERNAL;
    case "virtualalloc":
      return AllocFlags.BUSY | AllocFlags.VIRTUAL;
    case "uncommitted":
      return undefined;
    default:
      // State not printed (e.g. `-srch` hits): the block is known to exist; treat as busy, inexact.
      return AllocFlags.BUSY | AllocFlags.SIZE_INEXACT;
  }
}

/** Build the heap and block model of a session. Bounded by the session's own sizes. */
function buildModel(session: WindbgSession): LogModel {
  const model: LogModel = { heaps: new Map(), blocks: new Map(), looseStacks: new Map(), statTables: [], ust: false, hpa: false, noHeap: [] };
  const bits = blockBitness(session);
  const byEntry = new Map<string, LogBlock>();
  const byUser = new Map<string, LogBlock>();

  const heap = (bitness: 32 | 64, address: Address | undefined, kind: HeapFacts["kind"], label: string): HeapFacts | undefined => {
    if (address === undefined || !Number.isFinite(address) || address === 0) return undefined;
    const key = hk(bitness, address);
    let h = model.heaps.get(key);
    if (!h) {
      h = { bitness, address, kind, label, summary: {} };
      model.heaps.set(key, h);
    } else if (h.kind === "nt" && kind !== "nt") h.kind = kind;
    return h;
  };

  const addBlock = (bitness: 32 | 64, heapAddress: Address | undefined, b: Omit<LogBlock, "bitness" | "heap" | "index">, what: string): void => {
    const ek = Number.isFinite(b.entry) ? hk(bitness, b.entry) : undefined;
    const uk = Number.isFinite(b.user) ? hk(bitness, b.user) : undefined;
    const seen = (ek !== undefined ? byEntry.get(ek) : undefined) ?? (uk !== undefined ? byUser.get(uk) : undefined);
    if (seen) {
      if ((seen.flags & AllocFlags.SIZE_INEXACT) !== 0 && (b.flags & AllocFlags.SIZE_INEXACT) === 0) {
        seen.requested = b.requested;
        seen.flags = b.flags;
      }
      if (!Number.isFinite(seen.blockSize) && Number.isFinite(b.blockSize)) seen.blockSize = b.blockSize;
      if (!Number.isFinite(seen.user) && Number.isFinite(b.user)) {
        seen.user = b.user;
        if (uk !== undefined) byUser.set(uk, seen);
      }
      if (!Number.isFinite(seen.entry) && Number.isFinite(b.entry)) {
        seen.entry = b.entry;
        if (ek !== undefined) byEntry.set(ek, seen);
      }
      if (seen.stack === undefined && b.stack !== undefined && b.stackKey !== undefined) {
        seen.stack = b.stack;
        seen.stackKey = b.stackKey;
      }
      if (!Number.isFinite(seen.heap) && heapAddress !== undefined && Number.isFinite(heapAddress)) seen.heap = heapAddress;
      return;
    }
    if (heapAddress === undefined || !Number.isFinite(heapAddress) || heapAddress === 0) {
      model.noHeap.push({ line: b.line, what });
      return;
    }
    const rec: LogBlock = { ...b, bitness, heap: heapAddress, index: -1 };
    if (ek !== undefined) byEntry.set(ek, rec);
    if (uk !== undefined) byUser.set(uk, rec);
    const hkey = hk(bitness, heapAddress);
    let list = model.blocks.get(hkey);
    if (!list) model.blocks.set(hkey, (list = []));
    list.push(rec);
  };

  const fromEntry = (bitness: 32 | 64, heapAddress: Address | undefined, e: HeapEntry, what: string, extra: { stack?: StackFrame[]; stackKey?: string } = {}): void => {
    const flags = entryFlags(e);
    if (flags === undefined) return;
    const header = bitness === 64 ? 16 : 8;
    let size = e.size;
    if (!Number.isFinite(size) && e.sizeGranules !== undefined) size = e.sizeGranules * (e.granularity ?? header);
    const user = e.user ?? (Number.isFinite(e.entry) ? e.entry + header : Number.NaN);
    let requested: number;
    let f = flags;
    if (e.requestedSize !== undefined && Number.isFinite(e.requestedSize)) requested = e.requestedSize;
    else if ((flags & AllocFlags.BUSY) !== 0) {
      requested = Number.isFinite(size) ? Math.max(0, size - header - (e.unused ?? 0)) : 0;
      f |= AllocFlags.SIZE_INEXACT;
    } else requested = 0;
    if ((flags & AllocFlags.SIZE_INEXACT) !== 0) f |= AllocFlags.SIZE_INEXACT;
    const rec: Omit<LogBlock, "bitness" | "heap" | "index"> = { entry: e.entry, user, requested, blockSize: Number.isFinite(size) ? size : 0, flags: f, line: e.line };
    if (extra.stack !== undefined && extra.stackKey !== undefined) {
      rec.stack = extra.stack;
      rec.stackKey = extra.stackKey;
    }
    addBlock(bitness, e.heap ?? heapAddress, rec, what);
  };

  const fromPageHeap = (bitness: 32 | 64, heapAddress: Address | undefined, p: PageHeapBlock, what: string, extra: { stack?: StackFrame[]; stackKey?: string } = {}): void => {
    const busy = p.state === "busy";
    const rec: Omit<LogBlock, "bitness" | "heap" | "index"> = {
      entry: p.virtualAddress,
      user: p.user ?? Number.NaN,
      requested: busy ? (p.userSize ?? 0) : 0,
      blockSize: Number.isFinite(p.virtualSize) ? p.virtualSize : 0,
      flags: AllocFlags.PAGE_HEAP | (busy ? AllocFlags.BUSY : AllocFlags.FREE) | (busy && p.userSize === undefined ? AllocFlags.SIZE_INEXACT : 0),
      line: p.line,
    };
    if (extra.stack !== undefined && extra.stackKey !== undefined) {
      rec.stack = extra.stack;
      rec.stackKey = extra.stackKey;
    }
    addBlock(bitness, heapAddress, rec, what);
  };

  const stackKeyOf = (stack: readonly StackFrame[]): string => "p:" + stack.map((f) => (Number.isFinite(f.address) ? f.address : f.text)).join(",");

  session.blocks.forEach((b, i) => {
    const bitness = bits[i] ?? 64;
    const where = `${b.command ?? b.kind} at line ${b.line}`;
    switch (b.kind) {
      case "gflag":
        for (const e of b.enabled) {
          if (e.abbreviation.toLowerCase() === "ust") model.ust = true;
          if (e.abbreviation.toLowerCase() === "hpa") model.hpa = true;
        }
        break;
      case "heapSummary":
        for (const r of b.heaps) {
          const h = heap(bitness, r.address, "nt", `${b.command ?? "!heap -s"} at line ${r.line}`);
          if (!h) continue;
          Object.assign(h.summary, {
            flags: formatAddress(r.flags),
            reservedK: r.reservedK,
            committedK: r.committedK,
            virtualK: r.virtualK,
            freeK: r.freeK,
            freeListLength: r.listLength,
            ucrs: r.ucrs,
            virtualBlocks: r.virtualBlocks,
            lockContention: r.lockContention,
            lfh: r.lfh,
            fastHeap: r.fastHeap,
          });
          if (r.externalFragmentation) h.summary.externalFragmentationPercent = r.externalFragmentation.percent;
          if (Number.isFinite(r.flags)) h.flags = r.flags;
          h.reservedK = r.reservedK;
          h.committedK = r.committedK;
        }
        for (const r of b.segmentHeaps) {
          const h = heap(bitness, r.address, "segment", `${b.command ?? "!heap -s"} at line ${r.line}`);
          if (!h) continue;
          Object.assign(h.summary, { signature: formatAddress(r.signature), globalFlags: formatAddress(r.globalFlags), reservedK: r.reservedK, committedK: r.committedK });
          h.reservedK = r.reservedK;
          h.committedK = r.committedK;
        }
        break;
      case "heapDetail": {
        const h = heap(bitness, b.heap, "nt", where);
        if (!h) break;
        const put = (k: string, v: number | undefined): void => {
          if (v !== undefined && h.summary[k] === undefined) h.summary[k] = v;
        };
        put("reservedK", b.reservedK);
        put("committedK", b.committedK);
        put("virtualK", b.virtualK);
        put("freeK", b.freeK);
        put("freeListLength", b.freeBlocks);
        put("ucrs", b.uncommittedRanges);
        put("virtualBlocks", b.virtualBlocks);
        put("lockContention", b.lockContention);
        put("segments", b.segments);
        if (h.summary.lfh === undefined) h.summary.lfh = b.lfh !== undefined;
        if (h.flags === undefined && Number.isFinite(b.flags) && b.flags !== 0) h.flags = b.flags;
        if (h.reservedK === undefined && b.reservedK !== undefined) h.reservedK = b.reservedK;
        if (h.committedK === undefined && b.committedK !== undefined) h.committedK = b.committedK;
        break;
      }
      case "heapStat":
        for (const t of b.tables) {
          if (!heap(bitness, t.heap, "nt", where)) continue;
          model.statTables.push({ bitness, heap: t.heap, groups: t.groups, line: t.line, command: b.command ?? "!heap -stat" });
        }
        break;
      case "heapListing":
        for (const l of b.heaps) {
          const kind = /segment/i.test(l.heapType ?? "") ? "segment" : "nt";
          const lh = heap(bitness, l.address, kind, where);
          if (lh && lh.flags === undefined && l.flags !== undefined && Number.isFinite(l.flags)) lh.flags = l.flags;
          for (const e of l.entries) fromEntry(bitness, l.address, e, where);
        }
        break;
      case "heapFilter": {
        for (const h of b.heaps) heap(bitness, h.address, h.pageHeap ? "page-heap" : "nt", where);
        // Rows belong to the last `_HEAP @` line above them (rows come in line order: one pass).
        let hp = 0;
        let current: Address | undefined;
        const heapAt = (line: number): Address | undefined => {
          if (hp > 0 && (b.heaps[hp - 1]?.line ?? 0) > line) {
            hp = 0;
            current = undefined;
          }
          while (hp < b.heaps.length && b.heaps[hp]!.line <= line) current = b.heaps[hp++]!.address;
          return current;
        };
        for (const e of b.entries) fromEntry(bitness, heapAt(e.line), e, where);
        for (const p of b.pageHeapBlocks) fromPageHeap(bitness, heapAt(p.line), p, where);
        break;
      }
      case "heapAddress": {
        heap(bitness, b.heap, b.pageHeap ? "page-heap" : "nt", where);
        const extra = b.stack.length > 0 ? { stack: b.stack, stackKey: stackKeyOf(b.stack) } : {};
        if (b.entry) fromEntry(bitness, b.heap, b.entry, where, extra);
        if (b.pageHeapBlock) fromPageHeap(bitness, b.heap, b.pageHeapBlock, where, extra);
        break;
      }
      case "heapEntryTable":
        for (const a of b.heapsScanned) heap(bitness, a, "nt", where);
        for (const e of b.entries) {
          heap(bitness, e.heap, "nt", where);
          fromEntry(bitness, e.heap, e, where);
        }
        break;
      case "heapSearch":
        for (const a of b.heaps) heap(bitness, a, "nt", where);
        for (const e of b.entries) {
          heap(bitness, e.heap, "nt", where);
          fromEntry(bitness, e.heap ?? (b.heaps.length === 1 ? b.heaps[0] : undefined), e, where);
        }
        break;
      case "umdhLog":
        for (const h of b.heaps) heap(bitness, h.address, "nt", `UMDH heap at line ${h.line}`);
        for (const a of b.allocations) {
          heap(bitness, a.heap, "nt", `UMDH heap at line ${a.line}`);
          const stack = b.stacks[a.backtraceId];
          const rec: Omit<LogBlock, "bitness" | "heap" | "index"> = {
            entry: Number.NaN,
            user: a.address,
            requested: a.requested,
            blockSize: a.requested + a.overhead,
            flags: AllocFlags.BUSY,
            line: a.line,
          };
          // UMDH prints a stack once per backtrace, and not at all when it was dumped elsewhere:
          // such records keep their backtrace as a one-frame stack (its id is the trace's address
          // in the trace database), so diffs and stack groups still tell the backtraces apart.
          const frames = stack !== undefined && stack.length > 0 ? stack : backtraceFrame(a.backtraceId);
          if (frames !== undefined) {
            rec.stack = frames;
            rec.stackKey = "bt:" + a.backtraceId;
          }
          addBlock(bitness, a.heap, rec, `UMDH record at line ${a.line}`);
        }
        break;
      case "umdhDiff":
        {
          const keep = (id: string, stack: StackFrame[]): void => {
            if (stack.length > 0 && (model.looseStacks.get(id)?.length ?? 0) === 0) model.looseStacks.set(id, stack);
          };
          for (const [id, stack] of Object.entries(b.stacks)) keep(id, stack);
          for (const r of b.resolved) keep(r.backtraceId, r.stack);
        }
        break;
      default:
        break;
    }
  });
  return model;
}

function poolData(session: WindbgSession): WindbgPoolData {
  const out: WindbgPoolData = { snapshots: [] };
  for (const b of session.blocks) {
    if (b.kind === "poolUsed") {
      const snapshot = out.snapshots.length;
      const rows = b.rows.map((r) => {
        const row: WindbgPoolRow = {
          tag: r.tag,
          nonPagedAllocs: r.nonPagedDiff ?? (r.nonPagedFrees !== undefined ? r.nonPagedAllocs - r.nonPagedFrees : r.nonPagedAllocs),
          nonPagedBytes: r.nonPagedBytes,
          pagedAllocs: r.pagedDiff ?? (r.pagedFrees !== undefined ? r.pagedAllocs - r.pagedFrees : r.pagedAllocs),
          pagedBytes: r.pagedBytes,
          description: r.description,
          snapshot,
          line: r.line,
        };
        if (r.binary !== undefined) row.binary = r.binary;
        return row;
      });
      out.snapshots.push({ command: b.command ?? "!poolused", line: b.line, kind: "poolused", comparable: `poolused:${b.flags}:${b.tagFilter ?? ""}`, elided: b.elided, rows });
    } else if (b.kind === "poolmon") {
      const snapshot = out.snapshots.length;
      const byTag = new Map<string, WindbgPoolRow>();
      for (const r of b.rows) {
        let row = byTag.get(r.tag);
        if (!row) {
          row = { tag: r.tag, nonPagedAllocs: 0, nonPagedBytes: 0, pagedAllocs: 0, pagedBytes: 0, description: "", snapshot, line: r.line };
          if (r.mappedDriver !== undefined) row.binary = r.mappedDriver;
          byTag.set(r.tag, row);
        }
        if (r.paged) {
          row.pagedAllocs += r.diff;
          row.pagedBytes += r.bytes;
        } else {
          row.nonPagedAllocs += r.diff;
          row.nonPagedBytes += r.bytes;
        }
      }
      out.snapshots.push({ command: b.command ?? "poolmon", line: b.line, kind: "poolmon", comparable: "poolmon", elided: b.elided, rows: [...byTag.values()] });
    }
  }
  return out;
}

/**
 * Pool rows of a log target in pool-km's `PoolUsageRow` shape: the last snapshot by default
 * (the latest state in the session), or `snapshot` (index in `target.data.windbgPool.snapshots`).
 * Empty when the target holds no pool output.
 */
export function poolRowsOf(target: Target, snapshot?: number): PoolUsageRowLike[] {
  const snaps = target.data.windbgPool?.snapshots ?? [];
  const s = snaps[snapshot ?? snaps.length - 1];
  if (!s) return [];
  return s.rows.map((r) => {
    const out: PoolUsageRowLike = {
      tag: r.tag,
      nonPagedAllocs: r.nonPagedAllocs,
      nonPagedFrees: 0,
      nonPagedBytes: r.nonPagedBytes,
      pagedAllocs: r.pagedAllocs,
      pagedFrees: 0,
      pagedBytes: r.pagedBytes,
    };
    const description = printedPoolDescription(r.description);
    if (description !== undefined) out.description = description;
    if (r.binary !== undefined && r.binary !== "") out.binary = r.binary;
    return out;
  });
}

/** What pool-km's api offers that this plugin uses (looked up by name, never imported). */
interface PooltagLookup {
  pooltag(): { lookup(tag: string): { description?: string; binary?: string } | undefined } | undefined;
}

/**
 * The `pool` report section of a log: the latest snapshot's rows sorted by non-paged bytes, with
 * the descriptions and `Binary:` owners the log printed (a pooltag.txt, when pool-km finds one,
 * fills only the rows the log left without). Undefined when the log holds no pool output.
 */
export function logPoolSection(run: Run, top = 20): PoolSection | undefined {
  const t = run.target;
  // A command typed with no output is no snapshot.
  const snaps = (t.data.windbgPool?.snapshots ?? []).filter((x) => x.rows.length > 0);
  const last = snaps[snaps.length - 1];
  if (!last) return undefined;
  const db = run.engine.api<PooltagLookup>("pool-km")?.pooltag();
  // Sorted by the pool the table is about (a `!poolused 4` table lists paged pool).
  const paged = last.rows.reduce((n, r) => n + r.pagedBytes, 0) > last.rows.reduce((n, r) => n + r.nonPagedBytes, 0);
  const rows = [...last.rows]
    .sort((a, b) => (paged ? b.pagedBytes - a.pagedBytes || b.nonPagedBytes - a.nonPagedBytes : b.nonPagedBytes - a.nonPagedBytes || b.pagedBytes - a.pagedBytes) || a.tag.localeCompare(b.tag))
    .slice(0, top);
  const notes = [`Rows of ${last.command} at line ${last.line}${snaps.length > 1 ? ` (the last of ${snaps.length} snapshots in the log)` : ""}; descriptions and owners as the log printed them.`];
  return {
    source: t.format,
    method: "log",
    sort: paged ? "paged" : "nonpaged",
    notes,
    rows: rows.map((r) => {
      const out: PoolSection["rows"][number] = { tag: r.tag, nonPagedAllocs: Math.max(0, r.nonPagedAllocs), nonPagedBytes: r.nonPagedBytes, pagedAllocs: Math.max(0, r.pagedAllocs), pagedBytes: r.pagedBytes };
      const own = printedPoolDescription(r.description);
      const d = own === undefined || r.binary === undefined ? db?.lookup(r.tag.trim()) : undefined;
      const description = own ?? d?.description;
      const binary = r.binary !== undefined && r.binary !== "" ? r.binary : d?.binary;
      if (description) out.description = description;
      if (binary) out.binary = binary;
      return out;
    }),
  };
}

/**
 * `leakscope stat` of a log: the log's own `!heap -stat -h` table for `heap` (the latest one, as
 * printed: sizes, counts, totals and WinDbg's percentages), or the only table of the log when no
 * heap is asked for. Busy bytes are the total the table's percentages imply (the table lists only
 * its top groups); the busy count is the sum of the listed groups (a lower bound). Undefined
 * when the log holds no such table, so callers fall back to the blocks the log lists.
 */
export function logStatSection(run: Run, heap: Address | undefined, top = 20): StatSection | undefined {
  const session = run.target.kind === "text" ? run.target.data.windbg : undefined;
  if (!session) return undefined;
  const tables = session.blocks.flatMap((b) => (b.kind === "heapStat" ? b.tables.filter((t) => t.groups.length > 0) : []));
  const distinct = new Set(tables.map((t) => t.heap));
  const table = heap !== undefined ? tables.filter((t) => t.heap === heap).pop() : distinct.size === 1 ? tables[tables.length - 1] : undefined;
  if (!table) return undefined;
  const busy = statTableBusy(table.groups);
  return {
    heap: formatAddress(table.heap),
    groupBy: "requested-size",
    busy: { count: table.groups.reduce((n, g) => n + g.count, 0), bytes: busy.busy },
    rows: table.groups.slice(0, top).map((g) => ({ size: g.size, count: g.count, total: g.total, percent: Math.min(100, Math.max(0, g.percent)) })),
  };
}

/** What `leakscope diff` compares in a log beyond the blocks it lists (keys as analyze's snapshots use them). */
export interface LogDiffGroups {
  /** Heaps with a `!heap -stat -h` table: busy blocks and the bytes the table's percentages imply. */
  heaps: { key: string; count: number; bytes: number }[];
  /** The table's size groups (they replace the classes of the blocks listed for that heap). */
  classes: { key: string; heap: string; size: number; count: number; bytes: number }[];
  /** Commit per heap from the last `!heap -s` (key `commit <heap>`). */
  commits: { key: string; heap: string; bytes: number }[];
}

/** The log's own tables as diff groups: the latest `-stat -h` table per heap and the latest `!heap -s` commit. */
export function logDiffGroups(run: Run): LogDiffGroups | undefined {
  const model = modelOf(run);
  const session = run.target.kind === "text" ? run.target.data.windbg : undefined;
  if (!model || !session) return undefined;
  const out: LogDiffGroups = { heaps: [], classes: [], commits: [] };
  const latest = new Map<string, LogModel["statTables"][number]>();
  for (const t of model.statTables) if (t.groups.length > 0) latest.set(hk(t.bitness, t.heap), t);
  for (const t of latest.values()) {
    const key = `${t.bitness}:${formatAddress(t.heap)}`;
    const busy = statTableBusy(t.groups);
    out.heaps.push({ key, count: t.groups.reduce((n, g) => n + g.count, 0), bytes: busy.busy });
    for (const g of t.groups) out.classes.push({ key: `${key}/${g.size}`, heap: formatAddress(t.heap), size: g.size, count: g.count, bytes: g.total });
  }
  for (const h of model.heaps.values()) {
    if (h.committedK === undefined) continue;
    out.commits.push({ key: `commit ${formatAddress(h.address)}`, heap: formatAddress(h.address), bytes: h.committedK * 1024 });
  }
  return out;
}

/** Pool rows of every snapshot as the evidence detectors see them. */
function poolFacts(target: Target): PoolSnapshotFacts[] {
  return (target.data.windbgPool?.snapshots ?? []).map((s) => ({
    command: s.command,
    line: s.line,
    comparable: s.comparable,
    elided: s.elided,
    rows: s.rows.map((r) => {
      const f: PoolFacts = { tag: r.tag, allocs: Math.max(0, r.nonPagedAllocs) + Math.max(0, r.pagedAllocs), bytes: r.nonPagedBytes + r.pagedBytes, line: r.line };
      if (r.description !== "") f.description = r.description;
      if (r.binary !== undefined) f.binary = r.binary;
      return f;
    }),
  }));
}

/**
 * Stack groups of the UMDH records of a log that are not allocations (comparison records and
 * resolved records), for `leakscope stacks`: one group per backtrace, ranked by bytes (growth
 * first when the log is a comparison). Groups already present (`section.groups`) are kept.
 */
export function logStackGroups(run: Run, section: StacksSection, top = 20): StacksSection {
  const session = run.target.kind === "text" ? run.target.data.windbg : undefined;
  if (!session) return section;
  const cmp = umdhComparison(session);
  if (cmp.kind !== "diff" && !(cmp.kind === "snapshot" && !session.blocks.some((b) => b.kind === "umdhLog"))) return section;
  const stacks = umdhStacks(session, false);
  const records = [...cmp.records].sort((a, b) => b.bytes - b.oldBytes - (a.bytes - a.oldBytes) || b.bytes - a.bytes);
  const groups: StackGroup[] = [];
  let id = section.distinct;
  for (const r of records) {
    const st = stacks.get(r.backtraceId) ?? [];
    const g: StackGroup = { id: id++, count: r.count ?? 0, bytes: r.bytes, sizes: [], samples: [], frames: st.map(reportFrame) };
    const site = logCallSite(st);
    if (site) g.callSite = site.text;
    groups.push(g);
  }
  return { ...section, status: "present", distinct: Math.max(section.distinct, groups.length), groups: [...section.groups, ...groups].slice(0, Math.max(top, section.groups.length)) };
}

function formatOf(session: WindbgSession): string {
  const kinds = new Set(session.blocks.map((b) => b.kind).filter((k) => k !== "other" && k !== "unknown"));
  if (kinds.size === 0) return "windbg-log";
  const only = (...ks: string[]): boolean => [...kinds].every((k) => ks.includes(k));
  if (only("umdhLog", "umdhDiff")) return "umdh-log";
  if (only("poolmon")) return "poolmon";
  if (only("poolUsed")) return "poolused-log";
  return "windbg-log";
}

/** Open a session as a core {@link Target} (kind `text`). Exported for tools that already parsed a log. */
export function sessionTarget(session: WindbgSession, file: { path: string; size: number }): Target {
  const diagnostics = new Diagnostics();
  diagnostics.addAll(session.diagnostics);
  const bits = blockBitness(session);
  const seen = new Set(bits.filter((b): b is 32 | 64 => b !== undefined));
  const anyX86Prompt = session.blocks.some((b) => /:x86>$/i.test(b.prompt ?? ""));
  if (anyX86Prompt && seen.size > 0) seen.add(32);
  const statedArch = session.facts?.arch;
  const arch: Arch = seen.has(64) ? "x64" : seen.has(32) ? "x86" : statedArch === "x86" || statedArch === "x64" ? statedArch : "unknown";
  const wow64 = (seen.has(64) && seen.has(32)) || (seen.has(32) && session.facts?.wow64 === true);
  const umdh = session.blocks.find((b) => b.kind === "umdhLog");
  const os = parseOsVersion(umdh?.kind === "umdhLog" ? umdh.header.osVersion : undefined);
  const stated = session.facts?.os;
  if (stated && (stated.build > 0 || os.major === 0)) {
    os.major = stated.major;
    os.minor = stated.minor;
    os.build = stated.build;
    if (stated.buildString !== undefined) os.buildString = stated.buildString;
  }

  const modulesOf = (bitness: 32 | 64): ModuleInfo[] => {
    const out: ModuleInfo[] = [];
    session.blocks.forEach((b, i) => {
      if ((bits[i] ?? 64) !== bitness) return;
      if (b.kind === "moduleList") {
        for (const m of b.modules) {
          out.push({ path: m.name, name: m.name, base: m.start, size: Number.isFinite(m.end - m.start) ? Math.max(0, m.end - m.start) : 0, timestamp: 0, checksum: 0, bitness });
        }
      } else if (b.kind === "umdhLog") {
        for (const m of b.modules) {
          const name = m.path.split(/[\\/]/).pop() ?? m.path;
          out.push({ path: m.path, name, base: m.base, size: m.size, timestamp: 0, checksum: 0, bitness });
        }
      }
    });
    return out;
  };
  const views: ProcessView[] = [];
  const order: (32 | 64)[] = seen.has(64) ? [64, 32] : [32];
  for (const bitness of order) {
    if (!seen.has(bitness)) continue;
    views.push({
      bitness,
      role: views.length === 0 ? "native" : "wow64",
      space: new BytesAddressSpace([], bitness === 32 ? 4 : 8),
      tebs: [],
      modules: modulesOf(bitness),
    });
  }
  const data = {} as TargetData;
  data.windbg = session;
  data.windbgPool = poolData(session);
  const target: Target = {
    kind: "text",
    format: formatOf(session),
    file,
    arch,
    os,
    wow64,
    views,
    modules: views.flatMap((v) => v.modules),
    unloadedModules: [],
    threads: [],
    memory: { ranges: 0, bytes: 0 },
    diagnostics,
    data,
    close() {},
  };
  return target;
}

/** Options of {@link windbgText}. */
export const WindbgTextOptions = Type.Object(
  {
    maxBytes: Type.Integer({ minimum: 1, default: 256 * 1024 * 1024, description: "Most bytes of the log read; the rest is ignored with WINDBG_TEXT_INPUT_LIMIT" }),
    maxLines: Type.Integer({ minimum: 1, default: 5_000_000, description: "Most lines parsed" }),
  },
  { additionalProperties: false },
);
export type WindbgTextOptions = Static<typeof WindbgTextOptions>;

function modelOf(run: Run): LogModel | undefined {
  const t = run.target;
  if (t.kind !== "text" || !t.data.windbg) return undefined;
  let m = models.get(t);
  if (!m) {
    m = buildModel(t.data.windbg);
    models.set(t, m);
  }
  return m;
}

/**
 * The WinDbg-text reader plugin: claims WinDbg / kd, UMDH and poolmon text logs, registers every
 * heap the log names, appends every block it lists to the allocations (once each), and turns
 * `!heap -p -a` / UMDH stacks and `!heap -stat` tables into `run.data.traces` / `sizeGroups`.
 */
export const windbgText = definePlugin({
  name: NAME,
  options: WindbgTextOptions,
  setup: (opts) => {
    const reader: InputReader = {
      name: NAME,
      open(probe: InputProbe): Target {
        const limit = Math.min(probe.size, opts.maxBytes);
        const bytes = readBytes(probe.source, 0, limit);
        const session = parseWindbgLog(bytes, { file: probe.path, maxBytes: opts.maxBytes, maxLines: opts.maxLines });
        const target = sessionTarget(session, { path: probe.path, size: probe.size });
        if (probe.size > opts.maxBytes) {
          target.diagnostics.report(
            NAME,
            "WINDBG_TEXT_INPUT_LIMIT",
            windbgTextCodes.WINDBG_TEXT_INPUT_LIMIT.severity,
            `${probe.path} is ${probe.size} bytes; only the first ${opts.maxBytes} bytes (maxBytes) were read`,
            { file: probe.path, fileOffset: opts.maxBytes },
          );
        }
        return target;
      },
    };
    return {
      apply(engine) {
        engine.hooks.resolveReader.tap(NAME, (probe) => (claimsWindbgText(probe.head) ? reader : undefined));

        engine.hooks.evidence.tapPromise(NAME, async (sink, run) => {
          const t = run.target;
          if (t.kind !== "text" || !t.data.windbg) return;
          // Hostile text can print figures that are no numbers: a record never carries NaN or a negative size.
          const finite = (x: number): number => (Number.isFinite(x) && x > 0 ? x : 0);
          detectLogEvidence(t.data.windbg, poolFacts(t), {
            add: (e) => {
              if (!Number.isFinite(e.strength)) return;
              e.bytes = finite(e.bytes);
              e.count = finite(e.count);
              if (e.delta) e.delta = { count: Number.isFinite(e.delta.count) ? e.delta.count : 0, bytes: Number.isFinite(e.delta.bytes) ? e.delta.bytes : 0 };
              if (e.size !== undefined && !(Number.isFinite(e.size) && e.size >= 0)) delete e.size;
              sink.add(e);
            },
            coverage: (c) => sink.coverage(c),
          });
        });

        // A log with pool output gets its pool section in every analyze report, next to the heap part.
        engine.hooks.report.tapPromise(NAME, async (report, run) => {
          if (run.request.depth !== "analyze" || report.pool !== undefined || run.target.kind !== "text") return report;
          const pool = logPoolSection(run);
          return pool ? { ...report, pool } : report;
        });

        engine.hooks.discoverHeaps.tapPromise({ name: NAME, stage: STAGE_BACKEND }, async (run) => {
          const model = modelOf(run);
          if (!model) return;
          let registered = 0;
          for (const h of model.heaps.values()) {
            if (registered >= MAX_HEAPS) {
              run.diagnostics.report(NAME, "WINDBG_TEXT_INPUT_LIMIT", windbgTextCodes.WINDBG_TEXT_INPUT_LIMIT.severity, `the log names ${model.heaps.size} heaps; only the first ${MAX_HEAPS} were registered`, { file: run.input.path });
              break;
            }
            registered++;
            const view = run.target.views.find((v) => v.bitness === h.bitness) ?? run.target.views[0];
            if (!view) continue;
            const rec = run.addHeap({ address: h.address, bitness: h.bitness, kind: h.kind, foundBy: LOG, view, walker: NAME, label: h.label });
            Object.assign(rec.summary, h.summary);
            if (h.reservedK !== undefined) rec.stats.reserved = h.reservedK * 1024;
            if (h.committedK !== undefined) rec.stats.committed = h.committedK * 1024;
            if (h.flags !== undefined) rec.flags = h.flags;
          }
          for (const n of model.noHeap.slice(0, 100)) {
            run.diagnostics.report(NAME, "WINDBG_TEXT_BLOCK_NO_HEAP", windbgTextCodes.WINDBG_TEXT_BLOCK_NO_HEAP.severity, `a block of ${n.what} names no heap; not added`, { file: run.input.path, line: n.line });
          }
          if (model.noHeap.length > 100) {
            run.diagnostics.report(NAME, "WINDBG_TEXT_BLOCK_NO_HEAP", "info", `${model.noHeap.length - 100} more blocks name no heap (lines ${model.noHeap[100]!.line}-${model.noHeap[model.noHeap.length - 1]!.line})`, { file: run.input.path, line: model.noHeap[100]!.line });
          }
        });

        engine.hooks.walkHeap.tapPromise({ name: NAME, stage: STAGE_BACKEND }, async (heap: HeapRecord, run) => {
          if (heap.walker !== NAME) return;
          const model = modelOf(run);
          if (!model) return;
          const list = model.blocks.get(hk(heap.bitness, heap.address)) ?? [];
          for (const b of list) {
            b.index = run.allocations.add(heap.index, b.user, Number.isFinite(b.entry) ? b.entry : b.user, b.requested, b.blockSize, b.flags);
          }
          heap.summary.blocksListed = list.length;
        });

        engine.hooks.heapsWalked.tapPromise({ name: NAME, stage: STAGE_ENRICH - 10 }, async (run) => {
          const model = modelOf(run);
          if (!model) return;
          const stacks: StackRecord[] = [];
          const ids = new Map<string, number>();
          const stackOf = new Int32Array(run.allocations.count).fill(-1);
          const intern = (key: string, frames: readonly StackFrame[]): number => {
            let id = ids.get(key);
            if (id === undefined) {
              id = stacks.length;
              stacks.push({ frames: frames.map((f) => f.address), text: frameTexts(frames) });
              ids.set(key, id);
            }
            return id;
          };
          for (const list of model.blocks.values()) {
            for (const b of list) {
              if (b.index < 0 || b.stack === undefined || b.stackKey === undefined || b.stack.length === 0) continue;
              stackOf[b.index] = intern(b.stackKey, b.stack);
            }
          }
          for (const [id, frames] of model.looseStacks) if (frames.length > 0) intern("bt:" + id, frames);
          run.data.traces = {
            status: stacks.length > 0 ? "present" : "unsupported",
            ust: model.ust,
            hpa: model.hpa,
            note:
              stacks.length > 0
                ? "stacks from the log (`!heap -p -a` and UMDH records)"
                : "the log holds no allocation stacks: add `!heap -p -a <address>` output or a UMDH log (+ust) to get them",
            stacks,
            stackOf,
          };
          const groups: SizeGroup[] = run.data.sizeGroups ?? [];
          // A heap printed by several `!heap -stat` commands: the last table is the latest state.
          const latest = new Map<string, LogModel["statTables"][number]>();
          for (const t of model.statTables) latest.set(hk(t.bitness, t.heap), t);
          for (const t of latest.values()) {
            const h = run.heaps.find((x) => x.address === t.heap && x.bitness === t.bitness);
            if (!h) continue;
            for (const g of t.groups) {
              groups.push({ heap: h.index, size: g.size, count: g.count, bytes: g.total, percent: g.percent, source: `${t.command} at line ${t.line}` });
            }
          }
          if (groups.length > 0) run.data.sizeGroups = groups;
        });
      },
    };
  },
});
