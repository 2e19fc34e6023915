import { AllocFlags, BufferSource, Engine, type LeakscopePlugin, type Run, type Target, memoryTarget } from "@leakscope/core";
import { heapNt } from "@leakscope/heap-nt";
import {
  type ExpectedLfhBlock,
  LFH_NT_LAYOUT,
  type LfhHeapSpec,
  type LfhPiece,
  type LfhSubsegmentSpec,
  type LfhWriterVersion,
  NT_LAYOUT_BUILD,
  type NtBlockSpec,
  type WrittenLfhHeap,
  type WrittenNtHeap,
  lfhUserBlocksBytes,
  overlayPieces,
  writeLfhHeap,
  writeNtHeap,
  writePeb,
} from "@leakscope/test-utils";
import { heapLfh } from "../src/index.js";

/** Run discovery + walk over a ready Target with the given plugins (keeps it open). */
export async function runOnTarget(target: Target, plugins: LeakscopePlugin[]): Promise<Run> {
  const reader: LeakscopePlugin = {
    name: "test-target",
    apply(engine) {
      engine.hooks.resolveReader.tap("test-target", () => ({ name: "test-target", open: () => target }));
    },
  };
  const engine = new Engine({ plugins: [reader, ...plugins] });
  const open = await engine.openSource(new BufferSource(new Uint8Array(16), "<target>"), { command: "heaps", depth: "walk" });
  return open.run;
}

/** A mix of subsegments: busy, free, +ust traced, large unused counts, a full and an empty one. */
export function lfhSubsegments(bitness: 32 | 64, seed = 0): LfhSubsegmentSpec[] {
  const g = bitness === 64 ? 16 : 8;
  const trace = (k: number) => (bitness === 64 ? 0x7ff6_1234_0000 : 0x7730_0000) + k * 0x110 + seed * 0x10;
  const bs1 = 4 * g;
  const bs2 = 16 * g;
  const bs3 = 12 * g;
  return [
    {
      blockSize: bs1,
      blocks: Array.from({ length: 21 }, (_, i) => (i % 3 === 1 ? { size: 0, free: true } : { size: bs1 - g - (i % g) - seed })),
    },
    {
      blockSize: bs2,
      blocks: Array.from({ length: 13 }, (_, i) =>
        i % 4 === 0 ? { size: bs2 - 3 * g - i, trace: trace(i) } : i % 4 === 2 ? { size: 0, free: true } : { size: bs2 - 0x48 - i }
      ),
    },
    { blockSize: bs1, blocks: Array.from({ length: 9 }, (_, i) => ({ size: bs1 - g - i })) },
    { blockSize: bs3, blocks: Array.from({ length: 7 }, () => ({ size: 0, free: true })) },
    { blockSize: bs3, blocks: [{ size: 1 }, { size: bs3 - g }, { size: 0, free: true }, { size: 40, trace: trace(99) }] },
  ];
}

export interface LfhProcess {
  target: Target;
  nt: WrittenNtHeap;
  lfh: WrittenLfhHeap;
  heapAddress: number;
  bitness: 32 | 64;
}

/**
 * An NT heap (from the NT writer) with one host block per LFH subsegment among ordinary blocks,
 * the LFH structures in their own region, a PEB, in a memory target.
 */
export function lfhProcess(
  version: LfhWriterVersion,
  bitness: 32 | 64,
  options: {
    subsegments?: LfhSubsegmentSpec[];
    key?: number;
    emptySlots?: number;
    perZone?: number;
    wow64?: boolean;
    /** Leave these bytes out of the dump (not captured). */
    hole?: (lfh: WrittenLfhHeap) => { address: number; size: number };
    /** Damage the bytes before the target is built. */
    patch?: (poke: Poke, lfh: WrittenLfhHeap) => void;
    /** Write the NT heap and the LFH for this build (default: the version's). */
    build?: number;
    /** The build the target claims (default: the written one), for mislabelled-dump tests. */
    label?: number;
  } = {}
): LfhProcess {
  const base = bitness === 64 ? 0x1_2340_0000 : 0x0070_0000;
  const lfhAddress = bitness === 64 ? 0x1_5550_0000 : 0x000e_0000;
  const subsegments = options.subsegments ?? lfhSubsegments(bitness);
  const spec: LfhHeapSpec = {
    version,
    bitness,
    heap: base,
    lfhHeap: lfhAddress,
    subsegments,
    ...(options.key !== undefined ? { key: options.key } : {}),
    ...(options.emptySlots !== undefined ? { emptySlots: options.emptySlots } : {}),
    ...(options.perZone !== undefined ? { perZone: options.perZone } : {}),
    ...(options.build !== undefined ? { build: options.build } : {}),
  };
  const blocks: NtBlockSpec[] = [{ size: 24 }, { size: 100, free: true }];
  subsegments.forEach((_, i) => {
    blocks.push({ size: lfhUserBlocksBytes(spec, i), lfhHost: true });
    if (i % 2 === 0) blocks.push({ size: 33 + i });
  });
  blocks.push({ size: 300, free: true }, { size: 7 });
  const nt = writeNtHeap({
    layout: LFH_NT_LAYOUT[version],
    bitness,
    base,
    frontEndHeapType: 2,
    frontEndHeap: lfhAddress,
    segments: [{ blocks }],
    ...(options.build !== undefined ? { build: options.build } : {}),
  });
  const hosts = nt.expected.filter((e) => e.kind === "host").map((e) => e.userAddress);
  const lfh = writeLfhHeap({ ...spec, subsegments: subsegments.map((s, i) => ({ ...s, userBlocks: hosts[i]! })) });
  const peb = writePeb({ bitness, address: bitness === 64 ? 0x7ff0_0000 : 0x7ffd_0000, heaps: [base] });
  let memory: LfhPiece[] = overlayPieces(nt.pieces, lfh.pieces);
  memory.push(peb);
  options.patch?.(poker(memory), lfh);
  if (options.hole) memory = cut(memory, options.hole(lfh));
  const wow = options.wow64 === true && bitness === 32;
  const target = memoryTarget({
    arch: bitness === 64 || wow ? "x64" : "x86",
    os: { major: 10, minor: 0, build: options.label ?? options.build ?? NT_LAYOUT_BUILD[LFH_NT_LAYOUT[version]] },
    memory,
    views: wow ? [{ bitness: 64 }, { bitness: 32, peb: peb.address, role: "wow64" }] : [{ bitness, peb: peb.address }],
  });
  return { target, nt, lfh, heapAddress: base, bitness };
}

