// Bounded fuzz run of the whole default pipeline (a few hundred cases, deterministic seed).
// Inputs: the real dumps in ../shared/dumps (user and kernel), synthetic minidumps with NT heaps
// (x64 and WoW64), and WinDbg logs from ../shared. Mutations: truncation, bit flips in headers,
// interesting u32/u64 values (sizes near 2^32 and 2^64), self-referencing pointers, copied blocks
// (overlaps), plus structural ones (cyclic heap lists, segment bounds near 2^64, overlapping
// minidump ranges, huge counts). A case passes when it succeeds or throws a LeakscopeError that is
// not an InternalError (nor a PluginError wrapping anything else). The longer run with worker
// threads and per-case time-outs is `npm run fuzz` (scripts/fuzz.mjs).
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BufferSource, Engine, FileSource, InternalError, LeakscopeError, PluginError, type RunDepth } from "@leakscope/core";
import { heapNt } from "@leakscope/heap-nt";
import {
  type MemoryPiece,
  MinidumpBuilder,
  Rng,
  SEGMENT_LAYOUT_BUILD,
  type SegmentAllocSpec,
  buildProcessDump,
  mutate,
  sharedFile,
  type WrittenNtHeap,
  writePeb,
  writeSegmentHeap,
} from "@leakscope/test-utils";
import { parseWindbgLog } from "@leakscope/windbg-text";
import { afterAll, describe, expect, it } from "vitest";
import { defaultPlugins, runCli } from "../src/index.js";
import { capture } from "./helpers.js";

const SEED = Number(process.env.LEAKSCOPE_FUZZ_SEED ?? 0x1eaf5c0e) >>> 0;
let cases = 0;
const failures: string[] = [];
const heapAtStart = process.memoryUsage().heapUsed;
const tmp = mkdtempSync(join(tmpdir(), "leakscope-fuzz-"));

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  // biome-ignore lint/suspicious/noConsole: the case count is part of the run's output
  console.log(`fuzz: ${cases} cases tried (seed ${SEED}), ${failures.length} failures`);
});

/** Whether `e` is an acceptable way for the pipeline to refuse an input. */
function acceptable(e: unknown): boolean {
  if (!(e instanceof LeakscopeError) || e instanceof InternalError) return false;
  if (e instanceof PluginError) return acceptable(e.cause);
  return true;
}

function describeError(e: unknown): string {
  if (e instanceof PluginError) return `PluginError(${e.plugin}/${e.hook}) <- ${describeError(e.cause)}`;
  if (e instanceof Error) return `${e.constructor.name}: ${e.message.slice(0, 200)}\n${(e.stack ?? "").split("\n").slice(1, 4).join("\n")}`;
  return String(e);
}

/**
 * Runs one case; returns the number of blocks found, or -1 when the input was refused. With
 * `threads`, the dump is read from a file and heap-nt walks every heap of two or more segments on
 * a worker thread too (the worker gets the same hostile bytes).
 */
async function runPipeline(bytes: Uint8Array, depth: RunDepth, label: string, threads = false): Promise<number> {
  cases++;
  let plugins = defaultPlugins();
  let source: BufferSource | FileSource = new BufferSource(bytes, label);
  if (threads) {
    plugins = plugins.map((p) => (p.name === "heap-nt" ? heapNt({ workers: 1, parallelMinBytes: 0 }) : p));
    const file = join(tmp, `case-${cases}.dmp`);
    writeFileSync(file, bytes);
    source = FileSource.open(file);
  }
  const engine = new Engine({ plugins });
  try {
    const open = await engine.openSource(source, { command: "fuzz", depth });
    // touch what a report would read
    let n = 0;
    open.run.allocations.forEachChunk((_c, count) => {
      n += count;
    });
    expect(n).toBe(open.run.allocations.count);
    open.close();
    return n;
  } catch (e) {
    if (!acceptable(e)) failures.push(`${label} [${depth}]${threads ? " (worker threads)" : ""}: ${describeError(e)}`);
    return -1;
  } finally {
    source.close();
  }
}

/** Apply 1-3 stacked random mutations. */
function mutateMany(input: Uint8Array, rng: Rng): { bytes: Uint8Array; what: string } {
  let bytes = input;
  const what: string[] = [];
  const rounds = 1 + rng.below(3);
  for (let i = 0; i < rounds; i++) {
    const m = mutate(bytes, rng);
    bytes = m.bytes;
    what.push(`${m.kind}@0x${m.offset.toString(16)}`);
  }
  return { bytes, what: what.join("+") };
}

