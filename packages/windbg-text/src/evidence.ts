import { type Evidence, type EvidenceSink, type Frame, callSiteOf, formatAddress } from "@leakscope/core";
import type {
  AddressSummaryBlock,
  HeapStatBlock,
  HeapSummaryBlock,
  NtHeapSummary,
  StackFrame,
  UmdhDiffBlock,
  UmdhLogBlock,
  WindbgSession,
} from "./model.js";
import { blocksOfKind } from "./model.js";

/**
 * Detectors over a parsed log: every leak signal a WinDbg / UMDH / poolmon text prints becomes an
 * {@link Evidence} record (see `@leakscope/core`'s evidence model). Pure functions of the session
 * (and of the pool rows the plugin derived from it), so they are tested without an engine.
 */

const DETECTOR = "windbg-text";
/** Most records of one kind (UMDH stacks, pool tags) sent to the combiner. */
const MAX_RECORDS = 50;

const hex = (n: number): string => `0x${Math.max(0, Math.round(n)).toString(16)}`;
const kb = (n: number): string => `${Math.round(n).toLocaleString("en-US")} KB`;
const clamp = (x: number, lo = 0, hi = 0.95): number => Math.round(Math.min(hi, Math.max(lo, x)) * 1000) / 1000;

function mib(bytes: number): string {
  if (bytes >= 1024 * 1024 * 1024) return `${(bytes / (1024 * 1024 * 1024)).toFixed(2)} GiB`;
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/** CRT wrappers that `callSiteOf` does not know (debug CRT, statically linked CRT). */
const CRT_WRAPPER = /!(_nh_malloc\w*|_malloc_dbg|_calloc_dbg|_realloc_dbg|_recalloc\w*|_expand\w*|_?calloc_impl|_?malloc_base|_?heap_alloc\w*|operator new\w*|_?strdup\w*)(\+|$)/i;

/** A log's frame as a report frame. */
export function reportFrame(f: StackFrame): Frame {
  const off = f.offset !== undefined && f.offset !== 0 ? `+0x${f.offset.toString(16)}` : "";
  let text: string;
  if (f.module !== undefined && f.symbol !== undefined) text = `${f.module}!${f.symbol}${off}`;
  else if (f.module !== undefined) text = `${f.module}${off}`;
  else if (f.symbol !== undefined) text = `${f.symbol}${off}`;
  else if (Number.isFinite(f.address)) text = formatAddress(f.address);
  else text = f.text;
  const out: Frame = { address: Number.isFinite(f.address) ? formatAddress(f.address) : "0x0", text };
  if (f.module !== undefined) out.module = f.module;
  if (f.symbol !== undefined) out.symbol = f.symbol;
  if (f.offset !== undefined && f.offset >= 0) out.offset = f.offset;
  return out;
}

/** The first frame outside the allocator and the CRT, with its source position when printed. */
export function logCallSite(stack: readonly StackFrame[]): { frame: StackFrame; text: string } | undefined {
  const frames = stack.map((f, k) => ({ text: reportFrame(f).text, k }));
  const site = callSiteOf(frames.filter((f) => !CRT_WRAPPER.test(f.text)));
  if (!site) return undefined;
  return { frame: stack[site.k]!, text: site.text };
}

function stackFacts(stack: readonly StackFrame[] | undefined): Pick<Evidence, "stack" | "callSite" | "sourceFile" | "sourceLine"> {
  if (!stack || stack.length === 0) return {};
  const out: Pick<Evidence, "stack" | "callSite" | "sourceFile" | "sourceLine"> = { stack: stack.map(reportFrame) };
  const site = logCallSite(stack);
  if (site) {
    out.callSite = site.text;
    const withFile = site.frame.file !== undefined ? site.frame : stack.find((f) => f.file !== undefined);
    if (withFile?.file !== undefined) {
      out.sourceFile = withFile.file;
      if (withFile.sourceLine !== undefined) out.sourceLine = withFile.sourceLine;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// UMDH

/** One UMDH record as the detectors see it: a backtrace with bytes and counts now and before. */
export interface UmdhRecordFacts {
  backtraceId: string;
  bytes: number;
  oldBytes: number;
  count?: number;
  oldCount?: number;
  /** The one requested size of every allocation of the backtrace, when the log shows it. */
  size?: number;
  line: number;
}

/**
 * UMDH stacks printed in the log, by backtrace id (the first non-empty one wins): those of the
 * comparisons and resolved records, and of the raw snapshots unless `snapshots` is false.
 */
export function umdhStacks(session: WindbgSession, snapshots = true): Map<string, StackFrame[]> {
  const out = new Map<string, StackFrame[]>();
  const keep = (id: string, s: StackFrame[] | undefined): void => {
    if (s && s.length > 0 && !out.has(id)) out.set(id, s);
  };
  for (const b of session.blocks) {
    if (b.kind === "umdhDiff") {
      for (const [id, s] of Object.entries(b.stacks)) keep(id, s);
      for (const r of b.resolved) keep(r.backtraceId, r.stack);
    } else if (b.kind === "umdhLog" && snapshots) for (const [id, s] of Object.entries(b.stacks)) keep(id, s);
  }
  return out;
}

/** Per-backtrace totals of a raw UMDH snapshot (requested bytes, as UMDH compares them). */
export function umdhSnapshotTotals(block: UmdhLogBlock): Map<string, { bytes: number; count: number; size?: number; line: number }> {
  const out = new Map<string, { bytes: number; count: number; size?: number; mixed?: boolean; line: number }>();
  for (const a of block.allocations) {
    const req = Number.isFinite(a.requested) ? a.requested : 0;
    let t = out.get(a.backtraceId);
    if (!t) out.set(a.backtraceId, (t = { bytes: 0, count: 0, size: req, line: a.line }));
    else if (t.size !== req) t.mixed = true;
    t.bytes += req;
    t.count++;
  }
  for (const t of out.values()) {
    if (t.mixed) delete t.size;
    delete t.mixed;
  }
  return out;
}

/**
 * The comparison a log holds: UMDH's own diff records (the last comparison printed wins: a
 * repeated command is a later snapshot, never added up), else two raw snapshots compared the way
 * UMDH compares them (per backtrace, requested bytes), else one snapshot or resolved records.
 */
export function umdhComparison(session: WindbgSession): { kind: "diff" | "snapshot-diff" | "snapshot" | "none"; records: UmdhRecordFacts[]; againstEmpty: boolean; source: string } {
  const diffs = blocksOfKind(session, "umdhDiff").filter((b) => b.records.length > 0);
  const last: UmdhDiffBlock | undefined = diffs[diffs.length - 1];
  if (last) {
    const records = last.records.map((r) => {
      const f: UmdhRecordFacts = { backtraceId: r.backtraceId, bytes: r.newBytes, oldBytes: r.oldBytes, line: r.line };
      if (r.newCount !== undefined) f.count = r.newCount;
      if (r.oldCount !== undefined) f.oldCount = r.oldCount;
      if (f.count === undefined && r.allocs !== undefined && r.newBytes > 0) {
        // Old layout: `N allocs` is the newer count; when the blocks are all one size the older
        // count follows from the bytes (UMDH prints the resolved growth the same way).
        f.count = r.allocs;
        const each = r.allocs > 0 ? r.newBytes / r.allocs : 0;
        if (Number.isInteger(each) && each > 0 && r.oldBytes % each === 0) f.oldCount = r.oldBytes / each;
      }
      return f;
    });
    // `N bytes in M allocations (@ S)` records resolved in the same log give the allocation size.
    const sizes = new Map<string, number>();
    for (const b of blocksOfKind(session, "umdhDiff")) for (const r of b.resolved) if (r.at !== undefined && Number.isFinite(r.at) && r.at > 0) sizes.set(r.backtraceId, r.at);
    for (const r of records) {
      const size = sizes.get(r.backtraceId);
      if (size !== undefined) r.size = size;
    }
    return { kind: "diff", records, againstEmpty: records.every((r) => r.oldBytes === 0), source: `UMDH comparison at line ${last.line}` };
  }
  const logs = blocksOfKind(session, "umdhLog").filter((b) => b.allocations.length > 0);
  if (logs.length >= 2) {
    const before = umdhSnapshotTotals(logs[0]!);
    const after = umdhSnapshotTotals(logs[logs.length - 1]!);
    const ids = new Set([...before.keys(), ...after.keys()]);
    const records: UmdhRecordFacts[] = [];
    for (const id of ids) {
      const b = before.get(id);
      const a = after.get(id);
      const r: UmdhRecordFacts = { backtraceId: id, bytes: a?.bytes ?? 0, oldBytes: b?.bytes ?? 0, count: a?.count ?? 0, oldCount: b?.count ?? 0, line: (a ?? b)!.line };
      const size = a?.size ?? b?.size;
      if (size !== undefined && (a?.size ?? size) === (b?.size ?? size)) r.size = size;
      records.push(r);
    }
    return { kind: "snapshot-diff", records, againstEmpty: false, source: `UMDH snapshots at lines ${logs[0]!.line} and ${logs[logs.length - 1]!.line}` };
  }
  if (logs.length === 1) {
    const records = [...umdhSnapshotTotals(logs[0]!)].map(([id, t]) => ({ backtraceId: id, bytes: t.bytes, oldBytes: 0, count: t.count, line: t.line, ...(t.size !== undefined ? { size: t.size } : {}) }));
    return { kind: "snapshot", records, againstEmpty: true, source: `UMDH snapshot at line ${logs[0]!.line}` };
  }
  const resolved = blocksOfKind(session, "umdhDiff").flatMap((b) => b.resolved);
  if (resolved.length > 0) {
    const records = resolved.map((r) => ({ backtraceId: r.backtraceId, bytes: r.bytes, oldBytes: 0, count: r.count, line: r.line, ...(r.at !== undefined && Number.isFinite(r.at) && r.at > 0 ? { size: r.at } : {}) }));
    return { kind: "snapshot", records, againstEmpty: true, source: `UMDH records at line ${resolved[0]!.line}` };
  }
  return { kind: "none", records: [], againstEmpty: true, source: "" };
}

/** `stack:BackTrace<id>`, plus `class:*:<size>` when every allocation of the backtrace has one size. */
function umdhKeys(r: UmdhRecordFacts): string[] {
  return [`stack:BackTrace${r.backtraceId}`, ...(r.size !== undefined ? [`class:*:0x${r.size.toString(16)}`] : [])];
}

function umdhEvidence(session: WindbgSession, sink: EvidenceSink): boolean {
  const cmp = umdhComparison(session);
  if (cmp.kind === "none") return false;
  const stacks = umdhStacks(session);
  const grown = cmp.againstEmpty ? [] : cmp.records.filter((r) => r.bytes - r.oldBytes > 0);
  if (grown.length > 0) {
    grown.sort((a, b) => b.bytes - b.oldBytes - (a.bytes - a.oldBytes) || a.line - b.line);
    const total = grown.reduce((n, r) => n + (r.bytes - r.oldBytes), 0);
    const max = grown[0]!.bytes - grown[0]!.oldBytes;
    for (const r of grown.slice(0, MAX_RECORDS)) {
      const delta = r.bytes - r.oldBytes;
      const share = total > 0 ? delta / total : 0;
      const stack = stacks.get(r.backtraceId);
      const facts = stackFacts(stack);
      const countDelta = r.count !== undefined && r.oldCount !== undefined ? r.count - r.oldCount : undefined;
      const e: Evidence = {
        detector: `${DETECTOR}/umdh`,
        signal: "growth",
        keys: umdhKeys(r),
        ...(r.size !== undefined ? { size: r.size } : {}),
        // The largest growth leads (>= 0.35); records with a small share of the growth stay below 0.3.
        strength: clamp(0.2 + 0.6 * share + 0.15 * (delta / max)),
        count: r.count ?? 0,
        bytes: r.bytes,
        delta: { count: countDelta ?? 0, bytes: delta },
        leakKind: "heap",
        title: `BackTrace${r.backtraceId} grew by ${hex(delta)} bytes${facts.callSite ? ` (${facts.callSite})` : ""}`,
        text:
          `UMDH: the allocations of BackTrace${r.backtraceId} grew from ${hex(r.oldBytes)} to ${hex(r.bytes)} bytes (+${hex(delta)}, ${Math.round(share * 1000) / 10}% of the growth)` +
          `${countDelta !== undefined ? `, ${r.oldCount} -> ${r.count} allocations` : r.count !== undefined ? `, ${r.count} allocations` : ""}.`,
        nextStep: facts.callSite
          ? `Find where the blocks allocated at ${facts.callSite}${facts.sourceFile ? ` (${facts.sourceFile}${facts.sourceLine !== undefined ? `, line ${facts.sourceLine}` : ""})` : ""} should be freed; take a third UMDH snapshot to confirm it keeps growing.`
          : `Resolve the stack of BackTrace${r.backtraceId} (set _NT_SYMBOL_PATH and run umdh on the two logs again) to see who allocates it.`,
        source: `${cmp.source}, record at line ${r.line}`,
        ...facts,
      };
      sink.add(e);
    }
    return true;
  }
  // One snapshot (or a comparison against an empty log): what is alive now, ranked by bytes.
  const live = cmp.records.filter((r) => r.bytes > 0).sort((a, b) => b.bytes - a.bytes || a.line - b.line);
  const total = live.reduce((n, r) => n + r.bytes, 0);
  for (const r of live.slice(0, MAX_RECORDS)) {
    const share = total > 0 ? r.bytes / total : 0;
    const facts = stackFacts(stacks.get(r.backtraceId));
    sink.add({
      detector: `${DETECTOR}/umdh`,
      signal: "concentration",
      keys: umdhKeys(r),
      ...(r.size !== undefined ? { size: r.size } : {}),
      // One snapshot shows what is alive, not what grows: at most "worth a look" when one stack
      // holds most of the traced bytes in many allocations.
      strength: clamp(0.25 * share + ((r.count ?? 0) >= 100 ? 0.15 : 0) + (r.bytes >= 16 * 1024 * 1024 ? 0.1 : 0), 0, 0.55),
      count: r.count ?? 0,
      bytes: r.bytes,
      leakKind: "heap",
      title: `BackTrace${r.backtraceId} holds ${hex(r.bytes)} bytes${facts.callSite ? ` (${facts.callSite})` : ""}`,
      text: `UMDH: BackTrace${r.backtraceId} holds ${hex(r.bytes)} bytes${r.count !== undefined ? ` in ${r.count} allocations` : ""}, ${Math.round(share * 1000) / 10}% of the bytes traced in this ${cmp.kind === "diff" ? "log (compared against an empty log: no growth is shown)" : "snapshot"}.`,
      nextStep: "Take a second UMDH snapshot later (umdh -p:PID -f:after.log) and compare them (umdh before.log after.log, or leakscope diff before.log after.log): what grows is the leak.",
      source: `${cmp.source}, record at line ${r.line}`,
      ...facts,
    });
  }
  return live.length > 0;
}

// ---------------------------------------------------------------------------------------------
// !heap -l

function heapLeakEvidence(session: WindbgSession, sink: EvidenceSink): boolean {
  const tables = blocksOfKind(session, "heapEntryTable").filter((b) => b.mode === "l");
  const b = tables[tables.length - 1];
  if (!b) return false;
  const listed = b.entries.filter((e) => e.state !== "free");
  const total = Math.max(b.reportedCount ?? listed.length, listed.length);
  if (total === 0) return true;
  const listedBytes = listed.reduce((n, e) => n + (Number.isFinite(e.size) ? e.size : 0), 0);
  const sample = listed.length < total || b.elided;
  const heaps = new Set(listed.map((e) => e.heap).filter((h): h is number => h !== undefined && Number.isFinite(h)));
  const heapKey = heaps.size === 1 ? formatAddress([...heaps][0]!) : "*";
  const sizes = [...new Set(listed.map((e) => e.size).filter(Number.isFinite))].slice(0, 16);
  const e: Evidence = {
    detector: `${DETECTOR}/heap-l`,
    signal: "unreferenced",
    keys: [`unreferenced:${heapKey}`],
    strength: clamp(0.3 + 0.12 * Math.log10(total)),
    count: total,
    // Bytes only of the rows printed (a lower bound when they are a sample).
    bytes: sample ? Math.round((listedBytes / Math.max(1, listed.length)) * total) : listedBytes,
    leakKind: "heap",
    title: `${total.toLocaleString("en-US")} heap blocks no pointer reaches (!heap -l)`,
    text: sample
      ? `\`!heap -l\` reports ${total.toLocaleString("en-US")} unreachable busy blocks; the log lists only ${listed.length} of them (${hex(listedBytes)} bytes), a sample: the bytes are estimated from it.`
      : `\`!heap -l\` reports ${total} unreachable busy blocks holding ${hex(listedBytes)} bytes.`,
    nextStep:
      "Run `!heap -p -a <address>` on a few of the listed blocks (with gflags +ust) to see which stack allocated them; blocks of one size from one stack are the leak.",
    source: `${b.command ?? "!heap -l"} at line ${b.line}`,
    samples: listed.slice(0, 5).map((x) => formatAddress(x.user ?? x.entry)),
  };
  if (sizes.length > 0) e.sizes = sizes;
  sink.add(e);
  return true;
}

// ---------------------------------------------------------------------------------------------
// !heap -s

/** Busy bytes a `-stat` table accounts for: the total its percentages imply (it shows only the top groups), else the sum. */
export function statTableBusy(groups: readonly { total: number; percent: number }[]): { busy: number; listed: number; fromPercent: boolean } {
  const listed = groups.reduce((n, g) => n + g.total, 0);
  const best = groups.find((g) => g.percent >= 1 && g.total > 0);
  if (best) {
    const implied = best.total / (best.percent / 100);
    if (implied >= listed * 0.99) return { busy: Math.round(implied), listed, fromPercent: true };
  }
  return { busy: listed, listed, fromPercent: false };
}

/** The group of a `-stat` table holding at least half of the busy bytes the table accounts for, if one does. */
export function dominantGroup(groups: readonly { size: number; count: number; total: number; percent: number }[]): { size: number; count: number; share: number } | undefined {
  const busy = statTableBusy(groups).busy;
  const top = groups.reduce<(typeof groups)[number] | undefined>((a, g) => (Number.isFinite(g.total) && g.total > (a?.total ?? 0) ? g : a), undefined);
  if (!top || busy <= 0 || !Number.isFinite(top.size) || top.total < busy * 0.5) return undefined;
  return { size: top.size, count: top.count, share: top.total / busy };
}

function latestStatTable(session: WindbgSession, heap: number): (HeapStatBlock["tables"][number] & { command: string }) | undefined {
  let found: (HeapStatBlock["tables"][number] & { command: string }) | undefined;
  for (const b of blocksOfKind(session, "heapStat")) for (const t of b.tables) if (t.heap === heap && t.groups.length > 0) found = { ...t, command: b.command ?? "!heap -stat" };
  return found;
}

function summaryRows(b: HeapSummaryBlock): { address: number; committedK: number; row?: NtHeapSummary; line: number }[] {
  return [
    ...b.heaps.filter((h) => Number.isFinite(h.address) && Number.isFinite(h.committedK)).map((h) => ({ address: h.address, committedK: h.committedK, row: h, line: h.line })),
    ...b.segmentHeaps.filter((h) => Number.isFinite(h.address) && Number.isFinite(h.committedK)).map((h) => ({ address: h.address, committedK: h.committedK, line: h.line })),
  ];
}

function heapSummaryEvidence(session: WindbgSession, sink: EvidenceSink): boolean {
  const summaries = blocksOfKind(session, "heapSummary").filter((b) => summaryRows(b).length > 0);
  const last = summaries[summaries.length - 1];
  if (!last) return false;
  const rows = summaryRows(last);
  const totalK = rows.reduce((n, r) => n + r.committedK, 0);
  const top = [...rows].sort((a, b) => b.committedK - a.committedK)[0]!;
  const share = totalK > 0 ? top.committedK / totalK : 0;
  const commit = top.committedK * 1024;
  const name = formatAddress(top.address);
  const stat = latestStatTable(session, top.address);
  const r = top.row;
  const rowFacts = r
    ? ` It has ${r.virtualBlocks} virtual block(s), ${kb(r.freeK)} free in ${r.listLength} free-list block(s) and ${r.ucrs} uncommitted range(s).`
    : "";
  const next = `Look where the commit is: \`!heap -s -v\` / \`!heap -s -h ${name.slice(2)}\` (virtual blocks: large allocations outside the segments), \`!heap -stat -h ${name.slice(2)} -grp A\` (sizes by allocation), and \`!address -f:Heap\` for the heap's regions; then \`!heap -flt s <size>\` and \`!heap -p -a <address>\` on the largest group.`;
  let reportedGap = false;
  if (stat && commit >= 4 * 1024 * 1024) {
    const busy = statTableBusy(stat.groups);
    if (busy.busy < commit * 0.25) {
      const gap = commit - busy.busy;
      sink.add({
        detector: `${DETECTOR}/heap-s`,
        signal: "reported",
        keys: [`heap:${name}`],
        // Worth a look when tens of MiB are unaccounted for; a few MiB of slack is how heaps look.
        strength: clamp(0.05 + 0.15 * share + (gap >= 256 * 1024 * 1024 ? 0.45 : gap >= 64 * 1024 * 1024 ? 0.3 : gap >= 16 * 1024 * 1024 ? 0.15 : 0.05)),
        count: 0,
        bytes: commit,
        leakKind: "heap",
        heap: name,
        title: `Heap ${name.slice(2)} holds ${kb(top.committedK)} committed; its busy blocks account for ${mib(busy.busy)}`,
        text:
          `\`!heap -s\` (line ${top.line}): heap ${name.slice(2)} has ${kb(top.committedK)} committed, ${Math.round(share * 100)}% of all heap commit (${kb(totalK)}), ` +
          `while its \`!heap -stat -h\` table (line ${stat.line}) accounts for ${mib(busy.busy)} of busy blocks${busy.fromPercent ? " (the total its percentages imply)" : ""}: ${mib(gap)} are not in the size groups.${rowFacts}`,
        nextStep: next,
        source: `${last.command ?? "!heap -s"} at line ${top.line}; ${stat.command} at line ${stat.line}`,
      });
      reportedGap = true;
    }
  }
  if (!reportedGap && share >= 0.5 && commit >= 64 * 1024 * 1024) {
    // The heap's `-stat` table accounts for its commit and one size holds most of its busy bytes:
    // the commit and that size class are one cause (the card is the size class, with both figures).
    const dominant = stat ? dominantGroup(stat.groups) : undefined;
    const hn = name.slice(2);
    sink.add({
      detector: `${DETECTOR}/heap-s`,
      signal: "reported",
      keys: [`heap:${name}`, ...(dominant ? [`class:${name}:${hex(dominant.size)}`] : [])],
      strength: clamp(0.1 + 0.2 * share + (commit >= 1024 * 1024 * 1024 ? 0.25 : commit >= 256 * 1024 * 1024 ? 0.15 : 0.05)),
      count: 0,
      bytes: commit,
      leakKind: "heap",
      heap: name,
      title: `Heap ${name.slice(2)} holds ${Math.round(share * 100)}% of all heap commit (${kb(top.committedK)})`,
      text:
        `\`!heap -s\` (line ${top.line}): heap ${hn} has ${kb(top.committedK)} committed, ${Math.round(share * 100)}% of all heap commit (${kb(totalK)}).${rowFacts}` +
        (dominant && stat ? ` Its \`!heap -stat -h\` table (line ${stat.line}) puts ${Math.round(dominant.share * 10000) / 100}% of the busy bytes in ${dominant.count.toLocaleString("en-US")} blocks of ${hex(dominant.size)} bytes.` : ""),
      nextStep: dominant
        ? `Run \`!heap -flt s ${dominant.size.toString(16)}\` to list the ${hex(dominant.size)}-byte blocks, then \`!heap -p -a <address>\` on a few of them (gflags +ust on) for the stack that allocates them.`
        : `Run \`!heap -stat -h ${hn}\` to see which sizes fill it. ${next}`,
      source: `${last.command ?? "!heap -s"} at line ${top.line}`,
    });
  }
  // Two or more `!heap -s` in one log are snapshots: commit that grew between the first and the last.
  if (summaries.length >= 2) {
    const first = new Map(summaryRows(summaries[0]!).map((x) => [x.address, x]));
    for (const x of rows) {
      const before = first.get(x.address);
      if (!before) continue;
      const deltaK = x.committedK - before.committedK;
      if (deltaK * 1024 < 1024 * 1024 || deltaK < before.committedK * 0.2) continue;
      const hn = formatAddress(x.address);
      sink.add({
        detector: `${DETECTOR}/heap-s`,
        signal: "growth",
        keys: [`heap:${hn}`],
        strength: clamp(0.25 + 0.1 * Math.log10(deltaK / 1024) + (x.address === top.address ? 0.05 : 0)),
        count: 0,
        bytes: x.committedK * 1024,
        delta: { count: 0, bytes: deltaK * 1024 },
        leakKind: "heap",
        heap: hn,
        title: `Heap ${hn.slice(2)} commit grew by ${kb(deltaK)}`,
        text: `Heap ${hn.slice(2)}'s commit grew from ${kb(before.committedK)} (line ${before.line}) to ${kb(x.committedK)} (line ${x.line}) between the two \`!heap -s\` in the log.`,
        nextStep: `Run \`!heap -stat -h ${hn.slice(2)}\` at both points and compare the groups: the size that grows is the leak.`,
        source: `${summaries[0]!.command ?? "!heap -s"} at line ${before.line}; ${last.command ?? "!heap -s"} at line ${x.line}`,
      });
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// !address -summary

/** The Heap usage row of an `!address -summary` (old `RegionUsageHeap` or modern `Heap`). */
export function addressHeapShare(b: AddressSummaryBlock): { size: number; percentBusy?: number; line: number } | undefined {
  const row = b.rows.find((r) => r.section === "usage" && /^(RegionUsage)?Heap$/i.test(r.name.trim()));
  if (!row) return undefined;
  const out: { size: number; percentBusy?: number; line: number } = { size: row.size, line: row.line };
  const pct = row.percentBusy ?? (b.busy ? (row.size / b.busy) * 100 : undefined);
  if (pct !== undefined) out.percentBusy = pct;
  return out;
}

function addressEvidence(session: WindbgSession, sink: EvidenceSink, hasHeapCommands: boolean): boolean {
  const blocks = blocksOfKind(session, "addressSummary");
  const b = blocks[blocks.length - 1];
  if (!b) return false;
  const heap = addressHeapShare(b);
  if (!heap || heap.percentBusy === undefined) return b.rows.length > 0;
  const usage = b.rows.filter((r) => r.section === "usage" && !/free/i.test(r.name)).sort((x, y) => y.size - x.size).slice(0, 3);
  const others = usage.map((r) => `${r.name.trim()} ${mib(r.size)}${r.percentBusy !== undefined ? ` (${r.percentBusy}%)` : ""}`).join(", ");
  const share = heap.percentBusy / 100;
  const next = hasHeapCommands
    ? "The heap commands in this log show which heap holds it."
    : "Run `!heap -s` to see which heap holds the commit, then `!heap -stat -h <that heap>` for its size groups and `!heap -p -a <address>` on a block of the top size (with gflags +ust).";
  sink.add({
    detector: `${DETECTOR}/address-summary`,
    signal: "reported",
    keys: ["heap:*"],
    strength: share >= 0.5 ? clamp(0.05 + 0.35 * share + (heap.size >= 256 * 1024 * 1024 ? 0.1 : 0)) : clamp(0.2 * share),
    count: 0,
    bytes: heap.size,
    leakKind: "heap",
    title: `Heap memory is ${Math.round(heap.percentBusy * 100) / 100}% of the busy address space (${mib(heap.size)})`,
    text: `\`!address -summary\` (line ${heap.line}): Heap regions hold ${mib(heap.size)}, ${Math.round(heap.percentBusy * 100) / 100}% of busy memory. Largest usage types: ${others}.`,
    nextStep: next,
    source: `${b.command ?? "!address -summary"} at line ${b.line}`,
  });
  return true;
}

// ---------------------------------------------------------------------------------------------
// Pool

/** A pool row as the detectors see it (outstanding allocations and bytes, both pools together). */
export interface PoolFacts {
  tag: string;
  allocs: number;
  bytes: number;
  description?: string;
  binary?: string;
  line: number;
}

/** One pool snapshot (a `!poolused` command or a poolmon screen). */
export interface PoolSnapshotFacts {
  command: string;
  line: number;
  /** Snapshots with the same key list the same kind of table and are compared. */
  comparable: string;
  /** Rows were cut by the author: tags missing from it are unknown, not absent. */
  elided: boolean;
  rows: PoolFacts[];
}

/** What tags allocated one per object usually mean. */
const OBJECT_TAGS: Record<string, { object: string; why: string }> = {
  Proc: {
    object: "process object",
    why: "process objects kept alive: leaked process handles or references (a service or agent that opens processes and never closes the handles), or zombie processes",
  },
  Thre: { object: "thread object", why: "thread objects kept alive: leaked thread handles or references, or threads that never exit" },
  File: { object: "file object", why: "file objects kept alive: leaked file handles or references held by a filter driver" },
  Toke: { object: "token object", why: "token objects kept alive: leaked token handles (OpenProcessToken / LogonUser without CloseHandle)" },
  Even: { object: "event object", why: "event objects kept alive: leaked event handles" },
};

/**
 * Tags whose allocation counts match within `tolerance` (relative): usually one allocation of
 * each per object, so they are one cause. Only tags with at least `minAllocs` allocations; groups
 * of two or more. The anchor (an object tag when one is in the group, else the largest in bytes)
 * comes first, the others by how close their count is to the anchor's.
 */
export function poolTagGroups(rows: readonly PoolFacts[], tolerance = 0.03, minAllocs = 5000): PoolFacts[][] {
  const big = rows.filter((r) => r.allocs >= minAllocs).sort((a, b) => b.allocs - a.allocs);
  const groups: PoolFacts[][] = [];
  let current: PoolFacts[] = [];
  for (const r of big) {
    if (current.length > 0 && (current[0]!.allocs - r.allocs) / current[0]!.allocs > tolerance) {
      if (current.length >= 2) groups.push(current);
      current = [];
    }
    current.push(r);
  }
  if (current.length >= 2) groups.push(current);
  return groups.map((g) => {
    const anchor = g.find((r) => OBJECT_TAGS[r.tag.trim()] !== undefined) ?? [...g].sort((a, b) => b.bytes - a.bytes)[0]!;
    const rest = g.filter((r) => r !== anchor).sort((a, b) => Math.abs(a.allocs - anchor.allocs) - Math.abs(b.allocs - anchor.allocs) || a.tag.localeCompare(b.tag));
    return [anchor, ...rest];
  });
}

/** A pool row's description as the log printed it; undefined when empty or `UNKNOWN pooltag '...'`. */
export function printedPoolDescription(description: string | undefined): string | undefined {
  return description && !/^UNKNOWN pooltag/i.test(description) ? description : undefined;
}

function describeTag(r: PoolFacts): string {
  return [printedPoolDescription(r.description), r.binary ? `Binary: ${r.binary}` : undefined].filter(Boolean).join(", ");
}

/** Pool evidence: top tags of the latest snapshot, growth between the first and last, tags that move together. */
export function poolEvidence(all: readonly PoolSnapshotFacts[], sink: EvidenceSink): boolean {
  // A command typed with no output (a note's `!poolused 2` before the real run) is no snapshot.
  const snapshots = all.filter((s) => s.rows.length > 0);
  const last = snapshots[snapshots.length - 1];
  if (!last || last.rows.length === 0) return false;
  // The current state: the latest table of each kind (`!poolused 2` and `!poolused 4` are two
  // views of one moment, sorted and cut differently); a tag in both keeps its larger row.
  const current = new Map<string, PoolFacts>();
  const latestOfKind = new Map<string, PoolSnapshotFacts>();
  for (const s of snapshots) latestOfKind.set(s.comparable, s);
  for (const s of latestOfKind.values()) for (const r of s.rows) if ((current.get(r.tag)?.bytes ?? -1) < r.bytes) current.set(r.tag, r);
  const rowsNow = [...current.values()];
  const total = rowsNow.reduce((n, r) => n + r.bytes, 0);
  const groups = poolTagGroups(rowsNow);
  const groupOf = new Map<string, string>();
  for (const g of groups) {
    const key = `tags:${g.map((r) => r.tag.trim()).join("+")}`;
    for (const r of g) groupOf.set(r.tag, key);
  }
  // The earliest snapshot of the same table is the baseline (a repeated command is a later state, never added up).
  const first = snapshots.find((s) => s !== last && s.comparable === last.comparable);
  const before = first ? new Map(first.rows.map((r) => [r.tag, r])) : undefined;
  const grown = new Set<string>();
  if (before) {
    const deltas = last.rows
      .map((r) => ({ r, b: before.get(r.tag) }))
      // A tag missing from a cut or top-N table may have been there: only tags in both are compared then.
      .filter((x) => x.b !== undefined || (!first!.elided && first!.rows.length >= last.rows.length))
      .map((x) => ({ ...x, d: x.r.bytes - (x.b?.bytes ?? 0), c: x.r.allocs - (x.b?.allocs ?? 0) }))
      .filter((x) => x.d > 0)
      .sort((a, b) => b.d - a.d);
    const sum = deltas.reduce((n, x) => n + x.d, 0);
    const max = deltas[0]?.d ?? 1;
    for (const x of deltas.slice(0, MAX_RECORDS)) {
      const tag = x.r.tag.trim();
      grown.add(x.r.tag);
      const desc = describeTag(x.r);
      const g = groupOf.get(x.r.tag);
      sink.add({
        detector: `${DETECTOR}/pool`,
        signal: "growth",
        keys: [`tag:${tag}`, ...(g ? [g] : [])],
        strength: clamp(0.2 + 0.6 * (x.d / sum) + 0.15 * (x.d / max)),
        count: x.r.allocs,
        bytes: x.r.bytes,
        delta: { count: x.c, bytes: x.d },
        leakKind: "pool",
        tag,
        title: `Pool tag ${tag} grew by ${mib(x.d)}${desc ? ` (${desc})` : ""}`,
        text: `Pool tag ${tag}${desc ? ` (${desc})` : ""} grew from ${mib(x.b?.bytes ?? 0)} (line ${x.b?.line ?? first!.line}) to ${mib(x.r.bytes)} (line ${x.r.line}), ${x.c >= 0 ? "+" : ""}${x.c} allocations.`,
        nextStep: poolNext(tag, x.r),
        source: `${first!.command} at line ${first!.line}; ${last.command} at line ${last.line}`,
      });
    }
  }
  const ranked = rowsNow.filter((r) => r.bytes > 0 && !grown.has(r.tag)).sort((a, b) => b.bytes - a.bytes);
  for (const r of ranked.slice(0, 10)) {
    const tag = r.tag.trim();
    const share = total > 0 ? r.bytes / total : 0;
    const desc = describeTag(r);
    const g = groupOf.get(r.tag);
    sink.add({
      detector: `${DETECTOR}/pool`,
      signal: "reported",
      keys: [`tag:${tag}`, ...(g ? [g] : [])],
      // One snapshot: a tag's share of the pool it lists, and its absolute size, are all it shows.
      strength: poolTagStrength(share, r.bytes),
      count: r.allocs,
      bytes: r.bytes,
      leakKind: "pool",
      tag,
      title: `Pool tag ${tag}: ${mib(r.bytes)} in ${r.allocs.toLocaleString("en-US")} allocations${desc ? ` (${desc})` : ""}`,
      text: `${last.command} (line ${r.line}): tag ${tag}${desc ? ` (${desc})` : ""} holds ${mib(r.bytes)} in ${r.allocs.toLocaleString("en-US")} allocations, ${Math.round(share * 1000) / 10}% of the pool bytes listed.`,
      nextStep: poolNext(tag, r),
      source: `${last.command} at line ${last.line}`,
    });
  }
  for (const g of groups) {
    const key = `tags:${g.map((r) => r.tag.trim()).join("+")}`;
    const anchor = g[0]!;
    const known = OBJECT_TAGS[anchor.tag.trim()];
    const bytes = g.reduce((n, r) => n + r.bytes, 0);
    const lo = Math.min(...g.map((r) => r.allocs));
    const hi = Math.max(...g.map((r) => r.allocs));
    const list = g.map((r) => `${r.tag.trim()} ${r.allocs.toLocaleString("en-US")}${describeTag(r) ? ` (${describeTag(r)})` : ""}`).join(", ");
    sink.add({
      detector: `${DETECTOR}/pool-group`,
      signal: "reported",
      keys: [key, ...g.map((r) => `tag:${r.tag.trim()}`)],
      strength: clamp(0.25 + 0.05 * g.length + (bytes >= 256 * 1024 * 1024 ? 0.25 : bytes >= 32 * 1024 * 1024 ? 0.15 : 0.05) + (known ? 0.1 : 0)),
      count: anchor.allocs,
      bytes,
      leakKind: "pool",
      tag: anchor.tag.trim(),
      title: known
        ? `${g.map((r) => r.tag.trim()).join("/")}: ${anchor.allocs.toLocaleString("en-US")} ${known.object}s kept alive (${mib(bytes)} of pool)`
        : `${g.map((r) => r.tag.trim()).join("/")}: ${g.length} pool tags allocated in step (${mib(bytes)})`,
      text:
        `Tags ${list} have allocation counts within ${Math.round(((hi - lo) / hi) * 1000) / 10}% of each other: ` +
        (known
          ? `one of each is allocated per ${known.object}, so they are one cause: ${known.why}.`
          : "one of each is allocated per object of one kind, so they are one cause: those objects are kept alive."),
      nextStep: known
        ? anchor.tag.trim() === "Proc"
          ? "Run `!process 0 0` (many processes that exited but still exist are zombies) and `!object \\ObjectTypes\\Process` for the object count, then find which process holds the handles (`!handle 0 3 <process> Process`, or Process Explorer / handle.exe on the live system): its owner is the leak."
          : `Count the ${known.object}s (\`!object \\ObjectTypes\\...\`), then find which process holds their handles (\`!handle 0 3 0 <type>\`).`
        : "Find the object the tags belong to (their drivers, from the descriptions) and what keeps those objects alive.",
      source: `${last.command} at line ${last.line}`,
    });
  }
  return true;
}

/**
 * One snapshot: a tag's share of the pool the table lists and its size are all it shows. A tag
 * holding most of a large pool is worth a look (>= 0.3); small tags never are, whatever their share.
 */
export function poolTagStrength(share: number, bytes: number): number {
  const MB = 1024 * 1024;
  const bonus = bytes >= 1024 * MB ? 0.3 : bytes >= 256 * MB ? 0.2 : bytes >= 32 * MB ? 0.1 : bytes >= 4 * MB ? 0.05 : 0;
  return clamp((0.4 * share + bonus) * (bytes < MB ? 0.3 : bytes < 16 * MB ? 0.6 : 1), 0, 0.6);
}

function poolNext(tag: string, r: PoolFacts): string {
  const owner = r.binary ? ` (owner: ${r.binary})` : "";
  return `Find who allocates tag ${tag}${owner}: \`!poolfind ${tag}\` for the allocations, \`!pool <address>\` for one of them; take a second \`!poolused\` later to confirm it grows.`;
}

// ---------------------------------------------------------------------------------------------

/** Everything the log's own figures say, plus what the input could show. */
export function detectLogEvidence(session: WindbgSession, pool: readonly PoolSnapshotFacts[], sink: EvidenceSink): void {
  const umdh = umdhEvidence(session, sink);
  const heapL = heapLeakEvidence(session, sink);
  const heapS = heapSummaryEvidence(session, sink);
  const heapCommands = session.blocks.some((b) => b.kind === "heapSummary" || b.kind === "heapStat" || b.kind === "heapFilter" || b.kind === "heapListing");
  const address = addressEvidence(session, sink, heapCommands);
  const pooled = poolEvidence(pool, sink);
  const tables =
    session.blocks.some(
      (b) =>
        (b.kind === "heapStat" && b.tables.some((t) => t.groups.length > 0)) ||
        (b.kind === "heapFilter" && (b.entries.length > 0 || b.pageHeapBlocks.length > 0)) ||
        (b.kind === "heapListing" && b.heaps.some((h) => h.entries.length > 0)) ||
        (b.kind === "heapDetail" && b.committedK !== undefined) ||
        (b.kind === "heapEntryTable" && b.entries.length > 0),
    );
  const hasFigures = umdh || heapL || heapS || address || pooled || tables;
  if (hasFigures) sink.coverage({ hasFigures: true, captured: 1 });
  else
    sink.coverage({
      hasFigures: false,
      captured: 0,
      reason:
        "The log holds no heap or pool figures: in WinDbg run `!heap -s`, then `!heap -stat -h <the heap with the most commit>` and `!heap -p -a <address>` on a block of the top size (gflags +ust on), or take two UMDH snapshots (kernel: `!poolused 2`), and give leakscope that log.",
    });
}
