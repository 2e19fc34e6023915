import { readFileSync } from "node:fs";
import { parseAddress } from "@leakscope/core";
import { sharedFile } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import {
  type HeapAddressBlock,
  type HeapDetailBlock,
  type HeapFilterBlock,
  type HeapListingBlock,
  type HeapStatBlock,
  type HeapSummaryBlock,
  type PoolUsedBlock,
  blocksOfKind,
  parseWindbgLog,
  recomputeRangeTable,
} from "../src/index.js";

const seed000 = sharedFile("seeds/000_34eaf19305ece164.txt");
const seed003 = sharedFile("seeds/003_b2032f33e9a1bbb6.txt");

describe("seed 000 (x86 !heap -s, -stat, -flt s)", () => {
  it.skipIf(!seed000.present)("parses the !heap -s table exactly", () => {
    const s = parseWindbgLog(readFileSync(seed000.path));
    expect(s.markdown).toBe(true);
    expect(s.diagnostics).toEqual([]);
    const [summary] = blocksOfKind(s, "heapSummary") as [HeapSummaryBlock];
    expect(summary.prompt).toBe("0:000>");
    expect(summary.lfhKey).toBe("0xc029131e");
    expect(summary.terminationOnCorruption).toBe("DISABLED");
    const rows = summary.heaps.map((h) => [h.address, h.flags, h.reservedK, h.committedK, h.virtualK, h.freeK, h.listLength, h.ucrs, h.virtualBlocks, h.lockContention, h.fastHeap]);
    expect(rows).toEqual([
      [0x00d40000, 0x2, 78796, 62424, 78584, 4750, 1123, 74, 2, 0x5a, "LFH"],
      [0x00d10000, 0x1002, 1292, 404, 1080, 26, 22, 2, 0, 0, "LFH"],
      [0x028a0000, 0x1002, 750640, 749024, 750428, 1574, 2353, 249, 6, 0x565c, "LFH"],
      [0x04260000, 0x1002, 60, 20, 60, 5, 1, 1, 0, 0, ""],
      [0x08ab0000, 0x1002, 1292, 532, 1080, 115, 14, 2, 0, 0, "LFH"],
      [0x0df60000, 0x1002, 60, 8, 60, 3, 1, 1, 0, 0, ""],
      [0x20e30000, 0x1002, 1292, 536, 1080, 219, 9, 2, 0, 0, "LFH"],
      [0x258e0000, 0x1002, 1292, 108, 1080, 31, 9, 2, 0, 4, "LFH"],
      [0x22460000, 0x1002, 1292, 132, 1080, 43, 9, 2, 0, 0, "LFH"],
      [0x25490000, 0x1002, 272, 64, 60, 20, 8, 1, 0, 0x25, "LFH"],
    ]);
    expect(summary.heaps.map((h) => h.lfh)).toEqual([true, true, true, false, true, false, true, true, true, true]);
  });

  it.skipIf(!seed000.present)("parses every !heap -stat group and the -flt s 40000 row", () => {
    const s = parseWindbgLog(readFileSync(seed000.path));
    const [stat] = blocksOfKind(s, "heapStat") as [HeapStatBlock];
    expect(stat.tables).toHaveLength(1);
    const table = stat.tables[0]!;
    expect(table.heap).toBe(0x028a0000);
    expect(table.groupBy).toBe("TOTSIZE");
    expect(table.maxDisplay).toBe(20);
    expect(table.groups.map((g) => [g.size, g.count, g.total, g.percent])).toEqual([
      [0x40000, 1, 0x40000, 18.15],
      [0x44, 0xa95, 0x2cf94, 12.75],
      [0x50, 0x358, 0x10b80, 4.74],
      [0xf000, 1, 0xf000, 4.25],
      [0x1000, 0xd, 0xd000, 3.69],
      [0x30, 0x455, 0xcff0, 3.68],
      [0x18, 0x87a, 0xcb70, 3.6],
      [0x24, 0x568, 0xc2a0, 3.45],
      [0x6004, 2, 0xc008, 3.4],
      [0x2c, 0x3d4, 0xa870, 2.98],
      [0x80, 0x120, 0x9000, 2.55],
      [0xcc, 0xb1, 0x8d0c, 2.5],
      [0xa0, 0xc9, 0x7da0, 2.23],
      [0x300, 0x20, 0x6000, 1.7],
      [0x14, 0x496, 0x5bb8, 1.63],
      [0x220, 0x29, 0x5720, 1.54],
      [0x214, 0x26, 0x4ef8, 1.4],
      [0x3c, 0x12a, 0x45d8, 1.24],
      [0x10, 0x437, 0x4370, 1.19],
      [0x4020, 1, 0x4020, 1.14],
    ]);
    const [flt] = blocksOfKind(s, "heapFilter") as [HeapFilterBlock];
    expect(flt.filter).toEqual({ by: "size", size: 0x40000 });
    expect(flt.heaps.map((h) => h.address)).toEqual([0xd40000, 0xd10000, 0x28a0000]);
    expect(flt.entries).toHaveLength(1);
    expect(flt.entries[0]).toMatchObject({
      entry: 0x029d1b78,
      user: 0x029d1b80,
      sizeGranules: 0x8001,
      prevGranules: 0,
      granularity: 8,
      size: 0x8001 * 8,
      flags: 0,
      state: "busy",
      requestedSize: 0x40000,
    });
  });
});

