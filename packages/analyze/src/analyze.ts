import {
  type AnalysisSection,
  type Run,
  type StackGroup,
  type TraceTable,
  type TypeGroup,
  callSiteOf,
  formatAddress,
  isUserAllocation,
} from "@leakscope/core";
import { type CardContext, mergeEvidence, signalWordsOf, suspectsOf } from "./combine.js";
import {
  type AnalysisContext,
  type AnalysisDetector,
  CollectingSink,
  type UnreferencedClass,
  causeKey,
  classKey,
  freeTotals,
  groupBlocks,
  heapAddress,
  pct,
  stackFrames,
  traceStatus,
} from "./detectors/context.js";
import { heapDetector } from "./detectors/heap.js";
import { sizeClassDetector } from "./detectors/size-class.js";
import { stackDetector } from "./detectors/stack.js";
import { typeDetector } from "./detectors/types.js";
import { unreferencedDetector } from "./detectors/unreferenced.js";
import { previewBlock } from "./preview.js";
import { type ReachabilityResult, findUnreferenced } from "./reachability.js";
import { type SizeClassTable, histogram } from "./size-classes.js";
import { capturedShare, coverageOf, coverageSection, verdictLead, verdictOf } from "./verdict.js";

export { stackFrames };

export interface AnalyzeOptions {
  /** Most suspects reported. */
  top: number;
  /** Most stack groups and types listed. */
  topGroups: number;
  /** Recover C++ classes from vtables (MSVC RTTI). */
  types: boolean;
  /** Search for unreferenced blocks (like !heap -l). */
  reachability: boolean;
}

export const DEFAULT_ANALYZE_OPTIONS: AnalyzeOptions = { top: 10, topGroups: 20, types: true, reachability: true };

/** The built-in detectors, in the order they run (one module each under `detectors/`). */
export const BUILTIN_DETECTORS: readonly AnalysisDetector[] = [sizeClassDetector, stackDetector, typeDetector, unreferencedDetector, heapDetector];

const CAPTURE_NOTE = "Unreferenced-block search skipped: only ";

/** Largest size classes listed in `analysis.largest`. */
const LARGEST = 5;

/** What the built-in detectors saw and said; plugins add to `sink` before {@link finishAnalysis}. */
export interface PreparedAnalysis {
  context: AnalysisContext;
  sink: CollectingSink;
  notes: string[];
}

function noTraceStep(traces: TraceTable | undefined, kind: string): string {
  if (traces?.status === "present") return "Look at the sample blocks' contents to identify their owner.";
  if (kind === "text") {
    return "Look at the sample blocks' contents; `!heap -p -a <address>` of one of them (with gflags +ust on) names the code that allocates them.";
  }
  return "Look at the sample blocks' contents to identify their owner; allocation stacks (see Stacks above) would name the code.";
}

/**
 * The shared pass and the built-in detectors: size-class dominance, stack concentration, C++
 * type counts, unreferenced blocks, fragmented heaps. Their evidence is in `sink`.
 */
export function prepareAnalysis(run: Run, options: AnalyzeOptions = DEFAULT_ANALYZE_OPTIONS): PreparedAnalysis {
  const grouped = groupBlocks(run, options);
  const sources = applySizeGroups(run, grouped.table);
  const notes: string[] = [];
  const table = grouped.table;
  let reach: ReachabilityResult | undefined;
  if (options.reachability && run.target.kind === "user" && run.target.views.length > 0 && table.busy.count > 0) {
    const view = run.target.views[run.target.views.length - 1]!; // the process' own bitness (WoW64: 32-bit)
    const coverage = capturedShare(run);
    if (coverage < 0.9) {
      notes.push(`${CAPTURE_NOTE}${Math.round(coverage * 100)}% of the busy blocks are in the dump.`);
    } else {
      reach = findUnreferenced(run.allocations, view.space, view.space.ranges(), { pointerSize: view.space.pointerSize });
      if (reach.rootBytes === 0) {
        notes.push("Unreferenced-block search skipped: the dump holds no memory outside the heaps to act as roots.");
        reach = undefined;
      }
    }
  }
  const unreferenced = new Map<number, UnreferencedClass>();
  const unreferencedByStack = new Map<number, UnreferencedClass>();
  const set = run.allocations;
  const stackOf = grouped.traces && grouped.traces.stackOf.length > 0 ? grouped.traces.stackOf : undefined;
  if (reach) {
    const add = (m: Map<number, UnreferencedClass>, key: number, heap: number, size: number, i: number) => {
      let g = m.get(key);
      if (!g) m.set(key, (g = { heap, size, count: 0, bytes: 0, samples: [] }));
      g.count++;
      g.bytes += size;
      if (g.samples.length < 5) g.samples.push(i);
    };
    for (const i of reach.unreferenced) {
      const heap = set.heap(i);
      const size = set.requestedSize(i);
      add(unreferenced, classKey(heap, size), heap, size, i);
      const sid = stackOf ? (stackOf[i] ?? -1) : -1;
      if (sid >= 0) add(unreferencedByStack, sid, heap, size, i);
    }
  }
  const unreferencedShare = reach && table.busy.count > 0 ? reach.unreferenced.length / table.busy.count : 0;
  const context: AnalysisContext = { ...grouped, sources, reach, unreferenced, unreferencedByStack, unreferencedShare };
  const sink = new CollectingSink();
  for (const d of BUILTIN_DETECTORS) d.detect(run, context, sink);
  if (reach && unreferencedShare > 0.5 && !sink.records.some((r) => r.signal === "unreferenced" && r.strength >= 0.05)) {
    notes.push(
      `${Math.round(unreferencedShare * 100)}% of the busy blocks look unreferenced and no group stands out: the dump probably lacks some roots (thread stacks, data sections), so reachability says nothing here.`,
    );
  }
  return { context, sink, notes };
}