function expectClean(): void {
  expect(failures, failures.slice(0, 5).join("\n\n")).toEqual([]);
}

// ---- minidump-level helpers -------------------------------------------------------------------

interface Mem64 {
  /** File offset of the Memory64List stream. */
  at: number;
  count: number;
}

function memory64(bytes: Uint8Array): Mem64 | undefined {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 32) return undefined;
  const n = dv.getUint32(8, true);
  const dir = dv.getUint32(12, true);
  for (let i = 0; i < Math.min(n, 64); i++) {
    const d = dir + i * 12;
    if (d + 12 > bytes.length) return undefined;
    if (dv.getUint32(d, true) === 9) {
      const at = dv.getUint32(d + 8, true);
      if (at + 16 > bytes.length) return undefined;
      return { at, count: Number(dv.getBigUint64(at, true)) };
    }
  }
  return undefined;
}

/** Structural mutations of a minidump's Memory64List: overlaps, huge counts and sizes. */
function mutateMemoryList(input: Uint8Array, rng: Rng): { bytes: Uint8Array; what: string } {
  const out = input.slice();
  const m = memory64(out);
  if (!m || m.count < 2) return { bytes: out, what: "no-memory64" };
  const dv = new DataView(out.buffer);
  const entry = (i: number) => m.at + 16 + i * 16;
  const i = rng.below(Math.min(m.count, 200));
  const j = rng.below(Math.min(m.count, 200));
  switch (rng.below(6)) {
    case 0: // two ranges at the same address
      dv.setBigUint64(entry(i), dv.getBigUint64(entry(j), true), true);
      return { bytes: out, what: `range ${i} starts where ${j} does` };
    case 1: // a range overlapping its neighbour
      dv.setBigUint64(entry(i), dv.getBigUint64(entry(j), true) + 0x800n, true);
      return { bytes: out, what: `range ${i} overlaps ${j}` };
    case 2:
      dv.setBigUint64(m.at, 0xffffffffn, true);
      return { bytes: out, what: "count 2^32-1" };
    case 3:
      dv.setBigUint64(m.at, 0xffffffffffffffffn, true);
      return { bytes: out, what: "count 2^64-1" };
    case 4:
      dv.setBigUint64(entry(i) + 8, rng.below(2) ? 0xfffffffffffff000n : 0xfffff000n, true);
      return { bytes: out, what: `range ${i} size near 2^${rng.below(2) ? 64 : 32}` };
    default:
      dv.setBigUint64(m.at + 8, 0xffffffffffff0000n, true);
      return { bytes: out, what: "base RVA near 2^64" };
  }
}

// ---- synthetic NT heaps with structural corruption -----------------------------------------------

function poke(heap: WrittenNtHeap, address: number, value: bigint, size: 4 | 8): boolean {
  const pieces: MemoryPiece[] = heap.pieces;
  for (const p of pieces) {
    if (address >= p.address && address + size <= p.address + p.bytes.length) {
      const dv = new DataView(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength);
      if (size === 8) dv.setBigUint64(address - p.address, BigInt.asUintN(64, value), true);
      else dv.setUint32(address - p.address, Number(BigInt.asUintN(32, value)), true);
      return true;
    }
  }
  return false;
}

type Corruption = (h: WrittenNtHeap, rng: Rng) => string;

