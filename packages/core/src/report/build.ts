import { formatAddress } from "../address.js";
import type { Diagnostic } from "../diagnostics.js";
import { AllocFlags, type AllocationSet, type HeapRecord } from "../model/allocations.js";
import type { Target } from "../model/target.js";
import type { BlockRow, HeapSummary, Report, TargetSummary } from "./schema.js";
import { crashSummary, heapLink, targetFacts } from "./crash.js";
import { REPORT_SCHEMA_VERSION } from "./schema.js";
import { VERSION } from "../version.js";

export interface SummarizeOptions {
  /** Include the module and thread lists (the `info` command). */
  details?: boolean;
}

const hex = (a: number): string => formatAddress(a);

/** The `target` section of a report. */
export function summarizeTarget(target: Target, options: SummarizeOptions = {}): TargetSummary {
  const out: TargetSummary = {
    kind: target.kind,
    format: target.format,
    arch: target.arch,
    os: {
      major: target.os.major,
      minor: target.os.minor,
      build: target.os.build,
      ...(target.os.servicePack ? { servicePack: target.os.servicePack } : {}),
      ...(target.os.buildString ? { buildString: target.os.buildString } : {}),
    },
    wow64: target.wow64,
    views: target.views.map((v) => ({
      bitness: v.bitness,
      role: v.role,
      ...(v.peb !== undefined && v.peb === v.peb ? { peb: hex(v.peb) } : {}),
      tebs: v.tebs.filter((t) => t === t).map(hex),
      modules: v.modules.length,
    })),
    memory: { ranges: target.memory.ranges, bytes: target.memory.bytes },
    moduleCount: target.modules.length,
    threadCount: target.threads.length,
    unloadedModuleCount: target.unloadedModules.length,
  };
  if (options.details) {
    out.modules = target.modules.map((m) => ({
      name: m.name,
      path: m.path,
      base: hex(m.base),
      size: m.size,
      timestamp: m.timestamp >>> 0,
      checksum: m.checksum >>> 0,
      bitness: m.bitness,
      ...(m.version ? { version: m.version } : {}),
      ...(m.codeView
        ? { pdb: { format: m.codeView.format, guid: m.codeView.guid, age: m.codeView.age, name: m.codeView.pdbName } }
        : {}),
    }));
    if (target.unloadedModules.length > 0) {
      out.unloadedModules = target.unloadedModules.map((m) => ({ name: m.name, base: hex(m.base), size: m.size, timestamp: m.timestamp >>> 0 }));
    }
    out.threads = target.threads.map((t) => ({
      id: t.id >>> 0,
      teb: hex(t.teb),
      ...(t.teb32 !== undefined ? { teb32: hex(t.teb32) } : {}),
      stack: { address: hex(t.stack.address), size: t.stack.size },
      ...(t.context && t.context.ip === t.context.ip ? { ip: hex(t.context.ip), sp: hex(t.context.sp) } : {}),
      ...(t.wow64Context && t.wow64Context.ip === t.wow64Context.ip ? { ip32: hex(t.wow64Context.ip) } : {}),
      ...(t.name !== undefined ? { name: t.name } : {}),
    }));
  }
  Object.assign(out, targetFacts(target));
  if (target.crash) out.crash = crashSummary(target.crash);
  return out;
}

/** The `heaps` section: one entry per heap, the JSON contract of `leakscope heaps --json`. */
export function summarizeHeaps(heaps: readonly HeapRecord[]): HeapSummary[] {
  return heaps.map((h) => ({
    address: hex(h.address),
    bitness: h.bitness,
    kind: h.kind,
    foundBy: [...h.foundBy],
    ...(h.label !== undefined ? { label: h.label } : {}),
    ...(h.flags !== undefined ? { flags: hex(h.flags >>> 0) } : {}),
    busy: { count: h.stats.busy.count, bytes: h.stats.busy.bytes },
    free: { count: h.stats.free.count, bytes: h.stats.free.bytes },
    reserved: h.stats.reserved,
    committed: h.stats.committed,
    incomplete: h.incomplete === true,
    summary: { ...h.summary },
  }));
}

