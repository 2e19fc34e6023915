/**
 * The scenarios of the accuracy benchmark (`npm run eval`) and their ground truth: healthy
 * workloads, planted leaks (4 forms x 5 sizes), growth pairs for `diff`, dumps without heap
 * memory, truncated dumps, the real inputs of ../shared, leaks of another kind than the heap
 * (handles, GDI objects, threads, VirtualAlloc'd memory) and snapshot series for `trend`. Every
 * generated scenario is seeded: the same list and the same files on every run.
 */
import { writeFileSync } from "node:fs";
import { EVAL_LEAKED_EVENTS, type EvalArch, type EvalBackend, type EvalProcessSpec, type EvalShape, type LeakForm, LEAK_FORMS, type PlantedCause, type TruthFrame, buildEvalProcess } from "./process.js";
import type { NtWriterLayout } from "../heap/nt/writer.js";
import { EXAMPLE_FACTS, buildExampleDump } from "../example.js";
import { KIND_LEAKS, KIND_LEAK_FACTS, type KindLeak, buildKindLeakDump } from "../minidump/kinds.js";
import { TREND_SCENARIO_KINDS, type TrendScenarioKind, trendScenario, trendScenarioPlans } from "../trend-scenarios.js";

export type EvalVerdict = "leak-suspected" | "no-leak-evidence" | "cannot-judge";
export type EvalFamily = "healthy" | "leak" | "growth" | "no-heap" | "truncated" | "real" | "example" | "kinds" | "trend";

/** `analysis.leakKind` of a report: the heap, or another kind of resource. */
export type EvalLeakKind = "heap" | Exclude<KindLeak, "none">;

/** What a suspect must name to count as finding a cause (a {@link PlantedCause}, or a real input's known cause). */
export interface TruthCause {
  id: string;
  sizes: number[];
  typeName?: string;
  callSite?: TruthFrame;
  /** Real logs: the cause is found when a suspect's title, call site or frames contain one of these. */
  text?: string[];
  related?: { sizes: number[]; callSite?: TruthFrame };
  /** Process-level causes: the suspect's kind and the cause key it must carry (`handles:Event`, `region:0x20000000`). */
  kind?: EvalLeakKind;
  key?: string;
  count?: number;
  bytes?: number;
}

export interface EvalScenario {
  id: string;
  family: EvalFamily;
  description: string;
  command: "analyze" | "diff" | "trend";
  /** `leakKind`: the kind of leak `analysis.leakKind` must name (leak scenarios). */
  expected: { verdict: EvalVerdict; causes: TruthCause[]; leakKind?: EvalLeakKind };
  /** Generated: the process (growth pairs: the `after` snapshot; `before` is the same spec). */
  spec?: EvalProcessSpec;
  /** Leak family: share of the busy bytes leaked, and the form. */
  fraction?: number;
  form?: LeakForm;
  /** Truncated dumps: keep this share of the file. */
  truncate?: number;
  /** The bundled example dump (`buildExampleDump`). */
  example?: boolean;
  /** Real inputs: paths relative to ../shared (two for diff). */
  shared?: string[];
  /** Kinds family: a {@link buildKindLeakDump} dump with this leak planted, and how much of it (default: the facts' figures). */
  kindLeak?: KindLeak;
  kindCount?: number;
  /** Trend family: the snapshot series (see {@link trendScenario}). */
  trend?: { kind: TrendScenarioKind; count: number; seed: number };
  /** Not runnable yet: why (printed as a notice). */
  skip?: string;
}

export interface EvalOptions {
  /** CI-size run: fewer scenarios, smaller processes. */
  quick?: boolean;
}

/** Bump when the generator's output changes, so cached dumps are rewritten. */
export const EVAL_GENERATOR_VERSION = 8;

export const LEAK_FRACTIONS = [0.005, 0.02, 0.05, 0.2, 0.5] as const;

interface Base {
  arch: EvalArch;
  backend: EvalBackend;
  ust: boolean;
  shape: EvalShape;
  layout?: NtWriterLayout;
}

