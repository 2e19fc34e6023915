import { describe, expect, it } from "vitest";
import { BytesAddressSpace } from "@leakscope/core";
import { bigPagesLayout, readBigPool } from "../src/index.js";

/** A tag as the little-endian dword the tables store. */
const tagKey = (tag: string): number => (tag.charCodeAt(0) | (tag.charCodeAt(1) << 8) | (tag.charCodeAt(2) << 16) | (tag.charCodeAt(3) << 24)) >>> 0;

/** A PoolBigPageTable written with the field offsets of the listings, independently of the reader. */
function table(ptr: 4 | 8, build: number, entries: { va: number; tag: string; bytes: number; paged?: boolean; free?: boolean }[]) {
  // x86 {ULONG Va; ULONG Key; ULONG Pattern:8,PoolType:12,SlushSize:12; ULONG NumberOfBytes} = 0x10 ([SS] ntoskrnl 16299.15-x86, 19041.928-x86)
  // x64 {PVOID Va; ULONG Key; ULONG flags; SIZE_T NumberOfBytes} = 0x18, 0x20 from 22000 (+ProcessBilled)
  const stride = ptr === 4 ? 0x10 : build >= 22000 ? 0x20 : 0x18;
  const bytes = new Uint8Array(stride * entries.length);
  const v = new DataView(bytes.buffer);
  entries.forEach((e, i) => {
    const at = i * stride;
    if (ptr === 4) {
      v.setUint32(at, e.va | (e.free ? 1 : 0), true);
      v.setUint32(at + 4, tagKey(e.tag), true);
      v.setUint32(at + 8, (e.paged ? 1 : 0) << 8, true);
      v.setUint32(at + 12, e.bytes, true);
    } else {
      v.setBigUint64(at, BigInt(e.va) | (e.free ? 1n : 0n), true);
      v.setUint32(at + 8, tagKey(e.tag), true);
      v.setUint32(at + 12, (e.paged ? 1 : 0) << 8, true);
      v.setBigUint64(at + 16, BigInt(e.bytes), true);
    }
  });
  return bytes;
}

describe("PoolBigPageTable entries per pointer size (D8)", () => {
  it("x86 entries are 0x10 bytes with 4-byte Va and NumberOfBytes", () => {
    expect(bigPagesLayout(19041, 4)).toEqual({ Va: 0, Key: 4, PoolType: 8, NumberOfBytes: 12, size: 0x10, ptr: 4 });
    expect(bigPagesLayout(19041, 8).size).toBe(0x18);
    expect(bigPagesLayout(22000, 8).size).toBe(0x20);
  });

  for (const [ptr, build] of [
    [4, 16299],
    [4, 19041],
    [8, 19041],
    [8, 22000],
  ] as const) {
    it(`${ptr === 4 ? "x86" : "x64"} ${build}: big allocations summed by tag, free entries skipped`, () => {
      const base = ptr === 4 ? 0x8100_0000 : 0x1_0000_0000;
      const va = ptr === 4 ? 0x8500_0000 : 0x7_0000_0000;
      const bytes = table(ptr, build, [
        { va, tag: "Big1", bytes: 0x3000 },
        { va: va + 0x10000, tag: "Big1", bytes: 0x5000, paged: true },
        { va: va + 0x20000, tag: "Big2", bytes: 0x2000 },
        { va: va + 0x30000, tag: "Big2", bytes: 0x9000, free: true },
        { va: 0, tag: "Zero", bytes: 0x1000 },
        { va: va + 0x40000, tag: "Big1", bytes: 0x1000 },
      ]);
      const space = new BytesAddressSpace([{ address: base, bytes }], ptr);
      const got = readBigPool(space, base, 6, build);
      expect(got.map((g) => [g.tag, g.nonPagedCount, g.nonPagedBytes, g.pagedCount, g.pagedBytes])).toEqual([
        ["Big1", 2, 0x4000, 1, 0x5000],
        ["Big2", 1, 0x2000, 0, 0],
      ]);
    });
  }
});
