import { readFileSync } from "node:fs";
import { parseAddress } from "@leakscope/core";
import { sharedFile } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { type WindbgSession, blocksOfKind, isWindbgText, parseFrame, parseWindbgLog, windbgTextCodes } from "../src/index.js";

const only = blocksOfKind;
const codes = (s: WindbgSession): [string, number | undefined][] => s.diagnostics.map((d) => [d.code, d.location?.line]);

const STAT = [
  "0:000> !heap -stat -h 028a0000",
  " heap @ 028a0000",
  "group-by: TOTSIZE max-display: 20",
  "    size     #blocks     total     ( %) (percent of total busy bytes)",
  "    40000 1 - 40000  (18.15)",
  "    44 a95 - 2cf94  (12.75)",
];

function utf16be(text: string): Uint8Array {
  const le = Buffer.from(text, "utf16le");
  const out = new Uint8Array(le.length);
  for (let i = 0; i + 1 < le.length; i += 2) {
    out[i] = le[i + 1]!;
    out[i + 1] = le[i]!;
  }
  return out;
}

describe("encodings and line endings", () => {
  const expectStat = (s: WindbgSession): void => {
    expect(s.diagnostics).toEqual([]);
    const [b] = only(s, "heapStat");
    expect(b!.tables[0]!.groups.map((g) => [g.size, g.count, g.total])).toEqual([[0x40000, 1, 0x40000], [0x44, 0xa95, 0x2cf94]]);
    expect(b!.tables[0]!.groups[1]!.line).toBe(6);
  };
  it("CRLF", () => expectStat(parseWindbgLog(STAT.join("\r\n") + "\r\n")));
  it("old Mac CR", () => expectStat(parseWindbgLog(STAT.join("\r"))));
  it("UTF-8 with BOM as bytes", () => {
    const s = parseWindbgLog(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(STAT.join("\n"))]));
    expect(s.encoding).toBe("utf-8");
    expectStat(s);
  });
  it("UTF-16LE with BOM and CRLF", () => {
    const s = parseWindbgLog(Buffer.from("\ufeff" + STAT.join("\r\n"), "utf16le"));
    expect(s.encoding).toBe("utf-16le");
    expectStat(s);
  });
  it("UTF-16LE without BOM (heuristic)", () => {
    const s = parseWindbgLog(Buffer.from(STAT.join("\n"), "utf16le"));
    expect(s.encoding).toBe("utf-16le");
    expectStat(s);
  });
  it("UTF-16BE with BOM", () => {
    const s = parseWindbgLog(utf16be("\ufeff" + STAT.join("\n")));
    expect(s.encoding).toBe("utf-16be");
    expectStat(s);
  });
  it("invalid UTF-8 is replaced and reported, the rest still parses", () => {
    const bytes = Buffer.concat([Buffer.from(STAT.join("\n")), Buffer.from([0x0a, 0xff, 0xfe, 0x41])]);
    const s = parseWindbgLog(bytes);
    expect(s.diagnostics.some((d) => d.code === "WINDBG_TEXT_DECODE")).toBe(true);
    expect(only(s, "heapStat")[0]!.tables[0]!.groups).toHaveLength(2);
  });
});

