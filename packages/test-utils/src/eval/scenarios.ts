/**
 * The scenarios of the accuracy benchmark (`npm run eval`) and their ground truth: healthy
 * workloads, planted leaks (4 forms x 5 sizes), growth pairs for `diff`, dumps without heap
 * memory, truncated dumps, the real inputs of ../shared, and stubs for leak kinds the writers
 * cannot produce yet. Every generated scenario is seeded: the same list and the same files on
 * every run.
 */
import { writeFileSync } from "node:fs";
import { type EvalArch, type EvalBackend, type EvalProcessSpec, type EvalShape, type LeakForm, LEAK_FORMS, type PlantedCause, type TruthFrame, buildEvalProcess } from "./process.js";
import type { NtWriterLayout } from "../heap/nt/writer.js";
import { EXAMPLE_FACTS, buildExampleDump } from "../example.js";

export type EvalVerdict = "leak-suspected" | "no-leak-evidence" | "cannot-judge";
export type EvalFamily = "healthy" | "leak" | "growth" | "no-heap" | "truncated" | "real" | "example" | "kinds";

/** What a suspect must name to count as finding a cause (a {@link PlantedCause}, or a real input's known cause). */
export interface TruthCause {
  id: string;
  sizes: number[];
  typeName?: string;
  callSite?: TruthFrame;
  /** Real logs: the cause is found when a suspect's title, call site or frames contain one of these. */
  text?: string[];
  related?: { sizes: number[]; callSite?: TruthFrame };
  count?: number;
  bytes?: number;
}

export interface EvalScenario {
  id: string;
  family: EvalFamily;
  description: string;
  command: "analyze" | "diff";
  expected: { verdict: EvalVerdict; causes: TruthCause[] };
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
        expected: { verdict: "leak-suspected", causes: [] },
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
      expected: { verdict: "leak-suspected", causes: [] },
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
  // leak kinds of #26: ground truth known, dumps need writers test-utils does not have yet
  const needs = "needs the HandleData / MemoryInfoList writers of test-utils (branch kinds)";
  const kinds: [string, string, TruthCause][] = [
    ["kinds-handle-leak", "a process leaking Event handles (HandleData: 4000 Event handles, 40 of every other type)", { id: "handles:Event", sizes: [], text: ["Event"] }],
    ["kinds-gdi-leak", "a GUI process leaking GDI bitmaps (GDI object counts far above its peers)", { id: "gdi:Bitmap", sizes: [], text: ["Bitmap"] }],
    ["kinds-thread-leak", "a process whose worker threads never exit (300 threads with one start address)", { id: "threads:worker", sizes: [], text: ["netcore"] }],
    ["kinds-virtualalloc-leak", "a process leaking VirtualAlloc'd 1 MiB regions (MemoryInfoList: 400 private committed regions)", { id: "region", sizes: [0x100000] }],
  ];
  for (const [id, what, cause] of kinds) {
    out.push({ id, family: "kinds", description: what, command: "analyze", expected: { verdict: "leak-suspected", causes: [cause] }, skip: needs });
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
    expected: { verdict: s.expected.verdict, causes: s.expected.causes.length > 0 ? s.expected.causes : p.causes.map(truthOf) },
    busy: p.busy,
    leaked: { count: p.planted.length, bytes: leakedBytes },
    orphans: p.orphans,
    planted: p.planted,
  };
}