const corruptions: Corruption[] = [
  (h) => {
    const head = h.address + h.offsets.segmentList;
    poke(h, head, BigInt(head + h.offsets.ptr * 0), h.offsets.ptr); // head.Flink -> itself
    const first = h.segments[0]!.base + h.offsets.segListEntry;
    poke(h, first, BigInt(first), h.offsets.ptr);
    return "segment list entry points at itself";
  },
  (h) => {
    const s = h.segments[1] ?? h.segments[0]!;
    const link = s.base + h.offsets.segListEntry;
    poke(h, link, BigInt(h.segments[0]!.base + h.offsets.segListEntry), h.offsets.ptr);
    return "segment list loops back to the first segment";
  },
  (h) => {
    if (h.freeList.length < 3) return "free list too short";
    const a = h.freeList[2]! + h.offsets.freeLink;
    poke(h, a, BigInt(h.freeList[0]! + h.offsets.freeLink), h.offsets.ptr);
    return "free list cycle";
  },
  (h) => {
    const a = h.address + h.offsets.freeLists;
    poke(h, a, BigInt(a), h.offsets.ptr);
    poke(h, a + h.offsets.ptr, 0n, h.offsets.ptr);
    return "free list head points at itself, Blink null";
  },
  (h) => {
    const va = h.virtualBlocks[0];
    if (va === undefined) return "no virtual block";
    poke(h, va, BigInt(va), h.offsets.ptr);
    return "virtual block list entry points at itself";
  },
  (h, rng) => {
    const va = h.virtualBlocks[0];
    if (va === undefined) return "no virtual block";
    // CommitSize / ReserveSize (after the LIST_ENTRY and ExtraStuff) near 2^32 / 2^64
    const big = rng.below(2) ? 0xfffffffffffff000n : 0xfffff000n;
    for (let k = 2; k < 8; k++) poke(h, va + k * h.offsets.ptr, big, h.offsets.ptr);
    return "virtual block sizes near 2^64";
  },
  (h, rng) => {
    // every pointer-sized field of the segment header: LastValidEntry, NumberOfPages... huge
    const s = h.segments[rng.below(h.segments.length)]!;
    const k = 4 + rng.below(12);
    poke(h, s.base + 0x10 + k * h.offsets.ptr, rng.below(2) ? 0xfffffffffffff000n : 0xffffffffn, h.offsets.ptr);
    return `segment header field ${k} huge`;
  },
  (h, rng) => {
    // a block header whose size runs past the segment (and its checksum fixed up unencoded)
    const s = h.segments[0]!;
    const b = s.blockAddresses[rng.below(s.blockAddresses.length)]!;
    const lo = 0xffff | (0x01 << 16);
    const check = (lo ^ (lo >>> 8) ^ (lo >>> 16)) & 0xff;
    poke(h, b + h.offsets.entryData, BigInt(((lo | (check << 24)) >>> 0) >>> 0), 4);
    return "block size 0xffff granules";
  },
  (h) => {
    const a = h.address + h.offsets.ucrList;
    const s1 = h.segments[1];
    poke(h, a, BigInt(s1 ? s1.base : a), h.offsets.ptr);
    return "UCR list into a segment header";
  },
  (h, rng) => {
    // overlapping segments: the second segment's FirstEntry/LastValidEntry cover the first one
    const s = h.segments[1];
    if (!s) return "one segment";
    const k = rng.below(6);
    poke(h, s.base + 0x18 + k * h.offsets.ptr, BigInt(h.segments[0]!.firstEntry), h.offsets.ptr);
    return `second segment field ${k} into the first`;
  },
];

function syntheticDump(kind: "x64" | "wow64", rng: Rng, corrupt: number | undefined): { bytes: Uint8Array; what: string } {
  const blocks = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ size: 8 + rng.below(300), ...(i % 7 === 3 ? { free: true } : {}), ...(i % 11 === 5 ? { trace: 0x7000 + i * 8 } : {}) }));
  const dump = buildProcessDump({
    layout: kind === "x64" ? "win10-1709" : "win7",
    kind,
    heaps: [
      {
        base: kind === "x64" ? 0x1f0000000 : 0x00500000,
        ust: true,
        segments: [{ blocks: blocks(60), uncommitted: [{ after: 20, pages: 2 }] }, { blocks: blocks(40), tailUncommittedPages: 3 }],
        virtualBlocks: [{ size: 0x12345, trace: 0x7ff0 }],
      },
    ],
    globalFlag: 0x1000,
  });
  let what = "valid";
  if (corrupt !== undefined) what = corruptions[corrupt % corruptions.length]!(dump.heaps[0]!, rng);
  return { bytes: dump.builder.build(), what };
}