describe("layout tolerance", () => {
  it("TABs between columns", () => {
    const s = parseWindbgLog(["0:000> !heap -stat -h 0", "heap @ 00d40000", "\t40000\t1\t-\t40000\t(18.15)", "0:000> !heap -flt s 40000", "\t029d1b78\t8001\t0000\t[00]\t029d1b80\t40000\t-\t(busy)"].join("\n"));
    expect(s.diagnostics).toEqual([]);
    expect(only(s, "heapStat")[0]!.tables[0]!.groups[0]).toMatchObject({ size: 0x40000, count: 1, total: 0x40000 });
    expect(only(s, "heapFilter")[0]!.entries[0]).toMatchObject({ entry: 0x29d1b78, requestedSize: 0x40000 });
  });

  it("0n decimal arguments and expressions", () => {
    const s = parseWindbgLog(["0:000> !heap -flt s 0n262144", "0:000> !heap -flt r 0n16384-1 0n17408", "0:000> !heap -flt r 0x100+0x10 0n300"].join("\n"));
    expect(only(s, "heapFilter").map((b) => b.filter)).toEqual([
      { by: "size", size: 262144 },
      { by: "range", min: 16383, max: 17408 },
      { by: "range", min: 0x110, max: 300 },
    ]);
  });

  it("32- and 64-bit widths, backtick addresses and kernel (sign-extended) frames", () => {
    const s = parseWindbgLog(
      [
        "0:000> !heap -flt s 20",
        "    _HEAP @ 1976aa70000",
        "        000001976aa79db0 0003 0000  [00]   000001976aa79de0    00020 - (busy)",
        "    _HEAP @ 330000",
        "        00331018 0005 0003  [00]   00331020    00020 - (free)",
        "0:000> !heap -p -a 1976aa79de0",
        "    address 000001976aa79de0 found in",
        "        00007ff9`7ca6867b ntdll!RtlDebugAllocateHeap+0x3b",
        "        fffff804`8b58334c nt!ExAllocatePoolWithTag+0x4c",
      ].join("\n"),
    );
    expect(s.diagnostics).toEqual([]);
    const [flt] = only(s, "heapFilter");
    expect(flt!.entries.map((e) => [e.entry, e.granularity, e.size, e.state])).toEqual([
      [0x1976aa79db0, 16, 0x30, "busy"],
      [0x331018, 8, 0x28, "free"],
    ]);
    const [a] = only(s, "heapAddress");
    expect(a!.stack[0]!.address).toBe(0x7ff97ca6867b);
    expect(a!.stack[1]!.address).toBe(parseAddress("fffff8048b58334c"));
    expect(a!.stack[1]!.address).toBeLessThan(0);
  });

  it("a row wrapped onto the next line is joined", () => {
    const s = parseWindbgLog(
      ["0:000> !heap -stat -h 0", "heap @ 00d40000", "    40000 1 -", "      40000  (18.15)", "0:000> !heap -flt s 40000", "        029d1b78 8001 0000  [00]   029d1b80", "    40000 - (busy)"].join("\n"),
    );
    expect(s.diagnostics).toEqual([]);
    expect(only(s, "heapStat")[0]!.tables[0]!.groups).toEqual([expect.objectContaining({ size: 0x40000, count: 1, total: 0x40000, line: 3 })]);
    expect(only(s, "heapFilter")[0]!.entries).toEqual([expect.objectContaining({ entry: 0x29d1b78, requestedSize: 0x40000, line: 6 })]);
  });

  it("truncated rows are reported with their line and the rest is kept", () => {
    const s = parseWindbgLog(
      [
        "0:000> !heap -s",
        "  Heap     Flags   Reserv  Commit  Virt   Free  List   UCR  Virt  Lock  Fast ",
        "00d40000 00000002   78796  62424  78584   4750  1123    74    2     5a   LFH",
        "00d10000 00001002    1292    404",
        "0:000> !heap -flt s 40000",
        "        029d1b78 8001 0000  [00]",
        "0: kd> !poolused 2",
        " Tag     Allocs         Used     Allocs         Used",
        " Proc    156248    579970176",
      ].join("\n"),
    );
    expect(codes(s)).toEqual([
      ["WINDBG_TEXT_TRUNCATED_ROW", 4],
      ["WINDBG_TEXT_TRUNCATED_ROW", 6],
      ["WINDBG_TEXT_TRUNCATED_ROW", 9],
    ]);
    expect(only(s, "heapSummary")[0]!.heaps).toHaveLength(1);
  });

  it("several commands, prompts of every kind, interleaved warnings", () => {
    const s = parseWindbgLog(
      [
        "0:000> !gflag",
        "Current NtGlobalFlag contents: 0x00001000",
        "    ust - Create user mode stack trace database",
        "0:000:x86> !heap -p -a 7b4d98",
        "*** WARNING: Unable to verify checksum for app.exe",
        "*** ERROR: Symbol file could not be found.  Defaulted to export symbols for foo.dll - ",
        "    7c83d9aa ntdll!RtlAllocateHeap+0x00000e9f",
        "kd> !gflag",
        "Current NtGlobalFlag contents: 0x02000000",
        "0: kd> !gflag",
        "Current NtGlobalFlag contents: 0x00000000",
        "1:0:011> !gflag",
        "Current NtGlobalFlag contents: 0x00000001",
        "lkd> !gflag",
        "Current NtGlobalFlag contents: 0x00000400",
      ].join("\n"),
    );
    expect(s.diagnostics).toEqual([]);
    expect(s.blocks.map((b) => [b.kind, b.prompt, b.line])).toEqual([
      ["gflag", "0:000>", 1],
      ["heapAddress", "0:000:x86>", 4],
      ["gflag", "kd>", 8],
      ["gflag", "0: kd>", 10],
      ["gflag", "1:0:011>", 12],
      ["gflag", "lkd>", 14],
    ]);
    expect(only(s, "gflag").map((g) => g.flags)).toEqual([0x1000, 0x02000000, 0, 1, 0x400]);
    const [a] = only(s, "heapAddress");
    expect(a!.stack).toHaveLength(1);
    expect(a!.notes.map((n) => n.kind)).toEqual(["warning", "warning"]);
  });

  it("an unknown command keeps its output and raises one diagnostic at the command line", () => {
    const s = parseWindbgLog(["0:000> !heap -s", "0:000> !mystery 1 2", "some output", "more output", "0:000> !gflag", "Current NtGlobalFlag contents: 0x00000000"].join("\n"));
    expect(codes(s)).toEqual([["WINDBG_TEXT_UNKNOWN_COMMAND", 2]]);
    expect(s.blocks[1]).toMatchObject({ kind: "unknown", command: "!mystery 1 2", text: ["some output", "more output"] });
    expect(s.blocks[2]!.kind).toBe("gflag");
  });

  it("lines a known command's parser does not understand are reported with their line number", () => {
    const s = parseWindbgLog([...STAT, "this is not a stat row", "    50 358 - 10b80  (4.74)"].join("\n"));
    expect(codes(s)).toEqual([["WINDBG_TEXT_UNPARSED_LINE", 7]]);
    expect(only(s, "heapStat")[0]!.tables[0]!.groups).toHaveLength(3);
  });

  it("prompt-less text in no known format is reported once, with its first line", () => {
    const s = parseWindbgLog("\n\nHello world\nthis is a shopping list\n");
    expect(codes(s)).toEqual([["WINDBG_TEXT_UNRECOGNISED_TEXT", 3]]);
    expect(s.blocks).toEqual([expect.objectContaining({ kind: "unknown" })]);
  });

  it("inconsistent -stat rows are kept and flagged", () => {
    const s = parseWindbgLog(["0:000> !heap -stat", "heap @ 00d40000", "    40 2 - 100  (1.00)"].join("\n"));
    expect(codes(s)).toEqual([["WINDBG_TEXT_INCONSISTENT", 3]]);
    expect(only(s, "heapStat")[0]!.tables[0]!.groups[0]).toMatchObject({ size: 0x40, count: 2, total: 0x100 });
  });

  it("Markdown: only fenced code is parsed, prose and shell comments are counted", () => {
    const s = parseWindbgLog(["# Notes", "", "Some prose with !heap in it.", "```shell", "# a comment", "0:000> !gflag", "Current NtGlobalFlag contents: 0x00001000", "```", "more prose"].join("\n"));
    expect(s.markdown).toBe(true);
    expect(s.proseLines).toBe(4);
    expect(s.diagnostics).toEqual([]);
    expect(s.blocks.map((b) => b.kind)).toEqual(["gflag"]);
  });

  it("file name goes into diagnostics", () => {
    const s = parseWindbgLog("0:000> !mystery", { file: "session.log" });
    expect(s.diagnostics[0]!.location).toMatchObject({ file: "session.log", line: 1 });
  });

  it("input limits: lines, line length", () => {
    const many = parseWindbgLog(Array.from({ length: 50 }, () => "0:000> !gflag").join("\n"), { maxLines: 10 });
    expect(many.lineCount).toBe(10);
    expect(many.diagnostics.some((d) => d.code === "WINDBG_TEXT_INPUT_LIMIT")).toBe(true);
    const long = parseWindbgLog("0:000> !gflag\n" + "x".repeat(100_000), { maxLineLength: 1000 });
    expect(codes(long)).toContainEqual(["WINDBG_TEXT_INPUT_LIMIT", 2]);
  });
});

