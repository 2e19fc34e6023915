/**
 * Processes that look like real programs, for the leak-finding accuracy benchmark (`npm run eval`).
 *
 * A process is a list of logical allocations ("items": strings, objects, C++ objects with a
 * vtable, tree nodes, hash tables, buffers, large buffers), each made by a call site (a +ust stack:
 * RtlAllocateHeap <- malloc/operator new <- a function of the program or of its DLL <- callers
 * <- BaseThreadInitThunk). Healthy items hang off an ownership graph whose roots sit where a real
 * program keeps them (module globals in `.data`, thread stacks and registers, TLS slots); leaked
 * items have no owner (the leak's own children excepted). The items are laid out by the heap
 * writers (NT backend, NT + LFH, segment heap; x64, x86 or WoW64), then their bytes are written:
 * text, vtables, pointers to their children, and stale pointers in free blocks. The result carries
 * the ground truth (every planted block's address, size and cause).
 *
 * Plain bytes, no @leakscope/core import, seeded: one spec always gives the same dump.
 */
import { MinidumpBuilder, minidumpPeHeader } from "../minidump/builder.js";
import { minidumpX86Context } from "../minidump/context.js";
import { type MemoryPiece, NT_LAYOUT_BUILD, type NtBlockSpec, type NtSegmentSpec, type NtVirtualBlockSpec, type NtWriterLayout, writeNtHeap, writePeb } from "../heap/nt/writer.js";
import { type LfhHeapSpec, type LfhSubsegmentSpec, lfhUserBlocksBytes, writeLfhInNtHeap } from "../heap/lfh/writer.js";
import { SEGMENT_LAYOUT_BUILD, type SegmentAllocSpec, segmentLfhBucketSize, writeSegmentHeap } from "../heap/segment/writer.js";
import { Rng } from "../fuzz.js";
import { buildModuleImage, codeAddress, IMAGE_LAYOUT, putPtr } from "./image.js";

export type EvalArch = "x64" | "x86" | "wow64";
export type EvalBackend = "nt" | "lfh" | "segment";
/** Healthy workload shapes: what the bytes and blocks of a leak-free process are made of. */
export type EvalShape = "service" | "gui" | "cache" | "batch" | "parser";
export const EVAL_SHAPES: readonly EvalShape[] = ["service", "gui", "cache", "batch", "parser"];
/** How a planted leak looks. */
export type LeakForm = "one-stack-one-size" | "one-stack-several-sizes" | "one-type" | "several-small";
export const LEAK_FORMS: readonly LeakForm[] = ["one-stack-one-size", "one-stack-several-sizes", "one-type", "several-small"];

type Role = "string" | "wstring" | "object" | "vobject" | "node" | "table" | "buffer" | "large";

/** A call-site frame: the first frame of a stack outside the allocator. */
export interface TruthFrame {
  address: number;
  /** `module+0x1234` as leakscope prints it without symbols. */
  text: string;
  module: string;
  offset: number;
  /** The exported function it is in, when the module exports it (`netcore!Name`). */
  exportName?: string;
}

/** One planted cause: what a suspect must name to be counted as finding it. */
export interface PlantedCause {
  id: string;
  form: LeakForm;
  /** Requested sizes of the leaked blocks. */
  sizes: number[];
  /** Demangled class name (`class net::Session`) for a C++ type leak. */
  typeName?: string;
  /** Where the leaked blocks were allocated (present when the dump has +ust stacks). */
  callSite?: TruthFrame;
  /** Heap (address) holding the leaked blocks. */
  heap: number;
  count: number;
  bytes: number;
  /** Blocks leaked along with the cause's own (children of leaked objects): not a second cause. */
  related?: { sizes: number[]; callSite?: TruthFrame; count: number; bytes: number };
}

export interface LeakPlan {
  form: LeakForm;
  /** Share of the busy bytes (healthy + leaked) the leak holds, 0..1. */
  fraction: number;
  /** A logical leak: the leaked blocks stay reachable, held by a list that only grows. */
  reachable?: boolean;
  /** Which heap the leaked blocks are in: the process heap (default) or netcore.dll's private heap. */
  heap?: "process" | "private";
}

export interface EvalProcessSpec {
  seed: number;
  arch: EvalArch;
  backend: EvalBackend;
  /** +ust: the heaps record allocation stacks in a trace database. */
  ust: boolean;
  shape: EvalShape;
  /** Healthy busy blocks (approximate). */
  blocks: number;
  leak?: LeakPlan;
  /** NT heap layout family (default win10-1709). */
  layout?: NtWriterLayout;
  /** false: the PEB lists the heaps but no heap byte is captured (a dump without heap memory). */
  captureHeaps?: boolean;
  /**
   * Growth pairs: `before` or `after` snapshot of one process. Persistent blocks keep their
   * addresses; in `after` the leak has grown by `growth` (its count times 1 + growth) and the
   * churned blocks were replaced.
   */
  phase?: { which: "before" | "after"; growth: number };
  /**
   * The handle table: a desktop program's hundred-odd handles (default), a busy server's few
   * thousand, or (`leak`) the desktop table plus {@link EVAL_LEAKED_EVENTS} Event handles never
   * closed.
   */
  handles?: "normal" | "busy" | "leak";
}

export interface PlantedBlock {
  address: number;
  size: number;
  cause: string;
  /** A child of a leaked object (counted in the cause's `related`). */
  related: boolean;
}

export interface EvalProcess {
  builder: MinidumpBuilder;
  bitness: 32 | 64;
  causes: PlantedCause[];
  /** Every leaked block, with its cause. */
  planted: PlantedBlock[];
  /** Busy user allocations written (healthy + leaked), and their requested bytes. */
  busy: { count: number; bytes: number };
  healthy: { count: number; bytes: number };
  /** Healthy blocks no root reaches (startup singletons, pointers kept in uncaptured memory): noise a detector must tolerate. */
  orphans: { count: number; bytes: number };
  free: { count: number };
  heaps: number[];
  /** Growth pairs: the blocks present in both snapshots (same address and size in each). */
  persistent: { address: number; size: number }[];
}

interface Site {
  frames: number[];
  callSite: TruthFrame;
}

interface Item {
  role: Role;
  size: number;
  site: number;
  /** Class index into the process' classes (vobject). */
  cls?: number;
  /** Cause index, -1 when healthy. */
  cause: number;
  related?: boolean;
  /** Healthy block with no owner (noise). */
  orphan?: boolean;
  /** Growth pairs: in both snapshots, or only in one. */
  phase: "both" | "before" | "after";
  address: number;
  children: number[];
  /** The owner keeps an interior pointer (into the middle of the block). */
  interior?: boolean;
  /** A table filled in order (a vector of pointers) that takes no other children. */
  vector?: boolean;
}

// ---- address plans per architecture ---------------------------------------------------------------