export async function walkLfhProcess(p: LfhProcess, plugins: LeakscopePlugin[] = [heapNt(), heapLfh()]): Promise<Run> {
  return runOnTarget(p.target, plugins);
}

/** The LFH blocks the walker appended for a heap, in the writer's expected shape, by block address. */
export function actualLfhBlocks(run: Run, heapAddress: number): (ExpectedLfhBlock & { host: number })[] {
  const heap = run.heaps.find((h) => h.address === heapAddress);
  if (!heap) throw new Error(`heap ${heapAddress.toString(16)} not found`);
  const a = run.allocations;
  const out: (ExpectedLfhBlock & { host: number })[] = [];
  for (let i = 0; i < a.count; i++) {
    if (a.heap(i) !== heap.index || (a.flags(i) & AllocFlags.LFH) === 0) continue;
    const f = a.flags(i);
    const host = a.host(i);
    out.push({
      blockAddress: a.blockAddress(i),
      userAddress: a.userAddress(i),
      requestedSize: a.requestedSize(i),
      blockSize: a.blockSize(i),
      busy: (f & AllocFlags.BUSY) !== 0,
      trace: f & AllocFlags.HAS_TRACE ? a.tracePointer(i) : 0,
      subsegment: 0,
      userBlocks: host >= 0 ? a.userAddress(host) : -1,
      host: host >= 0 ? a.flags(host) : -1,
    });
  }
  return out.sort((x, y) => x.blockAddress - y.blockAddress);
}

export function expectedLfhBlocks(lfh: WrittenLfhHeap): (ExpectedLfhBlock & { host: number })[] {
  return lfh.expected
    .map((e) => ({ ...e, subsegment: 0, host: AllocFlags.BUSY | AllocFlags.HOST }))
    .sort((x, y) => x.blockAddress - y.blockAddress);
}

export interface Poke {
  u8(a: number, v: number): void;
  u16(a: number, v: number): void;
  u32(a: number, v: number): void;
  r32(a: number): number;
}

function poker(memory: LfhPiece[]): Poke {
  const at = (a: number, n: number) => {
    const p = memory.find((m) => a >= m.address && a + n <= m.address + m.bytes.length);
    if (!p) throw new Error(`no piece holds 0x${a.toString(16)}`);
    return { v: new DataView(p.bytes.buffer, p.bytes.byteOffset, p.bytes.length), o: a - p.address };
  };
  return {
    u8: (a, v) => {
      const { v: d, o } = at(a, 1);
      d.setUint8(o, v);
    },
    u16: (a, v) => {
      const { v: d, o } = at(a, 2);
      d.setUint16(o, v, true);
    },
    u32: (a, v) => {
      const { v: d, o } = at(a, 4);
      d.setUint32(o, v >>> 0, true);
    },
    r32: (a) => {
      const { v: d, o } = at(a, 4);
      return d.getUint32(o, true);
    },
  };
}

/** Diagnostic codes of a run, sorted and deduplicated. */
export function codes(run: Run): string[] {
  return [...new Set(run.allDiagnostics().map((d) => d.code))].sort();
}

function cut(memory: LfhPiece[], hole: { address: number; size: number }): LfhPiece[] {
  const out: LfhPiece[] = [];
  const end = hole.address + hole.size;
  for (const p of memory) {
    const pEnd = p.address + p.bytes.length;
    if (end <= p.address || hole.address >= pEnd) {
      out.push(p);
      continue;
    }
    if (hole.address > p.address) out.push({ address: p.address, bytes: p.bytes.subarray(0, hole.address - p.address) });
    if (end < pEnd) out.push({ address: end, bytes: p.bytes.subarray(end - p.address) });
  }
  return out;
}

/** The heap figures a correct walk of `p` gives: backend user blocks plus LFH busy blocks (hosts not counted). */
export function expectedHeapFigures(p: LfhProcess): { busy: { count: number; bytes: number }; lfhBusy: number; lfhFree: number } {
  const want = expectedLfhBlocks(p.lfh);
  const users = p.nt.expected.filter((e) => e.kind === "user");
  const busy = want.filter((b) => b.busy);
  return {
    busy: { count: users.length + busy.length, bytes: users.reduce((s, e) => s + e.requestedSize, 0) + busy.reduce((s, b) => s + b.requestedSize, 0) },
    lfhBusy: busy.length,
    lfhFree: want.length - busy.length,
  };
}
