import { describe, expect, it } from "vitest";
import { AllocFlags, AllocationSet, findBlock, queryBlocks, statBySize, type HeapRecord } from "../src/index.js";

function heapsFor(n: number): HeapRecord[] {
  return Array.from({ length: n }, (_, i) => ({ index: i, address: 0x100000 * (i + 1) }) as unknown as HeapRecord);
}

describe("AllocationSet", () => {
  it("starts empty, the first of a thread too (its chunk switch is trained on another set)", () => {
    // the first set in this module instance: the training runs now
    const first = new AllocationSet();
    expect(first.count).toBe(0);
    expect(first.byteSize).toBe(0);
    let chunks = 0;
    first.forEachChunk(() => chunks++);
    expect(chunks).toBe(0);
    first.add(0, 0x1008, 0x1000, 8, 16, AllocFlags.BUSY);
    expect(first.count).toBe(1);
    expect(first.userAddress(0)).toBe(0x1008);
    expect(first.tracePointer(0)).toBe(0);
    // a chunk's columns are views of one buffer
    first.forEachChunk((c) => {
      expect(new Set([c.userAddress, c.blockAddress, c.requestedSize, c.blockSize, c.heap, c.flags, c.host].map((a) => a.buffer)).size).toBe(1);
    });
  });

  it("stores columns across chunk boundaries without copying", () => {
    const set = new AllocationSet();
    const N = 200_000;
    for (let i = 0; i < N; i++) set.add(i & 1, 0x10000 + i * 16 + 8, 0x10000 + i * 16, i % 100, 16, AllocFlags.BUSY);
    expect(set.count).toBe(N);
    expect(set.userAddress(N - 1)).toBe(0x10000 + (N - 1) * 16 + 8);
    expect(set.requestedSize(150_001)).toBe(1);
    let sum = 0;
    let seen = 0;
    set.forEachChunk((c, n) => {
      seen += n;
      for (let i = 0; i < n; i++) sum += c.requestedSize[i]!;
    });
    expect(seen).toBe(N);
    expect(sum).toBe(Array.from({ length: N }, (_, i) => i % 100).reduce((a, b) => a + b, 0));
    expect(() => set.flags(N)).toThrow(RangeError);
  });

  it("allocates the trace column only for chunks that hold traces", () => {
    const set = new AllocationSet();
    for (let i = 0; i < 70_000; i++) set.add(0, i * 16, i * 16, 8, 16, AllocFlags.BUSY);
    expect(set.byteSize).toBe(2 * 65536 * 40);
    expect(set.tracePointer(5)).toBe(0);
    set.add(0, 0x99990, 0x99980, 8, 16, AllocFlags.BUSY | AllocFlags.HAS_TRACE, 0x7ffe0000);
    set.setTracePointer(3, 0x1234);
    expect(set.tracePointer(70_000)).toBe(0x7ffe0000);
    expect(set.tracePointer(3)).toBe(0x1234);
    expect(set.tracePointer(4)).toBe(0);
    expect(set.flags(3) & AllocFlags.HAS_TRACE).toBeTruthy();
    expect(set.byteSize).toBe(2 * 65536 * 48);
  });

  it("finds the most specific block containing an address", () => {
    const set = new AllocationSet();
    const host = set.add(0, 0x1008, 0x1000, 0x400, 0x408, AllocFlags.BUSY | AllocFlags.HOST);
    set.add(0, 0x1020, 0x1018, 0x30, 0x40, AllocFlags.BUSY | AllocFlags.LFH, 0, host);
    set.add(0, 0x1410, 0x1408, 0x10, 0x20, AllocFlags.BUSY);
    const heaps = heapsFor(1);
    expect(set.findContaining(0x1030)).toBe(1);
    expect(set.findContaining(0x1100)).toBe(0);
    expect(set.findContaining(0x2000)).toBe(-1);
    const b = findBlock(set, heaps, 0x1030);
    expect(b.block?.flags).toEqual(["lfh"]);
    expect(b.host?.state).toBe("internal");
  });

  it("groups busy user blocks by requested size like !heap -stat", () => {
    const set = new AllocationSet();
    for (let i = 0; i < 196; i++) set.add(0, i * 0x5000, i * 0x5000 - 8, 0x3fff, 0x4018, AllocFlags.BUSY);
    for (let i = 0; i < 10; i++) set.add(0, 0x10000000 + i * 0x60, 0, 0x44, 0x50, AllocFlags.BUSY | AllocFlags.LFH);
    set.add(0, 0x20000000, 0, 0x100000, 0x100000, AllocFlags.BUSY | AllocFlags.HOST); // not counted
    set.add(0, 0x30000000, 0, 0, 0x1000, AllocFlags.FREE); // not counted
    const stat = statBySize(set, heapsFor(1));
    expect(stat.busy).toEqual({ count: 206, bytes: 196 * 0x3fff + 10 * 0x44 });
    expect(stat.rows[0]).toMatchObject({ size: 0x3fff, count: 196, total: 196 * 0x3fff });
    expect(stat.rows[0]!.percent).toBeCloseTo((196 * 0x3fff * 100) / stat.busy.bytes, 1);
    const flt = queryBlocks(set, heapsFor(1), { range: { min: 0x3fff, max: 0x4400 }, state: "busy" });
    expect(flt.total).toBe(196);
    const free = queryBlocks(set, heapsFor(1), { state: "free" });
    expect(free.rows.map((r) => r.state)).toEqual(["free"]);
    const limited = queryBlocks(set, heapsFor(1), { limit: 5 });
    expect(limited.truncated).toBe(true);
    expect(limited.rows).toHaveLength(5);
  });
});