describe("formats without real samples (synthetic, from the documented layouts)", () => {
  it("poolmon snapshot with deltas", () => {
    const s = parseWindbgLog(
      [
        " Memory:16651724K Avail: 9234812K  PageFlts:  3142   InRam Krnl:12540K P:345680K",
        " Commit:9356236K Limit:19142092K Peak:9825432K            Pool N:301776K P:496888K",
        " Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc",
        "",
        " AleE Nonp     10417 (   3)      5183 (   1)     5234  2528032 (  966)     483",
        " CM31 Paged    49131 (   0)     41080 (   0)     8051 41127936 (    0)    5108",
      ].join("\n"),
    );
    expect(s.diagnostics).toEqual([]);
    const [p] = only(s, "poolmon");
    expect(p!.header["Commit"]).toBe("9356236K");
    expect(p!.rows.map((r) => [r.tag, r.paged, r.allocs, r.allocsDelta, r.frees, r.diff, r.bytes, r.bytesDelta, r.perAlloc])).toEqual([
      ["AleE", false, 10417, 3, 5183, 5234, 2528032, 966, 483],
      ["CM31", true, 49131, 0, 41080, 8051, 41127936, 0, 5108],
    ]);
  });

  it("!heap -srch hits with their symbol lines", () => {
    const s = parseWindbgLog(
      [
        "0:000> !heap -srch 7b4d98",
        "    _HEAP @ 7a0000",
        "      HEAP_ENTRY Size Prev Flags    UserPtr UserSize - state",
        "        007b4d80 0803 001f  [00]   007b4d98    03fff - (busy)",
        "          ConsoleApplication4!Node::`vftable'",
      ].join("\n"),
    );
    expect(s.diagnostics).toEqual([]);
    const [b] = only(s, "heapSearch");
    expect(b!.pattern).toBe("7b4d98");
    expect(b!.heaps).toEqual([0x7a0000]);
    expect(b!.entries[0]).toMatchObject({ entry: 0x7b4d80, user: 0x7b4d98, requestedSize: 0x3fff, symbol: "ConsoleApplication4!Node::`vftable'" });
  });

  it("-flt rows with type lines, `?` type lines and Trace lines; -p -a with a Trace line", () => {
    const s = parseWindbgLog(
      [
        "0:000> !heap -flt s 30",
        "    _HEAP @ 3f0000",
        "      HEAP_ENTRY Size Prev Flags    UserPtr UserSize - state",
        "        003d2c58 0008 0000  [00]   003d2c60    00030 - (busy)",
        "          MyApp!CFoo::`vftable'",
        "        003d2c98 0008 0008  [00]   003d2ca0    00030 - (busy)",
        "          ? unknown!printable",
        "        003d2cd8 0008 0008  [00]   003d2ce0    00030 - (free)",
        "0:000> !heap -p -a 3d2c60",
        "    address 003d2c60 found in",
        "    _HEAP @ 3f0000",
        "      HEAP_ENTRY Size Prev Flags    UserPtr UserSize - state",
        "        003d2c58 0008 0000  [00]   003d2c60    00030 - (busy)",
        "        Trace: 0c5c",
        "        7c96d6dc ntdll!RtlDebugAllocateHeap+0x000000e1",
      ].join("\n"),
    );
    expect(s.diagnostics).toEqual([]);
    const [flt] = only(s, "heapFilter");
    expect(flt!.entries.map((e) => [e.entry, e.heap, e.state, e.symbol ?? null])).toEqual([
      [0x3d2c58, 0x3f0000, "busy", "MyApp!CFoo::`vftable'"],
      [0x3d2c98, 0x3f0000, "busy", "unknown!printable"],
      [0x3d2cd8, 0x3f0000, "free", null],
    ]);
    const [a] = only(s, "heapAddress");
    expect(a!.entry).toMatchObject({ entry: 0x3d2c58, heap: 0x3f0000, traceIndex: 0xc5c });
    expect(a!.stack.map((f) => f.symbol)).toEqual(["RtlDebugAllocateHeap"]);
  });

  it("UMDH comparison with the newer Total line, DBGHELP lines and TAB-indented resolved frames", () => {
    const s = parseWindbgLog(
      [
        "// Debug library initialized ...",
        "DBGHELP: MyApp - private symbols & lines ",
        "         C:\\build\\MyApp.pdb",
        "DBGHELP: SharedUserData - virtual symbol module",
        "",
        "+     2b8 (    2b8 -      0)      1 allocs\tBackTrace1",
        "+       1 (      1 -      0)\tBackTrace1\tallocations",
        "",
        "\tntdll!RtlpAllocateHeapInternal+000000000000005C",
        "\tMyApp!main+0000000000000019 (c:\\src\\main.cpp, 12)",
        "",
        "Total increase ==    2b8 requested +     8 overhead =    2c0",
      ].join("\n"),
    );
    expect(s.diagnostics).toEqual([]);
    const [u] = only(s, "umdhDiff");
    expect(u!.records).toEqual([expect.objectContaining({ bytesDelta: 0x2b8, countDelta: 1, newCount: 1, oldCount: 0, backtraceId: "1" })]);
    expect(u!.stacks["1"]!.map((f) => [f.module, f.symbol, f.offset, f.sourceLine ?? null])).toEqual([
      ["ntdll", "RtlpAllocateHeapInternal", 0x5c, null],
      ["MyApp", "main", 0x19, 12],
    ]);
    expect(u!.totalIncrease).toBe(0x2b8);
    expect(u!.notes.filter((n) => n.kind === "debugger")).toHaveLength(3);
  });

  it("!heap -l in the newer 64-bit layout", () => {
    const s = parseWindbgLog(
      [
        "0:000> !heap -l",
        "Searching the memory for potential unreachable busy blocks.",
        "Heap 0000019769100000",
        "Heap 000001976aa70000",
        "Scanning VM ...",
        "Scanning references from 2 busy blocks (0 MBytes) ...",
        "Entry             User              Heap              Segment               Size  PrevSize  Unused    Flags",
        "-------------------------------------------------------------------------------------------------------------",
        "000001976aa79db0  000001976aa79de0  000001976aa70000  000001976aa70000        a0         0        2c  busy extra fill ",
        "3 potential unreachable blocks were detected.",
      ].join("\n"),
    );
    expect(s.diagnostics).toEqual([]);
    const [l] = only(s, "heapEntryTable");
    expect(l).toMatchObject({ mode: "l", heapsScanned: [0x19769100000, 0x1976aa70000], reportedCount: 3 });
    expect(l!.entries).toEqual([
      expect.objectContaining({ entry: 0x1976aa79db0, user: 0x1976aa79de0, size: 0xa0, unused: 0x2c, requestedSize: 0x74, flagWords: ["busy", "extra", "fill"] }),
    ]);
  });

  it("UMDH comparison with a decrease", () => {
    const s = parseWindbgLog(["// Debug library initialized ...", "- 40 ( 0 - 40) 1 allocs BackTrace2", "Total decrease == 40"].join("\n"));
    expect(s.diagnostics).toEqual([]);
    const [u] = only(s, "umdhDiff");
    expect(u!.records[0]).toMatchObject({ bytesDelta: -0x40, newBytes: 0, oldBytes: 0x40, allocs: 1, backtraceId: "2" });
    expect(u!.totalDecrease).toBe(0x40);
  });
});