const label = (b: Base): string => `${b.arch} ${b.backend === "lfh" ? "NT+LFH" : b.backend === "nt" ? "NT backend" : "segment heap"}${b.layout ? ` (${b.layout})` : ""}, ${b.ust ? "+ust" : "no stacks"}`;

const HEALTHY: Base[] = [
  { arch: "x64", backend: "lfh", ust: true, shape: "service" },
  { arch: "wow64", backend: "lfh", ust: true, shape: "gui" },
  { arch: "x64", backend: "segment", ust: true, shape: "cache" },
  { arch: "x64", backend: "nt", ust: false, shape: "parser", layout: "win11" },
  { arch: "x86", backend: "nt", ust: false, shape: "batch", layout: "win7" },
  { arch: "x64", backend: "segment", ust: false, shape: "service" },
  { arch: "wow64", backend: "nt", ust: true, shape: "parser", layout: "win8" },
];

/** Processes the leaks are planted in, in turn (batch is left out: its large buffers would make 50% leaks huge). */
const LEAK_BASES: Base[] = [
  { arch: "x64", backend: "lfh", ust: true, shape: "service" },
  { arch: "wow64", backend: "lfh", ust: true, shape: "gui" },
  { arch: "x64", backend: "segment", ust: true, shape: "cache" },
  { arch: "x64", backend: "nt", ust: false, shape: "parser" },
  { arch: "x86", backend: "nt", ust: true, shape: "service", layout: "win7" },
  { arch: "wow64", backend: "nt", ust: false, shape: "gui" },
];

const SHAPE_TEXT: Record<EvalShape, string> = {
  service: "a network service (strings, request objects, C++ connections, a tree, some buffers)",
  gui: "a GUI program (UTF-16 strings, widgets with vtables, bitmaps)",
  cache: "a program whose cache (one call site) holds most bytes, all reachable",
  batch: "a batch job (large buffers hold most bytes, many small strings)",
  parser: "a parser (many same-size tree nodes from two call sites)",
};

function truthOf(c: PlantedCause): TruthCause {
  return {
    id: c.id,
    sizes: c.sizes,
    ...(c.typeName ? { typeName: c.typeName } : {}),
    ...(c.callSite ? { callSite: c.callSite } : {}),
    ...(c.related ? { related: { sizes: c.related.sizes, ...(c.related.callSite ? { callSite: c.related.callSite } : {}) } } : {}),
    count: c.count,
    bytes: c.bytes,
  };
}

const KIND_TEXT: Record<(typeof KIND_LEAKS)[number], string> = {
  handles: `a process leaking Event handles (HandleData: ${KIND_LEAK_FACTS.leakedEvents + 40} Events, ${KIND_LEAK_FACTS.namedEvents} of them with one name; 52 handles of 5 other types)`,
  gdi: `a GUI process leaking GDI bitmaps (${KIND_LEAK_FACTS.leakedBitmaps} Bitmaps of its own in the GDI shared handle table, ${KIND_LEAK_FACTS.otherProcessObjects} of another process)`,
  threads: `a process whose worker threads never exit (${KIND_LEAK_FACTS.parkedThreads} threads started at one address, parked at one wait)`,
  "virtual-memory": `a process leaking VirtualAlloc'd regions (MemoryInfoList: ${KIND_LEAK_FACTS.regions} private committed regions of 1 MiB outside the heaps)`,
};

/** Planted counts of the smaller leaks and of the normal loads. */
const KIND_SCALES: Record<(typeof KIND_LEAKS)[number], [moderate: number, normal: number]> = {
  handles: [5000, 1500],
  gdi: [6000, 1500],
  threads: [150, 40],
  "virtual-memory": [100, 16],
};

const KIND_SCALE_TEXT: Record<(typeof KIND_LEAKS)[number], (n: number) => string> = {
  handles: (n) => `${n + 40} Event handles`,
  gdi: (n) => `${n} GDI bitmaps of the process (quota 10,000)`,
  threads: (n) => `${n} threads started at one address, parked at one wait (a thread pool)`,
  "virtual-memory": (n) => `${n} VirtualAlloc'd regions of 1 MiB outside the heaps`,
};

