import { BufferSource, Engine, type Evidence, type InputCoverage } from "@leakscope/core";
import { describe, expect, it } from "vitest";
import { detectLogEvidence, parseWindbgLog, poolEvidence, poolTagGroups, scanFacts, statTableBusy, umdhComparison, windbgText } from "../src/index.js";
import type { PoolFacts, PoolSnapshotFacts } from "../src/evidence.js";

/** Runs the log detectors the way the analyzer does: through the engine's evidence hook. */
async function evidenceOf(lines: string[]): Promise<{ records: Evidence[]; coverage: Partial<InputCoverage>; target: import("@leakscope/core").Target }> {
  const engine = new Engine({ plugins: [windbgText()] });
  const open = await engine.openSource(new BufferSource(new TextEncoder().encode(lines.join("\n") + "\n"), "log.txt"), { command: "analyze", depth: "walk" });
  try {
    const records: Evidence[] = [];
    let coverage: Partial<InputCoverage> = {};
    await engine.hooks.evidence.promise({ add: (e) => void records.push(e), coverage: (c) => void (coverage = { ...coverage, ...c }) }, open.run);
    return { records, coverage, target: open.run.target };
  } finally {
    open.close();
  }
}

const SUMMARY = (commit: number) => [
  "0:000> !heap -s",
  "LFH Key                   : 0x5b1c2d3e4f506172",
  "Termination on corruption : ENABLED",
  "          Heap     Flags   Reserv  Commit  Virt   Free  List   UCR  Virt  Lock  Fast ",
  "                            (k)     (k)    (k)     (k) length      blocks cont. heap ",
  "-------------------------------------------------------------------------------------",
  `000001a2b3c40000 00000002  ${commit + 4000}  ${commit}  ${commit + 3000}    812   190    12   41     9   LFH`,
  "000001a2b3a00000 00008000      64      4     64      2     1     1    0      0      ",
  "000001a2b3e10000 00001002    1080    220   1080     40     6     2    0      0   LFH",
  "-------------------------------------------------------------------------------------",
];

const byStrength = (r: Evidence[]): Evidence[] => [...r].sort((a, b) => b.strength - a.strength);

