import { describe, expect, it } from "vitest";
import { AllocFlags, PluginOptionsError } from "@leakscope/core";
import { heapNt } from "@leakscope/heap-nt";
import { heapLfh } from "../src/index.js";
import { actualLfhBlocks, codes, expectedLfhBlocks, lfhProcess, walkLfhProcess } from "./helpers.js";

/** Offsets used to damage the synthetic structures (doc §5.1), independent of the walker's tables. */
const X64_WIN10 = { code: 8, unused: 0xf, encodedOffsets: 0x18, signature: 0x14, bitmap: 0x30, blockCount: 0x28 };
const X86_WIN7 = { code: 0, unused: 7, next: 8, signature: 0x0c, aggregate: 0x08, blockCount: 0x14 };

describe("cross-checks and damaged input", () => {
  it("Win10 x64: a block header that does not decode is flagged CORRUPT, everything else is exact", async () => {
    let bad = 0;
    const p = lfhProcess("win10", 64, {
      patch(poke, lfh) {
        bad = lfh.expected[5]!.blockAddress;
        poke.u32(bad + X64_WIN10.code, poke.r32(bad + X64_WIN10.code) ^ 0x10);
      },
    });
    const run = await walkLfhProcess(p);
    expect(codes(run)).toEqual(["LFH_BLOCK_HEADER_BAD"]);
    const got = actualLfhBlocks(run, p.heapAddress);
    expect(got).toEqual(expectedLfhBlocks(p.lfh));
    const a = run.allocations;
    let corrupt = 0;
    for (let i = 0; i < a.count; i++)
      if (a.flags(i) & AllocFlags.CORRUPT) {
        corrupt++;
        expect(a.blockAddress(i)).toBe(bad);
      }
    expect(corrupt).toBe(1);
    expect(run.heaps[0]!.data.lfh!.corrupt).toBe(1);
  });

  it("Win10 x64: bitmap vs header disagreement is reported and the bitmap wins", async () => {
    let flipped = 0;
    const p = lfhProcess("win10", 64, {
      patch(poke, lfh) {
        // block 1 of subsegment 0 is free in the spec: mark it busy in the bitmap only
        const b = lfh.expected[1]!;
        expect(b.busy).toBe(false);
        flipped = b.blockAddress;
        const byte = b.userBlocks + X64_WIN10.bitmap;
        poke.u8(byte, (poke.r32(byte) & 0xff) | 0x02);
      },
    });
    const run = await walkLfhProcess(p);
    expect(codes(run)).toEqual(["LFH_BITMAP_MISMATCH", "LFH_BUSY_COUNT_MISMATCH"]);
    const got = actualLfhBlocks(run, p.heapAddress);
    const want = expectedLfhBlocks(p.lfh);
    const i = want.findIndex((b) => b.blockAddress === flipped);
    expect(got[i]!.busy).toBe(true);
    expect(got.filter((_, k) => k !== i)).toEqual(want.filter((_, k) => k !== i));
  });

  for (const version of ["win7", "win10"] as const) {
    it(`${version}: BlockCount - Depth disagreeing with the blocks is reported`, async () => {
      const p = lfhProcess(version, 32, {
        subsegments: [
          { blockSize: 32, blocks: [{ size: 10 }, { size: 0, free: true }, { size: 12 }], wrongDepth: true },
          { blockSize: 48, blocks: [{ size: 30 }, { size: 0, free: true }] },
        ],
      });
      const run = await walkLfhProcess(p);
      expect(codes(run)).toEqual(version === "win7" ? ["LFH_BUSY_COUNT_MISMATCH", "LFH_FREE_LIST_BAD"] : ["LFH_BUSY_COUNT_MISMATCH"]);
      expect(actualLfhBlocks(run, p.heapAddress)).toEqual(expectedLfhBlocks(p.lfh));
    });
  }

  it("win7 x86: a free list that loops is reported, header states are kept", async () => {
    const p = lfhProcess("win7", 32, {
      patch(poke, lfh) {
        const frees = lfh.expected.filter((b) => !b.busy && b.userBlocks === lfh.expected[0]!.userBlocks);
        const last = frees[frees.length - 1]!;
        poke.u16(last.blockAddress + X86_WIN7.next, (frees[0]!.blockAddress - last.userBlocks) / 8);
      },
    });
    const run = await walkLfhProcess(p);
    expect(codes(run)).toEqual(["LFH_FREE_LIST_BAD"]);
    expect(actualLfhBlocks(run, p.heapAddress)).toEqual(expectedLfhBlocks(p.lfh));
  });

  it("a broken zone list: the hosts it no longer reaches are walked from their own headers", async () => {
    for (const [version, bitness] of [
      ["win7", 32],
      ["win11", 64],
    ] as const) {
      const p = lfhProcess(version, bitness, {
        perZone: 2,
        patch(poke, lfh) {
          // the first zone's Flink points to itself: a cycle that hides the other zones
          expect(lfh.zones).toHaveLength(3);
          const z = lfh.zones[0]!;
          poke.u32(z, z % 4294967296);
          if (bitness === 64) poke.u32(z + 4, Math.floor(z / 4294967296));
        },
      });
      const run = await walkLfhProcess(p);
      expect(codes(run)).toEqual(["LFH_HOST_UNCLAIMED", "LFH_ZONE_LIST_BROKEN"]);
      expect(actualLfhBlocks(run, p.heapAddress)).toEqual(expectedLfhBlocks(p.lfh));
      expect(run.heaps[0]!.data.lfh!.unclaimedHosts).toBe(3);
    }
  });

  it("a user-data header without its signature: that subsegment is skipped, the others are exact", async () => {
    let skipped = 0;
    const p = lfhProcess("win8.1", 64, {
      patch(poke, lfh) {
        skipped = lfh.expected[0]!.userBlocks;
        poke.u32(skipped + X64_WIN10.signature, 0x12345678);
      },
    });
    const run = await walkLfhProcess(p);
    expect(codes(run)).toEqual(["LFH_USERDATA_BAD"]);
    expect(actualLfhBlocks(run, p.heapAddress)).toEqual(expectedLfhBlocks(p.lfh).filter((b) => b.userBlocks !== skipped));
  });

  it("one subsegment encoded with another key is reported, its blocks still listed", async () => {
    const delta = 0x00ff00ff;
    const p = lfhProcess("win10", 64, {
      patch(poke, lfh) {
        const ub = lfh.expected.at(-1)!.userBlocks;
        for (const b of lfh.expected.filter((x) => x.userBlocks === ub))
          poke.u32(b.blockAddress + X64_WIN10.code, poke.r32(b.blockAddress + X64_WIN10.code) ^ delta);
        poke.u32(ub + X64_WIN10.encodedOffsets, poke.r32(ub + X64_WIN10.encodedOffsets) ^ delta);
      },
    });
    const run = await walkLfhProcess(p);
    expect(codes(run)).toEqual(["LFH_KEY_MISMATCH"]);
    expect(actualLfhBlocks(run, p.heapAddress)).toEqual(expectedLfhBlocks(p.lfh));
    expect(run.heaps[0]!.data.lfh!.key).toBe(p.lfh.key);
  });

  it("a hostile BlockCount is clamped to what fits in the host block", async () => {
    const p = lfhProcess("win7", 32, {
      patch(poke, lfh) {
        poke.u16(lfh.subsegments[0]! + X86_WIN7.blockCount, 0xffff);
      },
    });
    const run = await walkLfhProcess(p);
    expect(codes(run)).toContain("LFH_SUBSEGMENT_BAD");
    const heap = run.heaps[0]!;
    // the clamp keeps the walk inside the host: no LFH block leaves it
    const a = run.allocations;
    for (let i = 0; i < a.count; i++) {
      if ((a.flags(i) & AllocFlags.LFH) === 0) continue;
      const h = a.host(i);
      expect(a.blockAddress(i) + a.blockSize(i)).toBeLessThanOrEqual(a.blockAddress(h) + a.blockSize(h));
    }
    expect(heap.data.lfh!.subsegments).toBe(5);
  });

  it("user blocks partly missing from the dump: the readable blocks are kept", async () => {
    let gone: number[] = [];
    const p = lfhProcess("win10", 32, {
      hole(lfh) {
        const ub = lfh.expected.find((b) => b.blockSize === 128)!.userBlocks;
        const blocks = lfh.expected.filter((b) => b.userBlocks === ub);
        gone = [blocks[5]!.blockAddress, blocks[6]!.blockAddress];
        return { address: gone[0]!, size: 2 * 128 };
      },
    });
    const run = await walkLfhProcess(p);
    expect(codes(run)).toEqual(["LFH_NOT_CAPTURED"]);
    expect(actualLfhBlocks(run, p.heapAddress)).toEqual(expectedLfhBlocks(p.lfh).filter((b) => !gone.includes(b.blockAddress)));
  });

  it("checkHeaders: false lists a damaged header's block without checking it", async () => {
    const p = lfhProcess("win7", 64, {
      patch(poke, lfh) {
        const b = lfh.expected[3]!.blockAddress;
        poke.u32(b + 8, poke.r32(b + 8) ^ 0x100);
      },
    });
    const run = await walkLfhProcess(p, [heapNt(), heapLfh({ checkHeaders: false })]);
    expect(codes(run)).toEqual([]);
    expect(actualLfhBlocks(run, p.heapAddress)).toEqual(expectedLfhBlocks(p.lfh));
    const strict = await walkLfhProcess(p);
    expect(codes(strict)).toEqual(["LFH_BLOCK_HEADER_BAD"]);
  });

  for (const [nextIndex, code] of [
    [0x20000, "LFH_ZONE_BAD"],
    [5000, "LFH_NOT_CAPTURED"],
  ] as const) {
    it(`a zone claiming ${nextIndex} subsegments is skipped (${code}); its hosts are walked from their headers`, async () => {
      const p = lfhProcess("win10", 64, {
        perZone: 2,
        patch(poke, lfh) {
          poke.u32(lfh.zones[1]! + 0x10, nextIndex);
        },
      });
      const run = await walkLfhProcess(p);
      expect(codes(run)).toEqual([code, "LFH_HOST_UNCLAIMED"].sort());
      expect(actualLfhBlocks(run, p.heapAddress)).toEqual(expectedLfhBlocks(p.lfh));
      expect(run.heaps[0]!.data.lfh!.unclaimedHosts).toBe(2);
    });
  }

  it("rejects unknown options before any dump is opened", () => {
    // @ts-expect-error an unknown option does not compile either
    expect(() => heapLfh({ nope: true })).toThrow(PluginOptionsError);
    expect(heapLfh({ checkHeaders: false }).name).toBe("heap-lfh");
  });
});