interface Plan {
  bitness: 32 | 64;
  ps: 4 | 8;
  app: number;
  dll: number;
  ucrt: number;
  vcrt: number;
  kernel32: number;
  ntdll: number;
  heaps: number[];
  lfhArea: number;
  traceDb: number;
  stacks: number;
  /** Extra TEBs go below the first one, this far apart. */
  tebStep: number;
  tls: number;
  stackBase: number;
  stackLimit: number;
}

function plan(arch: EvalArch): Plan {
  if (arch === "x64")
    return {
      bitness: 64, ps: 8,
      app: 0x7ff6_4a20_0000, dll: 0x7ffb_1c40_0000, ucrt: 0x7ffb_2e10_0000, vcrt: 0x7ffb_2d80_0000, kernel32: 0x7ffb_3050_0000, ntdll: 0x7ffa_0000_0000,
      heaps: [0x1f2_3a4d_0000, 0x1f2_4c80_0000], lfhArea: 0x1f2_3000_0000, traceDb: 0x1f2_3800_0000, stacks: 0xa3_4f70_0000,
      tebStep: 0x2000, tls: 0x1480, stackBase: 0x08, stackLimit: 0x10,
    };
  const wow = arch === "wow64";
  return {
    bitness: 32, ps: 4,
    app: 0x0040_0000, dll: 0x6c30_0000, ucrt: 0x74c0_0000, vcrt: 0x74b8_0000, kernel32: 0x7614_0000, ntdll: wow ? 0x77cc_0000 : 0x7700_0000,
    heaps: [0x0100_0000, 0x0400_0000], lfhArea: 0x00d0_0000, traceDb: 0x0070_0000, stacks: 0x0018_0000,
    tebStep: 0x1000, tls: 0xe10, stackBase: 0x04, stackLimit: 0x08,
  };
}

// ---- text for strings ------------------------------------------------------------------------------

const WORDS = [
  "session", "request", "user", "config", "cache", "token", "item", "order", "invoice", "widget", "layer", "font", "path",
  "update", "query", "result", "buffer", "stream", "socket", "handler", "timer", "record", "entry", "value", "name",
];
function text(rng: Rng, n: number): string {
  const kind = rng.below(5);
  let s: string;
  if (kind === 0) s = `C:\\Users\\svc_${rng.pick(WORDS)}\\AppData\\Local\\${rng.pick(WORDS)}\\${rng.pick(WORDS)}_${rng.below(9999)}.dat`;
  else if (kind === 1) s = `GET /api/v2/${rng.pick(WORDS)}s/${rng.below(100000)}?${rng.pick(WORDS)}=${rng.below(1000)} HTTP/1.1`;
  else if (kind === 2) s = `{"${rng.pick(WORDS)}":"${rng.pick(WORDS)}-${rng.below(1 << 20).toString(16)}","${rng.pick(WORDS)}":${rng.below(5000)}}`;
  else if (kind === 3) s = `${rng.pick(WORDS)}.${rng.pick(WORDS)}.${rng.pick(WORDS)}=${rng.below(100)}`;
  else s = `${rng.pick(WORDS)} ${rng.pick(WORDS)} ${rng.pick(WORDS)} #${rng.below(100000)}`;
  while (s.length < n) s += ` ${rng.pick(WORDS)}`;
  return s.slice(0, n);
}

// ---- memory writer over the pieces -----------------------------------------------------------------

class Pieces {
  private readonly list: MemoryPiece[];
  private readonly starts: number[];
  private readonly views: DataView[];
  constructor(pieces: MemoryPiece[]) {
    this.list = pieces.slice().sort((a, b) => a.address - b.address);
    this.starts = this.list.map((p) => p.address);
    this.views = this.list.map((p) => new DataView(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength));
  }
  private at(a: number, n: number): [DataView, number] | undefined {
    let lo = 0;
    let hi = this.starts.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid]! <= a) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // pieces may nest (LFH user blocks copied into hosts): walk back to one holding [a, a+n)
    for (let i = best; i >= 0 && i >= best - 4; i--) {
      const p = this.list[i]!;
      if (a >= p.address && a + n <= p.address + p.bytes.length) return [this.views[i]!, a - p.address];
    }
    return undefined;
  }
  ptr(a: number, v: number, ps: 4 | 8): void {
    const t = this.at(a, ps);
    if (!t) throw new Error(`eval process: no memory at 0x${a.toString(16)}`);
    putPtr(t[0], t[1], v, ps);
  }
  u32(a: number, v: number): void {
    const t = this.at(a, 4);
    if (!t) throw new Error(`eval process: no memory at 0x${a.toString(16)}`);
    t[0].setUint32(t[1], v >>> 0, true);
  }
  bytes(a: number, b: Uint8Array): void {
    const t = this.at(a, b.length);
    if (!t) throw new Error(`eval process: no memory at 0x${a.toString(16)}+${b.length}`);
    new Uint8Array(t[0].buffer, t[0].byteOffset + t[1], b.length).set(b);
  }
}

// ---- the process -----------------------------------------------------------------------------------

/** WoW64: the 64-bit process heap and its few blocks. */
const NATIVE_HEAP_64 = 0x0060_0000;
const NATIVE_SIZES = [0x58, 0x130, 0x800, 0x40, 0x28, 0x1c8, 0x90, 0x60, 0x30, 0x400, 0x48, 0x20];

/** Event handles a `handles: "leak"` process leaks, on top of its 22 healthy Events. */
export const EVAL_LEAKED_EVENTS = 12000;

/**
 * A healthy process' handle table: a hundred-odd handles of the usual types, or (`busy`) the
 * table of a busy server: about 3,600 handles, every type below what such a process holds
 * (1,500 Events, 600 Files, thread-pool wait packets, ETW registrations).
 */
function healthyHandles(rng: Rng, busy = false, leak = false): { handle: number; typeName: string; objectName?: string; handleCount: number; pointerCount: number; grantedAccess: number }[] {
  const kinds: [string, number, string?][] = busy
    ? [
        ["File", 600, "\\Device\\HarddiskVolume3\\ProgramData\\Orbit\\spool"], ["Event", 1500], ["Key", 300, "\\REGISTRY\\MACHINE\\SOFTWARE\\Orbit"],
        ["Section", 200], ["Semaphore", 150], ["Thread", 60], ["Mutant", 40], ["ALPC Port", 20], ["IoCompletion", 12], ["TpWorkerFactory", 8],
        ["WaitCompletionPacket", 400], ["IRTimer", 60], ["EtwRegistration", 180], ["Process", 10], ["Directory", 4], ["Desktop", 1], ["WindowStation", 2], ["Token", 6],
      ]
    : [
        ["File", 14, "\\Device\\HarddiskVolume3\\Program Files\\Orbit"], ["Event", 22], ["Key", 9, "\\REGISTRY\\MACHINE\\SOFTWARE\\Orbit"],
        ["Section", 6], ["Semaphore", 8], ["Thread", 4], ["Mutant", 3], ["ALPC Port", 2], ["IoCompletion", 3], ["TpWorkerFactory", 2],
        ["WaitCompletionPacket", 6], ["IRTimer", 4], ["Directory", 2], ["Desktop", 1], ["WindowStation", 2], ["Token", 1],
      ];
  const out = [];
  if (leak) kinds.push(["Event", EVAL_LEAKED_EVENTS]);
  let h = 4;
  for (const [typeName, n, name] of kinds) {
    for (let i = 0; i < n; i++) {
      out.push({ handle: h, typeName, ...(name ? { objectName: `${name}${i ? `\\${i}` : ""}` } : {}), handleCount: 1 + rng.below(3), pointerCount: 2 + rng.below(30), grantedAccess: 0x1f0003 });
      h += 4;
    }
  }
  return out;
}

