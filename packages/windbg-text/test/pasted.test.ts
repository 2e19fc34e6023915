import { readFileSync } from "node:fs";
import type { Evidence } from "@leakscope/core";
import { sharedFile } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { blocksOfKind, detectLogEvidence, parseWindbgLog } from "../src/index.js";

/** Text as people paste it (blogs, chats, e-mail): item 8 of issue #20. */

function evidence(text: string): Evidence[] {
  const out: Evidence[] = [];
  detectLogEvidence(parseWindbgLog(text), [], { add: (e) => void out.push(e), coverage: () => {} });
  return out;
}

const summary = (e: Evidence[]) => e.map((x) => [x.keys[0], x.signal, x.bytes, x.delta?.bytes ?? null]);

const seed000 = sharedFile("seeds/000_34eaf19305ece164.txt");
const umdh = sharedFile("data/windbg-samples/umdh-v_x86_vista-7_aiocf.txt");

describe("pasted text reads like the original", () => {
  it.skipIf(!seed000.present || !umdh.present)("indented by four spaces or a TAB (blog, e-mail): the same evidence", () => {
    for (const f of [seed000, umdh]) {
      const text = readFileSync(f.path, "utf8");
      const want = summary(evidence(text));
      expect(want.length).toBeGreaterThan(0);
      for (const indent of ["    ", "\t", "> "]) {
        const pasted = text.split("\n").map((l) => (l === "" || indent === "> " ? `${indent}${l}`.replace(/^> $/, ">") : `${indent}${l}`)).join("\n");
        if (indent === "> ") continue; // quoted e-mail is not debugger text
        expect(summary(evidence(pasted)), `${f.path} indented by ${JSON.stringify(indent)}`).toEqual(want);
      }
    }
  });

  it("an author's remark after a row is not part of it", () => {
    const s = parseWindbgLog(
      [
        "0:000> !heap -s",
        "  Heap     Flags   Reserv  Commit  Virt   Free  List   UCR  Virt  Lock  Fast ",
        "                    (k)     (k)    (k)     (k) length      blocks cont. heap ",
        "-----------------------------------------------------------------------------",
        "00d40000 00000002   78796  62424  78584   4750  1123    74    2     5a   LFH",
        "028a0000 00001002  750640 749024 750428   1574  2353   249    6   565c   LFH    <--- this one is huge",
        "04260000 00001002      60     20     60      5     1     1    0      0       <== tiny",
        "-----------------------------------------------------------------------------",
      ].join("\n"),
    );
    const [b] = blocksOfKind(s, "heapSummary");
    expect(b!.heaps.map((h) => [h.address, h.committedK, h.fastHeap])).toEqual([
      [0xd40000, 62424, "LFH"],
      [0x28a0000, 749024, "LFH"],
      [0x4260000, 20, ""],
    ]);
    expect(s.diagnostics).toEqual([]);
  });

  it("two prompts in a row: the output belongs to the command that produced it", () => {
    const s = parseWindbgLog(
      [
        "0:000> ",
        "0:000> !heap -stat -h 028a0000",
        "0:000>",
        " heap @ 028a0000",
        "group-by: TOTSIZE max-display: 20",
        "    size     #blocks     total     ( %) (percent of total busy bytes)",
        "    40000 1 - 40000  (18.15)",
        "    44 a95 - 2cf94  (12.75)",
      ].join("\n"),
    );
    const stat = blocksOfKind(s, "heapStat");
    expect(stat).toHaveLength(1);
    expect(stat[0]!.command).toBe("!heap -stat -h 028a0000");
    expect(stat[0]!.tables[0]!.groups.map((g) => g.size)).toEqual([0x40000, 0x44]);
  });

  it("a command line with no prompt in front of it", () => {
    const s = parseWindbgLog(["!heap -stat -h 1976aa70000", " heap @ 000001976aa70000", "group-by: TOTSIZE max-display: 20", "    74 74e - 34f58  (16.56)"].join("\n"));
    expect(blocksOfKind(s, "heapStat")[0]!.tables[0]!.groups[0]).toMatchObject({ size: 0x74, count: 0x74e });
  });

  it("a -stat table without its `heap @` line takes the heap from the command", () => {
    const s = parseWindbgLog(["0:000> !heap -stat -h 028a0000", "group-by: TOTSIZE max-display: 20", "    size     #blocks     total     ( %) (percent of total busy bytes)", "    40000 1 - 40000  (18.15)"].join("\n"));
    const [b] = blocksOfKind(s, "heapStat");
    expect(b!.tables).toHaveLength(1);
    expect(b!.tables[0]).toMatchObject({ heap: 0x28a0000, groups: [expect.objectContaining({ size: 0x40000, percent: 18.15 })] });
  });

  it("symbol annotations inside `!heap -p -a` are not stack frames", () => {
    const s = parseWindbgLog(
      [
        "0:000> !heap -p -a 000002049bf29290",
        "    address 000002049bf29290 found in",
        "    _HEAP @ 2049bf10000",
        "              HEAP_ENTRY Size Prev Flags            UserPtr UserSize - state",
        "        000002049bf29280 0401 0000  [00]   000002049bf29290    03fff - (busy)",
        "          ConsoleApplication4!CLeaky::`vftable'",
        "        7ffb3f2a8fd3 ntdll!RtlpAllocateHeapInternal+0x0000000000000973",
        "        7ffb3d1b1f4b ucrtbase!_malloc_base+0x000000000000003b",
        "? ConsoleApplication4!g_cache",
        "        7ff73d131119 ConsoleApplication4!main+0x0000000000000069",
      ].join("\n"),
    );
    const [b] = blocksOfKind(s, "heapAddress");
    expect(b!.stack.map((f) => `${f.module}!${f.symbol}`)).toEqual(["ntdll!RtlpAllocateHeapInternal", "ucrtbase!_malloc_base", "ConsoleApplication4!main"]);
    expect(b!.entry?.symbol).toBe("ConsoleApplication4!CLeaky::`vftable'");
    expect(s.diagnostics).toEqual([]);
  });

  it("the same command run twice is two snapshots, never added up", () => {
    const table = (commit: number) => [
      "0:000> !heap -s",
      "  Heap     Flags   Reserv  Commit  Virt   Free  List   UCR  Virt  Lock  Fast ",
      "                    (k)     (k)    (k)     (k) length      blocks cont. heap ",
      "-----------------------------------------------------------------------------",
      `028a0000 00001002  750640 ${commit} 750428   1574  2353   249    6   565c   LFH`,
      "00d10000 00001002    1292    404   1080     26    22     2    0      0   LFH",
      "-----------------------------------------------------------------------------",
    ];
    const e = evidence([...table(300000), "", ...table(749024)].join("\n"));
    const growth = e.find((x) => x.signal === "growth")!;
    expect(growth).toMatchObject({ keys: ["heap:0x28a0000"], bytes: 749024 * 1024, delta: { bytes: (749024 - 300000) * 1024 } });
    const reported = e.find((x) => x.signal === "reported")!;
    expect(reported.bytes).toBe(749024 * 1024);
  });

  it("what could not be read is said once per run of lines, with its line numbers", () => {
    const s = parseWindbgLog(
      [
        "0:000> !heap -stat -h 028a0000",
        " heap @ 028a0000",
        "group-by: TOTSIZE max-display: 20",
        "    40000 1 - 40000  (18.15)",
        "this line was typed by hand",
        "and so was this one",
        "and this",
        "    44 a95 - 2cf94  (12.75)",
        "one more stray line",
      ].join("\n"),
    );
    const bad = s.diagnostics.filter((d) => d.code === "WINDBG_TEXT_UNPARSED_LINE");
    expect(bad.map((d) => d.location?.line)).toEqual([5, 9]);
    expect(bad[0]!.message).toMatch(/lines 5-7/);
    expect(blocksOfKind(s, "heapStat")[0]!.tables[0]!.groups).toHaveLength(2);
  });
});

describe("hostile repetition stays linear", () => {
  it("80,000 lines of UMDH headers, empty prompts and poolmon headers parse in a few seconds at most", () => {
    const lines: string[] = ["0:000> !heap -s"];
    for (let k = 0; k < 20_000; k++) lines.push("", "0:000>", "// UMDH: version 10.0: Logtime x - Machine=y - PID=1", " Memory:16645420K Avail:10324568K  PageFlts:  1275");
    const t0 = performance.now();
    const s = parseWindbgLog(lines.join("\n"));
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(s.lineCount).toBe(80_001);
  });
});
