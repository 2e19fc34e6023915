// The verdict of `analyze` (leak-suspected / no-leak-evidence / cannot-judge) pinned on real dumps,
// on generated healthy, leaky, not-captured and truncated dumps, through the whole default pipeline.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateReport } from "@leakscope/core";
import { EXAMPLE_FACTS, buildExampleDump, sharedFile, writeBenchDump } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { runCli } from "../src/index.js";
import { capture } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "leakscope-verdict-"));
const example = join(dir, "example.dmp");
const exampleBytes = buildExampleDump();
writeFileSync(example, exampleBytes);

interface Analysis {
  verdict: string;
  verdictReason: string;
  leakKind?: string;
  suspects: { rank: number; kind: string; score: number; size?: number; typeName?: string; stack?: { text: string }[]; stackId?: number; keys?: string[]; title: string }[];
  stacks: { id: number }[];
  largest?: { size: number; count: number }[];
  coverage?: { hasFigures: boolean; captured: number; truncated: boolean };
}

async function analyze(file: string, ...args: string[]): Promise<{ code: number; analysis: Analysis; text: string }> {
  const c = capture();
  const code = await runCli(["analyze", file, "--json", ...args], { io: c.io });
  const report = JSON.parse(c.out());
  expect(validateReport(report).errors).toEqual([]);
  const t = capture();
  await runCli(["analyze", file], { io: t.io });
  return { code, analysis: report.analysis, text: t.out() };
}

const strong = (a: Analysis) => a.suspects.filter((s) => s.score >= 0.3);

describe("the verdict", () => {
  it("example dump: leak-suspected, one card for net::Session with its stack, size and type", async () => {
    const { analysis: a, text } = await analyze(example);
    expect(a.verdict).toBe("leak-suspected");
    expect(a.leakKind).toBe("heap");
    const cards = a.suspects.filter((s) => s.typeName === EXAMPLE_FACTS.leakType || s.size === EXAMPLE_FACTS.leakSize || s.stack?.some((f) => f.text === `leaky+0x${EXAMPLE_FACTS.leakFrameOffset.toString(16)}`));
    expect(cards).toHaveLength(1);
    expect(cards[0]).toMatchObject({ rank: 1, kind: "size-class", size: EXAMPLE_FACTS.leakSize, typeName: EXAMPLE_FACTS.leakType });
    expect(cards[0]!.keys).toEqual(expect.arrayContaining([expect.stringMatching(/^class:/), expect.stringMatching(/^stack:/), `type:${EXAMPLE_FACTS.leakType}`]));
    expect(a.stacks.map((s) => s.id)).toContain(cards[0]!.stackId);
    expect(strong(a)).toHaveLength(1);
    // text leads with the verdict, says each stack once
    expect(text.split("\n")[1]).toMatch(/^Verdict: LEAK SUSPECTED — Suspect #1 /);
    const frames = text.split("\n").filter((l) => l.includes(`leaky+0x${EXAMPLE_FACTS.leakFrameOffset.toString(16)}`) && /^\s+(▶\s+)?0x[0-9a-f]{6,16} leaky\+/.test(l));
    expect(frames).toHaveLength(1);
    for (const format of ["markdown", "html"]) {
      const c = capture();
      await runCli(["analyze", example, "--format", format], { io: c.io });
      expect(c.out()).toMatch(format === "html" ? /<section id="verdict" class="verdict leak-suspected"><div><span class="badge">Leak suspected</ : /Verdict: LEAK SUSPECTED/);
    }
  });

  it("--fail-on fails the example (leak-suspected)", async () => {
    const { code } = await analyze(example, "--fail-on", "0.3");
    expect(code).toBe(1);
  });

  it("example dump cut at 10% and at 50%: cannot-judge, the reason says it is cut short", async () => {
    for (const share of [0.1, 0.5]) {
      const cut = join(dir, `example-${share}.dmp`);
      writeFileSync(cut, exampleBytes.subarray(0, Math.floor(exampleBytes.length * share)));
      const { code, analysis: a, text } = await analyze(cut, "--fail-on", "0");
      expect(a.verdict).toBe("cannot-judge");
      expect(a.coverage?.truncated).toBe(true);
      expect(a.verdictReason).toMatch(/cut short/);
      expect(a.verdictReason).toMatch(/procdump -ma/);
      expect(code).toBe(0);
      expect(text.split("\n")[1]).toMatch(/^Verdict: CANNOT JUDGE/);
    }
  });

  it("the bench's nt scenario with no planted leak: no suspect at 0.3 or more", async () => {
    const file = join(dir, "nt.dmp");
    writeBenchDump("nt", 60_000, file, { blocksPerHeap: 30_000, blocksPerVirtual: 20_000 });
    const { analysis: a } = await analyze(file);
    expect(strong(a)).toEqual([]);
    expect(a.verdict).toBe("no-leak-evidence");
  }, 120_000);

  const fizzbuzz = sharedFile("dumps/user/lldb-fizzbuzz-wow64-win7sp1-full.dmp");
  it.skipIf(!fizzbuzz.present)("the real fizzbuzz dump (a healthy program): no-leak-evidence, no suspect at 0.3 or more", async () => {
    const { code, analysis: a } = await analyze(fizzbuzz.path, "--fail-on", "0");
    expect(a.verdict).toBe("no-leak-evidence");
    expect(strong(a)).toEqual([]);
    expect(code).toBe(0);
    // its single large blocks are listed as the largest, not as suspects
    expect(a.suspects.filter((s) => s.title.startsWith("1 "))).toEqual([]);
    expect(a.largest?.[0]).toMatchObject({ size: 0x3b28, count: 1 });
  });

  for (const name of ["breakpad-tiny-cet-x64-win11-22000-peb-noheap.dmp", "lldb-sigsegv-x64-win10-1709.dmp", "lldb-fizzbuzz-x86view-win7sp1-noheap.dmp"]) {
    const f = sharedFile(`dumps/user/${name}`);
    it.skipIf(!f.present)(`${name} holds no heap memory: cannot-judge, and what to capture instead`, async () => {
      const { code, analysis: a } = await analyze(f.path, "--fail-on", "0");
      expect(a.verdict).toBe("cannot-judge");
      expect(a.coverage?.hasFigures).toBe(false);
      expect(a.verdictReason).toMatch(/procdump -ma/);
      expect(code).toBe(0);
    });
  }

  it("a WinDbg log with no heap or pool figures: cannot-judge, naming the commands to add", async () => {
    const log = join(dir, "no-figures.log");
    writeFileSync(log, "0:000> !gflag\nCurrent NtGlobalFlag contents: 0x00000000\n0:000> lm\nstart             end                 module name\n00007ff6`12340000 00007ff6`12360000   app        (deferred)\n");
    const { analysis: a } = await analyze(log);
    expect(a.verdict).toBe("cannot-judge");
    expect(a.verdictReason).toMatch(/!heap -stat -h/);
  });

  const poolused = sharedFile("data/poolused-samples/C_jellykuo_flag2_livedump.txt");
  it.skipIf(!poolused.present)("a !poolused log has figures: it is judged, not cannot-judge", async () => {
    const { analysis: a } = await analyze(poolused.path);
    expect(a.verdict).not.toBe("cannot-judge");
    expect(a.coverage?.hasFigures).toBe(true);
  });
});
