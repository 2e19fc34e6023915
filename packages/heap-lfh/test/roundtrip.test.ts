import { describe, expect, it } from "vitest";
import { AllocFlags, isUserAllocation } from "@leakscope/core";
import { LFH_WRITER_VERSIONS } from "@leakscope/test-utils";
import { lfhBucketStats } from "../src/index.js";
import { actualLfhBlocks, expectedHeapFigures, expectedLfhBlocks, lfhProcess, walkLfhProcess } from "./helpers.js";

describe("synthetic LFH round trips (NT writer + LFH writer -> heap-nt + heap-lfh)", () => {
  for (const version of LFH_WRITER_VERSIONS) {
    for (const bitness of [32, 64] as const) {
      it(`${version} x${
        bitness === 32 ? "86" : "64"
      }: every LFH block comes back exactly (address, size, state, trace, host)`, async () => {
        const p = lfhProcess(version, bitness, { emptySlots: 2 });
        const run = await walkLfhProcess(p);
        expect(run.allDiagnostics().map((d) => d.code)).toEqual([]);
        const want = expectedLfhBlocks(p.lfh);
        expect(actualLfhBlocks(run, p.heapAddress)).toEqual(want);
        // the spec exercises traces, free blocks and out-of-line unused counts
        expect(want.filter((b) => b.trace !== 0).length).toBeGreaterThanOrEqual(4);
        expect(want.some((b) => !b.busy)).toBe(true);
        expect(want.some((b) => b.busy && b.trace === 0 && b.blockSize - b.requestedSize >= 0x3f)).toBe(true);

        const heap = run.heaps.find((h) => h.address === p.heapAddress)!;
        const lfh = heap.data.lfh!;
        expect(lfh.key).toBe(p.lfh.key);
        expect(lfh.family).toBe(version === "win7" ? "win7" : "win8");
        expect(lfh.subsegments).toBe(5);
        expect(lfh.emptySlots).toBe(2);
        expect(lfh.zones).toBe(p.lfh.zones.length);
        expect(lfh.zones).toBeGreaterThan(1);
        // heap busy = backend user blocks + LFH busy blocks; hosts not counted
        const f = expectedHeapFigures(p);
        expect(heap.stats.busy).toEqual(f.busy);
        expect({ lfhBusy: heap.summary.lfhBusy, lfhFree: heap.summary.lfhFree }).toEqual({ lfhBusy: f.lfhBusy, lfhFree: f.lfhFree });
        expect(heap.summary.lfhKey).toBe(`0x${p.lfh.key.toString(16).padStart(8, "0")}`);
        // per-bucket statistics agree with the written subsegments
        const stats = lfhBucketStats(heap)!;
        const g = bitness === 64 ? 16 : 8;
        expect(stats.buckets.map((b) => [b.blockSize, b.subsegments, b.totalBlocks, b.busyBlocks, b.freeBlocks])).toEqual([
          [4 * g, 2, 30, 23, 7],
          [12 * g, 2, 11, 3, 8],
          [16 * g, 1, 13, 10, 3],
        ]);
        // every LFH block's host is a HOST block, never a user allocation
        const a = run.allocations;
        for (let i = 0; i < a.count; i++) {
          if ((a.flags(i) & AllocFlags.LFH) === 0) continue;
          expect(a.flags(a.host(i)) & AllocFlags.HOST).toBe(AllocFlags.HOST);
          expect(isUserAllocation(a.flags(a.host(i)))).toBe(false);
        }
      });
    }
  }

  for (const version of ["win7", "win10"] as const) {
    it(`${version} WoW64: a 32-bit LFH heap in a 64-bit target is walked with 32-bit layouts`, async () => {
      const p = lfhProcess(version, 32, { wow64: true });
      const run = await walkLfhProcess(p);
      expect(run.allDiagnostics().map((d) => d.code)).toEqual([]);
      expect(run.heaps.find((h) => h.address === p.heapAddress)?.bitness).toBe(32);
      expect(actualLfhBlocks(run, p.heapAddress)).toEqual(expectedLfhBlocks(p.lfh));
    });
  }

  it("a key with high bit set and a different per-process value is recovered", async () => {
    const p = lfhProcess("win11", 64, { key: 0x8badf00d });
    const run = await walkLfhProcess(p);
    expect(run.allDiagnostics()).toEqual([]);
    expect(run.heaps[0]!.data.lfh!.key).toBe(0x8badf00d);
  });
});