/** Combine the evidence (built-in and plugins'), build the cards, take the verdict. */
export function finishAnalysis(prepared: PreparedAnalysis, options: AnalyzeOptions = DEFAULT_ANALYZE_OPTIONS): AnalysisSection {
  const { context: ctx, sink, notes } = prepared;
  const run = ctx.run;
  const table = ctx.table;
  const traces = ctx.traces;
  const set = run.allocations;
  const heaps = run.heaps;
  const status = traceStatus(run);
  const tracesNote =
    traces?.note ??
    (status === "unsupported"
      ? "This input does not carry allocation stacks."
      : "No stack-trace information was found: the dump was taken without gflags +ust (or the trace database is not in it).");

  const causes = mergeEvidence(sink.records);
  const listedStacks = new Set(ctx.stacks.slice(0, options.topGroups).map((g) => g.id));
  const cardCtx: CardContext = {
    totalBytes: table.busy.bytes,
    heapBytes: (address) => {
      const k = heaps.findIndex((h) => formatAddress(h.address) === address);
      return k >= 0 ? (table.heapBusy[k]?.bytes ?? 0) : 0;
    },
    stackId: (key) => {
      const id = /^stack:(\d+)$/.exec(key)?.[1];
      if (id === undefined || !ctx.stacks.some((g) => g.id === Number(id))) return undefined;
      listedStacks.add(Number(id));
      return Number(id);
    },
    noStackStep: noTraceStep(traces, run.target.kind),
  };
  const suspects = suspectsOf(causes, cardCtx, options.top);
  for (const s of suspects) {
    // a content preview of the first sample of single-size cards
    const heap = s.heap !== undefined ? heaps.find((h) => formatAddress(h.address) === s.heap) : undefined;
    const first = s.samples[0];
    if (heap && s.size !== undefined && first !== undefined) {
      const pv = previewBlock(heap.view.space, Number(first), s.size);
      if (pv) s.preview = pv;
    }
  }

  const inCards = new Set(suspects.flatMap((s) => s.keys ?? []));
  const largest = table.classes
    .filter((c) => !inCards.has(causeKey.sizeClass(heapAddress(run, c.heap), c.size)))
    .slice(0, LARGEST)
    .map((c) => ({
      heap: heapAddress(run, c.heap),
      size: c.size,
      count: c.count,
      bytes: c.bytes,
      percent: pct(c.bytes, table.busy.bytes),
      samples: c.samples.slice(0, 3).map((i) => formatAddress(set.userAddress(i))),
    }));
  const size = sink.records.filter((r) => r.signal === "size" && r.size !== undefined && r.heap !== undefined);
  for (const r of size.slice(0, LARGEST)) {
    largest.push({ heap: r.heap!, size: r.size!, count: r.count, bytes: r.bytes, percent: pct(r.bytes, table.busy.bytes), samples: r.samples ?? [] });
  }

  const coverage = coverageOf(run, table.busy.count, sink.reported);
  const examined =
    table.busy.count > 0
      ? `${table.busy.count} busy blocks of ${heaps.length} heap(s)${ctx.reach ? `, ${ctx.reach.unreferenced.length} of them unreferenced` : ""}`
      : "the input's figures";
  const verdict = verdictOf(suspects, coverage, examined, (s) => signalWordsOf(causes, s));
  // the captured share is said once: by the verdict when it is why the input cannot be judged
  const shownNotes = coverage.reason && coverage.captured < 0.9 ? notes.filter((n) => !n.startsWith(CAPTURE_NOTE)) : notes;
  const lead = verdict.verdict === "leak-suspected" ? verdictLead(suspects, coverage) : undefined;
  const leadCause = lead ? causes.find((c) => c.keys === lead.keys) : undefined;

  const stacks: StackGroup[] = traces
    ? ctx.stacks
        .filter((g) => listedStacks.has(g.id))
        .map((g) => {
          const frames = stackFrames(traces, g.id);
          const site = callSiteOf(frames);
          const out: StackGroup = {
            id: g.id,
            count: g.count,
            bytes: g.bytes,
            sizes: g.sizes,
            samples: g.samples.map((i) => formatAddress(set.userAddress(i))),
            frames,
          };
          if (site) out.callSite = site.text;
          return out;
        })
    : [];
  const types: TypeGroup[] = ctx.types.slice(0, options.topGroups).map((g) => ({
    typeName: g.type.name,
    vtable: formatAddress(g.type.vtable),
    module: g.type.module,
    count: g.count,
    bytes: g.bytes,
    samples: g.samples.map((i) => formatAddress(set.userAddress(i))),
  }));
  const out: AnalysisSection = {
    ...verdict,
    ...(leadCause ? { leakKind: leadCause.leakKind } : {}),
    summary: { heaps: heaps.length, busy: table.busy, free: freeTotals(run), traces: status, tracesNote },
    ...(shownNotes.length > 0 ? { notes: shownNotes } : {}),
    suspects,
    sizeClasses: table.classes.slice(0, 50).map((c) => ({
      heap: heapAddress(run, c.heap),
      size: c.size,
      count: c.count,
      bytes: c.bytes,
      percent: pct(c.bytes, table.heapBusy[c.heap]?.bytes ?? 0),
    })),
    histogram: histogram(set),
    stacks,
    types,
    largest,
    coverage: coverageSection(coverage),
  };
  const reach = ctx.reach;
  if (reach) {
    out.reachability = {
      method: reach.method,
      rootBytes: reach.rootBytes,
      scannedBytes: reach.scannedBytes,
      reachable: { count: reach.reachableCount, bytes: reach.reachableBytes },
      unreferenced: { count: reach.unreferenced.length, bytes: reach.unreferencedBytes },
      samples: Array.from(reach.unreferenced.subarray(0, 10), (i) => formatAddress(set.userAddress(i))),
    };
  }
  return out;
}

