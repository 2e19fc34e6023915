import {
  type AnalysisSection,
  type Frame,
  type HeapRecord,
  type Run,
  type StackGroup,
  type Suspect,
  type TraceTable,
  type TypeGroup,
  callSiteOf,
  formatAddress,
  isUserAllocation,
} from "@leakscope/core";
import { previewBlock } from "./preview.js";
import { type ReachabilityResult, findUnreferenced } from "./reachability.js";
import { RttiResolver, type RttiType } from "./rtti.js";
import { type SizeClass, histogram, sizeClasses } from "./size-classes.js";

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

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Frames of a stack as report frames (symbolized text when a symbolizer ran). */
export function stackFrames(traces: TraceTable, id: number): Frame[] {
  const s = traces.stacks[id];
  if (!s) return [];
  return s.frames.map((a, k) => {
    const t = s.text?.[k];
    const f: Frame = { address: formatAddress(a), text: t?.text ?? formatAddress(a) };
    if (t?.module !== undefined) f.module = t.module;
    if (t?.symbol !== undefined) f.symbol = t.symbol;
    if (t?.offset !== undefined) f.offset = t.offset;
    return f;
  });
}

interface Groups {
  /** Per requested size (any heap): stack id -> blocks, and the heap of the first one. */
  stackBySize: Map<number, { stack: number; count: number; heap: number; address: number }>;
  stacks: StackGroup[];
  /** stack id -> position in `stacks` (top groups only). */
  dominantStack: Map<number, { stack: number; count: number }>;
  types: TypeGroup[];
  dominantType: Map<number, { type: RttiType; count: number }>;
}

function classKey(heap: number, size: number): number {
  return size * 65536 + heap;
}

/**
 * One pass over all busy user blocks: stack groups, C++ type groups, and for each size class
 * its most common stack and type. Memory is proportional to distinct stacks/types/classes.
 */
function groupBlocks(run: Run, options: AnalyzeOptions): Groups {
  const set = run.allocations;
  const traces = run.data.traces;
  const stackAgg = new Map<number, { count: number; bytes: number; sizes: Set<number>; samples: number[] }>();
  const perClassStacks = new Map<number, Map<number, number>>();
  const stackBySize = new Map<number, { stack: number; count: number; heap: number; address: number }>();
  const typeAgg = new Map<number, { type: RttiType; count: number; bytes: number; samples: number[] }>();
  const perClassTypes = new Map<number, Map<number, number>>();

  const resolvers = new Map<HeapRecord["view"], RttiResolver>();
  const resolverFor = (h: HeapRecord): RttiResolver => {
    let r = resolvers.get(h.view);
    if (!r) {
      r = new RttiResolver(h.view.space, h.view.modules.length > 0 ? h.view.modules : run.target.modules);
      resolvers.set(h.view, r);
    }
    return r;
  };
  const useTypes = options.types && run.target.kind === "user";

  set.forEachChunk((c, n, base) => {
    for (let i = 0; i < n; i++) {
      if (!isUserAllocation(c.flags[i]!)) continue;
      const index = base + i;
      const size = c.requestedSize[i]!;
      const key = classKey(c.heap[i]!, size);
      if (traces) {
        const sid = traces.stackOf[index] ?? -1;
        if (sid >= 0) {
          let g = stackAgg.get(sid);
          if (!g) {
            g = { count: 0, bytes: 0, sizes: new Set(), samples: [] };
            stackAgg.set(sid, g);
          }
          g.count++;
          g.bytes += size;
          if (g.sizes.size < 16) g.sizes.add(size);
          if (g.samples.length < 5) g.samples.push(index);
          let m = perClassStacks.get(key);
          if (!m) perClassStacks.set(key, (m = new Map()));
          m.set(sid, (m.get(sid) ?? 0) + 1);
          const bySize = stackBySize.get(size);
          if (!bySize) stackBySize.set(size, { stack: sid, count: 1, heap: c.heap[i]!, address: c.userAddress[i]! });
          else if (bySize.stack === sid) bySize.count++;
        }
      }
      if (useTypes) {
        const heap = run.heaps[c.heap[i]!];
        if (!heap || size < heap.view.space.pointerSize) continue;
        const r = resolverFor(heap);
        const vt = heap.view.space.ptr(c.userAddress[i]!);
        if (!(vt === vt) || !r.moduleAt(vt)) continue;
        const t = r.typeOfVtable(vt);
        if (!t) continue;
        let g = typeAgg.get(vt);
        if (!g) typeAgg.set(vt, (g = { type: t, count: 0, bytes: 0, samples: [] }));
        g.count++;
        g.bytes += size;
        if (g.samples.length < 5) g.samples.push(index);
        let m = perClassTypes.get(key);
        if (!m) perClassTypes.set(key, (m = new Map()));
        m.set(vt, (m.get(vt) ?? 0) + 1);
      }
    }
  });

  const stacks: StackGroup[] = [...stackAgg.entries()]
    .sort((a, b) => b[1].bytes - a[1].bytes || b[1].count - a[1].count)
    .slice(0, options.topGroups)
    .map(([id, g]) => ({
      id,
      count: g.count,
      bytes: g.bytes,
      sizes: [...g.sizes].sort((x, y) => x - y),
      samples: g.samples.map((i) => formatAddress(set.userAddress(i))),
      frames: traces ? stackFrames(traces, id) : [],
    }))
    .map((g) => {
      const site = callSiteOf(g.frames);
      return site ? { ...g, callSite: site.text } : g;
    });
  const dominantStack = new Map<number, { stack: number; count: number }>();
  for (const [key, m] of perClassStacks) {
    let best = -1;
    let bestCount = 0;
    for (const [sid, cnt] of m) if (cnt > bestCount) [best, bestCount] = [sid, cnt];
    if (best >= 0) dominantStack.set(key, { stack: best, count: bestCount });
  }
  const types: TypeGroup[] = [...typeAgg.values()]
    .sort((a, b) => b.bytes - a.bytes || b.count - a.count)
    .slice(0, options.topGroups)
    .map((g) => ({
      typeName: g.type.name,
      vtable: formatAddress(g.type.vtable),
      module: g.type.module,
      count: g.count,
      bytes: g.bytes,
      samples: g.samples.map((i) => formatAddress(set.userAddress(i))),
    }));
  const dominantType = new Map<number, { type: RttiType; count: number }>();
  for (const [key, m] of perClassTypes) {
    let best = -1;
    let bestCount = 0;
    for (const [vt, cnt] of m) if (cnt > bestCount) [best, bestCount] = [vt, cnt];
    const g = typeAgg.get(best);
    if (g) dominantType.set(key, { type: g.type, count: bestCount });
  }
  return { stackBySize, stacks, dominantStack, types, dominantType };
}