/** An x64 process whose one heap is a segment heap (VS, LFH, backend and large blocks). */
function segmentHeapDump(rng: Rng): { bytes: Uint8Array; allocations: number; heap: number } {
  const allocations: SegmentAllocSpec[] = [];
  for (let i = 0; i < 24; i++) allocations.push({ kind: "vs", size: 0x40 + rng.below(0x300), ...(i % 6 === 5 ? { free: true } : {}) });
  for (let i = 0; i < 30; i++) allocations.push({ kind: "lfh", size: 0x10 + rng.below(0x30), ...(i % 7 === 6 ? { free: true } : {}) });
  allocations.push({ kind: "backend", size: 0x3000 }, { kind: "backend", size: 0x2000, free: true }, { kind: "large", size: 0x30000 });
  const heap = 0x2a0000000;
  const seg = writeSegmentHeap({ layout: "21H2", bitness: 64, base: heap, allocations });
  const builder = new MinidumpBuilder({ flags: 0x1826 });
  builder.systemInfo({ arch: "x64", major: 10, minor: 0, build: SEGMENT_LAYOUT_BUILD["21H2"] });
  const l = builder.nativeProcess({ bitness: 64, pebSize: 0x1000, systemInfo: false });
  const peb = writePeb({ bitness: 64, address: l.peb, heaps: [seg.address] });
  l.pebBytes.set(peb.bytes.subarray(0, l.pebBytes.length));
  for (const p of seg.pieces) builder.memory(p.address, p.bytes);
  return { bytes: builder.build(), allocations: allocations.filter((a) => !a.free).length, heap };
}

// ---- cases ---------------------------------------------------------------------------------------

const userDumps = [
  "dumps/user/lldb-fizzbuzz-wow64-win7sp1-full.dmp",
  "dumps/user/alpinefaction-rf-x86view-win11-indirect.dmp",
  "dumps/user/lldb-sigsegv-x64-win10-1709.dmp",
  "dumps/user/syzygy-notepad-x86view-win7sp1-indirect.dmp",
  "dumps/user/lldb-fizzbuzz-x86view-win7sp1-noheap.dmp",
];
const kernelDumps = ["dumps/kernel/rizin-triage_x64.dmp", "dumps/kernel/imhex-dmp64-full-header16k.dmp"];