describe("parseFrame", () => {
  it("reads every frame form", () => {
    expect(parseFrame("7c83d9aa ntdll!RtlAllocateHeap+0x00000e9f")).toMatchObject({ address: 0x7c83d9aa, module: "ntdll", symbol: "RtlAllocateHeap", offset: 0xe9f });
    expect(parseFrame("\tkernel32!ReadConsoleA+00000040")).toMatchObject({ module: "kernel32", symbol: "ReadConsoleA", offset: 0x40 });
    expect(parseFrame("00007ff724531717 threads+0x0000000000001717")).toEqual({ address: 0x7ff724531717, module: "threads", offset: 0x1717, text: "00007ff724531717 threads+0x0000000000001717" });
    expect(parseFrame("776CDD82")).toEqual({ address: 0x776cdd82, text: "776CDD82" });
    expect(parseFrame("not a frame at all")).toBeUndefined();
  });
});

describe("isWindbgText", () => {
  const seed = sharedFile("seeds/000_34eaf19305ece164.txt");
  it.skipIf(!seed.present)("claims a real seed note", () => {
    expect(isWindbgText(readFileSync(seed.path))).toBe(true);
  });
  it("claims WinDbg, UMDH and poolmon text in UTF-8 and UTF-16", () => {
    expect(isWindbgText(Buffer.from(STAT.join("\r\n")))).toBe(true);
    expect(isWindbgText(Buffer.from("\ufeff" + STAT.join("\r\n"), "utf16le"))).toBe(true);
    expect(isWindbgText(Buffer.from("// UMDH: version 6.1.7650.0: Logtime 2012-04-30"))).toBe(true);
    expect(isWindbgText(Buffer.from(" Tag  Type     Allocs            Frees"))).toBe(true);
  });
  it("rejects dumps, binary data and unrelated text", () => {
    expect(isWindbgText(Buffer.from("MDMP\x93\xa7\x00\x00 !heap"))).toBe(false);
    expect(isWindbgText(Buffer.from("PAGEDU64 !heap -s"))).toBe(false);
    expect(isWindbgText(new Uint8Array(4096).map((_, i) => (i * 7919) & 0xff))).toBe(false);
    expect(isWindbgText(Buffer.from("Dear diary, today I went shopping."))).toBe(false);
    expect(isWindbgText(new Uint8Array(0))).toBe(false);
  });
});

describe("codes", () => {
  it("every code is prefixed and documented", () => {
    for (const [code, def] of Object.entries(windbgTextCodes)) {
      expect(code).toMatch(/^WINDBG_TEXT_[A-Z_]+$/);
      expect(def.description.length).toBeGreaterThan(20);
    }
  });
});