describe("UMDH", () => {
  // Newer layout (count line, TAB-indented frames with source positions) of another program.
  const NEWER = [
    "// Debug library initialized ...",
    "DBGHELP: PhotoTool - private symbols & lines ",
    "         C:\\build\\PhotoTool.pdb",
    "//                                                                          ",
    "// Each log entry has the following syntax:                                 ",
    "+   1a2b00 (  1d4c00 -   32100)    3a0 allocs\tBackTrace4F1A2",
    "+     36e (   3a0 -    32)\tBackTrace4F1A2\tallocations",
    "",
    "\tntdll!RtlpAllocateHeapInternal+000000000009D2AF",
    "\tntdll!RtlAllocateHeap+000000000000003D",
    "\tucrtbase!_malloc_base+0000000000000036",
    "\tPhotoTool!operator new+000000000000001F (d:\\a01\\_work\\src\\vctools\\crt\\vcstartup\\src\\heap\\new_scalar.cpp, 35)",
    "\tPhotoTool!ThumbnailCache::Insert+00000000000000A2 (C:\\src\\phototool\\cache.cpp, 118)",
    "\tPhotoTool!Gallery::OnScroll+0000000000000151 (C:\\src\\phototool\\gallery.cpp, 402)",
    "",
    "+     1f40 (    2ee0 -     fa0)      3 allocs\tBackTrace4F1B0",
    "+       2 (     3 -     1)\tBackTrace4F1B0\tallocations",
    "",
    "\tntdll!RtlAllocateHeap+000000000000003D",
    "\tPhotoTool!Logger::Format+0000000000000033 (C:\\src\\phototool\\log.cpp, 77)",
    "",
    "-     4000 (       0 -     4000)      0 allocs\tBackTrace4F1C4",
    "-       1 (     0 -     1)\tBackTrace4F1C4\tallocations",
    "",
    "\tntdll!RtlAllocateHeap+000000000000003D",
    "\tPhotoTool!Decoder::Open+0000000000000044 (C:\\src\\phototool\\decoder.cpp, 51)",
    "",
    "Total increase == 1a4a40 requested + 0 overhead = 1a4a40",
  ];

  it("a comparison of another program: the largest growth leads with its count, stack and source line; shrunk records never show", async () => {
    const { records, coverage } = await evidenceOf(NEWER);
    const umdh = byStrength(records.filter((r) => r.detector === "windbg-text/umdh"));
    expect(umdh.map((r) => r.keys[0])).toEqual(["stack:BackTrace4F1A2", "stack:BackTrace4F1B0"]);
    const [top, small] = umdh;
    expect(top).toMatchObject({
      signal: "growth",
      count: 0x3a0,
      bytes: 0x1d4c00,
      delta: { count: 0x36e, bytes: 0x1a2b00 },
      callSite: "PhotoTool!ThumbnailCache::Insert+0xa2",
      sourceFile: "C:\\src\\phototool\\cache.cpp",
      sourceLine: 118,
      leakKind: "heap",
    });
    expect(top!.strength).toBeGreaterThanOrEqual(0.3);
    expect(small!.strength).toBeLessThan(0.3);
    expect(top!.stack).toHaveLength(6);
    expect(coverage).toMatchObject({ hasFigures: true });
  });

  it("`umdh -d` decimals, by the command or by the arithmetic", () => {
    const rows = ["+ 21280 ( 61712 - 40432) 58 allocs BackTrace00B53", "Total increase == 21280"];
    for (const text of [["umdh -d before.log after.log", ...rows], rows]) {
      const cmp = umdhComparison(parseWindbgLog(text.join("\n")));
      expect(cmp.records).toEqual([expect.objectContaining({ backtraceId: "00B53", bytes: 61712, oldBytes: 40432, count: 58 })]);
    }
    // hex letters settle it the other way
    expect(umdhComparison(parseWindbgLog("+ 5320 ( f110 - 9df0) 3a allocs BackTrace00B53\n")).records[0]).toMatchObject({ bytes: 0xf110, count: 0x3a, oldCount: 0x26 });
  });

  it("two raw snapshots in one log are compared per backtrace, as UMDH does; one snapshot ranks what is alive below 0.3", async () => {
    const snap = (allocs: [number, string][]) => [
      "// UMDH: version 10.0.22621.1: Logtime 2025-03-02 10:15 - Machine=BUILD7 - PID=4242",
      "*- - - - - - - - - - Start of data for heap @ 1C0000 - - - - - - - - - -",
      "REQUESTED bytes + OVERHEAD at ADDRESS by BackTraceID",
      "     STACK if not already dumped.",
      ...allocs.flatMap(([n, id], k) => [`${n.toString(16).toUpperCase()} bytes + 10 at ${(0x1c1000 + k * 0x100).toString(16).toUpperCase()} by BackTrace${id}`, "\t7FFB12345678", "\t7FFB12345700"]),
    ];
    const before = snap([[0x40, "A1"], [0x200, "B2"]]);
    const after = snap([[0x40, "A1"], [0x200, "B2"], [0x200, "B2"], [0x200, "B2"]]);
    const two = umdhComparison(parseWindbgLog([...before, "", ...after].join("\n")));
    expect(two.kind).toBe("snapshot-diff");
    expect(two.records.find((r) => r.backtraceId === "B2")).toMatchObject({ bytes: 0x600, oldBytes: 0x200, count: 3, oldCount: 1 });
    const { records } = await evidenceOf([...before, "", ...after]);
    const top = byStrength(records)[0]!;
    expect(top).toMatchObject({ keys: ["stack:BackTraceB2", "class:*:0x200"], size: 0x200, signal: "growth", delta: { count: 2, bytes: 0x400 } });
    const single = await evidenceOf(after);
    const umdh = single.records.filter((r) => r.detector === "windbg-text/umdh");
    expect(umdh.map((r) => r.signal)).toEqual(["concentration", "concentration"]);
    expect(umdh.every((r) => r.strength < 0.3)).toBe(true);
  });
});