describe("fuzz: the default pipeline survives hostile inputs", () => {
  it("the verdict rejects plain errors and wrapped plain errors", () => {
    expect(acceptable(new TypeError("x"))).toBe(false);
    expect(acceptable(new InternalError("bug"))).toBe(false);
    expect(acceptable(new PluginError("heap-nt", "walkHeap", new RangeError("Invalid array length")))).toBe(false);
    expect(acceptable(new PluginError("heap-nt", "walkHeap", new InternalError("bug")))).toBe(false);
  });

  for (const [i, path] of [...userDumps, ...kernelDumps].entries()) {
    const f = sharedFile(path);
    const perFile = i === 0 ? 150 : 40;
    it.skipIf(!f.present)(`${path}: ${perFile} random + 10 structural mutations`, async () => {
      const input = new Uint8Array(readFileSync(f.path));
      const rng = new Rng(SEED ^ (i * 0x9e3779b1));
      for (let c = 0; c < perFile; c++) {
        const m = mutateMany(input, rng);
        await runPipeline(m.bytes, c % 4 === 3 ? "analyze" : "walk", `${path} seed ${SEED} case ${c} (${m.what})`);
      }
      for (let c = 0; c < 20; c++) {
        const m = mutateMemoryList(input, rng);
        await runPipeline(m.bytes, c % 3 === 2 ? "analyze" : "walk", `${path} seed ${SEED} memory-list case ${c} (${m.what})`);
      }
      expectClean();
    });
  }

  for (const kind of ["x64", "wow64"] as const) {
    it(`synthetic ${kind} NT heap dumps: every structural corruption, then random mutations`, async () => {
      const rng = new Rng(SEED ^ (kind === "x64" ? 0x64 : 0x32));
      // the intact dump walks without any failure
      const valid = syntheticDump(kind, rng, undefined);
      // the intact dump is walked in full (2 segments, a virtual block, the holders...)
      expect(await runPipeline(valid.bytes, "analyze", `synthetic ${kind} valid`)).toBeGreaterThanOrEqual(101);
      // the same blocks when the second segment is walked on a worker thread
      expect(await runPipeline(valid.bytes, "walk", `synthetic ${kind} valid, worker threads`, true)).toBe(await runPipeline(valid.bytes, "walk", `synthetic ${kind} valid`));
      for (let c = 0; c < corruptions.length * 2; c++) {
        const d = syntheticDump(kind, rng, c);
        await runPipeline(d.bytes, c % 2 ? "analyze" : "walk", `synthetic ${kind} seed ${SEED} structural ${c} (${d.what})`, c % 4 < 2);
      }
      for (let c = 0; c < 100; c++) {
        const m = mutateMany(valid.bytes, rng);
        await runPipeline(m.bytes, c % 4 === 3 ? "analyze" : "walk", `synthetic ${kind} seed ${SEED} case ${c} (${m.what})`, c % 4 === 1);
      }
      expectClean();
    });
  }

  it("synthetic segment heap dumps: random mutations and self-pointers in the heap header", async () => {
    const rng = new Rng(SEED ^ 0x5e6);
    const valid = segmentHeapDump(rng);
    // the intact dump is walked: every busy allocation is found
    expect(await runPipeline(valid.bytes, "walk", "synthetic segment heap valid")).toBeGreaterThanOrEqual(valid.allocations);
    for (let c = 0; c < 80; c++) {
      const m = mutateMany(valid.bytes, rng);
      await runPipeline(m.bytes, c % 4 === 3 ? "analyze" : "walk", `synthetic segment heap seed ${SEED} case ${c} (${m.what})`);
    }
    expectClean();
  });

  it("runCli in-process over mutated dumps never reports an internal error (exit 3)", async () => {
    const f = sharedFile(userDumps[0]!);
    const rng = new Rng(SEED ^ 0xc11);
    const base = f.present ? new Uint8Array(readFileSync(f.path)) : syntheticDump("wow64", rng, undefined).bytes;
    for (let c = 0; c < 12; c++) {
      const m = mutateMany(base, rng);
      const file = join(tmp, `cli-${c}.dmp`);
      writeFileSync(file, m.bytes);
      const io = capture();
      const command = ["heaps", "blocks", "stat", "analyze"][c % 4]!;
      cases++;
      const code = await runCli([command, file, "--json"], { io: io.io });
      if (code === 3) failures.push(`runCli ${command} seed ${SEED} case ${c} (${m.what}): exit 3\n${io.err().slice(0, 400)}`);
    }
    expectClean();
  });

  it("WinDbg logs: mutated text parses to a session or a LeakscopeError, never a crash, alone and through the pipeline", async () => {
    const files: string[] = [];
    for (const dir of ["seeds", "data/windbg-samples", "data/poolused-samples"]) {
      const d = sharedFile(dir);
      if (!d.present) continue;
      for (const name of readdirSync(d.path).sort()) if (name.endsWith(".txt") || name.endsWith(".log")) files.push(join(d.path, name));
    }
    const rng = new Rng(SEED ^ 0x7e47);
    for (const file of files) {
      const input = new Uint8Array(readFileSync(file));
      for (let c = 0; c < 4; c++) {
        let bytes: Uint8Array;
        let what: string;
        if (c === 3) {
          // numbers near 2^32 / 2^64 everywhere, one line repeated, newlines dropped
          const text = new TextDecoder().decode(input);
          const huge = text.replace(/\b[0-9a-f]{4,16}\b/g, (s) => (s.length > 8 ? "ffffffffffffffff" : "fffffffe"));
          const lines = huge.split("\n");
          const dup = lines[rng.below(lines.length)] ?? "";
          bytes = new TextEncoder().encode([...lines, ...Array(2000).fill(dup)].join(rng.below(2) ? "\n" : "\r"));
          what = "huge numbers + repeated line";
        } else ({ bytes, what } = mutateMany(input, rng));
        cases++;
        try {
          const session = parseWindbgLog(bytes, { file });
          expect(session).toBeTruthy();
        } catch (e) {
          if (!acceptable(e)) failures.push(`${file} seed ${SEED} case ${c} (${what}): ${describeError(e)}`);
        }
        await runPipeline(bytes, c % 2 ? "analyze" : "walk", `${file} seed ${SEED} pipeline case ${c} (${what})`);
      }
    }
    expect(files.length).toBeGreaterThan(0);
    expectClean();
  });

  it("memory stays bounded across the run", () => {
    (globalThis as { gc?: () => void }).gc?.();
    const growth = process.memoryUsage().heapUsed - heapAtStart;
    expect(growth).toBeLessThan(512 * 1024 * 1024);
    expect(cases).toBeGreaterThan(100);
  });
});