const FLAG_NAMES: [number, string][] = [
  [AllocFlags.LFH, "lfh"],
  [AllocFlags.VIRTUAL, "virtual"],
  [AllocFlags.HOST, "host"],
  [AllocFlags.INTERNAL, "internal"],
  [AllocFlags.PAGE_HEAP, "page-heap"],
  [AllocFlags.VS, "vs"],
  [AllocFlags.BACKEND, "backend"],
  [AllocFlags.SIZE_INEXACT, "size-inexact"],
  [AllocFlags.CORRUPT, "corrupt"],
];

/** Names of an allocation's kind flags, for output. */
export function flagNames(flags: number): string[] {
  const out: string[] = [];
  for (const [bit, name] of FLAG_NAMES) if ((flags & bit) !== 0) out.push(name);
  return out;
}

/** The state word shown for a block: busy, free, or internal (host/bookkeeping). */
export function blockState(flags: number): "busy" | "free" | "internal" {
  if ((flags & AllocFlags.BUSY) === 0) return "free";
  if ((flags & (AllocFlags.HOST | AllocFlags.INTERNAL)) !== 0) return "internal";
  return "busy";
}

/** One allocation as a report row. */
export function blockRow(set: AllocationSet, heaps: readonly HeapRecord[], i: number): BlockRow {
  const f = set.flags(i);
  const heap = heaps[set.heap(i)];
  const row: BlockRow = {
    heap: heap ? hex(heap.address) : "0x0",
    entry: hex(set.blockAddress(i)),
    user: hex(set.userAddress(i)),
    blockSize: set.blockSize(i),
    requestedSize: set.requestedSize(i),
    state: blockState(f),
    flags: flagNames(f),
  };
  if ((f & AllocFlags.HAS_TRACE) !== 0 && (f & AllocFlags.TRACE_INDEX) === 0) row.trace = hex(set.tracePointer(i));
  return row;
}

export interface BaseReportInput {
  command: string;
  input: { path: string; size: number };
  target?: Target;
  heaps?: readonly HeapRecord[];
  /** The walked blocks: a heap-corruption crash then names the corrupt ones. */
  allocations?: AllocationSet;
  details?: boolean;
  diagnostics: readonly Diagnostic[];
}

/** The report every command starts from. */
export function baseReport(args: BaseReportInput): Report {
  const report: Report = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: "leakscope", version: VERSION },
    command: args.command,
    input: {
      path: args.input.path,
      size: args.input.size,
      kind: args.target?.kind ?? "unknown",
      format: args.target?.format ?? "unknown",
    },
    diagnostics: args.diagnostics.map((d) => ({ ...d, ...(d.location ? { location: { ...d.location } } : {}) })),
  };
  if (args.target) report.target = summarizeTarget(args.target, { details: args.details === true });
  if (report.target?.crash && args.target?.crash && args.allocations && args.heaps) {
    heapLink(report.target.crash, args.target.crash, args.allocations, args.heaps);
  }
  if (args.heaps) report.heaps = summarizeHeaps(args.heaps);
  return report;
}

const ALLOCATOR_MODULE = /^(ntdll(_[0-9a-f]+)?|kernelbase|kernel32|ucrtbase\w*|msvcr\w*|msvcp\w*|vcruntime\w*|verifier)[!+]/i;
const ALLOCATOR_FUNCTION =
  /!(Rtlp?\w*Heap\w*|Rtlp\w+|malloc\w*|_malloc\w*|calloc\w*|realloc\w*|operator new\w*|\?\?2@\w*|_?heap_alloc\w*|HeapAlloc\w*|LocalAlloc\w*|GlobalAlloc\w*)/i;

/**
 * The call site of an allocation stack: the first frame outside the allocator (ntdll heap
 * routines, the CRT's malloc/operator new, kernel32/kernelbase wrappers, verifier). Falls back to
 * the innermost frame. Shared by analyzers and formatters so every output names the same frame.
 */
export function callSiteOf<F extends { text: string }>(frames: readonly F[]): F | undefined {
  return frames.find((f) => !ALLOCATOR_MODULE.test(f.text) && !ALLOCATOR_FUNCTION.test(f.text)) ?? frames[0];
}