/** Class names of the program (healthy) and of the leaking types. */
const HEALTHY_CLASSES = [
  ".?AVConnection@net@@", ".?AVRequestContext@http@@", ".?AVWidget@ui@@", ".?AVTextLayout@ui@@", ".?AVCacheEntry@store@@",
  ".?AVJob@sched@@", ".?AUNode@ast@@", ".?AVLogger@@",
];
const LEAK_CLASSES = [".?AVSession@net@@", ".?AVPendingWrite@io@@", ".?AVBitmapTile@gfx@@", ".?AVSubscription@events@@"];
const CLASS_SIZES_64 = [0xa8, 0x140, 0xd0, 0x88, 0x60, 0x58, 0x48, 0x30];
const LEAK_CLASS_SIZES = [0x120, 0xb8, 0x70, 0x98];
const DLL_EXPORTS = ["NcOpenChannel", "NcSend", "NcReceive", "NcCloseChannel", "NcAllocMessage", "NcParseHeader", "NcQueueWork", "NcSubscribe"];

export function demangledClass(decorated: string): string {
  const m = /^\.\?A([VU])(.*)@@$/.exec(decorated)!;
  return `${m[1] === "U" ? "struct" : "class"} ${m[2]!.split("@").reverse().join("::")}`;
}

/** Write one process; `builder.build()` / `writeTo()` gives the dump. */
export function buildEvalProcess(spec: EvalProcessSpec): EvalProcess {
  const P = plan(spec.arch);
  const { ps, bitness } = P;
  const g = bitness === 64 ? 16 : 8;
  const rng = new Rng(spec.seed);
  const retOff = bitness === 64 ? 0x0d : 0x0b;
  const layout = spec.layout ?? "win10-1709";

  // modules: the program (classes, globals), its DLL (exports), the CRT, kernel32, ntdll
  const classes = [...HEALTHY_CLASSES, ...LEAK_CLASSES].map((decorated, i) => ({ decorated, methods: 2 + (i % 4) }));
  const app = buildModuleImage({ bitness, base: P.app, name: "orbit.exe", classes });
  const dll = buildModuleImage({ bitness, base: P.dll, name: "netcore.dll", exportNames: DLL_EXPORTS });
  const classSize = (c: number): number => {
    const s = c < HEALTHY_CLASSES.length ? CLASS_SIZES_64[c]! : LEAK_CLASS_SIZES[c - HEALTHY_CLASSES.length]!;
    return bitness === 64 ? s : Math.max(0x18, (s * 5) >> 3);
  };

  // call sites: one stack each; app sites use functions 8.., DLL sites its exports
  const sites: Site[] = [];
  const siteOf = (where: "app" | "dll", fn: number, viaNew: boolean): number => {
    const base = where === "app" ? P.app : P.dll;
    const site = codeAddress(base, fn, retOff);
    const frames = [P.ntdll + 0x2c4e, viaNew ? P.vcrt + 0x1c2e : P.ucrt + 0x1f30];
    if (viaNew) frames.push(P.ucrt + 0x1f30);
    frames.push(site);
    const depth = 1 + ((fn * 7) % 4);
    for (let k = 0; k < depth; k++) frames.push(codeAddress(P.app, 0x40 + ((fn * 13 + k * 5) % 0x40), retOff));
    frames.push(P.kernel32 + 0x17034, P.ntdll + 0x526a1);
    const mod = where === "app" ? "orbit" : "netcore";
    const frame: TruthFrame = { address: site, text: `${mod}+0x${(site - base).toString(16)}`, module: mod, offset: site - base };
    if (where === "dll" && fn < DLL_EXPORTS.length) frame.exportName = DLL_EXPORTS[fn]!;
    sites.push({ frames, callSite: frame });
    return sites.length - 1;
  };
  // healthy sites per role
  const healthySites = {
    string: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((k) => siteOf("app", 8 + k, false)),
    wstring: [1, 2, 3, 4].map((k) => siteOf("app", 24 + k, false)),
    object: [1, 2, 3, 4, 5, 6].map((k) => siteOf(k % 2 ? "app" : "dll", k % 2 ? 32 + k : k, k % 3 === 0)),
    vobject: HEALTHY_CLASSES.map((_, k) => siteOf("app", 40 + k, true)),
    node: [siteOf("app", 50, true), siteOf("app", 51, true)],
    table: [siteOf("app", 52, true), siteOf("dll", 6, false)],
    buffer: [siteOf("app", 54, false), siteOf("dll", 4, false), siteOf("app", 56, false), siteOf("app", 57, false)],
    large: [siteOf("app", 58, false), siteOf("dll", 7, false)],
  };
  const pickSite = (list: number[]): number => list[Math.min(list.length - 1, Math.floor(list.length * Math.pow(rng.below(1000) / 1000, 1.6)))]!;

  // ---- healthy items
  const items: Item[] = [];
  const add = (it: Omit<Item, "address" | "children" | "phase"> & { phase?: Item["phase"] }): number => {
    items.push({ phase: "both", ...it, address: 0, children: [] });
    return items.length - 1;
  };
  const mix: Record<EvalShape, [Role, number][]> = {
    service: [["string", 45], ["object", 22], ["vobject", 14], ["buffer", 8], ["node", 6], ["wstring", 5]],
    gui: [["wstring", 35], ["vobject", 30], ["string", 15], ["buffer", 12], ["object", 8]],
    cache: [["string", 40], ["object", 25], ["vobject", 20], ["buffer", 15]],
    batch: [["string", 55], ["object", 25], ["buffer", 15], ["vobject", 5]],
    parser: [["node", 55], ["string", 30], ["vobject", 10], ["object", 5]],
  };
  const weights = mix[spec.shape];
  const totalW = weights.reduce((s, [, w]) => s + w, 0);
  const drawRole = (): Role => {
    let r = rng.below(totalW);
    for (const [role, w] of weights) if ((r -= w) < 0) return role;
    return "string";
  };
  const sizeFor = (role: Role): number => {
    switch (role) {
      case "string": {
        const r = rng.below(100);
        return r < 70 ? 8 + rng.below(40) : r < 95 ? 48 + rng.below(160) : 208 + rng.below(800);
      }
      case "wstring":
        return 2 * (6 + rng.below(rng.below(4) === 0 ? 300 : 60));
      case "object":
        return (2 + rng.below(14)) * ps + rng.below(3) * 4;
      case "node":
        return bitness === 64 ? 0x28 + (rng.below(3) << 3) : 0x18 + (rng.below(3) << 2);
      case "buffer": {
        const r = rng.below(100);
        return r < 60 ? 0x200 + rng.below(0xe00) : r < 95 ? 0x1000 + rng.below(0x3000) : 0x4000 + rng.below(0x8000);
      }
      default:
        return 64;
    }
  };
  // roots: a few tables and top-level objects; the cache shape adds a large cache
  const tableCount = spec.shape === "cache" ? 1 : 2;
  for (let t = 0; t < tableCount; t++) add({ role: "table", size: spec.shape === "cache" ? 0x8000 : 0x800 + t * 0x400, site: healthySites.table[t % 2]!, cause: -1 });
  if (spec.shape === "cache") {
    // store::CacheEntry objects, each with a payload buffer: one call site holds most of the bytes, all reachable
    const n = Math.floor(spec.blocks * 0.12);
    for (let i = 0; i < n; i++) {
      const e = add({ role: "vobject", size: classSize(4), cls: 4, site: healthySites.vobject[4]!, cause: -1 });
      const b = add({ role: "buffer", size: 0x400 + rng.below(0x600), site: healthySites.buffer[1]!, cause: -1 });
      items[0]!.children.push(e);
      items[e]!.children.push(b);
    }
  }
  const largeCount = spec.shape === "batch" ? 4 : 1 + (spec.seed % 2);
  for (let i = 0; i < largeCount; i++) {
    const size = spec.shape === "batch" ? 0x60000 + rng.below(0x60000) : 0x20000 + rng.below(0x20000);
    add({ role: "large", size, site: pickSite(healthySites.large), cause: -1 });
  }
  while (items.length < spec.blocks) {
    const role = drawRole();
    if (role === "vobject") {
      const cls = spec.shape === "gui" ? 2 + rng.below(2) : spec.shape === "parser" ? 6 : rng.below(HEALTHY_CLASSES.length);
      add({ role, size: classSize(cls), cls, site: healthySites.vobject[cls]!, cause: -1 });
    } else if (role === "node") add({ role, size: sizeFor(role), cls: 6, site: pickSite(healthySites.node), cause: -1 });
    else add({ role, size: sizeFor(role), site: pickSite(healthySites[role]), cause: -1 });
  }
  // churn for growth pairs: a quarter of the leaf blocks (strings, buffers) are freed after the
  // first snapshot and replaced by blocks of the same kind, site and about the same size
  if (spec.phase) {
    const n = items.length;
    for (let i = 0; i < n; i++) {
      const it = items[i]!;
      if (!(it.role === "string" || it.role === "wstring" || it.role === "buffer") || rng.below(4) !== 0) continue;
      it.phase = "before";
      const jitter = it.role === "wstring" ? 2 * (rng.below(5) - 2) : rng.below(9) - 4;
      items.push({ ...it, size: Math.max(8, it.size + jitter), phase: "after", address: 0, children: [] });
    }
  }
  const healthyBytesPlanned = items.reduce((s, it) => s + (it.phase === "after" ? 0 : it.size), 0);

  // ---- planted leak
  const causes: PlantedCause[] = [];
  const leakInSide = spec.leak?.heap === "private";
  const heapOfLeak = P.heaps[leakInSide ? 1 : 0]!;
  if (spec.leak && spec.leak.fraction > 0) {
    const f = spec.leak.fraction;
    const leakBytes = (healthyBytesPlanned * f) / (1 - f);
    const kinds = spec.leak.form === "several-small" ? 4 : 1;
    const leakSites = [0, 1, 2, 3].map((k) => siteOf(k === 2 ? "dll" : "app", k === 2 ? 5 : 60 + k, spec.leak!.form === "one-type"));
    const planSizes: number[][] = {
      "one-stack-one-size": [[bitness === 64 ? 0x90 : 0x58]],
      "one-stack-several-sizes": [[0x40, 0x70, 0x118, 0x200]],
      "one-type": [[classSize(HEALTHY_CLASSES.length)]],
      "several-small": [[0x30], [0xc8], [0x1a0], [0x68]],
    }[spec.leak.form];
    const childSite = siteOf("app", 20, false);
    for (let k = 0; k < kinds; k++) {
      const sizes = planSizes[k]!;
      const cause: PlantedCause = { id: `leak${k + 1}`, form: spec.leak.form, sizes, heap: heapOfLeak, count: 0, bytes: 0 };
      if (spec.ust) cause.callSite = sites[leakSites[k]!]!.callSite;
      const isType = spec.leak.form === "one-type";
      if (isType) {
        cause.typeName = demangledClass(LEAK_CLASSES[0]!);
        cause.related = { sizes: [], count: 0, bytes: 0, ...(spec.ust ? { callSite: sites[childSite]!.callSite } : {}) };
      }
      const budget = leakBytes / kinds;
      let spent = 0;
      let j = 0;
      const growth = spec.phase ? 1 + spec.phase.growth : 1;
      const total = spec.phase ? budget * growth : budget;
      while (spent < total) {
        const size = sizes[j % sizes.length]!;
        j++;
        const phase: Item["phase"] = spent < budget || !spec.phase ? "both" : "after";
        const idx = add({ role: isType ? "vobject" : rng.below(2) ? "string" : "object", size, site: leakSites[k]!, cause: k, phase, ...(isType ? { cls: HEALTHY_CLASSES.length } : {}) });
        spent += size;
        if (isType) {
          // each leaked object owns a name string, leaked with it
          const cs = 16 + rng.below(48);
          const c = add({ role: "string", size: cs, site: childSite, cause: k, related: true, phase });
          items[idx]!.children.push(c);
          spent += cs;
        }
      }
      causes.push(cause);
    }
    if (spec.leak.reachable) {
      // a logical leak: the program keeps every leaked block in a list that only grows (a
      // vector of pointers held by a global), reallocated as it grows, so the blocks stay reachable
      const leaked = items.map((it, i) => (it.cause >= 0 && !it.related ? i : -1)).filter((i) => i >= 0);
      const listSite = siteOf("app", 21, true);
      const lists: [Item["phase"], number[]][] = spec.phase
        ? [["before", leaked.filter((i) => items[i]!.phase === "both")], ["after", leaked]]
        : [["both", leaked]];
      for (const [phase, held] of lists) {
        const slotsN = Math.max(16, 1 << Math.ceil(Math.log2(held.length + 1)));
        const v = add({ role: "table", size: slotsN * ps, site: listSite, cause: -1, phase, vector: true });
        items[v]!.children.push(...held);
      }
    }
  }

  // ---- ownership: roots and containers
  const capacity = (it: Item): number => {
    switch (it.role) {
      case "table":
        return Math.floor(it.size / ps);
      case "object":
        return Math.min(4, Math.floor(it.size / ps) - 1);
      case "vobject":
        return Math.min(3, Math.floor(it.size / ps) - 2);
      case "node":
        return 2;
      default:
        return 0;
    }
  };
  const owned = new Set(items.flatMap((it) => it.children));
  const healthyIdx = items.map((_, i) => i).filter((i) => items[i]!.cause < 0 && !owned.has(i) && !items[i]!.children.length && items[i]!.role !== "table");
  rng.shuffle(healthyIdx);
  const roots: number[] = items.map((it, i) => (it.role === "table" ? i : -1)).filter((i) => i >= 0);
  const open: number[] = [...roots]; // containers with free slots
  const slotsLeft = new Map<number, number>();
  for (const r of roots) slotsLeft.set(r, items[r]!.vector ? 0 : capacity(items[r]!) - items[r]!.children.length);
  for (let k = open.length - 1; k >= 0; k--) if (slotsLeft.get(open[k]!)! <= 0) open.splice(k, 1);
  const orphanTarget = Math.max(3, Math.floor(healthyIdx.length * 0.002));
  let orphans = 0;
  for (const i of healthyIdx) {
    const it = items[i]!;
    if (orphans < orphanTarget && rng.below(400) === 0 && it.role !== "large") {
      it.orphan = true;
      orphans++;
      continue;
    }
    // a few percent held straight from a root, the rest owned by a container with room
    if (open.length === 0 || rng.below(100) < 3 || it.role === "large") roots.push(i);
    else {
      const k = rng.below(open.length);
      const owner = open[k]!;
      items[owner]!.children.push(i);
      if (rng.below(25) === 0 && it.size >= 4 * ps) it.interior = true;
      const left = slotsLeft.get(owner)! - 1;
      if (left <= 0) {
        open[k] = open[open.length - 1]!;
        open.pop();
      } else slotsLeft.set(owner, left);
    }
    const cap = capacity(it);
    if (cap > 0) {
      open.push(i);
      slotsLeft.set(i, cap);
    }
  }
  // items of one snapshot only are not in the other: drop them from the list of this phase
  const which = spec.phase?.which;
  const present = (it: Item): boolean => !which || it.phase === "both" || it.phase === which;

  // ---- layout: heaps
  // a full-memory dump (WithFullMemory, handles, unloaded modules, memory info, thread info), or
  // without heap memory the kind a crash handler writes: data segments, memory info, thread info
  const builder = spec.captureHeaps === false
    ? new MinidumpBuilder({ flags: 0x1821, memoryList: "MemoryList" })
    : new MinidumpBuilder({ flags: 0x1826 });
  const build = spec.backend === "segment" ? SEGMENT_LAYOUT_BUILD["21H2"] : NT_LAYOUT_BUILD[layout];
  const traceEntry = bitness === 64 ? 0x110 : 0x8c;
  const traceOf = (site: number): number | undefined => (spec.ust ? P.traceDb + 0x1000 + site * traceEntry : undefined);
  const pieces: MemoryPiece[] = [];
  const heapBases: number[] = [];
  /** Busy expected blocks keyed by (requested size, trace), filled in layout order. */
  const slots = new Map<string, number[]>();
  const keyOf = (size: number, trace: number): string => `${size}:${trace}`;
  const addSlot = (size: number, trace: number, address: number): void => {
    const k = keyOf(size, trace);
    const q = slots.get(k);
    if (q) q.push(address);
    else slots.set(k, [address]);
  };
  const frees: { address: number; bytes: number }[] = [];
  const mainItems: number[] = [];
  const sideItems: number[] = [];
  items.forEach((it, i) => {
    if (!present(it)) return;
    // the second heap (a DLL's private heap) gets some of the healthy strings and buffers
    if (it.cause < 0 && (it.role === "string" || it.role === "buffer") && it.site % 5 === 0 && spec.backend !== "segment") sideItems.push(i);
    else if (it.cause >= 0 && leakInSide) sideItems.push(i);
    else mainItems.push(i);
  });
  // persistent blocks first, so they keep their addresses across a growth pair
  // and in allocation-time order: leaked blocks, cache entries and everything else interleaved as
  // a running program leaves them (a per-item key, so both snapshots of a pair agree)
  const when = (i: number): number => {
    let x = Math.imul((i + 1) ^ spec.seed, 0x9e3779b1);
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
    return (x ^ (x >>> 16)) >>> 0;
  };
  const byTime = (a: number, b: number): number => when(a) - when(b);
  const order = (list: number[]) => [...list.filter((i) => items[i]!.phase === "both").sort(byTime), ...list.filter((i) => items[i]!.phase !== "both").sort(byTime)];

  const ntHeap = (base: number, list: number[], withLfh: boolean, lfhAt: number): void => {
    // a generator of its own per heap, so the persistent blocks of a growth pair land at the same addresses
    const rng = new Rng((spec.seed * 0x9e37 + (base % 0x7fff_ffff)) >>> 0);
    const segments: NtSegmentSpec[] = [];
    const virtuals: NtVirtualBlockSpec[] = [];
    const lfhBuckets = new Map<number, LfhSubsegmentSpec[]>();
    const subsegments: LfhSubsegmentSpec[] = [];
    let cur: NtBlockSpec[] = [];
    let curPhase: "both" | "other" = "both";
    const flush = () => {
      if (cur.length > 0) segments.push({ blocks: cur, tailUncommittedPages: 2 });
      cur = [];
    };
    const maxSeg = bitness === 64 ? 0xff00 * 16 - 0x100 : 0xfe00 * 8 - 0x100;
    for (const i of order(list)) {
      const it = items[i]!;
      const trace = traceOf(it.site);
      const ph = it.phase === "both" ? "both" : "other";
      if (ph !== curPhase) {
        flush();
        curPhase = ph;
      }
      if (it.size >= 0x10000 && it.size > maxSeg / 4) {
        virtuals.push({ size: it.size, ...(trace !== undefined ? { trace } : {}) });
        continue;
      }
      if (withLfh && it.size <= 0x400) {
        const blockSize = trace !== undefined ? Math.ceil(it.size / g) * g + 3 * g : Math.ceil(it.size / g) * g + g;
        let list2 = lfhBuckets.get(blockSize);
        if (!list2) lfhBuckets.set(blockSize, (list2 = []));
        let ss = list2[list2.length - 1];
        const per = blockSize <= 0x100 ? 128 : 32;
        if (!ss || ss.blocks.length >= per) {
          ss = { blockSize, blocks: [] };
          list2.push(ss);
          subsegments.push(ss);
        }
        if (rng.below(12) === 0 && ss.blocks.length < per - 1) ss.blocks.push({ size: 0, free: true });
        ss.blocks.push({ size: it.size, ...(trace !== undefined ? { trace } : {}) });
        continue;
      }
      if (rng.below(14) === 0) cur.push({ size: (4 + rng.below(20)) * g, free: true });
      cur.push({ size: it.size, ...(trace !== undefined ? { trace } : {}) });
      if (cur.length >= 3000) flush();
    }
    flush();
    if (segments.length === 0) segments.push({ blocks: [{ size: 0x40, free: true }], tailUncommittedPages: 2 });
    const lfhSpec: LfhHeapSpec = { version: "win10", bitness, heap: base, lfhHeap: lfhAt, subsegments };
    if (withLfh && subsegments.length > 0) {
      // the user blocks live in host blocks of the backend, in their own segment
      segments.unshift({ blocks: subsegments.map((_, k) => ({ size: lfhUserBlocksBytes(lfhSpec, k), lfhHost: true })), tailUncommittedPages: 2 });
    }
    const virtualBase = base + (bitness === 64 ? 0x0800_0000 : 0x0180_0000);
    const nt = writeNtHeap({
      layout, bitness, base, segments, virtualBlocks: virtuals, virtualBase, ust: spec.ust,
      ...(withLfh ? { frontEndHeapType: 2, frontEndHeap: lfhAt } : {}),
    });
    pieces.push(...nt.pieces);
    for (const e of nt.expected) {
      if (e.kind === "user" || e.kind === "virtual") addSlot(e.requestedSize, e.trace, e.userAddress);
      else if (e.kind === "free" && e.blockSize >= 6 * ps + g) frees.push({ address: e.userAddress, bytes: e.blockSize - g });
    }
    if (withLfh && subsegments.length > 0) {
      const { lfh, structures } = writeLfhInNtHeap(nt, lfhSpec);
      pieces.push(...structures);
      for (const b of lfh.expected) if (b.busy) addSlot(b.requestedSize, b.trace, b.userAddress);
    }
    heapBases.push(base);
  };

  const segHeap = (base: number, list: number[]): void => {
    const rng = new Rng((spec.seed * 0x9e37 + (base % 0x7fff_ffff)) >>> 0);
    const allocations: SegmentAllocSpec[] = [];
    let segment = 0;
    let used = 0;
    for (const i of order(list)) {
      const it = items[i]!;
      const trace = traceOf(it.site);
      const t = trace !== undefined ? { trace } : {};
      if (it.size >= 0xf000) {
        allocations.push({ kind: "large", size: it.size, ...t });
        continue;
      }
      const lfh = it.size <= 0x100;
      const cost = lfh ? segmentLfhBucketSize(Math.ceil((it.size + 0x20) / 16)) : it.size + 0x40;
      if (used + cost > 0x60000) {
        segment++;
        used = 0;
      }
      used += cost;
      if (rng.below(14) === 0) allocations.push({ kind: lfh ? "lfh" : "vs", size: it.size, free: true, segment });
      allocations.push({ kind: lfh ? "lfh" : "vs", size: it.size, segment, ...t });
    }
    const sh = writeSegmentHeap({ layout: "21H2", bitness, base, allocations });
    pieces.push(...sh.pieces);
    for (const e of sh.expected) if (!e.free && e.kind !== "host") addSlot(e.requestedSize, e.trace, e.userAddress);
    heapBases.push(base);
  };

  if (spec.backend === "segment") segHeap(P.heaps[0]!, mainItems);
  else ntHeap(P.heaps[0]!, mainItems, spec.backend === "lfh", P.lfhArea);
  ntHeap(P.heaps[1]!, sideItems, false, 0);

  // assign addresses: blocks with the same (size, trace) are interchangeable until written
  const cursor = new Map<string, number>();
  for (const i of [...order(mainItems), ...order(sideItems)]) {
    const it = items[i]!;
    const k = keyOf(it.size, traceOf(it.site) ?? 0);
    const q = slots.get(k);
    const n = cursor.get(k) ?? 0;
    if (!q || n >= q.length) throw new Error(`eval process: no written block for item ${i} (${it.role}, ${it.size} bytes)`);
    it.address = q[n]!;
    cursor.set(k, n + 1);
  }

  // ---- contents
  const mem = new Pieces(pieces);
  const enc = new TextEncoder();
  const ptrTo = (it: Item): number => it.address + (it.interior ? 2 * ps : 0);
  for (const [i, it] of items.entries()) {
    if (!present(it)) continue;
    const a = it.address;
    // contents from a generator of their own: a block persisting across a growth pair keeps its bytes
    const rng = new Rng((spec.seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
    switch (it.role) {
      case "string":
        mem.bytes(a, enc.encode(`${text(rng, Math.max(0, it.size - 1))}\0`).subarray(0, it.size));
        break;
      case "wstring": {
        const s = text(rng, it.size / 2 - 1);
        const b = new Uint8Array(it.size);
        for (let k = 0; k < s.length; k++) b[2 * k] = s.charCodeAt(k);
        mem.bytes(a, b);
        break;
      }
      case "vobject":
      case "object":
      case "node":
      case "table": {
        const b = new Uint8Array(it.size);
        const dv = new DataView(b.buffer);
        // small integer fields (ids, counts, flags) after the pointer slots
        for (let o = 0; o + 4 <= it.size; o += 4) dv.setUint32(o, o % 8 === 0 ? rng.below(5000) : 0, true);
        if (it.role === "table") b.fill(0);
        mem.bytes(a, b);
        let o = 0;
        if (it.role === "vobject") {
          mem.ptr(a, app.vtables[it.cls!]!, ps);
          o = ps;
        }
        if (it.role === "table") {
          // hash buckets: children spread over the slots
          const slotsN = Math.floor(it.size / ps);
          it.children.forEach((c, k) => {
            const ch = items[c]!;
            if (present(ch)) mem.ptr(a + (it.vector ? k : (k * 7919) % slotsN) * ps, ptrTo(ch), ps);
          });
          break;
        }
        for (const c of it.children) {
          const ch = items[c]!;
          if (present(ch) && o + ps <= it.size) mem.ptr(a + o, ptrTo(ch), ps);
          o += ps;
        }
        break;
      }
      default:
        break; // buffers keep the writer's fill
    }
  }
  // stale pointers in free blocks: what the freed objects held (any busy block, leaked ones included)
  const live = items.filter((it) => present(it) && it.address !== 0);
  for (const f of frees) {
    if (rng.below(2) === 0) continue;
    const t = live[rng.below(live.length)]!;
    mem.ptr(f.address + 2 * ps + (rng.below(2) * ps), t.address, ps);
  }

  // ---- roots: globals, stacks, registers, TLS
  const rootItems = rng.shuffle(roots.filter((i) => present(items[i]!)).map((i) => items[i]!));
  const appData = new DataView(app.bytes.buffer);
  const nThreads = 4;
  const stackBytes = 0x3000;
  const stacks: { base: number; bytes: Uint8Array; rsp: number; regs: number[]; tls: number[]; locals: number[] }[] = [];
  for (let t = 0; t < nThreads; t++) {
    const top = P.stacks + t * 0x100000 + 0x100000; // StackBase
    // local-variable slots: the first 0x40 bytes of every 0x60-byte frame, in a random order
    const locals: number[] = [];
    for (let f = 1; f * 0x60 + 0x60 <= stackBytes; f++) for (let o = 0; o < 0x40; o += ps) locals.push(f * 0x60 + o);
    rng.shuffle(locals);
    stacks.push({ base: top, bytes: new Uint8Array(stackBytes), rsp: top - stackBytes, regs: [], tls: [], locals });
  }
  let globalSlot = 16;
  rootItems.forEach((it, k) => {
    const r = k % 20;
    const p = ptrTo(it);
    if (r < 12 && globalSlot < app.globalSlots) {
      const at = IMAGE_LAYOUT.data + globalSlot * ps;
      putPtr(appData, at, p, ps);
      globalSlot += 1 + (k % 3 === 0 ? 1 : 0);
    } else if (r === 19 && stacks[k % nThreads]!.tls.length < 24) stacks[k % nThreads]!.tls.push(p);
    else {
      const s = stacks.find((x) => x.locals.length > 0);
      if (!s) throw new Error("eval process: more roots than stack slots");
      const dv = new DataView(s.bytes.buffer);
      const at = s.locals.pop()!;
      // a register often caches a local of the innermost frames (the stack keeps it too)
      if (r === 18 && s.regs.length < 4) s.regs.push(p);
      putPtr(dv, at, p, ps);
    }
  });
  // return addresses and saved frame pointers in every stack frame
  for (const s of stacks) {
    const dv = new DataView(s.bytes.buffer);
    for (let f = 0; f * 0x60 + 0x60 <= stackBytes; f++) {
      const at = f * 0x60 + 0x50;
      const saved = s.rsp + (f + 1) * 0x60 + 0x50;
      const ret = codeAddress(P.app, 0x40 + ((f * 11) % 0x40), retOff);
      for (const [o, v] of [[at, saved], [at + ps, ret]] as const) {
        putPtr(dv, o, v, ps);
      }
    }
  }

  // ---- the process: system info, TEB/PEB, threads, modules, memory
  builder.systemInfo({ arch: spec.arch === "x86" ? "x86" : "x64", major: 10, minor: 0, build, cpus: 8 });
  const mainImage = { path: "C:\\Program Files\\Orbit\\orbit.exe", base: P.app, size: IMAGE_LAYOUT.size };
  let pebBytes: Uint8Array;
  let nativeBusy = { count: 0, bytes: 0 };
  let peb: number;
  let firstTeb: number;
  let firstTebBytes: Uint8Array;
  const regs32 = (s: (typeof stacks)[number], eip: number) => ({
    esp: s.rsp, ebp: s.rsp + 0x50, eip, ebx: s.regs[0] ?? 0, esi: s.regs[1] ?? 0, edi: s.regs[2] ?? 0, eax: 1, ecx: 0, edx: 0,
  });
  const regs64 = (s: (typeof stacks)[number], rip: number) => ({
    rsp: s.rsp, rbp: s.rsp + 0x50, rip, rbx: s.regs[0] ?? 0, rsi: s.regs[1] ?? 0, rdi: s.regs[2] ?? 0, r12: s.regs[3] ?? 0, rax: 1,
  });
  const waitIp = P.ntdll + 0x9d0c4;
  if (spec.arch === "wow64") {
    const w = builder.wow64Process({ pebSize: 0x1000, systemInfo: false, mainImage, wow64Context: regs32(stacks[0]!, waitIp) });
    pebBytes = w.peb32Bytes;
    peb = w.peb32;
    firstTeb = w.teb32;
    firstTebBytes = w.teb32Bytes;
    // the 64-bit side has its own process heap (wow64.dll's allocations), held from TEB64's TLS slots
    const native = writeNtHeap({
      layout, bitness: 64, base: NATIVE_HEAP_64,
      segments: [{ blocks: NATIVE_SIZES.map((size) => ({ size })), tailUncommittedPages: 2 }],
    });
    const t64 = new DataView(w.teb64Bytes.buffer);
    native.expected.filter((e) => e.kind === "user").forEach((e, k) => t64.setBigUint64(0x1480 + (2 + k) * 8, BigInt(e.userAddress), true));
    if (spec.captureHeaps !== false) for (const p of native.pieces) builder.memory(p.address, p.bytes);
    nativeBusy = { count: NATIVE_SIZES.length, bytes: NATIVE_SIZES.reduce((a, b) => a + b, 0) };
    const page = writePeb({ bitness: 64, address: w.peb64, heaps: [NATIVE_HEAP_64] });
    w.peb64Bytes.set(page.bytes.subarray(0, w.peb64Bytes.length));
  } else {
    const l = builder.nativeProcess({ bitness, pebSize: 0x1000, systemInfo: false, mainImage, context: bitness === 64 ? { arch: "x64", registers: regs64(stacks[0]!, waitIp) } : { arch: "x86", registers: regs32(stacks[0]!, waitIp) } });
    pebBytes = l.pebBytes;
    peb = l.peb;
    firstTeb = l.teb;
    firstTebBytes = l.tebBytes;
  }
  const pebPage = writePeb({ bitness, address: peb, heaps: heapBases });
  pebBytes.set(pebPage.bytes.subarray(0, pebBytes.length));
  new DataView(pebBytes.buffer).setUint32(bitness === 64 ? 0xbc : 0x68, spec.ust ? 0x1000 : 0, true);
  // TEBs: stack bounds and TLS slots; threads 2.. get their own TEB and context
  const fillTeb = (bytes: Uint8Array, s: (typeof stacks)[number]) => {
    const dv = new DataView(bytes.buffer);
    const put = (o: number, v: number) => putPtr(dv, o, v, ps);
    put(P.stackBase, s.base);
    put(P.stackLimit, s.base - 0x10000);
    s.tls.forEach((v, k) => put(P.tls + (1 + k * 2) * ps, v));
  };
  fillTeb(firstTebBytes, stacks[0]!);
  for (let t = 1; t < nThreads; t++) {
    const s = stacks[t]!;
    if (spec.arch === "wow64") {
      // TEB64 (first pointer: the TEB32) and TEB32 (stack bounds, TLS), as Windows lays out WoW64 threads
      const teb64 = 0x7ef9_0000 + t * 0x4000;
      const teb32 = teb64 + 0x2000;
      const t64 = new Uint8Array(0x2000);
      const d64 = new DataView(t64.buffer);
      d64.setBigUint64(0, BigInt(teb32), true);
      d64.setBigUint64(0x30, BigInt(teb64), true);
      // TlsSlots[1] -> the thread's WOW64_CONTEXT (+4 in its page), as Windows 7+ keeps it
      const ctxPage = teb64 + 0x3000;
      const ctx = new Uint8Array(0x1000);
      ctx.set(minidumpX86Context(regs32(s, waitIp)), 4);
      d64.setBigUint64(0x1488, BigInt(ctxPage), true);
      builder.memory(ctxPage, ctx);
      const t32 = new Uint8Array(0x1000);
      const d32 = new DataView(t32.buffer);
      d32.setUint32(0x18, teb32, true);
      d32.setUint32(0x30, peb, true);
      fillTeb(t32, s);
      builder.memory(teb64, t64).memory(teb32, t32);
      builder.thread({ id: 0x2000 + t * 4, teb: teb64, context: { arch: "x64", registers: { rsp: 0x7e000 - t * 0x2000, rip: 0x75541000 } } });
      continue;
    }
    const teb = firstTeb - t * P.tebStep * 2;
    const tebBytes = new Uint8Array(P.tebStep);
    const dv = new DataView(tebBytes.buffer);
    if (bitness === 64) {
      dv.setBigUint64(0x30, BigInt(teb), true);
      dv.setBigUint64(0x60, BigInt(peb), true);
    } else {
      dv.setUint32(0x18, teb, true);
      dv.setUint32(0x30, peb, true);
    }
    fillTeb(tebBytes, s);
    builder.memory(teb, tebBytes);
    builder.thread({ id: 0x2000 + t * 4, teb, context: bitness === 64 ? { arch: "x64", registers: regs64(s, waitIp) } : { arch: "x86", registers: regs32(s, waitIp) } });
  }
  for (const s of stacks) builder.memory(s.rsp, s.bytes);
  // modules
  builder.memory(P.app + 0x1000, app.bytes.subarray(0x1000));
  builder.module({ path: "C:\\Program Files\\Orbit\\netcore.dll", base: P.dll, size: IMAGE_LAYOUT.size, version: "3.4.0.112" });
  builder.memory(P.dll, dll.bytes);
  const sys = spec.arch === "x64" ? "System32" : "SysWOW64";
  builder.module({ path: `C:\\Windows\\${sys}\\ucrtbase.dll`, base: P.ucrt, size: 0x100000, version: "10.0.19041.3636" });
  builder.module({ path: `C:\\Windows\\${sys}\\vcruntime140.dll`, base: P.vcrt, size: 0x1b000, version: "14.36.32532.0" });
  builder.module({ path: `C:\\Windows\\${sys}\\kernel32.dll`, base: P.kernel32, size: 0xc0000, version: "10.0.19041.3636" });
  // the system DLLs' headers are mapped like any image (their code is not needed here)
  for (const [base, size] of [[P.ucrt, 0x100000], [P.vcrt, 0x1b000], [P.kernel32, 0xc0000]] as const) {
    builder.memory(base, minidumpPeHeader(bitness, 0x1000, { base, sizeOfImage: size }));
  }
  if (spec.arch !== "wow64") builder.memory(P.ntdll, minidumpPeHeader(bitness, 0x1000, { base: P.ntdll, sizeOfImage: 0x1f0000 }));
  // the trace database (+ust): one _RTL_STACK_TRACE_ENTRY per call site
  if (spec.ust) {
    const db = new Uint8Array(0x1000 + sites.length * traceEntry);
    const dv = new DataView(db.buffer);
    const layoutT = bitness === 64 ? { count: 0x08, index: 0x0c, depth: 0x0e, frames: 0x10 } : { count: 0x04, index: 0x08, depth: 0x0a, frames: 0x0c };
    const uses = new Map<number, number>();
    for (const it of items) if (present(it)) uses.set(it.site, (uses.get(it.site) ?? 0) + 1);
    sites.forEach((s, k) => {
      const at = 0x1000 + k * traceEntry;
      dv.setUint32(at + layoutT.count, uses.get(k) ?? 0, true);
      dv.setUint16(at + layoutT.index, s.frames.length, true);
      dv.setUint16(at + layoutT.depth, s.frames.length, true);
      s.frames.forEach((f, j) => {
        const o = at + layoutT.frames + j * ps;
        putPtr(dv, o, f, ps);
      });
    });
    builder.memory(P.traceDb, db);
  }
  if (spec.captureHeaps !== false) for (const p of pieces) builder.memory(p.address, p.bytes);
  // what the memory manager knew (MemoryInfoList): heaps and stacks private and committed (listed
  // even when a dump leaves their bytes out), images mapped; and the handle table of a healthy process
  const MEM_IMAGE = 0x1000000;
  for (const p of pieces) builder.memoryInfo({ base: p.address, size: p.bytes.length });
  for (const s of stacks) builder.memoryInfo({ base: s.rsp, size: stackBytes, allocationBase: s.base - 0x100000 });
  for (const [base, size] of [[P.app, IMAGE_LAYOUT.size], [P.dll, IMAGE_LAYOUT.size], [P.ucrt, 0x100000], [P.vcrt, 0x1b000], [P.kernel32, 0xc0000]] as const) {
    builder.memoryInfo({ base, size, type: MEM_IMAGE, protect: 0x20, allocationProtect: 0x80 });
  }
  builder.handles(healthyHandles(rng, spec.handles === "busy", spec.handles === "leak"));

  // ---- ground truth
  const planted: PlantedBlock[] = [];
  let busyCount = nativeBusy.count;
  let busyBytes = nativeBusy.bytes;
  let orphanCount = 0;
  let orphanBytes = 0;
  for (const it of items) {
    if (!present(it)) continue;
    busyCount++;
    busyBytes += it.size;
    if (it.orphan) {
      orphanCount++;
      orphanBytes += it.size;
    }
    if (it.cause < 0) continue;
    const c = causes[it.cause]!;
    planted.push({ address: it.address, size: it.size, cause: c.id, related: it.related === true });
    if (it.related) {
      c.related!.count++;
      c.related!.bytes += it.size;
      if (!c.related!.sizes.includes(it.size)) c.related!.sizes.push(it.size);
    } else {
      c.count++;
      c.bytes += it.size;
    }
  }
  for (const c of causes) c.related?.sizes.sort((a, b) => a - b);
  const leakBytes = planted.reduce((s, b) => s + b.size, 0);
  return {
    builder,
    bitness,
    causes,
    planted,
    busy: { count: busyCount, bytes: busyBytes },
    healthy: { count: busyCount - planted.length, bytes: busyBytes - leakBytes },
    orphans: { count: orphanCount, bytes: orphanBytes },
    free: { count: frees.length },
    heaps: heapBases,
    persistent: spec.phase ? items.filter((it) => it.phase === "both").map((it) => ({ address: it.address, size: it.size })) : [],
  };
}