describe("!heap -l, !heap -s, !address -summary", () => {
  it("`!heap -l` carries the reported total, not the rows listed, and says they are a sample", async () => {
    const { records } = await evidenceOf([
      "0:007> !heap -l",
      "Searching the memory for potential unreachable busy blocks.",
      "Heap 0000020b4a6f0000",
      "Scanning VM ...",
      "Entry             User              Heap              Segment               Size  PrevSize  Unused    Flags",
      "-------------------------------------------------------------------------------------------------------------",
      "0000020b4a7b1ad0  0000020b4a7b1ae0  0000020b4a6f0000  0000020b4a6f0000        60        50        1c  busy extra fill ",
      "0000020b4a7b1b30  0000020b4a7b1b40  0000020b4a6f0000  0000020b4a6f0000        60        60        1c  busy extra fill ",
      "...",
      "29050 potential unreachable blocks were detected.",
    ]);
    const e = records.find((r) => r.signal === "unreferenced")!;
    expect(e).toMatchObject({ count: 29050, keys: ["unreferenced:0x20b4a6f0000"], bytes: 29050 * 0x60 });
    expect(e.text).toMatch(/only 2 of them.*a sample/);
    expect(e.strength).toBeGreaterThanOrEqual(0.3);
  });


  it("`!heap -s` + `-stat -h` of the heap with the commit: both figures and where to look next", async () => {
    const { records } = await evidenceOf([
      ...SUMMARY(412000),
      "0:000> !heap -stat -h 000001a2b3c40000",
      " heap @ 000001a2b3c40000",
      "group-by: TOTSIZE max-display: 20",
      "    size     #blocks     total     ( %) (percent of total busy bytes)",
      "    1000 a0 - a0000  (40.00)",
      "    40 1e00 - 78000  (30.00)",
    ]);
    const e = records.find((r) => r.keys[0] === "heap:0x1a2b3c40000")!;
    expect(e.signal).toBe("reported");
    expect(e.bytes).toBe(412000 * 1024);
    expect(e.text).toMatch(/412,000 KB committed/);
    expect(e.text).toMatch(/1\.6 MiB of busy blocks/);
    expect(e.text).toMatch(/41 virtual block/);
    expect(e.nextStep).toMatch(/!heap -s -v/);
    expect(e.strength).toBeGreaterThanOrEqual(0.3);
    expect(statTableBusy([{ total: 0xa0000, percent: 40 }, { total: 0x78000, percent: 30 }]).busy).toBe(0x190000);
  });

  it("`!heap -s` + `-stat -h` where one size holds most of the heap: the commit names that size class", async () => {
    const stat = (top: string) => [
      ...SUMMARY(412000),
      "0:000> !heap -stat -h 000001a2b3c40000",
      " heap @ 000001a2b3c40000",
      "group-by: TOTSIZE max-display: 20",
      "    size     #blocks     total     ( %) (percent of total busy bytes)",
      top,
      "    40 1e00 - 78000  (0.05)",
    ];
    // 0x1f64 x 0x76c6 = 244 MB of the 402 MB commit: the groups account for it, one size dominates
    const { records } = await evidenceOf(stat("    1f64 76c6 - e905f58  (99.95)"));
    const e = records.find((r) => r.keys[0] === "heap:0x1a2b3c40000")!;
    expect(e.keys).toEqual(["heap:0x1a2b3c40000", "class:0x1a2b3c40000:0x1f64"]);
    expect(e.text).toMatch(/99\.95% of the busy bytes in 30,406 blocks of 0x1f64 bytes/);
    expect(e.nextStep).toMatch(/^Run `!heap -flt s 1f64`/);
    // no size holds half of the busy bytes: the heap alone
    const { records: spread } = await evidenceOf([...stat("    1f64 76c6 - e905f58  (45.00)"), "    80 1d2c0c - e960600  (46.00)"].filter((l) => !l.includes("1e00")));
    expect(spread.find((r) => r.keys[0] === "heap:0x1a2b3c40000")!.keys).toEqual(["heap:0x1a2b3c40000"]);
  });

  it("two `!heap -s` are two snapshots: commit growth, never a sum", async () => {
    const { records, target } = await evidenceOf([...SUMMARY(20000), "", ...SUMMARY(180000)]);
    const g = records.find((r) => r.signal === "growth")!;
    expect(g).toMatchObject({ keys: ["heap:0x1a2b3c40000"], delta: { bytes: 160000 * 1024 }, bytes: 180000 * 1024 });
    expect(g.strength).toBeGreaterThanOrEqual(0.3);
    expect(target.kind).toBe("text");
  });

  it("`!address -summary` alone: the heap share, and the heap commands to run next", async () => {
    const { records, coverage } = await evidenceOf([
      "0:000> !address -summary",
      "",
      "--- Usage Summary ---------------- RgnCount ----------- Total Size -------- %ofBusy %ofTotal",
      "Heap                                    912          7a3d5000 (   1.910 Gb)  86.21%   1.52%",
      "<unknown>                               201           9c00000 ( 156.000 Mb)   6.88%   0.12%",
      "Image                                   315           6a10000 ( 106.063 Mb)   4.68%   0.08%",
      "Free                                    301      7ff7f2a30000 ( 127.969 Tb)           99.62%",
    ]);
    const e = records.find((r) => r.detector === "windbg-text/address-summary")!;
    expect(e).toMatchObject({ signal: "reported", keys: ["heap:*"] });
    expect(e.title).toMatch(/86\.21%/);
    expect(e.nextStep).toMatch(/!heap -s/);
    expect(e.strength).toBeGreaterThanOrEqual(0.3);
    expect(coverage.hasFigures).toBe(true);
  });

  it("a log without heap or pool figures: cannot judge, with the commands to run", async () => {
    const { records, coverage } = await evidenceOf(["0:000> g", "0:000> .effmach x86", "Effective machine: x86 compatible (x86)", "0:000:x86> k", " # ChildEBP RetAddr", "00 0019ff70 77b3a9bd app!main+0x12"]);
    expect(records).toEqual([]);
    expect(coverage).toMatchObject({ hasFigures: false, captured: 0 });
    expect(coverage.reason).toMatch(/!heap -s/);
  });
});