/**
 * Rank leak suspects from a walked run with the built-in detectors only: detectors → evidence →
 * combiner (one card per cause) → verdict. The plugin ({@link leakAnalyzer}) also runs the
 * `evidence` hook between the two steps.
 */
export function analyzeRun(run: Run, options: AnalyzeOptions = DEFAULT_ANALYZE_OPTIONS): AnalysisSection {
  return finishAnalysis(prepareAnalysis(run, options), options);
}

/**
 * Replace the computed classes of heaps for which the input reported its own size histogram
 * (WinDbg `!heap -stat -h`): those figures cover every busy block, LFH ones included, while a log
 * lists only some blocks. The heap's busy total is derived from WinDbg's percentages when printed.
 * Returns the source text per class key.
 */
function applySizeGroups(run: Run, table: SizeClassTable): Map<number, string> {
  const sources = new Map<number, string>();
  const groups = run.data.sizeGroups;
  if (!groups || groups.length === 0) return sources;
  const byHeap = new Map<number, typeof groups>();
  for (const g of groups) {
    const list = byHeap.get(g.heap) ?? [];
    list.push(g);
    byHeap.set(g.heap, list);
  }
  for (const [heap, list] of byHeap) {
    const samples = new Map<number, number[]>();
    run.allocations.forEachChunk((c, n, base) => {
      for (let i = 0; i < n; i++) {
        if (c.heap[i] !== heap || !isUserAllocation(c.flags[i]!)) continue;
        const arr = samples.get(c.requestedSize[i]!) ?? [];
        if (arr.length < 8) arr.push(base + i);
        samples.set(c.requestedSize[i]!, arr);
      }
    });
    table.classes = table.classes.filter((c) => c.heap !== heap);
    let bytes = 0;
    let count = 0;
    // WinDbg rounds percentages to 0.01: the group with the largest percentage gives the most
    // precise heap total.
    let fromPercent = 0;
    let bestPercent = 0;
    for (const g of list) {
      bytes += g.bytes;
      count += g.count;
      if (g.percent !== undefined && g.percent > bestPercent) {
        bestPercent = g.percent;
        fromPercent = (g.bytes * 100) / g.percent;
      }
      table.classes.push({ heap, size: g.size, count: g.count, bytes: g.bytes, samples: samples.get(g.size) ?? [] });
      sources.set(classKey(heap, g.size), g.source);
    }
    table.heapBusy[heap] = { count, bytes: Math.max(bytes, Math.round(fromPercent)) };
  }
  table.busy = table.heapBusy.reduce((a, h) => ({ count: a.count + h.count, bytes: a.bytes + h.bytes }), { count: 0, bytes: 0 });
  table.classes.sort((a, b) => b.bytes - a.bytes || b.count - a.count || a.size - b.size);
  return sources;
}