const TREND_TEXT: Record<TrendScenarioKind, string> = {
  "steady-leak": "with a steady leak (700 blocks of one size per snapshot), a cache that fills then holds, and churn",
  "slow-leak-noisy": "with a slow leak (300 blocks per snapshot) under 8% churn noise, and a cache that fills then holds",
  "plateau-only": "without a leak: a cache that fills then holds, and churn",
  "late-leak": "whose leak starts halfway through the series (flat first), with a cache that fills then holds",
};

/** The cause a kind leak's suspect must name: its kind and the key of what {@link buildKindLeakDump} planted. */
export function kindCause(kind: Exclude<KindLeak, "none">, count?: number): TruthCause {
  const F = KIND_LEAK_FACTS;
  const n = (dflt: number): number => count ?? dflt;
  const app = F.app.path.slice(F.app.path.lastIndexOf("\\") + 1).replace(/\.exe$/i, "");
  switch (kind) {
    case "handles":
      return { id: "handles:Event", sizes: [], kind, key: "handles:Event", count: n(F.leakedEvents) + 40 };
    case "gdi":
      return { id: "gdi:Bitmap", sizes: [], kind, key: "gdi:Bitmap", count: n(F.leakedBitmaps) };
    case "threads":
      return { id: "threads", sizes: [], kind, key: `threads:${app}+0x${(F.threadStart - F.app.base).toString(16)}`, count: n(F.parkedThreads) };
    case "virtual-memory":
      return { id: "region", sizes: [F.regionSize], kind, key: `region:0x${F.regionBase.toString(16)}`, count: n(F.regions), bytes: n(F.regions) * F.regionSize };
  }
}