describe("pool", () => {
  const row = (tag: string, allocs: number, bytes: number, description?: string): PoolFacts => ({ tag, allocs, bytes, line: 1, ...(description ? { description } : {}) });

  it("tags whose counts move together are one cause, anchored on the object tag", () => {
    const groups = poolTagGroups([
      row("AleS", 158070, 547714832),
      row("Proc", 156248, 579970176),
      row("AleE", 497149, 381811008),
      row("MiP2", 156230, 102486880),
      row("Even", 693888, 88845568),
      row("AleP", 155814, 84748144),
      row("Tiny", 40, 4000),
    ]);
    expect(groups.map((g) => g.map((r) => r.tag))).toEqual([["Proc", "MiP2", "AleP", "AleS"]]);
    // Two tags of a driver's work items (another real shape): grouped, the larger one first.
    expect(poolTagGroups([row("IoWI", 5769999, 646239888), row("amda", 5768754, 1938325232), row("EtwB", 1428, 254173440)]).map((g) => g.map((r) => r.tag))).toEqual([["amda", "IoWI"]]);
    // Counts 5% apart are not one cause.
    expect(poolTagGroups([row("Aaaa", 100000, 1e8), row("Bbbb", 95000, 1e8)])).toEqual([]);
  });

  it("two poolmon screens: a tag that grew leads as growth, the Thread group is named", async () => {
    const screen = (thre: number, ttim: number) => [
      " Memory:16645420K Avail:10324568K  PageFlts:  1275   InRam Krnl: 9876K P:312320K",
      " Commit:7123456K Limit:19135020K Peak:7512340K            Pool N:402112K P:361280K",
      " Tag  Type     Allocs            Frees            Diff   Bytes      Per Alloc",
      "",
      ` Thre Nonp   ${thre + 200000}  (  12)   200000 (   1)  ${thre}  ${thre * 2304} ( 23040)   2304`,
      ` TTim Nonp   ${ttim + 5000}  (   0)     5000 (   0)  ${ttim}  ${ttim * 96} (    0)     96`,
      " File Nonp    9000000  ( 300)  8990000 ( 299)   10000   3360000 (  336)    336",
    ];
    const { records } = await evidenceOf([...screen(60000, 60100), "", ...screen(150000, 150900)]);
    const top = byStrength(records)[0]!;
    expect(top).toMatchObject({ signal: "growth", keys: ["tag:Thre", "tags:Thre+TTim"], tag: "Thre", leakKind: "pool", delta: { count: 90000, bytes: 90000 * 2304 } });
    const group = records.find((r) => r.keys[0] === "tags:Thre+TTim")!;
    expect(group.text).toMatch(/thread objects kept alive/);
    expect(group.keys).toEqual(["tags:Thre+TTim", "tag:Thre", "tag:TTim"]);
  });

  it("different `!poolused` flags are different tables, never compared", () => {
    const records: Evidence[] = [];
    const snap = (command: string, rows: PoolFacts[]): PoolSnapshotFacts => ({ command, line: 1, comparable: command, elided: false, rows });
    poolEvidence([snap("!poolused 2", [row("Abcd", 10, 100)]), snap("!poolused 4", [row("CM31", 19797, 91705344)])], { add: (e) => void records.push(e), coverage: () => {} });
    // two views of one moment: both tables' tags are reported, nothing is growth
    expect(records.map((r) => [r.signal, r.tag])).toEqual([["reported", "CM31"], ["reported", "Abcd"]]);
  });
});

