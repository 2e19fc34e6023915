import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateReport } from "@leakscope/core";
import { sharedFile } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { runCli } from "../src/index.js";
import { capture } from "./helpers.js";

const seed003 = sharedFile("seeds/003_b2032f33e9a1bbb6.txt");
const seed000 = sharedFile("seeds/000_34eaf19305ece164.txt");
const poolusedC = sharedFile("data/poolused-samples/C_jellykuo_flag2_livedump.txt");

async function run(argv: string[]) {
  const c = capture();
  const code = await runCli(argv, { io: c.io });
  return { code, out: c.out(), err: c.err() };
}

describe("WinDbg logs through the same commands", () => {
  it.skipIf(!seed003.present)("seed 003: 0x3fff is the top suspect, with ConsoleApplication4!main+0x69 from !heap -p -a", async () => {
    const r = await run(["analyze", seed003.path, "--json"]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(validateReport(report).errors).toEqual([]);
    expect(report.input).toMatchObject({ kind: "text", format: "windbg-log" });
    // the heap part's top suspect (the pool part's process-object group leads the whole report)
    const top = report.analysis.suspects.find((s: { kind: string }) => s.kind === "size-class");
    expect(top).toMatchObject({ kind: "size-class", size: 0x3fff });
    expect(top.stack.map((f: { text: string }) => f.text)).toContain("ConsoleApplication4!main+0x69");
    expect(top.callSite).toBe("ConsoleApplication4!main+0x69");
    // no heap of the log is "not captured": the log's heaps are walked by the log reader only
    expect(report.diagnostics.map((d: { code: string }) => d.code)).not.toContain("NT_HEAP_NOT_CAPTURED");
    expect(report.heaps.every((h: { incomplete: boolean }) => !h.incomplete)).toBe(true);
    const text = (await run(["analyze", seed003.path])).out;
    expect(text).toContain("ConsoleApplication4!main+0x69");
  });

  it.skipIf(!seed000.present)("seed 000: ranks the 0x40000 and 0x44 groups as WinDbg's -stat percentages do", async () => {
    const report = JSON.parse((await run(["analyze", seed000.path, "--json"])).out);
    // the single 0x40000 block leads the largest list; the 0x44 group (0xa95 blocks) is a weak suspect
    expect(report.analysis.largest[0]).toMatchObject({ size: 0x40000, count: 1 });
    expect(report.analysis.largest[0].percent).toBeCloseTo(18.15, 1);
    const classes = report.analysis.suspects.filter((s: { kind: string; heap?: string }) => s.kind === "size-class" && s.heap === "0x28a0000");
    expect(classes[0].size).toBe(0x44);
    expect(classes[0].percent).toBeCloseTo(12.75, 1);
    expect(classes[0].count).toBe(0xa95);
    expect(classes[0].score).toBeLessThan(0.3);
    expect(classes[0].nextStep).toMatch(/!heap -p -a/);
    // what leads is the heap's 749,024 KB commit that its -stat groups (1.4 MiB) do not account for
    expect(report.analysis.verdict).toBe("leak-suspected");
    expect(report.analysis.suspects[0]).toMatchObject({ kind: "heap", heap: "0x28a0000", bytes: 749024 * 1024 });
    const heaps = JSON.parse((await run(["heaps", seed000.path, "--json"])).out);
    expect(heaps.heaps).toHaveLength(10);
  });

  it.skipIf(!poolusedC.present)("pool reads !poolused logs and diff compares two of them", async () => {
    const r = await run(["pool", poolusedC.path, "--json", "--no-owners"]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(validateReport(report).errors).toEqual([]);
    expect(report.pool.method).toBe("log");
    expect(report.pool.rows.length).toBeGreaterThan(5);
    // a later snapshot where the top tag grew by 1000 allocations of 0x100 bytes
    const { readFileSync } = await import("node:fs");
    const text = readFileSync(poolusedC.path, "utf8");
    const top = report.pool.rows[0];
    const grown = text.replace(
      new RegExp(`(\\s${top.tag.trim()}\\s+)(\\d+)(\\s+)(\\d+)`),
      (_m, a: string, allocs: string, b: string, used: string) => `${a}${Number(allocs) + 1000}${b}${Number(used) + 0x100 * 1000}`,
    );
    const dir = mkdtempSync(join(tmpdir(), "leakscope-logs-"));
    const after = join(dir, "after.txt");
    writeFileSync(after, grown);
    const d = JSON.parse((await run(["diff", poolusedC.path, after, "--json"])).out);
    expect(validateReport(d).errors).toEqual([]);
    const rows = d.diff.rows.filter((x: { kind: string }) => x.kind === "pool-tag");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ key: top.tag, delta: { count: 1000, bytes: 0x100 * 1000 } });
    // pool rows are figures: the diff is judged (the tag's growth is evidence)
    expect(d.analysis.verdict).not.toBe("cannot-judge");
    expect(d.analysis.suspects[0]).toMatchObject({ kind: "pool-tag", tag: top.tag, delta: { count: 1000 } });
  });
});
