import { AllocFlags, BufferSource, Engine, type LeakscopePlugin, type Run, type Target, memoryTarget } from "@leakscope/core";
import {
  type ExpectedSegmentBlock,
  type MemoryPiece,
  SEGMENT_LAYOUT_BUILD,
  type SegmentAllocSpec,
  type SegmentWriterLayout,
} from "@leakscope/test-utils";

/** Run discovery + walk over a ready Target with the given plugins. */
export async function runOnTarget(target: Target, plugins: LeakscopePlugin[]): Promise<Run> {
  const reader: LeakscopePlugin = {
    name: "test-target",
    apply(engine) {
      engine.hooks.resolveReader.tap("test-target", () => ({ name: "test-target", open: () => target }));
    },
  };
  const engine = new Engine({ plugins: [reader, ...plugins] });
  const open = await engine.openSource(new BufferSource(new Uint8Array(16), "<target>"), { command: "heaps", depth: "walk" });
  open.close();
  return open.run;
}

export function syntheticTarget(
  build: number,
  memory: MemoryPiece[],
  views: { bitness: 32 | 64; peb?: number; role?: "native" | "wow64" }[],
): Target {
  return memoryTarget({
    arch: views[0]!.bitness === 64 ? "x64" : "x86",
    os: { major: 10, minor: 0, build },
    memory,
    views,
  });
}

export function layoutTarget(layout: SegmentWriterLayout, memory: MemoryPiece[], views: { bitness: 32 | 64; peb?: number; role?: "native" | "wow64" }[]): Target {
  return syntheticTarget(SEGMENT_LAYOUT_BUILD[layout], memory, views);
}

/** The walker's blocks for one heap, in the writer's expected shape, sorted by block address. */
export function actualBlocks(run: Run, heapAddress: number, bitness: 32 | 64): ExpectedSegmentBlock[] {
  const heap = run.heaps.find((h) => h.address === heapAddress && h.bitness === bitness);
  if (!heap) throw new Error(`heap ${heapAddress.toString(16)} not found`);
  const a = run.allocations;
  const out: ExpectedSegmentBlock[] = [];
  for (let i = 0; i < a.count; i++) {
    if (a.heap(i) !== heap.index) continue;
    const f = a.flags(i);
    const kind = f & AllocFlags.HOST ? "host" : f & AllocFlags.LFH ? "lfh" : f & AllocFlags.VS ? "vs" : f & AllocFlags.VIRTUAL ? "large" : "backend";
    out.push({
      userAddress: a.userAddress(i),
      blockAddress: a.blockAddress(i),
      requestedSize: a.requestedSize(i),
      blockSize: a.blockSize(i),
      kind,
      free: (f & AllocFlags.FREE) !== 0,
      trace: f & AllocFlags.HAS_TRACE ? a.tracePointer(i) : 0,
    });
  }
  return out.sort((x, y) => x.blockAddress - y.blockAddress || x.blockSize - y.blockSize);
}

export function sortExpected(e: ExpectedSegmentBlock[]): ExpectedSegmentBlock[] {
  return e.slice().sort((x, y) => x.blockAddress - y.blockAddress || x.blockSize - y.blockSize);
}

/** Allocations exercising every block kind, unused-byte case and trace placement. */
export function richAllocations(bitness: 32 | 64, seed = 0): SegmentAllocSpec[] {
  const t = (n: number) => (bitness === 64 ? 0x7ff6_1234_0000 : 0x7730_0000) + n * 0x10 + seed * 0x1000;
  return [
    { kind: "vs", size: 0x400 + seed },
    { kind: "vs", size: 15 },
    { kind: "vs", size: 0x200 },
    { kind: "vs", size: 0x300, free: true },
    { kind: "vs", size: 0x1234, trace: t(1) },
    { kind: "vs", size: 0x3000 + 7 },
    { kind: "lfh", size: 16 },
    { kind: "lfh", size: 15 },
    { kind: "lfh", size: 9, trace: t(2) },
    { kind: "lfh", size: 100 },
    { kind: "lfh", size: 100 + seed },
    { kind: "lfh", size: 0x900 },
    { kind: "lfh", size: 0x2100, trace: t(3) },
    { kind: "backend", size: 0x5003 },
    { kind: "backend", size: 0x3000, free: true },
    { kind: "backend", size: 0x9100, trace: t(4) },
    { kind: "vs", size: 0x50, segment: 1 },
    { kind: "lfh", size: 40, segment: 1 },
    { kind: "lfh", size: 48, segment: 1, trace: t(5) },
    { kind: "backend", size: 0x1000, segment: 1 },
    { kind: "large", size: 0x90007, trace: t(6) },
    { kind: "large", size: 0x200000 },
    { kind: "large", size: 0x80000 + 0x123 },
  ];
}

/** Overwrite bytes of a synthetic piece list at an address (little-endian `size`-byte value). */
export function poke(pieces: MemoryPiece[], address: number, value: number | bigint, size: 1 | 2 | 4 | 8): void {
  const p = pieces.find((q) => address >= q.address && address + size <= q.address + q.bytes.length);
  if (!p) throw new Error(`no piece holds 0x${address.toString(16)}`);
  const v = new DataView(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength);
  const o = address - p.address;
  if (size === 1) v.setUint8(o, Number(value));
  else if (size === 2) v.setUint16(o, Number(value), true);
  else if (size === 4) v.setUint32(o, Number(value) >>> 0, true);
  else v.setBigUint64(o, BigInt(value), true);
}

export function peek32(pieces: MemoryPiece[], address: number): number {
  const p = pieces.find((q) => address >= q.address && address + 4 <= q.address + q.bytes.length);
  if (!p) throw new Error(`no piece holds 0x${address.toString(16)}`);
  return new DataView(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength).getUint32(address - p.address, true);
}