describe("target facts", () => {
  it("OS version and build from the lines that state them", () => {
    expect(scanFacts(["Windows 10 Version 19041 MP (8 procs) Free x64", "Product: WinNt, suite: SingleUserTS", "Built by: 19041.1.amd64fre.vb_release.191206-1406"]).os).toMatchObject({ major: 10, minor: 0, build: 19041, buildString: "19041.1.amd64fre.vb_release.191206-1406" });
    expect(scanFacts(["Windows 8 Version 16299 MP (4 procs) Free x86 compatible"])).toMatchObject({ os: { major: 10, minor: 0, build: 16299 }, arch: "x86", wow64: true });
    expect(scanFacts(["Windows 7 Version 7601 (Service Pack 1) MP (2 procs) Free x64"])).toMatchObject({ os: { major: 6, minor: 1, build: 7601 }, arch: "x64" });
    expect(scanFacts(["OS_VERSION:  10.0.26100.1"]).os).toMatchObject({ major: 10, minor: 0, build: 26100 });
    expect(scanFacts(["// OS version 6.1 "]).os).toMatchObject({ major: 6, minor: 1, build: 0 });
    expect(scanFacts(["nothing here"])).toEqual({});
  });

  it("the target carries the stated OS and the architecture", async () => {
    const { target } = await evidenceOf([
      "0:000> vertarget",
      "Windows 10 Version 22631 MP (16 procs) Free x64",
      "Built by: 22621.1.amd64fre.ni_release.220506-1250",
      ...SUMMARY(124),
    ]);
    expect(target.os).toMatchObject({ major: 10, minor: 0, build: 22631 });
    expect(target.arch).toBe("x64");
  });
});

describe("all detectors over one session", () => {
  it("detectLogEvidence reports coverage once and every record has a key, a strength in 0..1 and a source", () => {
    const s = parseWindbgLog(["+ 5320 ( f110 - 9df0) 3a allocs BackTrace00B53", "Total increase == 5320"].join("\n"));
    const records: Evidence[] = [];
    const cov: Partial<InputCoverage>[] = [];
    detectLogEvidence(s, [], { add: (e) => void records.push(e), coverage: (c) => void cov.push(c) });
    expect(cov).toHaveLength(1);
    for (const r of records) {
      expect(r.keys.length).toBeGreaterThan(0);
      expect(r.strength).toBeGreaterThanOrEqual(0);
      expect(r.strength).toBeLessThanOrEqual(1);
      expect(r.source).toMatch(/line \d+/);
    }
  });
});

describe("hostile input", () => {
  it("lines of every kind in any order: the detectors never throw, and every record's figures are numbers", async () => {
    const fc = (await import("fast-check")).default;
    const pieces = [
      "+ 5320 ( f110 - 9df0) 3a allocs BackTrace00B53",
      "+ zzzz ( f110 - 9df0) 3a allocs BackTrace00B53",
      "- ffffffffffffffff ( 0 - ffffffffffffffff) 1 allocs BackTrace1",
      "00005320 bytes in 0x14 allocations (@ 0x00000428) by: BackTrace00B53",
      "Total increase == 5320",
      "0:000> !heap -s",
      "028a0000 00001002  750640 749024 750428   1574  2353   249    6   565c   LFH",
      "028a0000 00001002  99999999999999999 749024",
      "0:000> !heap -stat -h 028a0000",
      " heap @ 028a0000",
      "    40000 1 - 40000  (18.15)",
      "    44 a95 - 2cf94  (999.75)",
      "0:000> !heap -l",
      "29050 potential unreachable blocks were detected.",
      "0: kd> !poolused 2",
      " Proc    156248    579970176          0            0\tProcess objects , Binary: nt!ps",
      " MiP2    156230    102486880          0            0\tUNKNOWN pooltag 'MiP2', please update pooltag.txt",
      "0:000> !address -summary",
      "Heap                                    912          7a3d5000 (   1.910 Gb)  86.21%   1.52%",
      "// UMDH: version 10.0.22621.1: Logtime 2025-03-02 10:15 - Machine=BUILD7 - PID=4242",
      "64 bytes + 1C at 2E9FA20 by BackTrace18D0A0D0",
      "\t776CDD82",
    ];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.constantFrom(...pieces), fc.string({ maxLength: 40 })), { maxLength: 40 }), async (lines) => {
        const { records, coverage } = await evidenceOf(["0:000> g", ...lines]);
        expect(typeof coverage.hasFigures).toBe("boolean");
        for (const r of records) {
          for (const x of [r.strength, r.bytes, r.count, r.delta?.bytes ?? 0, r.delta?.count ?? 0]) expect(Number.isFinite(x)).toBe(true);
          expect(r.strength).toBeGreaterThanOrEqual(0);
          expect(r.strength).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 60, seed: 20 },
    );
  });
});