/** The scenario list (ground truth of generated leaks is filled in by {@link writeEvalScenario}). */
export function evalScenarios(options: EvalOptions = {}): EvalScenario[] {
  const quick = options.quick === true;
  const blocks = quick ? 2500 : 6000;
  const out: EvalScenario[] = [];
  const healthy = quick ? HEALTHY.slice(0, 4) : HEALTHY;
  healthy.forEach((b, i) => {
    out.push({
      id: `healthy-${b.shape}-${b.arch}-${b.backend}${b.ust ? "-ust" : ""}`,
      family: "healthy",
      description: `${SHAPE_TEXT[b.shape]}; ${label(b)}`,
      command: "analyze",
      expected: { verdict: "no-leak-evidence", causes: [] },
      spec: { seed: 1000 + i, blocks, ...b },
    });
  });
  const fractions = quick ? [0.02, 0.2] : [...LEAK_FRACTIONS];
  let k = 0;
  for (const fraction of fractions) {
    for (const form of LEAK_FORMS) {
      const b = LEAK_BASES[k % LEAK_BASES.length]!;
      // every seventh leak sits in the DLL's private heap rather than the process heap
      const heap = k % 7 === 3 ? ("private" as const) : undefined;
      k++;
      const pct = fraction * 100;
      out.push({
        id: `leak-${form}-${pct}pct`,
        family: "leak",
        description: `${form} leak of ${pct}% of busy bytes${heap ? " (in a DLL's private heap)" : ""} in ${SHAPE_TEXT[b.shape]}; ${label(b)}`,
        command: "analyze",
        // the kind of leak is judged from 2% up (as top-1 is)
        expected: { verdict: "leak-suspected", causes: [], ...(fraction >= 0.02 ? { leakKind: "heap" as const } : {}) },
        spec: { seed: 2000 + k, blocks, ...b, leak: { form, fraction, ...(heap ? { heap } : {}) } },
        fraction,
        form,
      });
    }
  }
  const pairs: { b: Base; form: LeakForm; reachable?: boolean }[] = [
    { b: { arch: "x64", backend: "nt", ust: true, shape: "service" }, form: "one-stack-one-size" },
    { b: { arch: "wow64", backend: "nt", ust: true, shape: "gui" }, form: "one-type" },
    { b: { arch: "x86", backend: "nt", ust: false, shape: "parser" }, form: "several-small" },
    { b: { arch: "x64", backend: "nt", ust: true, shape: "service", layout: "win11" }, form: "one-stack-one-size", reachable: true },
  ];
  (quick ? pairs.slice(0, 1) : pairs).forEach(({ b, form, reachable }, i) => {
    out.push({
      id: `growth-${form}-${b.arch}${reachable ? "-reachable" : ""}`,
      family: "growth",
      description: `two snapshots of ${SHAPE_TEXT[b.shape]}; ${label(b)}: persistent blocks keep their addresses, a ${form} leak of 2% doubles${reachable ? " while staying reachable (a list that only grows, held by a global)" : ""}, a quarter of the strings and buffers are replaced by blocks like them`,
      command: "diff",
      expected: { verdict: "leak-suspected", causes: [], leakKind: "heap" },
      spec: { seed: 3000 + i, blocks, ...b, leak: { form, fraction: 0.02, ...(reachable ? { reachable } : {}) }, phase: { which: "after", growth: 1 } },
      fraction: 0.02,
      form,
    });
  });
  const noHeap: Base[] = [
    { arch: "x64", backend: "lfh", ust: true, shape: "service" },
    { arch: "wow64", backend: "nt", ust: false, shape: "gui" },
  ];
  noHeap.forEach((b, i) => {
    out.push({
      id: `no-heap-${b.arch}`,
      family: "no-heap",
      description: `the PEB lists the heaps, no heap byte captured (a minidump without full memory); ${label(b)}`,
      command: "analyze",
      expected: { verdict: "cannot-judge", causes: [] },
      spec: { seed: 4000 + i, blocks: Math.min(blocks, 3000), ...b, captureHeaps: false },
    });
    out.push({
      id: `truncated-${b.arch}`,
      family: "truncated",
      description: `a healthy dump cut at ${i === 0 ? 50 : 70}% of its length (the copy stopped inside the heap memory); ${label(b)}`,
      command: "analyze",
      expected: { verdict: "cannot-judge", causes: [] },
      spec: { seed: 4100 + i, blocks: Math.min(blocks, 3000), ...b },
      truncate: i === 0 ? 0.5 : 0.7,
    });
  });
  const ex = EXAMPLE_FACTS;
  out.push(
    {
      id: "example-leaky-wow64",
      family: "example",
      description: "the bundled example (examples/data/example.dmp): WoW64, +ust, net::Session objects leaked from leaky+0x1119",
      command: "analyze",
      expected: {
        verdict: "leak-suspected",
        leakKind: "heap",
        causes: [{
          id: "net::Session",
          sizes: [ex.leakSize],
          typeName: ex.leakType,
          callSite: { address: ex.imageBase + ex.leakFrameOffset, text: `leaky+0x${ex.leakFrameOffset.toString(16)}`, module: "leaky", offset: ex.leakFrameOffset },
          count: ex.leakCount,
          bytes: ex.leakCount * ex.leakSize,
        }],
      },
      example: true,
    },
    {
      id: "real-fizzbuzz-wow64-full",
      family: "real",
      description: "a real WoW64 full dump of a small healthy program (LLDB's fizzbuzz)",
      command: "analyze",
      expected: { verdict: "no-leak-evidence", causes: [] },
      shared: ["dumps/user/lldb-fizzbuzz-wow64-win7sp1-full.dmp"],
    },
    {
      id: "real-umdh-diff-msdocs",
      family: "real",
      description: "a real UMDH diff log: one stack (BackTrace00B53) grew by 0x5320 bytes",
      command: "analyze",
      expected: { verdict: "leak-suspected", causes: [{ id: "BackTrace00B53", sizes: [], text: ["BackTrace00B53", "DisplayMyGraphics"] }] },
      shared: ["data/windbg-samples/umdh-diff-log_msdocs.txt"],
    },
  );
  for (const [id, file, what] of [
    ["real-noheap-fizzbuzz-x86view", "dumps/user/lldb-fizzbuzz-x86view-win7sp1-noheap.dmp", "a real x86 minidump with a stack only (PEB not captured)"],
    ["real-noheap-sigsegv-x64", "dumps/user/lldb-sigsegv-x64-win10-1709.dmp", "a real x64 crash dump: the PEB lists 2 heaps, none captured"],
    ["real-noheap-breakpad-x64", "dumps/user/breakpad-tiny-cet-x64-win11-22000-peb-noheap.dmp", "a real x64 dump with handles and memory regions, no heap byte"],
    ["real-indirect-notepad-x86view", "dumps/user/syzygy-notepad-x86view-win7sp1-indirect.dmp", "a real dump with only 0x300 bytes of the heap header"],
    ["real-indirect-alpinefaction-x86view", "dumps/user/alpinefaction-rf-x86view-win11-indirect.dmp", "a real dump with heap headers only (indirectly referenced memory)"],
  ] as const) {
    out.push({ id, family: "no-heap", description: what, command: "analyze", expected: { verdict: "cannot-judge", causes: [] }, shared: [file] });
  }
  // leak kinds of #26: a process that leaks handles, GDI objects, threads or VirtualAlloc'd memory
  // (no heap memory captured: the kind is judged from the process streams), the same process
  // without a leak, and a healthy process with full heaps and a busy server's handle table
  for (const kind of KIND_LEAKS) {
    const cause = kindCause(kind);
    out.push({ id: `kinds-${kind}`, family: "kinds", description: KIND_TEXT[kind], command: "analyze", expected: { verdict: "leak-suspected", causes: [cause], leakKind: kind }, kindLeak: kind });
  }
  // the same leaks at a smaller scale (still well past what a process holds), and the same
  // process with a normal load of each kind: no suspect, and cannot-judge (its heaps are not captured)
  for (const kind of KIND_LEAKS) {
    const [moderate, normal] = KIND_SCALES[kind];
    out.push({
      id: `kinds-${kind}-moderate`,
      family: "kinds",
      description: `${KIND_SCALE_TEXT[kind](moderate)}: a smaller leak`,
      command: "analyze",
      expected: { verdict: "leak-suspected", causes: [kindCause(kind, moderate)], leakKind: kind },
      kindLeak: kind,
      kindCount: moderate,
    });
    out.push({
      id: `kinds-${kind}-normal`,
      family: "kinds",
      description: `${KIND_SCALE_TEXT[kind](normal)}: a normal load, not a leak (heaps not captured)`,
      command: "analyze",
      expected: { verdict: "cannot-judge", causes: [] },
      kindLeak: kind,
      kindCount: normal,
    });
  }
  // the same handle leak in a process whose heaps are captured and healthy: the heap suspects must not outrank it
  const leakBase = LEAK_BASES[0]!;
  out.push({
    id: "kinds-handles-full-heaps",
    family: "kinds",
    description: `${SHAPE_TEXT[leakBase.shape]} leaking Event handles (${EVAL_LEAKED_EVENTS} on top of its 110-odd healthy handles), its heaps captured and healthy; ${label(leakBase)}`,
    command: "analyze",
    expected: { verdict: "leak-suspected", causes: [{ id: "handles:Event", sizes: [], kind: "handles", key: "handles:Event", count: EVAL_LEAKED_EVENTS + 22 }], leakKind: "handles" },
    spec: { seed: 5001, blocks, ...leakBase, handles: "leak" },
  });
  out.push({
    id: "kinds-none-noheap",
    family: "kinds",
    description: "the same process without a leak (92 handles, 1 thread, no VirtualAlloc'd memory): its heaps are not captured, so the heap part cannot be judged",
    command: "analyze",
    expected: { verdict: "cannot-judge", causes: [] },
    kindLeak: "none",
  });
  out.push({
    id: "kinds-healthy-busy-handles",
    family: "kinds",
    description: `a busy server with full heaps and about 3,600 handles (1,500 Events, 600 Files, every type below what such a process holds); ${label(HEALTHY[0]!)}`,
    command: "analyze",
    expected: { verdict: "no-leak-evidence", causes: [] },
    spec: { seed: 5000, blocks, ...HEALTHY[0]!, handles: "busy" },
  });
  // trend (#25): 3-6 snapshots of one program; quick: the shortest series of each kind
  const plans = trendScenarioPlans();
  const trendPlans = quick ? TREND_SCENARIO_KINDS.map((k) => plans.find((p) => p.kind === k)!) : plans;
  for (const t of trendPlans) {
    out.push({
      id: `trend-${t.kind}-${t.count}`,
      family: "trend",
      description: `${t.count} snapshots of one program ${TREND_TEXT[t.kind]}`,
      command: "trend",
      expected: { verdict: "no-leak-evidence", causes: [] },
      trend: t,
    });
  }
  return out;
}

