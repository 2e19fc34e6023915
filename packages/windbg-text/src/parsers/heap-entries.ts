import type {
  EntryState,
  HeapAddressBlock,
  HeapEntry,
  HeapEntryTableBlock,
  HeapFilterBlock,
  HeapListing,
  HeapListingBlock,
  HeapSearchBlock,
  PageHeapBlock,
} from "../model.js";
import { addr, type BlockInput, Ctx, dec, MAX_FRAMES, num, parseFrame } from "../util.js";

const A = "([0-9a-f`]{6,17})";

/** Normalise a state text (`busy`, `busy VirtualAlloc`, `free`, `Internal` ...). */
export function normaliseState(text: string, flags: number): EntryState {
  const t = text.toLowerCase();
  if (t.includes("virtualalloc")) return "virtualalloc";
  if (t.includes("internal")) return "internal";
  if (t.startsWith("busy")) return "busy";
  if (t.startsWith("free")) return "free";
  if (t === "" && flags === flags) return (flags & 1) !== 0 ? "busy" : "free";
  return "unknown";
}

// `00000000007a0000: 00000 . 004a8 [101] - busy (4a7) Internal`
const LISTING_ENTRY = new RegExp(`^\\s*${A}:\\s+([0-9a-f]+)\\s+\\.\\s+([0-9a-f]+)\\s+\\[([0-9a-f]{1,3})\\](.*)$`, "i");
const UNCOMMITTED = new RegExp(`^\\s*${A}:\\s+([0-9a-f]+)\\s+-\\s+uncommitted bytes\\.?\\s*$`, "i");