describe("seed 003 (WoW64 x86 and x64 session, plus kernel !poolused)", () => {
  it.skipIf(!seed003.present)("splits every command block and explains every line but one registry path", () => {
    const s = parseWindbgLog(readFileSync(seed003.path));
    expect(s.blocks.map((b) => [b.kind, b.command])).toEqual([
      ["other", "gflags.exe /i ConsoleApplication4.exe +ust"],
      ["unknown", undefined],
      ["gflag", "!gflag"],
      ["other", ".effmach x86"],
      ["heapSummary", "!heap -s"],
      ["heapDetail", "!exts.heap -s -h 00000000007a0000"],
      ["heapFilter", "!heap -flt r 1 10000"],
      ["heapListing", "!heap  -h 007a0000"],
      ["heapListing", undefined],
      ["heapEntryTable", "!heap -x 7b4d80"],
      ["heapAddress", "!heap -p -a 7b4d98"],
      ["heapFilter", "!heap -flt r 0n16384-1 0n17408"],
      ["heapFilter", "!heap -flt r 0n16384-1 0n17408"],
      ["heapAddress", "!heap -p -a 000002049bf29290"],
      ["poolUsed", "!poolused 2"],
      ["poolUsed", "!poolused 2"],
    ]);
    // The only thing not understood: a registry key path the author pasted in a code fence.
    expect(s.diagnostics.map((d) => [d.code, d.location?.line])).toEqual([["WINDBG_TEXT_UNRECOGNISED_TEXT", 18]]);
    const gflag = blocksOfKind(s, "gflag")[0]!;
    expect(gflag.flags).toBe(0x1000);
    expect(gflag.flags2).toBe(0);
    expect(gflag.enabled.map((e) => e.abbreviation)).toEqual(["ust"]);
    const summary = blocksOfKind(s, "heapSummary")[0]!;
    expect(summary.prompt).toBe("0:000:x86>");
    expect(summary.debuggingAids).toEqual(["stack back traces"]);
    expect(summary.heaps).toHaveLength(1);
    expect(summary.heaps[0]).toMatchObject({ address: 0x7a0000, flags: 0x08000002, reservedK: 4296, committedK: 3892, virtualK: 4084, freeK: 392, listLength: 57, ucrs: 3, lfh: true });
  });

  it.skipIf(!seed003.present)("parses the !exts.heap -s -h detail view: header, LFH bucket table and range table", () => {
    const s = parseWindbgLog(readFileSync(seed003.path));
    const d = blocksOfKind(s, "heapDetail")[0] as HeapDetailBlock;
    expect(d).toMatchObject({
      heap: 0x7a0000,
      flags: 0x08000002,
      flagNames: ["HEAP_GROWABLE"],
      reservedK: 4084,
      committedK: 3884,
      virtualK: 4084,
      freeK: 392,
      freeBlocks: 57,
      externalFragmentationPercent: 10,
      virtualAddressFragmentationPercent: 4,
      uncommittedRanges: 3,
      virtualBlocks: 0,
      virtualBlocksK: 0,
      lockContention: 0,
      segments: 1,
    });
    expect(d.lfh).toMatchObject({ address: 0x630000, metadataUsageBytes: 2048, segmentsCreated: 3485, segmentsDeleted: 3457, segmentsReused: 0 });
    expect(d.lfh!.blockCache.map((c) => [c.index, c.size, c.first, c.second])).toEqual([
      [3, 1024, 3, 0],
      [4, 2048, 15, 1],
      [5, 4096, 7, 0],
      [6, 8192, 1, 0],
      [7, 16384, 1, 0],
      [9, 65536, 1, 0],
      [10, 131072, 1, 0],
    ]);
    expect(d.lfh!.buckets.map((b) => [b.size, b.blocks, b.segments, b.empty, b.affinity])).toEqual([
      [32, 93, 2, 0, 0], [40, 24, 1, 0, 0], [48, 123, 3, 0, 0], [56, 157, 5, 0, 0], [64, 31, 1, 0, 0],
      [72, 28, 1, 0, 0], [80, 25, 1, 1, 0], [88, 22, 1, 0, 0], [104, 19, 1, 1, 0], [112, 18, 1, 1, 0],
      [136, 29, 1, 1, 0], [168, 24, 1, 1, 0], [184, 22, 1, 1, 0], [232, 17, 1, 0, 0], [248, 16, 1, 1, 0],
      [264, 15, 1, 1, 0], [840, 9, 1, 1, 0], [872, 4, 1, 1, 0], [1032, 15, 1, 1, 0], [4360, 45, 2, 0, 0],
    ]);
    expect(d.lfh!.buckets[0]!.distribution).toHaveLength(16);
    expect(d.lfh!.buckets[0]!.distribution[0]).toEqual([2, 93]);
    expect(d.ranges.map((r) => [r.from, r.to, r.defaultBusy, r.defaultFree, r.frontBusy, r.frontFree, r.unusedTotal, r.unusedAverage])).toEqual([
      [0, 1024, 215, 23, 318, 358, 13235, 24],
      [1024, 2048, 6, 3, 0, 15, 121, 20],
      [2048, 3072, 3, 0, 0, 0, 78, 26],
      [3072, 4096, 1, 2, 0, 0, 24, 24],
      [4096, 5120, 5, 2, 26, 19, 5617, 181],
      [5120, 6144, 0, 1, 0, 0, 0, 0],
      [6144, 7168, 1, 0, 0, 0, 28, 28],
      [7168, 8192, 2, 1, 0, 0, 27, 13],
      [8192, 9216, 0, 6, 0, 0, 0, 0],
      [10240, 11264, 0, 1, 0, 0, 0, 0],
      [11264, 12288, 0, 3, 0, 0, 0, 0],
      [12288, 13312, 0, 1, 0, 0, 0, 0],
      [13312, 14336, 0, 3, 0, 0, 0, 0],
      [14336, 15360, 0, 1, 0, 0, 0, 0],
      [15360, 16384, 0, 9, 0, 0, 0, 0],
      [16384, 17408, 195, 0, 0, 0, 4875, 25],
      [61440, 62464, 0, 1, 0, 0, 0, 0],
    ]);
    expect(d.rangeTotal).toMatchObject({ defaultBusy: 428, defaultFree: 57, frontBusy: 344, frontFree: 392, unusedTotal: 24005, unusedAverage: 31 });
  });

  it.skipIf(!seed003.present)("free-block size ranges recomputed from !heap -h equal the Free column of !exts.heap -s -h", () => {
    const s = parseWindbgLog(readFileSync(seed003.path));
    const detail = blocksOfKind(s, "heapDetail")[0]!;
    const listing = blocksOfKind(s, "heapListing")[0] as HeapListingBlock;
    expect(listing.heaps).toHaveLength(1);
    const heap = listing.heaps[0]!;
    expect(heap.address).toBe(0x7a0000);
    expect(heap.index).toBe(1);
    expect(heap.granularity).toBe(8);
    expect(heap.segments.map((g) => [g.start, g.end, g.committed])).toEqual([
      [0x7a0000, 0x89f000, 0xff000],
      [0xcc0000, 0xdbf000, 0xff000],
      [0xdc0000, 0xfbf000, 0x1cd000],
    ]);
    const free = heap.entries.filter((e) => e.state === "free");
    expect(free).toHaveLength(57); // = "Free space 392 (k) (57 blocks)" and the FreeList[ 00 ] count
    const recomputed = recomputeRangeTable(heap.entries).filter((r) => r.free > 0).map((r) => [r.from, r.free]);
    const printed = detail.ranges.filter((r) => r.defaultFree > 0).map((r) => [r.from, r.defaultFree]);
    expect(recomputed).toEqual(printed);
    // Total free bytes: "Total Free Size: 0000c44b" granules of 8 bytes.
    expect(free.reduce((n, e) => n + e.size, 0)).toBe(0xc44b * 8);
    // The 0x3fff-byte suspects: blocks of 0x4018 bytes requesting 0x3fff.
    expect(heap.entries.filter((e) => e.state === "busy" && e.requestedSize === 0x3fff)).toHaveLength(195);
    expect(heap.entries.at(-1)).toMatchObject({ entry: 0xf8d000, size: 0x32000, state: "uncommitted" });
    // Entries are attributed to their heap and to the segment that holds them.
    const segStarts = new Map<number, number>();
    for (const e of heap.entries) segStarts.set(e.segment ?? -1, (segStarts.get(e.segment ?? -1) ?? 0) + 1);
    expect([...segStarts.keys()]).toEqual([0x7a0000, 0xcc0000, 0xdc0000]);
    expect(heap.entries.find((e) => e.line === 512)).toMatchObject({ entry: 0xcc0000, segment: 0xcc0000, heap: 0x7a0000, size: 0x40, requestedSize: 0x3f });
  });

  it.skipIf(!seed003.present)("parses !heap -x and the !heap -p -a stacks", () => {
    const s = parseWindbgLog(readFileSync(seed003.path));
    const x = blocksOfKind(s, "heapEntryTable")[0]!;
    expect(x.mode).toBe("x");
    expect(x.entries).toEqual([
      expect.objectContaining({ entry: 0x7b4d80, user: 0x7b4d98, heap: 0x7a0000, segment: 0x7a0000, size: 0x4018, prevSize: 0xf8, unused: 0x19, requestedSize: 0x3fff, state: "busy" }),
    ]);
    const [x86, x64] = blocksOfKind(s, "heapAddress") as [HeapAddressBlock, HeapAddressBlock];
    expect(x86.address).toBe(0x7b4d98);
    expect(x86.stack).toEqual([]);
    expect(x64.address).toBe(parseAddress("000002049bf29290"));
    expect(x64.heap).toBe(0x2049b870000);
    expect(x64.entry).toMatchObject({ entry: 0x2049bf29260, user: 0x2049bf29290, sizeGranules: 0x403, granularity: 16, size: 0x4030, requestedSize: 0x3fff, state: "busy" });
    expect(x64.stack.map((f) => f.text.split(" ")[1])).toEqual([
      "ntdll!RtlpCallInterceptRoutine+0x00000000000002ac",
      "ntdll!RtlpAllocateNTHeapInternal+0x0000000000000525",
      "ntdll!RtlAllocateHeap+0x0000000000000ad4",
      "ConsoleApplication4!main+0x0000000000000069",
      "ConsoleApplication4!__scrt_common_main_seh+0x000000000000010c",
      "kernel32!BaseThreadInitThunk+0x0000000000000017",
      "ntdll!RtlUserThreadStart+0x000000000000002c",
    ]);
    expect(x64.stack[3]).toEqual({
      address: 0x7ff73d131119,
      module: "ConsoleApplication4",
      symbol: "main",
      offset: 0x69,
      text: "7ff73d131119 ConsoleApplication4!main+0x0000000000000069",
    });
    // The interleaved checksum warning is noise, recorded as a note.
    expect(x64.notes.some((n) => n.kind === "warning" && n.text.includes("Unable to verify checksum"))).toBe(true);
  });

  it.skipIf(!seed003.present)("parses the x64 -flt r listings (0x3fff-byte blocks)", () => {
    const s = parseWindbgLog(readFileSync(seed003.path));
    const flt = blocksOfKind(s, "heapFilter");
    expect(flt[0]!.filter).toEqual({ by: "range", min: 1, max: 0x10000 });
    expect(flt[0]!.entries).toEqual([]);
    const [first, second] = [flt[1]!, flt[2]!];
    expect(first.filter).toEqual({ by: "range", min: 16383, max: 17408 });
    for (const b of [first, second]) {
      expect(b.heaps.map((h) => h.address)).toEqual([0x2049b870000]);
      expect(b.entries.every((e) => e.heap === 0x2049b870000)).toBe(true);
      expect(b.entries.every((e) => e.requestedSize === 0x3fff && e.sizeGranules === 0x403 && e.size === 0x4030 && e.state === "busy")).toBe(true);
    }
    expect(first.entries).toHaveLength(135);
    expect(second.entries).toHaveLength(135);
    expect(second.entries.some((e) => e.user === 0x2049bf29290)).toBe(true);
  });

  it.skipIf(!seed003.present)("parses the !poolused 2 rows in the same file", () => {
    const s = parseWindbgLog(readFileSync(seed003.path));
    const pool = blocksOfKind(s, "poolUsed")[1] as PoolUsedBlock;
    expect(pool.prompt).toBe("0: kd>");
    expect(pool.flags).toBe(2);
    expect(pool.sortedBy).toBe("nonpaged");
    expect(pool.layout).toBe("modern");
    expect(pool.rows.map((r) => [r.tag, r.nonPagedAllocs, r.nonPagedBytes, r.pagedAllocs, r.pagedBytes, r.description, r.binary ?? null])).toEqual([
      ["Proc", 156248, 579970176, 0, 0, "Process objects", "nt!ps"],
      ["AleS", 158070, 547714832, 0, 0, "ALE token info", "tcpip.sys"],
      ["AleE", 497149, 381811008, 0, 0, "ALE endpoint context", "tcpip.sys"],
      ["MiP2", 156230, 102486880, 0, 0, "UNKNOWN pooltag 'MiP2', please update pooltag.txt", null],
      ["Even", 693888, 88845568, 0, 0, "Event objects", null],
      ["AleP", 155814, 84748144, 0, 0, "ALE process image path", "tcpip.sys"],
      ["MFE0", 422194, 50086096, 0, 0, "UNKNOWN pooltag 'MFE0', please update pooltag.txt", null],
      ["_LFK", 42505, 48965760, 0, 0, "UNKNOWN pooltag '_LFK', please update pooltag.txt", null],
    ]);
    expect(pool.rows.filter((r) => r.unknownTag).map((r) => r.tag)).toEqual(["MiP2", "MFE0", "_LFK"]);
    expect(pool.notes.filter((n) => n.kind === "readError")).toHaveLength(2);
  });
});
