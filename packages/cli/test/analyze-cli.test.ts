import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateReport } from "@leakscope/core";
import { describe, expect, it } from "vitest";
import { runCli } from "../src/index.js";
import { capture, toyDump, toyPlugins } from "./helpers.js";

const run = async (argv: string[]) => {
  const c = capture();
  const code = await runCli(argv, { io: c.io, plugins: toyPlugins });
  return { code, out: c.out(), err: c.err() };
};

describe("leakscope analyze / diff", () => {
  it("ranks the dominant size class first in every format", async () => {
    const dump = toyDump(40);
    const json = await run(["analyze", dump, "--json"]);
    expect(json.code, json.err).toBe(0);
    const report = JSON.parse(json.out);
    expect(validateReport(report).errors).toEqual([]);
    expect(report.analysis.suspects[0]).toMatchObject({ rank: 1, kind: "size-class", size: 0x3fff, count: 40 });
    expect((await run(["analyze", dump])).out).toContain("#1 40 × 0x3fff-byte blocks");
    expect((await run(["analyze", dump, "--format", "markdown"])).out).toContain("| 1 | size-class |");
    expect((await run(["analyze", dump, "--format", "csv"])).out.split("\r\n")[1]).toMatch(/^1,size-class,/);
    const dir = mkdtempSync(join(tmpdir(), "leakscope-cli-"));
    const html = join(dir, "r.html");
    const w = await run(["analyze", dump, "--format", "html", "-o", html]);
    expect(w.code).toBe(0);
    expect(readFileSync(html, "utf8")).toContain("0x3fff-byte blocks");
    expect((await run(["analyze", dump, "--format", "pdf"])).code).toBe(2);
  });

  it("exits 1 with --fail-on when a suspect reaches the score", async () => {
    const dump = toyDump(40);
    const hit = await run(["analyze", dump, "--fail-on", "0.5", "--json"]);
    expect(hit.code).toBe(1);
    expect(JSON.parse(hit.out).findings.count).toBeGreaterThan(0);
    expect((await run(["analyze", dump, "--fail-on", "1.5"])).code).toBe(2);
  });

  it("--fail-on acts only on a leak-suspected verdict", async () => {
    // the same blocks, but the heap's memory is not in the dump: suspects are listed, the verdict is cannot-judge
    const r = await run(["analyze", toyDump(40, " nomem"), "--fail-on", "0", "--json"]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.analysis.verdict).toBe("cannot-judge");
    expect(report.analysis.suspects.length).toBeGreaterThan(0);
    expect(report.findings).toEqual({ threshold: 0, count: 0 });
    // a verdict of no-leak-evidence does not fail either: the leak below the floors
    const small = await run(["analyze", toyDump(3), "--fail-on", "0", "--json"]);
    expect(JSON.parse(small.out).analysis.verdict).toBe("no-leak-evidence");
    expect(small.code).toBe(0);
  });

  it("diffs two snapshots: exactly the planted growth", async () => {
    const r = await run(["diff", toyDump(5), toyDump(12), "--json"]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(validateReport(report).errors).toEqual([]);
    const cls = report.diff.rows.filter((x: { kind: string }) => x.kind === "size-class");
    expect(cls).toEqual([expect.objectContaining({ size: 0x3fff, delta: { count: 7, bytes: 7 * 0x3fff } })]);
    expect((await run(["diff", toyDump(5), toyDump(12)])).out).toMatch(/\+.*7 blocks/);
    // growth is evidence: a diff report has a verdict too; 7 large blocks more is a weak sign,
    // 35 more is worth a look: one card for the grown class
    expect(report.analysis.verdict).toBe("no-leak-evidence");
    expect(report.analysis.suspects[0]).toMatchObject({ rank: 1, kind: "size-class", size: 0x3fff, delta: { count: 7, bytes: 7 * 0x3fff } });
    const grown = JSON.parse((await run(["diff", toyDump(5), toyDump(40), "--json"])).out).analysis;
    expect(grown.verdict).toBe("leak-suspected");
    expect(grown.suspects.filter((s: { score: number }) => s.score >= 0.3)).toEqual([
      expect.objectContaining({ kind: "size-class", size: 0x3fff, delta: { count: 35, bytes: 35 * 0x3fff } }),
    ]);
    const text = (await run(["diff", toyDump(5), toyDump(40)])).out;
    expect(text.split("\n")[1]).toMatch(/^Verdict: LEAK SUSPECTED/);
    const same = JSON.parse((await run(["diff", toyDump(5), toyDump(5), "--json"])).out);
    expect(same.analysis.verdict).toBe("no-leak-evidence");
  });
});