/** Parse one `!heap -a/-h` entry line; undefined when the line is not one. */
export function parseListingEntry(text: string, line: number): HeapEntry | undefined {
  const m = LISTING_ENTRY.exec(text);
  if (!m) {
    const u = UNCOMMITTED.exec(text);
    if (!u) return undefined;
    return { entry: addr(u[1]), size: num(u[2]), flags: Number.NaN, state: "uncommitted", line };
  }
  const flags = num(m[4]);
  const e: HeapEntry = { entry: addr(m[1]), prevSize: num(m[2]), size: num(m[3]), flags, state: "unknown", line };
  let rest = (m[5] ?? "").trim();
  const s = /^(?:-\s*)?(busy|free)(\s+fill)?(?:\s*\(([0-9a-f]+)\))?\s*,?\s*(.*)$/i.exec(rest);
  let stateText = "";
  if (s) {
    stateText = s[1] ?? "";
    if (s[3] !== undefined) e.requestedSize = num(s[3]);
    rest = ((s[2] ? "fill " : "") + (s[4] ?? "")).trim();
  }
  if (rest !== "") {
    const tag = /\(([^()]*)\)\s*$/.exec(rest);
    if (tag && !/user flags\s*\(/i.test(rest)) e.tag = tag[1] ?? "";
    e.extra = rest;
  }
  e.state = normaliseState(/\binternal\b/i.test(rest) ? "internal" : stateText, flags);
  return e;
}

/** Granule size for `-flt` / `-p -a` tables: 16 on 64-bit addresses, 8 otherwise. */
function granuleFor(entry: number): number {
  return entry > 0xffffffff ? 16 : 8;
}

// `029d1b78 8001 0000  [00]   029d1b80    40000 - (busy)`
const FLT_ENTRY = new RegExp(
  `^\\s*${A}\\s+([0-9a-f]{1,8})\\s+([0-9a-f]{1,8})\\s+\\[([0-9a-f]{1,3})\\]\\s+${A}\\s+([0-9a-f]+)\\s+-\\s+\\(([^)]*)\\)\\s*(.*)$`,
  "i",
);
const FLT_PREFIX = new RegExp(`^\\s*${A}\\s+([0-9a-f]{1,8})\\s+([0-9a-f]{1,8})\\s+\\[([0-9a-f]{1,3})\\]`, "i");

export function parseFilterEntry(text: string, line: number): HeapEntry | undefined {
  const m = FLT_ENTRY.exec(text);
  if (!m) return undefined;
  const entry = addr(m[1]);
  const g = granuleFor(entry);
  const sizeGranules = num(m[2]);
  const prevGranules = num(m[3]);
  const flags = num(m[4]);
  const e: HeapEntry = {
    entry,
    user: addr(m[5]),
    size: sizeGranules * g,
    prevSize: prevGranules * g,
    sizeGranules,
    prevGranules,
    granularity: g,
    flags,
    state: normaliseState(m[7] ?? "", flags),
    requestedSize: num(m[6]),
    line,
  };
  const rest = (m[8] ?? "").trim();
  if (rest !== "") e.extra = rest;
  return e;
}

const DPH_BUSY = new RegExp(`^\\s*${A}\\s*:\\s+${A}\\s+([0-9a-f]+)\\s+-\\s+${A}\\s+([0-9a-f]+)\\s*$`, "i");
const DPH_FREE = new RegExp(`^\\s*${A}\\s*:\\s+${A}\\s+([0-9a-f]+)\\s*$`, "i");

function parseDph(text: string, line: number, freed: boolean): PageHeapBlock | undefined {
  if (!freed) {
    const m = DPH_BUSY.exec(text);
    if (m) return { block: addr(m[1]), user: addr(m[2]), userSize: num(m[3]), virtualAddress: addr(m[4]), virtualSize: num(m[5]), state: "busy", line };
  }
  const f = DPH_FREE.exec(text);
  if (f) return { block: addr(f[1]), virtualAddress: addr(f[2]), virtualSize: num(f[3]), state: "free", line };
  return undefined;
}

const LISTING_LEGEND =
  /^\s*(Index\s+Address\s+Name|Heap Address\s+NT\/Segment Heap|address:\s*psize|\d+-bit bitmap of free lists|FreeList Usage:|Free\s+Free\s*$|List\s+List\s*$|#\s+Head\s+Blink|Entry\s+Prev\s+Cur|Address\s+Size\s+Size\s+flags|0x[0-9a-f]{2} - HEAP_ENTRY_|UnCommitted Ranges:\s*\(\d+\)|Heap entries for Segment|Segment\d+ at)/i;

/** `!heap`, `!heap -a/-h/-m/-i [heap]`: heap headers and entry listings. */
export function parseHeapListing(input: BlockInput, ctx: Ctx): HeapListingBlock {
  const out: HeapListingBlock = { ...ctx.base(input), kind: "heapListing", heaps: [] };
  let heap: HeapListing | undefined;
  let freeList: number | undefined;
  let segmentIndex: number | undefined;
  let m: RegExpExecArray | null;
  const newHeap = (address: number, line: number, index?: number): HeapListing => {
    const h: HeapListing = { address, segments: [], fields: {}, uncommittedRanges: [], freeListEntries: [], entries: [], line };
    if (index !== undefined) h.index = index;
    out.heaps.push(h);
    return h;
  };
  for (let i = 0; i < input.lines.length; i++) {
    const text = input.lines[i] ?? "";
    const line = input.first + i;
    const entry = parseListingEntry(text, line);
    if (entry) {
      heap ??= newHeap(Number.NaN, line);
      if (freeList !== undefined && entry.state !== "uncommitted") heap.freeListEntries.push({ ...entry, list: freeList });
      else {
        const seg = segmentIndex === undefined ? undefined : heap.segments[segmentIndex];
        if (seg) entry.segment = seg.start;
        heap.entries.push(entry);
      }
      continue;
    }
    if ((m = /^\s*([0-9a-f`]{6,17}):\s+([0-9a-f]{8})\s+\((\d+) bytes\)\s*$/i.exec(text)) || (m = /^\s*([0-9a-f`]{6,17}):\s+([0-9a-f]{8})\s*$/i.exec(text))) {
      heap ??= newHeap(Number.NaN, line);
      heap.uncommittedRanges.push({ address: addr(m[1]), size: num(m[2]), line });
      continue;
    }
    if ((m = /^\s*(?:\d+:)?\s*(\d+):\s+([0-9a-f`]{6,17})\s*(.*)$/i.exec(text)) && !/:\s+[0-9a-f]+\s+\./i.test(text)) {
      heap = newHeap(addr(m[2]), line, dec(m[1]));
      freeList = undefined;
      segmentIndex = undefined;
      continue;
    }
    if ((m = /^\s*([0-9a-f`]{6,17})\s+(NT Heap|Segment Heap)\s*$/i.exec(text))) {
      newHeap(addr(m[1]), line).heapType = m[2] ?? "";
      continue;
    }
    if ((m = /^\s*Segment at\s+([0-9a-f`]+)\s+to\s+([0-9a-f`]+)\s+\(([0-9a-f]+) bytes committed\)/i.exec(text))) {
      heap ??= newHeap(Number.NaN, line);
      heap.segments.push({ start: addr(m[1]), end: addr(m[2]), committed: num(m[3]), line });
      continue;
    }
    if ((m = /^\s*FreeList\[\s*([0-9a-f]+)\s*\]\s+at\s+([0-9a-f`]+):\s*([0-9a-f`]+)\s*\.\s*([0-9a-f`]+)(.*)$/i.exec(text))) {
      freeList = num(m[1]);
      continue;
    }
    if (/^\s*(Heap entries for Segment|Segment\d+ at)/i.test(text)) {
      freeList = undefined;
      const seg = /Heap entries for Segment(\d+)/i.exec(text);
      if (seg) segmentIndex = dec(seg[1]);
      ctx.note(line, "legend", text);
      continue;
    }
    if (LISTING_LEGEND.test(text)) {
      ctx.note(line, "legend", text);
      continue;
    }
    if ((m = /^\s*([A-Za-z][A-Za-z .]*?[A-Za-z.])\s*:\s*(\S.*?)\s*$/.exec(text)) && !/!/.test(text)) {
      heap ??= newHeap(Number.NaN, line);
      const key = m[1] ?? "";
      const value = m[2] ?? "";
      if (!Object.hasOwn(heap.fields, key) && Object.keys(heap.fields).length < 64) heap.fields[key] = value;
      if (key === "Flags" && heap.flags === undefined) heap.flags = num(value);
      const g = /^(\d+) bytes$/.exec(value);
      if (key === "Granularity" && g) heap.granularity = dec(g[1]);
      continue;
    }
    if (!ctx.noise(line, text)) ctx.unparsed(line, text);
  }
  // `!heap -a 00120000` whose header was elided: the entries belong to the heap named in the command.
  const argHeap = /(?:^|\s)((?:0x)?[0-9a-f`]{5,17})(?:\s|$)/i.exec(input.args);
  for (const h of out.heaps) {
    if (!(h.address === h.address) && argHeap) h.address = addr(argHeap[1]);
    // Attribute entries to their heap and segment (bounded: at most 64 segments are searched).
    const segs = h.segments.slice(0, 64);
    for (const e of h.entries) {
      if (h.address === h.address) e.heap = h.address;
      if (e.segment !== undefined) continue;
      for (const g of segs) {
        if (e.entry >= g.start && e.entry < g.end) {
          e.segment = g.start;
          break;
        }
      }
    }
  }
  out.elided = ctx.elided;
  return out;
}

function parseFilterArgs(args: string): HeapFilterBlock["filter"] {
  const tokens = args.split(" ");
  const k = tokens.indexOf("-flt");
  const mode = tokens[k + 1];
  const value = (t: string | undefined): number => {
    if (t === undefined) return Number.NaN;
    // `0n16384-1`: WinDbg evaluates simple expressions; support one trailing +/- term.
    const e = /^([0-9a-fnx`]+)([+-])([0-9a-fnx`]+)$/i.exec(t);
    if (e) {
      const a = num(e[1]);
      const b = num(e[3]);
      return e[2] === "+" ? a + b : a - b;
    }
    return num(t);
  };
  if (mode === "s") return { by: "size", size: value(tokens[k + 2]) };
  if (mode === "r") return { by: "range", min: value(tokens[k + 2]), max: value(tokens[k + 3]) };
  return { by: "unknown" };
}

const HEAP_AT = /^\s*(_HEAP|_DPH_HEAP_ROOT)\s+@\s+([0-9a-f`]+)\s*$/i;
const SYMBOL_LINE = /^\s+(?:\?\s+)?([A-Za-z0-9_.$@-]+!\S.*?)\s*$/;
const TRACE_LINE = /^\s*Trace:\s*([0-9a-f]+)\s*$/i;

/** Attach a `module!symbol` or `Trace: n` line to the entry printed just above it. */
function annotate(last: HeapEntry | undefined, text: string): boolean {
  if (last === undefined) return false;
  const t = TRACE_LINE.exec(text);
  if (t && last.traceIndex === undefined) {
    last.traceIndex = num(t[1]);
    return true;
  }
  const s = SYMBOL_LINE.exec(text);
  if (s && last.symbol === undefined && !/\+(0x)?[0-9a-f]+\s*$/i.test(text)) {
    last.symbol = s[1] ?? "";
    return true;
  }
  return false;
}
const FLT_LEGEND =
  /^\s*(HEAP_ENTRY\s+Size\s+Prev|Freed and decommitted blocks|Busy allocations|DPH_HEAP_BLOCK\s*:|in HEAP_ENTRY:|address .* found in)/i;

/** `!heap -flt s|r ...`. */
export function parseHeapFilter(input: BlockInput, ctx: Ctx): HeapFilterBlock {
  const out: HeapFilterBlock = { ...ctx.base(input), kind: "heapFilter", filter: parseFilterArgs(input.args), heaps: [], entries: [], pageHeapBlocks: [] };
  let freed = false;
  const lines = input.lines;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? "";
    const line = input.first + i;
    let m: RegExpExecArray | null;
    if ((m = HEAP_AT.exec(text))) {
      out.heaps.push({ address: addr(m[2]), pageHeap: m[1] === "_DPH_HEAP_ROOT", line });
      continue;
    }
    let e = parseFilterEntry(text, line);
    if (!e && i + 1 < lines.length && FLT_PREFIX.test(text)) {
      e = parseFilterEntry(text + " " + (lines[i + 1] ?? ""), line);
      if (e) i++;
    }
    if (e) {
      const h = out.heaps[out.heaps.length - 1];
      if (h !== undefined) e.heap = h.address;
      out.entries.push(e);
      continue;
    }
    if (/Freed and decommitted/i.test(text)) freed = true;
    if (/Busy allocations/i.test(text)) freed = false;
    if (FLT_LEGEND.test(text)) {
      ctx.note(line, "legend", text);
      continue;
    }
    const d = parseDph(text, line, freed);
    if (d) {
      out.pageHeapBlocks.push(d);
      continue;
    }
    if (annotate(out.entries[out.entries.length - 1], text)) continue;
    if (ctx.noise(line, text)) continue;
    if (FLT_PREFIX.test(text)) {
      ctx.report("WINDBG_TEXT_TRUNCATED_ROW", line, `!heap -flt row ends early: ${text.trim()}`);
      continue;
    }
    ctx.unparsed(line, text);
  }
  out.elided = ctx.elided;
  return out;
}

/** `!heap -p -a <address>`. */
export function parseHeapAddress(input: BlockInput, ctx: Ctx): HeapAddressBlock {
  const argAddress = /(?:^|\s)-a\s+(\S+)/.exec(input.args);
  const out: HeapAddressBlock = {
    ...ctx.base(input),
    kind: "heapAddress",
    address: argAddress ? addr(argAddress[1]) : Number.NaN,
    pageHeap: false,
    stack: [],
  };
  let freed = false;
  let dropped = 0;
  for (let i = 0; i < input.lines.length; i++) {
    const text = input.lines[i] ?? "";
    const line = input.first + i;
    let m: RegExpExecArray | null;
    if ((m = /^\s*address\s+([0-9a-f`]+)\s+found in\s*$/i.exec(text))) {
      out.address = addr(m[1]);
      continue;
    }
    if ((m = HEAP_AT.exec(text))) {
      out.heap = addr(m[2]);
      out.pageHeap = m[1] === "_DPH_HEAP_ROOT";
      continue;
    }
    if ((m = /^\s*in (busy|free-ed|free) allocation\s*\(/i.exec(text))) {
      freed = m[1] !== "busy";
      ctx.note(line, "legend", text);
      continue;
    }
    const e = out.entry === undefined ? parseFilterEntry(text, line) : undefined;
    if (e) {
      if (out.heap !== undefined) e.heap = out.heap;
      out.entry = e;
      continue;
    }
    if (out.pageHeapBlock === undefined) {
      const d = parseDph(text, line, freed);
      if (d) {
        out.pageHeapBlock = d;
        continue;
      }
    }
    if (FLT_LEGEND.test(text)) {
      ctx.note(line, "legend", text);
      continue;
    }
    if (ctx.noise(line, text)) continue;
    if (out.stack.length === 0 && TRACE_LINE.test(text) && annotate(out.entry, text)) continue;
    // `? module!symbol` is what a pointer resolves to, printed by the author or an extension: not a frame.
    if (/^\s*\?\s+\S+!\S/.test(text)) {
      ctx.note(line, "legend", text);
      continue;
    }
    const f = parseFrame(text);
    if (f) {
      if (out.stack.length < MAX_FRAMES) out.stack.push(f);
      else dropped++;
      continue;
    }
    ctx.unparsed(line, text);
  }
  if (dropped > 0) ctx.report("WINDBG_TEXT_INPUT_LIMIT", out.line, `!heap -p -a: ${dropped} frames beyond ${MAX_FRAMES} ignored`);
  // In a stack whose frames print return addresses, a bare `module!symbol` line (no address, no
  // offset) is a symbol annotation (what the block's first pointer resolves to), not a frame.
  if (out.stack.some((f) => Number.isFinite(f.address))) {
    out.stack = out.stack.filter((f) => {
      const annotation = !Number.isFinite(f.address) && f.module !== undefined && (f.offset === undefined || Number.isNaN(f.offset)) && !/\+/.test(f.text);
      if (annotation && out.entry && out.entry.symbol === undefined) out.entry.symbol = f.text;
      return !annotation;
    });
  }
  out.elided = ctx.elided;
  return out;
}

const TABLE_ROW = new RegExp(`^\\s*${A}\\s+${A}\\s+${A}\\s+${A}\\s+([0-9a-f]+)\\s+([0-9a-f]+)(?:\\s+([0-9a-f]+))?\\s+([a-z_][a-z_ ]*?)\\s*$`, "i");

/** `!heap -x [-v] <address>` and `!heap -l`: the Entry/User/Heap/Segment table. */
export function parseHeapEntryTable(input: BlockInput, ctx: Ctx, mode: "x" | "l"): HeapEntryTableBlock {
  const out: HeapEntryTableBlock = { ...ctx.base(input), kind: "heapEntryTable", mode, entries: [], heapsScanned: [] };
  let hasUnused = false;
  let m: RegExpExecArray | null;
  for (let i = 0; i < input.lines.length; i++) {
    const text = input.lines[i] ?? "";
    const line = input.first + i;
    if (/^\s*(##\s*)?Entry\s+User\s+Heap\s+Segment/i.test(text)) {
      hasUnused = /\bUnused\b/i.test(text);
      ctx.note(line, "legend", text);
      continue;
    }
    if ((m = TABLE_ROW.exec(text))) {
      const words = (m[8] ?? "").split(" ").filter((w) => w !== "");
      const e: HeapEntry = {
        entry: addr(m[1]),
        user: addr(m[2]),
        heap: addr(m[3]),
        segment: addr(m[4]),
        size: num(m[5]),
        prevSize: num(m[6]),
        flags: Number.NaN,
        flagWords: words,
        state: normaliseState(words.includes("busy") ? "busy" : words.includes("free") ? "free" : words.join(" "), Number.NaN),
        line,
      };
      if (m[7] !== undefined) e.unused = num(m[7]);
      else if (hasUnused) ctx.report("WINDBG_TEXT_TRUNCATED_ROW", line, "row has no Unused column though the header has one");
      if (e.unused !== undefined && e.unused === e.unused) e.requestedSize = e.size - e.unused;
      out.entries.push(e);
      continue;
    }
    if ((m = /^\s*(?:\d+:)?Heap\s+([0-9a-f`]{6,17})\s*$/i.exec(text))) {
      out.heapsScanned.push(addr(m[1]));
      continue;
    }
    if ((m = /^\s*(\d+)\s+(?:leaks?|potential unreachable blocks?)\s+(?:were\s+|was\s+)?detected\.?\s*$/i.exec(text))) {
      out.reportedCount = dec(m[1]);
      continue;
    }
    if ((m = /^\s*Search VM for address range\s+([0-9a-f`]+)\s*-\s*([0-9a-f`]+)/i.exec(text))) {
      out.searchRange = { from: addr(m[1]), to: addr(m[2]) };
      continue;
    }
    if (/^\s*-{5,}\s*$/.test(text)) continue;
    if (/^\s*Searching the memory for potential unreachable busy blocks/i.test(text)) {
      ctx.note(line, "legend", text);
      continue;
    }
    if (!ctx.noise(line, text)) ctx.unparsed(line, text);
  }
  out.elided = ctx.elided;
  return out;
}

/**
 * `!heap -srch <pattern>`: `_HEAP @` lines, `-flt`-style entry rows (optionally preceded by an
 * `in HEAP_ENTRY:` legend) and symbol lines under a hit.
 */
export function parseHeapSearch(input: BlockInput, ctx: Ctx): HeapSearchBlock {
  const pattern = input.args.replace(/^-srch\s*/i, "");
  const out: HeapSearchBlock = { ...ctx.base(input), kind: "heapSearch", pattern, heaps: [], entries: [] };
  for (let i = 0; i < input.lines.length; i++) {
    const text = input.lines[i] ?? "";
    const line = input.first + i;
    const h = HEAP_AT.exec(text);
    if (h) {
      out.heaps.push(addr(h[2]));
      continue;
    }
    const e = parseFilterEntry(text, line) ?? parseListingEntry(text, line);
    if (e) {
      out.entries.push(e);
      continue;
    }
    if (FLT_LEGEND.test(text)) {
      ctx.note(line, "legend", text);
      continue;
    }
    if (ctx.noise(line, text)) continue;
    if (annotate(out.entries[out.entries.length - 1], text)) continue;
    ctx.unparsed(line, text);
  }
  out.elided = ctx.elided;
  return out;
}