export interface WrittenScenario {
  /** Dump files written (one; two for a growth pair: before, after). */
  files: string[];
  /** The scenario's ground truth with the planted causes filled in. */
  expected: EvalScenario["expected"];
  busy: { count: number; bytes: number };
  leaked: { count: number; bytes: number };
  /** Healthy blocks no root reaches (noise). */
  orphans: { count: number; bytes: number };
  /** Every planted block (address, size, cause), for checks of the walk. */
  planted: { address: number; size: number; cause: string; related: boolean }[];
  /** Trend family: the series' truth (files are in capture order). */
  trend?: TrendTruth;
}

/** What a trend series holds: the leaking size class (none on a plateau-only series), the cache's, the churn's, and the capture times. */
export interface TrendTruth {
  kind: TrendScenarioKind;
  leakSize?: number;
  plateauSize: number;
  churnSizes: number[];
  times: number[];
}

/** Write a generated scenario's dump(s) as `<prefix>.dmp` (pairs: `.before.dmp`, `.after.dmp`). */
export function writeEvalScenario(s: EvalScenario, prefix: string): WrittenScenario {
  if (s.example) {
    const bytes = buildExampleDump();
    writeFileSync(`${prefix}.dmp`, bytes);
    const c = s.expected.causes[0]!;
    return {
      files: [`${prefix}.dmp`],
      expected: s.expected,
      busy: { count: 0, bytes: 0 }, // not tallied by the example's writer
      leaked: { count: c.count ?? 0, bytes: c.bytes ?? 0 },
      orphans: { count: 0, bytes: 0 },
      planted: [],
    };
  }
  const none = { count: 0, bytes: 0 };
  if (s.kindLeak) {
    writeFileSync(`${prefix}.dmp`, buildKindLeakDump(s.kindLeak, s.kindCount !== undefined ? { count: s.kindCount } : {}));
    const c = s.expected.causes[0];
    return { files: [`${prefix}.dmp`], expected: s.expected, busy: none, leaked: { count: c?.count ?? 0, bytes: c?.bytes ?? 0 }, orphans: none, planted: [] };
  }
  if (s.trend) {
    const t = trendScenario(s.trend.kind, s.trend.count, s.trend.seed);
    const files = t.snapshots.map((bytes, i) => {
      const f = `${prefix}.${i}.dmp`;
      writeFileSync(f, bytes);
      return f;
    });
    return {
      files,
      expected: s.expected,
      busy: none,
      leaked: none,
      orphans: none,
      planted: [],
      trend: { kind: t.kind, ...(t.leakSize !== undefined ? { leakSize: t.leakSize } : {}), plateauSize: t.plateauSize, churnSizes: t.churnSizes, times: t.times },
    };
  }
  if (!s.spec) throw new Error(`eval scenario ${s.id} is not generated`);
  const files: string[] = [];
  let p;
  if (s.spec.phase) {
    const before = buildEvalProcess({ ...s.spec, phase: { ...s.spec.phase, which: "before" } });
    before.builder.writeTo(`${prefix}.before.dmp`);
    p = buildEvalProcess(s.spec);
    p.builder.writeTo(`${prefix}.after.dmp`);
    files.push(`${prefix}.before.dmp`, `${prefix}.after.dmp`);
  } else {
    p = buildEvalProcess(s.spec);
    if (s.truncate !== undefined) {
      const bytes = p.builder.build();
      writeFileSync(`${prefix}.dmp`, bytes.subarray(0, Math.floor(bytes.length * s.truncate)));
    } else p.builder.writeTo(`${prefix}.dmp`);
    files.push(`${prefix}.dmp`);
  }
  const leakedBytes = p.planted.reduce((x, b) => x + b.size, 0);
  return {
    files,
    expected: { ...s.expected, causes: s.expected.causes.length > 0 ? s.expected.causes : p.causes.map(truthOf) },
    busy: p.busy,
    leaked: { count: p.planted.length, bytes: leakedBytes },
    orphans: p.orphans,
    planted: p.planted,
  };
}