function pct(part: number, whole: number): number {
  return whole > 0 ? Math.min(100, Math.round((part / whole) * 10000) / 100) : 0;
}

function noTraceStep(traces: TraceTable | undefined, kind: string): string {
  if (traces?.status === "present") return "";
  if (kind === "text") {
    return (
      "This log has no allocation stacks: with gflags +ust on, add `!heap -p -a <address>` output for one of the sample " +
      "blocks (or a UMDH log) and run leakscope again — or give leakscope the dump itself."
    );
  }
  return (
    "No allocation stacks in this dump: enable user-mode stack traces for the program (gflags /i <program>.exe +ust), " +
    "restart it, take two full dumps some minutes apart (procdump -ma) and run `leakscope diff before.dmp after.dmp`."
  );
}

/**
 * Rank leak suspects from a walked run: size classes that dominate their heap (with their most
 * common stack and C++ type), call sites, types, unreferenced blocks, fragmented heaps.
 */
export function analyzeRun(run: Run, options: AnalyzeOptions = DEFAULT_ANALYZE_OPTIONS): AnalysisSection {
  const set = run.allocations;
  const heaps = run.heaps;
  const table = sizeClasses(set, heaps);
  const sources = applySizeGroups(run, table);
  const groups = groupBlocks(run, options);
  const traces = run.data.traces;
  const status = traces?.status ?? (run.target.kind === "user" ? "disabled" : "unsupported");
  const tracesNote =
    traces?.note ??
    (status === "unsupported"
      ? "This input does not carry allocation stacks."
      : "No stack-trace information was found: the dump was taken without gflags +ust (or the trace database is not in it).");

  let reach: ReachabilityResult | undefined;
  let reachNote: string | undefined;
  if (options.reachability && run.target.kind === "user" && run.target.views.length > 0 && table.busy.count > 0) {
    const view = run.target.views[run.target.views.length - 1]!; // the process' own bitness (WoW64: 32-bit)
    const coverage = capturedShare(run);
    if (coverage < 0.9) {
      reachNote = `Unreferenced-block search skipped: only ${Math.round(coverage * 100)}% of the busy blocks are in the dump (take a full-memory dump).`;
    } else {
      reach = findUnreferenced(set, view.space, view.space.ranges(), { pointerSize: view.space.pointerSize });
      if (reach.rootBytes === 0) {
        reachNote = "Unreferenced-block search skipped: the dump holds no memory outside the heaps to act as roots.";
        reach = undefined;
      }
    }
  }

  const suspects: Suspect[] = [];
  const step = noTraceStep(traces, run.target.kind);
  const heapOf = (i: number): HeapRecord | undefined => heaps[i];

  // Size classes (the heart of `!heap -stat`): the top classes by bytes.
  for (const cls of table.classes.slice(0, Math.max(options.top * 2, 20))) {
    const heap = heapOf(cls.heap);
    const heapBusy = table.heapBusy[cls.heap]?.bytes ?? 0;
    const share = heapBusy > 0 ? cls.bytes / heapBusy : 0;
    const key = classKey(cls.heap, cls.size);
    const dom = groups.dominantStack.get(key);
    const domType = groups.dominantType.get(key);
    const src = sources.get(classKey(cls.heap, cls.size));
    const evidence = [
      `${cls.count} busy blocks of requested size ${hex(cls.size)} (${cls.size} bytes) hold ${hex(cls.bytes)} bytes: ${pct(cls.bytes, heapBusy)}% of the busy bytes of heap ${heap ? formatAddress(heap.address) : "?"}` +
        ` and ${pct(cls.bytes, table.busy.bytes)}% of all busy bytes.`,
      `${pct(cls.count, table.heapBusy[cls.heap]?.count ?? 0)}% of the heap's busy blocks have this size.`,
    ];
    if (src) evidence.push(`Figures from the input's ${src}.`);
    const s: Suspect = {
      rank: 0,
      kind: "size-class",
      title: `${cls.count} × ${hex(cls.size)}-byte blocks (${pct(cls.bytes, heapBusy)}% of heap ${heap ? formatAddress(heap.address) : "?"})`,
      // Geometric mean of the share of its heap and of the process: inside one heap the order is
      // WinDbg's `-stat` order; across heaps a lone block in a tiny heap does not outrank a class
      // that holds half of the process.
      score: Math.min(1, Math.sqrt(share * (table.busy.bytes > 0 ? cls.bytes / table.busy.bytes : 0)) + (dom && traces ? 0.1 * (dom.count / cls.count) : 0)),
      size: cls.size,
      count: cls.count,
      bytes: cls.bytes,
      percent: pct(cls.bytes, heapBusy),
      samples: cls.samples.slice(0, 5).map((i) => formatAddress(set.userAddress(i))),
      evidence,
      nextStep: "",
    };
    if (heap) s.heap = formatAddress(heap.address);
    if (dom && traces) {
      const frames = stackFrames(traces, dom.stack);
      s.stack = frames;
      const site = callSiteOf(frames);
      if (site) s.callSite = site.text;
      evidence.push(
        dom.count === cls.count
          ? `All of them were allocated by the same stack${site ? ` (${site.text})` : ""}.`
          : `${dom.count} of the ${cls.count} blocks have a recorded stack, all the same${site ? ` (${site.text})` : ""}.`,
      );
      s.nextStep = `Check the allocation at ${site?.text ?? "the top frame"}: its blocks of ${hex(cls.size)} bytes are still alive; find where they should be freed.`;
    }
    if (!dom && traces && run.target.kind === "text") {
      // Logs often hold the `!heap -p -a` of one block from another session of the same program.
      const alt = groups.stackBySize.get(cls.size);
      const altHeap = alt ? heaps[alt.heap] : undefined;
      if (alt && altHeap) {
        const frames = stackFrames(traces, alt.stack);
        const site = callSiteOf(frames);
        s.stack = frames;
        if (site) s.callSite = site.text;
        evidence.push(
          `The log's stack for block ${formatAddress(alt.address)} of the same size in heap ${formatAddress(altHeap.address)} shows where such blocks are allocated${site ? ` (${site.text})` : ""}.`,
        );
        s.nextStep = `Check the allocation at ${site?.text ?? "the top frame"}: blocks of ${hex(cls.size)} bytes allocated there are not freed.`;
      }
    }
    if (domType) {
      s.typeName = domType.type.name;
      evidence.push(`${pct(domType.count, cls.count)}% of them are C++ objects of ${domType.type.name} (vtable ${formatAddress(domType.type.vtable)} in ${domType.type.module}).`);
      if (!s.nextStep) s.nextStep = `Objects of ${domType.type.name} are piling up: check who owns them and where they are released.`;
    }
    if (!s.nextStep) s.nextStep = step || `Look at the sample blocks' contents to identify the owner of ${hex(cls.size)}-byte blocks.`;
    const first = cls.samples[0];
    if (first !== undefined && heap) {
      const pv = previewBlock(heap.view.space, set.userAddress(first), cls.size);
      if (pv) s.preview = pv;
    }
    suspects.push(s);
  }

  // Call sites that span several size classes or are not explained by one class.
  if (traces) {
    const explained = new Set<number>();
    for (const s of suspects) if (s.stack && s.kind === "size-class") explained.add(s.stack.length > 0 ? hashFrames(s.stack) : -1);
    for (const g of groups.stacks.slice(0, options.top)) {
      if (explained.has(hashFrames(g.frames)) && g.sizes.length === 1) continue;
      const site = callSiteOf(g.frames);
      suspects.push({
        rank: 0,
        kind: "call-site",
        title: `${g.count} live blocks (${hex(g.bytes)} bytes) allocated at ${site?.text ?? "an unknown site"}`,
        score: Math.min(1, table.busy.bytes > 0 ? g.bytes / table.busy.bytes + 0.05 : 0),
        count: g.count,
        bytes: g.bytes,
        percent: pct(g.bytes, table.busy.bytes),
        stack: g.frames,
        ...(site ? { callSite: site.text } : {}),
        samples: g.samples,
        evidence: [`${g.count} busy blocks of ${g.sizes.length} size(s) (${g.sizes.map(hex).join(", ")}) share this allocation stack.`],
        nextStep: `Check the allocation at ${site?.text ?? "the top frame"} and where its blocks are freed.`,
      });
    }
  }

  // Types not already named by a size-class suspect.
  const named = new Set(suspects.map((s) => s.typeName).filter(Boolean));
  for (const t of groups.types.slice(0, options.top)) {
    if (named.has(t.typeName) || t.count < 2) continue;
    suspects.push({
      rank: 0,
      kind: "type",
      title: `${t.count} live objects of ${t.typeName} (${hex(t.bytes)} bytes)`,
      score: Math.min(1, table.busy.bytes > 0 ? t.bytes / table.busy.bytes : 0),
      typeName: t.typeName,
      count: t.count,
      bytes: t.bytes,
      percent: pct(t.bytes, table.busy.bytes),
      samples: t.samples,
      evidence: [`Their first pointer is the vtable ${t.vtable} of ${t.typeName} in ${t.module} (MSVC RTTI).`],
      nextStep: `Check who creates ${t.typeName} objects and where they are deleted.`,
    });
  }

  // Unreferenced blocks (reachability), grouped by size class. When most of the process looks
  // unreferenced the roots are probably missing from the dump: the evidence is then weak.
  const overallUnref = reach && table.busy.count > 0 ? reach.unreferenced.length / table.busy.count : 0;
  if (reach && overallUnref > 0.5) {
    reachNote = `${Math.round(overallUnref * 100)}% of the busy blocks look unreferenced: the dump probably lacks some roots (thread stacks, data sections), so unreferenced blocks are weak evidence here.`;
  }
  if (reach && reach.unreferenced.length > 0) {
    const byClass = new Map<number, { heap: number; size: number; count: number; bytes: number; samples: number[] }>();
    for (const i of reach.unreferenced) {
      const key = classKey(set.heap(i), set.requestedSize(i));
      let g = byClass.get(key);
      if (!g) byClass.set(key, (g = { heap: set.heap(i), size: set.requestedSize(i), count: 0, bytes: 0, samples: [] }));
      g.count++;
      g.bytes += g.size;
      if (g.samples.length < 5) g.samples.push(i);
    }
    const top = [...byClass.values()].sort((a, b) => b.bytes - a.bytes).slice(0, options.top);
    for (const g of top) {
      const heap = heapOf(g.heap);
      const same = suspects.find((x) => x.kind === "size-class" && x.size === g.size && x.heap === (heap ? formatAddress(heap.address) : undefined));
      if (same) {
        // Fold the evidence into the size class it belongs to.
        same.evidence.push(`${g.count} of these ${same.count} blocks are not referenced from any root (reachability search).`);
        // only a class more unreferenced than the process as a whole gains from it
        const excess = Math.max(0, g.count / Math.max(1, same.count) - overallUnref) / Math.max(1e-9, 1 - overallUnref);
        same.score = Math.min(1, same.score + 0.3 * excess);
        continue;
      }
      const s: Suspect = {
        rank: 0,
        kind: "unreferenced",
        title: `${g.count} unreferenced ${hex(g.size)}-byte blocks${heap ? ` in heap ${formatAddress(heap.address)}` : ""}`,
        score: Math.min(1, 0.4 + (table.busy.bytes > 0 ? g.bytes / table.busy.bytes : 0)),
        size: g.size,
        count: g.count,
        bytes: g.bytes,
        percent: pct(g.bytes, table.busy.bytes),
        samples: g.samples.map((i) => formatAddress(set.userAddress(i))),
        evidence: [
          `No pointer in the captured memory outside the heap, nor in any block reachable from it, points into these blocks.`,
        ],
        nextStep: "These blocks cannot be freed by the program any more: find the code that allocates them (+ust stacks) and where it drops the last pointer.",
      };
      if (heap) s.heap = formatAddress(heap.address);
      suspects.push(s);
    }
  }

  // Fragmented heaps: much more free than busy memory.
  for (const h of heaps) {
    const busy = h.stats.busy.bytes;
    const free = h.stats.free.bytes;
    if (free > 1 << 20 && free > busy) {
      suspects.push({
        rank: 0,
        kind: "fragmentation",
        title: `Heap ${formatAddress(h.address)} holds more free (${hex(free)}) than busy (${hex(busy)}) bytes`,
        score: Math.min(0.5, free / (free + busy + 1) / 2),
        heap: formatAddress(h.address),
        count: h.stats.free.count,
        bytes: free,
        percent: pct(free, free + busy),
        samples: [],
        evidence: [`${h.stats.free.count} free blocks: memory is committed but not used (fragmentation), not leaked.`],
        nextStep: "Look for many short-lived allocations of varying sizes; consider the LFH or a dedicated heap for them.",
      });
    }
  }

  suspects.sort((a, b) => b.score - a.score || b.bytes - a.bytes);
  const kept = suspects.slice(0, options.top).map((s, k) => ({ ...s, rank: k + 1, score: Math.max(0, Math.round(s.score * 1000) / 1000) }));

  const free = heaps.reduce((acc, h) => ({ count: acc.count + h.stats.free.count, bytes: acc.bytes + h.stats.free.bytes }), { count: 0, bytes: 0 });
  const lead = kept.find((s) => s.score >= 0.3);
  const out: AnalysisSection = {
    verdict: lead ? "leak-suspected" : "no-leak-evidence",
    verdictReason: lead ? `Suspect #${lead.rank} scores ${lead.score}.` : "No suspect scores 0.3 or more.",
    summary: { heaps: heaps.length, busy: table.busy, free, traces: status, tracesNote },
    ...(reachNote ? { notes: [reachNote] } : {}),
    suspects: kept,
    sizeClasses: table.classes.slice(0, 50).map((c: SizeClass) => ({
      heap: formatAddress(heaps[c.heap]?.address ?? 0),
      size: c.size,
      count: c.count,
      bytes: c.bytes,
      percent: pct(c.bytes, table.heapBusy[c.heap]?.bytes ?? 0),
    })),
    histogram: histogram(set),
    stacks: groups.stacks,
    types: groups.types,
  };
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

/** Share of busy user blocks whose first byte is in the dump (sampled for big sets). */
function capturedShare(run: Run): number {
  const set = run.allocations;
  const step = Math.max(1, Math.floor(set.count / 4096));
  let seen = 0;
  let mapped = 0;
  for (let i = 0; i < set.count; i += step) {
    if (!isUserAllocation(set.flags(i))) continue;
    const heap = run.heaps[set.heap(i)];
    if (!heap) continue;
    seen++;
    if (heap.view.space.isMapped(set.userAddress(i), 1)) mapped++;
  }
  return seen === 0 ? 0 : mapped / seen;
}

/**
 * Replace the computed classes of heaps for which the input reported its own size histogram
 * (WinDbg `!heap -stat -h`): those figures cover every busy block, LFH ones included, while a log
 * lists only some blocks. The heap's busy total is derived from WinDbg's percentages when printed.
 * Returns the source text per class key.
 */
function applySizeGroups(run: Run, table: ReturnType<typeof sizeClasses>): Map<number, string> {
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

function hashFrames(frames: readonly Frame[]): number {
  let h = 0;
  for (const f of frames) for (let i = 0; i < f.address.length; i++) h = (Math.imul(h, 31) + f.address.charCodeAt(i)) | 0;
  return h;
}
