import { describe, expect, it, onTestFinished } from "vitest";
import { type AddressSpace, AllocFlags, Engine, formatAddress, minidumpInput } from "@leakscope/core";
import { heapNt } from "@leakscope/heap-nt";
import { sharedFile } from "@leakscope/test-utils";
import { formatLfhBuckets, heapLfh, lfhBucketStats } from "../src/index.js";

const full = sharedFile("dumps/user/lldb-fizzbuzz-wow64-win7sp1-full.dmp");
const HEAP = 0x700000;

async function open(withLfh: boolean) {
  const engine = new Engine({ plugins: [minidumpInput(), heapNt(), ...(withLfh ? [heapLfh()] : [])] });
  const o = await engine.open(full.path, { command: "heaps", depth: "walk" });
  onTestFinished(() => o.close());
  return o;
}

/**
 * An independent reading of the Win7 x86 LFH of one heap, straight from the doc's offsets
 * (_HEAP.FrontEndHeap +0xD4, _LFH_HEAP.SubSegmentZones +0x18, zone array +0x10 up to FreePointer,
 * subsegment stride 0x20, blocks after the 0x10-byte user-data header), without the walker.
 */
function rawLfh(space: AddressSpace, heap: number) {
  const feh = space.u32(heap + 0xd4);
  const head = feh + 0x18;
  const rows: { ss: number; blockSize: number; count: number; depth: number; headerBusy: number; bytes: number }[] = [];
  for (let z = space.u32(head), n = 0; z !== head && n < 100; z = space.u32(z), n++) {
    for (let ss = z + 0x10; ss < space.u32(z + 8); ss += 0x20) {
      const ub = space.u32(ss + 4);
      if (ub === 0 || space.u32(ub) !== ss) continue;
      const blockSize = space.u16(ss + 0x10) * 8;
      const count = space.u16(ss + 0x14);
      let headerBusy = 0;
      let bytes = 0;
      for (let i = 0; i < count; i++) {
        const u = space.u8(ub + 0x10 + i * blockSize + 7);
        if ((u & 0x3f) !== 0) {
          headerBusy++;
          bytes += blockSize - (u & 0x3f);
        }
      }
      rows.push({ ss, blockSize, count, depth: space.u16(ss + 8), headerBusy, bytes });
    }
  }
  return rows;
}

describe("real dump: lldb-fizzbuzz-wow64-win7sp1-full, 32-bit LFH heap 0x700000", () => {
  it.skipIf(!full.present)("enumerates every subsegment of every zone with zero warnings and one key", async () => {
    const { run } = await open(true);
    expect(run.allDiagnostics().filter((d) => d.severity !== "info")).toEqual([]);
    const heap = run.heaps.find((h) => h.address === HEAP && h.bitness === 32)!;
    const lfh = heap.data.lfh!;
    expect(lfh.family).toBe("win7");
    expect(formatAddress(lfh.lfhHeap)).toBe("0xe0020");
    expect(lfh.key).toBe(0x7b0db7db);
    expect(lfh.corrupt).toBe(0);
    expect({
      zones: lfh.zones,
      subsegments: lfh.subsegments,
      stale: lfh.staleSubsegments,
      empty: lfh.emptySlots,
      unclaimed: lfh.unclaimedHosts,
    }).toEqual({
      zones: 1,
      subsegments: 5,
      stale: 0,
      empty: 0,
      unclaimed: 0,
    });
    // every host block the backend found is expanded
    expect(heap.data.nt!.hostBlocks).toHaveLength(5);

    // independent check: busy = BlockCount - Depth per subsegment, and = busy headers
    const raw = rawLfh(heap.view.space, HEAP);
    expect(raw).toHaveLength(5);
    for (const r of raw) expect(r.headerBusy).toBe(r.count - r.depth);
    const rawBusy = raw.reduce((s, r) => s + r.count - r.depth, 0);
    const rawFree = raw.reduce((s, r) => s + r.depth, 0);
    const rawBytes = raw.reduce((s, r) => s + r.bytes, 0);
    expect([lfh.busy, lfh.free, lfh.busyBytes]).toEqual([rawBusy, rawFree, rawBytes]);
    expect([lfh.busy, lfh.free, lfh.busyBytes]).toEqual([152, 102, 4340]);

    const stats = lfhBucketStats(heap)!;
    expect(stats.buckets.map((b) => [b.blockSize, b.subsegments, b.totalBlocks, b.busyBlocks, b.freeBlocks, b.busyBytes])).toEqual([
      [0x18, 1, 41, 27, 14, 0x190],
      [0x20, 1, 63, 1, 62, 0x18],
      [0x28, 3, 150, 124, 26, 0xf4c],
    ]);
    expect(heap.summary).toMatchObject({ lfhKey: "0x7b0db7db", lfhBuckets: 3, lfhSubsegments: 5, lfhBusy: 152, lfhFree: 102 });
    expect(formatLfhBuckets(stats).split("\n")).toHaveLength(2 + 3 + 1);

    // every LFH block sits inside its host and inside the heap's host set
    const a = run.allocations;
    let n = 0;
    for (let i = 0; i < a.count; i++) {
      if (a.heap(i) !== heap.index || (a.flags(i) & AllocFlags.LFH) === 0) continue;
      n++;
      const h = a.host(i);
      expect(heap.data.nt!.hostBlocks).toContain(h);
      expect(a.blockAddress(i)).toBeGreaterThanOrEqual(a.userAddress(h));
      expect(a.blockAddress(i) + a.blockSize(i)).toBeLessThanOrEqual(a.blockAddress(h) + a.blockSize(h));
      if (a.flags(i) & AllocFlags.BUSY) expect(a.flags(i) & (AllocFlags.SIZE_INEXACT | AllocFlags.CORRUPT)).toBe(0);
    }
    expect(n).toBe(254);
    // only heap 0x700000 uses the LFH in this dump
    expect(run.heaps.filter((h) => h.data.lfh).map((h) => h.address)).toEqual([HEAP]);
    const others = run.heaps.filter((h) => h.address !== HEAP);
    expect(others).toHaveLength(5);
    for (const h of others) {
      expect(lfhBucketStats(h)).toBeUndefined();
      expect(h.summary.lfhBusy).toBeUndefined();
    }
  });

  it.skipIf(!full.present)("the heaps report counts the LFH blocks in busy (152 backend + 152 LFH)", async () => {
    const without = (await open(false)).report.heaps!.find((h) => h.address === formatAddress(HEAP) || h.address === "0x00700000");
    const withLfh = (await open(true)).report.heaps!.find((h) => h.address === formatAddress(HEAP) || h.address === "0x00700000");
    expect(without?.busy).toEqual({ count: 152, bytes: 49125 });
    expect(withLfh?.busy).toEqual({ count: 304, bytes: 49125 + 4340 });
    expect(withLfh?.summary).toMatchObject({ lfh: true, lfhBusy: 152, lfhFree: 102, lfhKey: "0x7b0db7db" });
  });
});
