import { readFileSync } from "node:fs";
import { sharedFile } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { type WindbgSession, blocksOfKind, parseWindbgLog } from "../src/index.js";

function load(name: string): { present: boolean; parse: () => WindbgSession } {
  const f = sharedFile(`data/windbg-samples/${name}`);
  return { present: f.present, parse: () => parseWindbgLog(readFileSync(f.path), { file: name }) };
}

const only = blocksOfKind;

/** Frame texts without their leading return address. */
function symbols(frames: { module?: string; symbol?: string; offset?: number }[]): string[] {
  return frames.map((f) => `${f.module ?? ""}${f.symbol !== undefined ? "!" + f.symbol : ""}+0x${(f.offset ?? NaN).toString(16)}`);
}

describe("windbg-samples: every file parses with nothing unexplained", () => {
  const heapA = load("heap-a_x86_xp_msdocs.txt");
  it.skipIf(!heapA.present)("heap-a_x86_xp_msdocs: XP !ntsdexts.heap -a with tag names, fill flags and free lists", () => {
    const s = heapA.parse();
    expect(s.diagnostics).toEqual([]);
    const [b] = only(s, "heapListing");
    expect(b!.command).toBe("!ntsdexts.heap -a");
    expect(b!.elided).toBe(true);
    const h = b!.heaps[0]!;
    expect(h).toMatchObject({ index: 1, address: 0x250000, flags: 0x50000062, granularity: 8 });
    expect(h.fields["Total Free Size"]).toBe("000003be");
    expect(h.segments).toEqual([expect.objectContaining({ start: 0x250000, end: 0x350000, committed: 0x56000 })]);
    expect(h.uncommittedRanges).toEqual([expect.objectContaining({ address: 0x2a6000, size: 0xaa000 })]);
    expect(h.freeListEntries.map((e) => [e.list, e.entry, e.size])).toContainEqual([4, 0x269a00, 0x20]);
    expect(h.freeListEntries).toHaveLength(13);
    expect(h.entries[2]).toMatchObject({ entry: 0x250bc8, prevSize: 0x38, size: 0x40, flags: 7, state: "busy", requestedSize: 0x24, tag: "NTDLL!LDR Database" });
    const freeFill = h.entries.find((e) => e.entry === 0x25cda0)!;
    expect(freeFill).toMatchObject({ state: "free", flags: 6, tag: "NTDLL!Temporary" });
    expect(h.entries.filter((e) => e.state === "free").map((e) => e.entry)).toEqual([0x2527b0, 0x25cda0, 0x2a4370]);
    expect(h.entries.at(-1)).toMatchObject({ entry: 0x2a6000, size: 0xaa000, state: "uncommitted" });
  });

  const heapL = load("heap-l_x86_xp_msdocs.txt");
  it.skipIf(!heapL.present)("heap-l_x86_xp_msdocs: !heap -l leak candidates (the count can exceed the rows)", () => {
    const s = heapL.parse();
    expect(s.diagnostics).toEqual([]);
    const [b] = only(s, "heapEntryTable");
    expect(b!.mode).toBe("l");
    expect(b!.prompt).toBe("1:0:011>");
    expect(b!.heapsScanned).toEqual([0x170000, 0x280000, 0x520000, 0xb50000, 0xc60000, 0x1420000, 0x1550000, 0x16d0000, 0x19b0000, 0x1b40000]);
    expect(b!.reportedCount).toBe(21);
    expect(b!.entries).toHaveLength(21);
    expect(b!.entries[0]).toMatchObject({ entry: 0x1b2958, user: 0x1b2960, heap: 0x170000, segment: 0, size: 0x40, prevSize: 0x18, flagWords: ["busy", "extra"], state: "busy" });
    expect(b!.entries[18]!.flagWords).toEqual(["busy", "extra", "user_flag"]);
    expect(b!.entries.filter((e) => e.heap === 0x520000)).toHaveLength(2);
  });

  const umdhDiff = load("umdh-diff-log_msdocs.txt");
  it.skipIf(!umdhDiff.present)("umdh-diff-log_msdocs: comparison line, total and a resolved record", () => {
    const s = umdhDiff.parse();
    expect(s.diagnostics).toEqual([]);
    const [b] = only(s, "umdhDiff");
    expect(b!.command).toBeUndefined();
    expect(b!.records).toEqual([expect.objectContaining({ bytesDelta: 0x5320, newBytes: 0xf110, oldBytes: 0x9df0, allocs: 0x3a, backtraceId: "00B53" })]);
    expect(b!.totalIncrease).toBe(0x5320);
    expect(b!.resolved).toHaveLength(1);
    const r = b!.resolved[0]!;
    expect(r).toMatchObject({ bytes: 0x5320, count: 0x14, at: 0x428, backtraceId: "00B53" });
    expect(symbols(r.stack)).toEqual([
      "ntdll!RtlDebugAllocateHeap+0xfd",
      "ntdll!RtlAllocateHeapSlowly+0x5a",
      "ntdll!RtlAllocateHeap+0x808",
      "MyApp!_heap_alloc_base+0x69",
      "MyApp!_heap_alloc_dbg+0x1a2",
      "MyApp!_nh_malloc_dbg+0x23",
      "MyApp!_nh_malloc+0x16",
      "MyApp!operator new+0xe",
      "MyApp!DisplayMyGraphics+0x1e",
      "MyApp!main+0x2c",
      "MyApp!mainCRTStartup+0xfc",
      "KERNEL32!BaseProcessStart+0x3d",
    ]);
  });

  const umdhV = load("umdh-v_x86_vista-7_aiocf.txt");
  it.skipIf(!umdhV.present)("umdh-v_x86_vista-7_aiocf: umdh -v output with TABs and source-line suffixes", () => {
    const s = umdhV.parse();
    expect(s.diagnostics).toEqual([]);
    const [b] = only(s, "umdhDiff");
    expect(b!.records).toEqual([expect.objectContaining({ bytesDelta: 0x2018, newBytes: 0x2018, oldBytes: 0, countDelta: 1, newCount: 1, oldCount: 0, backtraceId: "73F28" })]);
    const stack = b!.stacks["73F28"]!;
    expect(stack).toHaveLength(18);
    expect(stack[0]).toMatchObject({ module: "ntdll", symbol: "RtlAllocateHeap", offset: 0x274 });
    expect(stack[11]).toMatchObject({ module: "CppResourceLeaks", symbol: "LeakHeapMemory", offset: 0x3d, file: "...\\cppresourceleaks.cpp", sourceLine: 221 });
  });

  const addrOld = load("address-summary_x86_xp_aiocf.txt");
  it.skipIf(!addrOld.present)("address-summary_x86_xp_aiocf: old RegionUsage layout", () => {
    const s = addrOld.parse();
    expect(s.diagnostics).toEqual([]);
    const [b] = only(s, "addressSummary");
    expect(b!.layout).toBe("old");
    expect(b!.rows.filter((r) => r.section === "usage")).toHaveLength(10);
    expect(b!.rows.find((r) => r.name === "RegionUsageHeap")).toMatchObject({ size: 0x2f760000, percentTotal: 37.08, percentBusy: 97.01 });
    expect(b!.rows.find((r) => r.name === "MEM_PRIVATE")).toMatchObject({ section: "type", size: 0x30968000, percentTotal: 37.96 });
    expect(b!.rows.find((r) => r.name === "MEM_RESERVE")).toMatchObject({ section: "state", size: 0x19ef000 });
    expect(b!.total).toBe(0x7fff0000);
    expect(b!.busy).toBe(0x30ebe000);
    expect(b!.largestFree).toEqual({ base: 0x30f00000, size: 0x2a970000 });
  });

  const sax = load("heap-s-a-x_x86_xp-vista_aiocf.txt");
  it.skipIf(!sax.present)("heap-s-a-x_x86_xp-vista_aiocf: old !heap -s with L marker, !heap -a fragment, !heap -x -v", () => {
    const s = sax.parse();
    expect(s.diagnostics).toEqual([]);
    const [sum] = only(s, "heapSummary");
    expect(sum!.heaps.map((h) => [h.address, h.reservedK, h.committedK, h.fastHeap, h.lfh])).toEqual([
      [0x150000, 16384, 16352, "L", false],
      [0x250000, 64, 12, "", false],
      [0x380000, 64, 44, "L", false],
    ]);
    const [list] = only(s, "heapListing");
    expect(list!.elided).toBe(true);
    expect(list!.heaps[0]!.address).toBe(0x120000);
    expect(list!.heaps[0]!.entries).toHaveLength(9);
    expect(list!.heaps[0]!.entries.every((e) => e.size === 0x200 && e.requestedSize === 0x1f4)).toBe(true);
    const [x] = only(s, "heapEntryTable");
    expect(x!.entries[0]).toMatchObject({ entry: 0x246c40, user: 0x246c48, heap: 0x150000, segment: 0x150640, size: 0x200, prevSize: 0x200, unused: 0xc, requestedSize: 0x1f4 });
    expect(x!.searchRange).toEqual({ from: 0x246c40, to: 0x246e3f });
  });

  const phXp = load("heap-p-a_pageheap_x86_xp_aiocf.txt");
  it.skipIf(!phXp.present)("heap-p-a_pageheap_x86_xp_aiocf: !address <addr> and a busy page-heap block", () => {
    const s = phXp.parse();
    expect(s.diagnostics).toEqual([]);
    const [info] = only(s, "addressInfo");
    expect(info!.fields["Usage"]).toBe("PageHeap");
    expect(info!.fields["Region Size"]).toBe("00001000");
    expect(info!.fields["More info"]).toBe("!heap -p 0x150000; !heap -p -a 0xb768e08");
    const [a] = only(s, "heapAddress");
    expect(a).toMatchObject({ address: 0xb768e08, heap: 0x151000, pageHeap: true });
    expect(a!.pageHeapBlock).toMatchObject({ block: 0xb72e700, user: 0xb768e08, userSize: 0x1f4, virtualAddress: 0xb768000, virtualSize: 0x2000, state: "busy" });
    expect(symbols(a!.stack)).toEqual(["ntdll!RtlAllocateHeap+0xe9f", "vfbasics!AVrfpRtlAllocateHeap+0xb1"]);
    expect(a!.stack[0]!.address).toBe(0x7c83d9aa);
  });

  const win7 = load("heap-a-m-s_x86_win7_aiocf.txt");
  it.skipIf(!win7.present)("heap-a-m-s_x86_win7_aiocf: corrupt heap listings, !heap -m, old !address, !heap -s with affinity block", () => {
    const s = win7.parse();
    expect(s.diagnostics).toEqual([]);
    const lists = only(s, "heapListing");
    expect(lists).toHaveLength(3);
    const h1 = lists[0]!.heaps[0]!;
    expect(h1).toMatchObject({ index: 9, address: 0xc10000, flags: 0x1002 });
    expect(h1.uncommittedRanges).toEqual([expect.objectContaining({ address: 0xc11000, size: 0x3f000 })]);
    expect(h1.freeListEntries.map((e) => [e.entry, e.size])).toEqual([[0xc107c0, 0x18], [0xc107f8, 0x7e8]]);
    expect(h1.entries.at(-1)).toMatchObject({ entry: 0xc107d8, prevSize: 0x43c88, size: 0x24238, flags: 0x41, state: "busy", extra: "user flags (2)" });
    expect(lists[0]!.notes.some((n) => n.kind === "readError")).toBe(true);
    expect(lists[1]!.elided).toBe(true);
    expect(lists[1]!.heaps[0]).toMatchObject({ index: 5, address: 0x970000 });
    const h3 = lists[2]!.heaps[0]!;
    expect(h3.entries.map((e) => e.state)).toEqual(["busy", "busy", "free", "busy", "free", "free", "busy", "uncommitted"]);
    expect(lists[2]!.notes.some((n) => n.kind === "readError" && n.text.includes("_HEAP_FREE_ENTRY"))).toBe(true);
    const [info] = only(s, "addressInfo");
    expect(info!.fields).toMatchObject({ "Base Address": "00460000", "Region Size": "00025000", Usage: "RegionUsageHeap", Type: "00020000 MEM_PRIVATE" });
    const [sum] = only(s, "heapSummary");
    expect(sum!.lfhKey).toBe("0x28cc5a6e");
    expect(sum!.heaps).toHaveLength(8);
    expect(sum!.heaps[0]).toMatchObject({ address: 0x460000, reservedK: 1024, committedK: 148, freeK: 13, lfh: true });
  });

  const pyumdh = load("umdh-log_x86_wow64_win7_pyumdh.txt");
  it.skipIf(!pyumdh.present)("umdh-log_x86_wow64_win7_pyumdh: raw UMDH snapshot with module list, two heaps and raw stacks", () => {
    const s = pyumdh.parse();
    expect(s.diagnostics).toEqual([]);
    const [b] = only(s, "umdhLog");
    expect(b!.header).toEqual({ version: "6.1.7650.0", logTime: "2012-04-30 12:09", machine: "HCE-C2SFLQ1", pid: 7696, osVersion: "6.1" });
    expect(b!.modules).toHaveLength(17);
    expect(b!.modules[1]).toMatchObject({ base: 0x77650000, size: 0x180000, path: "C:\\Windows\\SysWOW64\\ntdll.dll" });
    expect(b!.heaps.map((h) => h.address)).toEqual([0x2e60000, 0x1d890000]);
    expect(b!.allocations).toHaveLength(9);
    expect(b!.allocations[0]).toMatchObject({ requested: 0x64, overhead: 0x1c, address: 0x2e9fa20, backtraceId: "18D0A0D0", heap: 0x2e60000 });
    expect(b!.allocations.filter((a) => a.backtraceId === "1AF07D3C")).toHaveLength(3);
    expect(Object.keys(b!.stacks)).toEqual(["18D0A0D0", "1AF06BFC", "1AF07D3C", "1AF083B4", "1AF0B99C"]);
    expect(b!.stacks["18D0A0D0"]).toHaveLength(32);
    expect(b!.stacks["18D0A0D0"]![0]!.address).toBe(0x776cdd82);
    expect(b!.stacks["1AF07D3C"]).toEqual([]); // printed once per id: none printed for this one
  });

  const freed = load("heap-p-a_pageheap-freed_x86_wow64_win11-24h2_freeimagecrash.txt");
  it.skipIf(!freed.present)("heap-p-a_pageheap-freed: freed page-heap block with a 21-frame free stack", () => {
    const s = freed.parse();
    expect(s.diagnostics).toEqual([]);
    const [a] = only(s, "heapAddress");
    expect(a).toMatchObject({ address: 0x6724ff8, heap: 0x3d71000, pageHeap: true });
    expect(a!.pageHeapBlock).toMatchObject({ block: 0x65c29c0, virtualAddress: 0x6724000, virtualSize: 0x2000, state: "free" });
    expect(a!.stack).toHaveLength(21);
    expect(a!.stack[5]).toMatchObject({ module: "FreeImaged", symbol: "_free_base", offset: 0x27, file: "minkernel\\crts\\ucrt\\src\\appcrt\\heap\\free_base.cpp", sourceLine: 105 });
    expect(a!.stack[10]).toEqual({ address: 0x10006f2b, offset: 0x3b, text: "10006f2b +0x0000003b" });
    expect(a!.stack[12]).toMatchObject({ symbol: "loadRLE<16>", sourceLine: 597 });
    expect(a!.stack[16]).toMatchObject({ module: "Freeimage_test", symbol: "main", offset: 0x1d3 });
  });

  const zhaolingxi = load("gflag-heap-a_x64_win10-11_zhaolingxi.txt");
  it.skipIf(!zhaolingxi.present)("gflag-heap-a_x64_win10-11_zhaolingxi: !gflag hpa, lm, modern heap list, g, modern x64 !heap -a", () => {
    const s = zhaolingxi.parse();
    expect(s.diagnostics).toEqual([]);
    expect(s.blocks.map((b) => b.kind)).toEqual(["gflag", "moduleList", "heapListing", "other", "heapListing", "heapListing"]);
    const [g] = only(s, "gflag");
    expect(g!.flags).toBe(0x02000000);
    expect(g!.enabled).toEqual([expect.objectContaining({ abbreviation: "hpa", description: "Place heap allocations at ends of pages" })]);
    const [lm] = only(s, "moduleList");
    expect(lm!.modules).toHaveLength(9);
    expect(lm!.modules[0]).toMatchObject({ start: 0x7ff78b8f0000, end: 0x7ff78b917000, name: "windbg_leak" });
    const lists = only(s, "heapListing");
    expect(lists[1]!.heaps.map((h) => [h.address, h.heapType])).toEqual([
      [0x2b0a3bb0000, "NT Heap"], [0x2b0a3ae0000, "NT Heap"], [0x2b0a1190000, "NT Heap"], [0x2b0a3b90000, "NT Heap"],
    ]);
    const h = lists[2]!.heaps[0]!;
    expect(h).toMatchObject({ index: 4, address: 0x2b0a3b90000, granularity: 16, flags: 0x1002 });
    expect(h.entries.map((e) => [e.entry, e.size, e.state, e.requestedSize ?? null])).toEqual([
      [0x2b0a3b90000, 0x740, "busy", 0x73f],
      [0x2b0a3b90740, 0x110, "internal", 0x10f],
      [0x2b0a3b90850, 0x1770, "free", null],
      [0x2b0a3b91fc0, 0x40, "busy", 0x3d],
      [0x2b0a3b92000, 0xd000, "uncommitted", null],
    ]);
    expect(lists[2]!.notes.some((n) => n.kind === "debugger" && n.text.startsWith("HEAPEXT:"))).toBe(true);
  });

  const terminal = load("heap-s_segmentheap_x64_win10-11_terminal16217.txt");
  it.skipIf(!terminal.present)("heap-s_segmentheap_x64: the segment-heap !heap -s table", () => {
    const s = terminal.parse();
    expect(s.diagnostics).toEqual([]);
    const [b] = only(s, "heapSummary");
    expect(b!.heaps).toEqual([]);
    expect(b!.segmentHeaps.map((h) => [h.address, h.signature, h.globalFlags, h.processHeapListIndex, h.reservedK, h.committedK])).toEqual([
      [0x18221990000, 0xddeeddee, 0, 1, 67716, 36452],
      [0x18223470000, 0xddeeddee, 0x1000, 3, 2683012, 2020796],
      [0x182234a0000, 0xddeeddee, 0x1000, 4, 1156, 32],
      [0x1822f430000, 0xddeeddee, 0x1000, 7, 1156, 28],
      [0x1822f490000, 0xddeeddee, 0x1000, 8, 1156, 48],
      [0x1822ff13000, 0xddeeddee, 0x1000, 9, 1156, 36],
    ]);
  });

  const rublog = load("heap-stat-flt-p-a_pageheap_x64_win10-11_rublog.txt");
  it.skipIf(!rublog.present)("heap-stat-flt-p-a_pageheap_x64 (rublog): kd> prompts, -stat -h 0, page-heap -flt s and -p -a", () => {
    const s = rublog.parse();
    expect(s.diagnostics).toEqual([]);
    expect(s.blocks.map((b) => b.kind)).toEqual(["heapAddress", "heapStat", "heapStat", "heapFilter", "heapAddress"]);
    expect(s.blocks[0]!.prompt).toBe("kd>");
    const [first, last] = only(s, "heapAddress");
    expect(first!.pageHeapBlock).toMatchObject({ block: 0x282bfd17478, user: 0x282bff41000, userSize: 0x2000, virtualAddress: 0x282bff40000, virtualSize: 0x4000 });
    expect(first!.notes.some((n) => n.kind === "readError")).toBe(true);
    expect(first!.stack[3]).toEqual({ address: 0x7ff72cfa107a, offset: 0x7ff72cfa107a, text: "00007ff72cfa107a +0x00007ff72cfa107a" });
    expect(symbols(last!.stack).slice(3, 5)).toEqual(["ucrtbase!_malloc_base+0x36", "threads+0x1717"]);
    const stats = only(s, "heapStat");
    expect(stats[0]!.tables.map((t) => [t.heap, t.groups.length])).toEqual([[0x21a6eb40000, 20], [0x21a6e8e0000, 0]]);
    expect(stats[1]!.tables[0]!.groups[0]).toMatchObject({ size: 0x2625a00, count: 1, total: 0x2625a00, percent: 99.89 });
    const [flt] = only(s, "heapFilter");
    expect(flt!.heaps.map((h) => [h.address, h.pageHeap])).toEqual([
      [0x297e9ed1000, true], [0x297eaf60000, false], [0x297eb061000, true], [0x297ec160000, false],
    ]);
    expect(flt!.pageHeapBlocks).toEqual([
      expect.objectContaining({ block: 0x297e9edb068, user: 0x297ec170600, userSize: 0x2625a00, virtualAddress: 0x297ec170000, virtualSize: 0x2627000, state: "busy" }),
    ]);
  });

  const zhnotes = load("heap-s-stat-flt_x86_wow64_win10-1709_zhnotes.txt");
  it.skipIf(!zhnotes.present)("heap-s-stat-flt_x86_wow64 (zhnotes): 64-bit and 32-bit views, -stat, ?, busy VirtualAlloc -flt rows", () => {
    const s = zhnotes.parse();
    expect(s.diagnostics).toEqual([]);
    expect(s.blocks.map((b) => b.kind)).toEqual(["heapSummary", "heapListing", "heapSummary", "heapStat", "evaluate", "heapFilter", "heapAddress", "heapListing"]);
    const sums = only(s, "heapSummary");
    expect(sums[0]!.heaps.map((h) => h.address)).toEqual([0x2cc0000, 0x780000]);
    expect(sums[1]!.heaps[0]).toMatchObject({ address: 0x33f0000, virtualBlocks: 11, lockContention: 1, lfh: true });
    const [stat] = only(s, "heapStat");
    expect(stat!.tables[0]!.groups[0]).toMatchObject({ size: 0x3e8024, count: 0xa, total: 0x2710168, percent: 99.88 });
    expect(only(s, "evaluate")[0]!.value).toBe(4096036);
    const [flt] = only(s, "heapFilter");
    expect(flt!.filter).toEqual({ by: "size", size: 0x3e8024 });
    expect(flt!.entries).toHaveLength(10);
    expect(flt!.entries[0]).toMatchObject({ entry: 0x35cb018, user: 0x35cb020, sizeGranules: 0x7d200, size: 0x7d200 * 8, state: "virtualalloc", requestedSize: 0x3e8024 });
    const [a] = only(s, "heapAddress");
    expect(a!.entry).toMatchObject({ entry: 0x35cb018, state: "virtualalloc" });
    expect(a!.stack).toEqual([]);
  });

  const vs2015 = load("heap-s-stat-flt-p-a_x64_win10_vs2015blog.txt");
  it.skipIf(!vs2015.present)("heap-s-stat-flt-p-a_x64_win10_vs2015blog: before/after -s, re-aligned -stat, elided -flt, 32-frame stack", () => {
    const s = vs2015.parse();
    expect(s.diagnostics).toEqual([]);
    const [before, after] = only(s, "heapSummary");
    expect(before!.heaps).toHaveLength(2);
    expect(after!.heaps).toHaveLength(5);
    expect(after!.heaps[0]).toMatchObject({ address: 0x1976aa70000, reservedK: 16564, committedK: 9492, freeK: 3684, listLength: 224, externalFragmentation: { percent: 38, freeBlocks: 224 } });
    expect(after!.heaps[2]!.externalFragmentation).toEqual({ percent: 93, freeBlocks: 32 });
    const [stat] = only(s, "heapStat");
    expect(stat!.tables[0]!.groups).toHaveLength(20);
    expect(stat!.tables[0]!.groups.slice(0, 2).map((g) => [g.size, g.count, g.total, g.percent])).toEqual([[0x74, 0x74e, 0x34f58, 16.56], [0x44, 0xb9f, 0x3163c, 15.45]]);
    const [flt] = only(s, "heapFilter");
    expect(flt!.elided).toBe(true);
    expect(flt!.entries).toHaveLength(16);
    expect(flt!.heaps).toHaveLength(5);
    const [a] = only(s, "heapAddress");
    expect(a!.stack).toHaveLength(32);
    expect(a!.stack[7]!.symbol).toMatch(/^std::allocator<std::_List_node<.*>::allocate$/);
    expect(a!.stack[9]).toMatchObject({ address: 0x7ff74af3d9a8, offset: 0x58 });
    expect(a!.stack[13]).toMatchObject({ module: "MyApp", symbol: "MyObject::set", offset: 0x1b0 });
    expect(a!.notes.some((n) => n.kind === "warning" && n.text.includes("MyApp.exe"))).toBe(true);
  });

  const zhblog = load("address-summary-heap-s-stat_x86_win7era_zhblog2015.txt");
  it.skipIf(!zhblog.present)("address-summary-heap-s-stat_x86_win7era_zhblog2015: modern !address -summary, Virtual block line, -stat", () => {
    const s = zhblog.parse();
    expect(s.diagnostics).toEqual([]);
    const [a] = only(s, "addressSummary");
    expect(a!.layout).toBe("modern");
    expect(a!.rows.find((r) => r.section === "usage" && r.name === "Heap")).toMatchObject({ regionCount: 340, size: 0x3c876000, percentBusy: 48.38, percentTotal: 47.29 });
    expect(a!.rows.find((r) => r.section === "usage" && r.name === "Free")).toMatchObject({ regionCount: 544, size: 0x2e40000, percentTotal: 2.26 });
    expect(a!.rows.find((r) => r.section === "usage" && r.name === "Free")!.percentBusy).toBeUndefined();
    expect(a!.rows.find((r) => r.section === "protect" && r.name === "PAGE_READWRITE|PAGE_GUARD")).toMatchObject({ regionCount: 86, size: 0xbb000 });
    expect(a!.rows.find((r) => r.section === "largest" && r.name === "Heap")).toMatchObject({ base: 0x7f30000, size: 0xfd0000 });
    expect(a!.rows.filter((r) => r.section === "largest")).toHaveLength(8);
    const [sum] = only(s, "heapSummary");
    expect(sum!.virtualBlocks).toEqual([expect.objectContaining({ address: 0x39ee0000, end: 0x39ee0000, size: 0 })]);
    expect(sum!.heaps).toHaveLength(5);
    expect(sum!.heaps[4]).toMatchObject({ address: 0x340000, fastHeap: "", lfh: false });
    const [stat] = only(s, "heapStat");
    expect(stat!.tables[0]!.groups.map((g) => [g.size, g.count, g.total])).toEqual([[0x1f64, 0x76c6, 0xe905f58], [0x1800, 1, 0x1800], [0x824, 2, 0x1048]]);
  });
});
