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

  it("diffs two snapshots: exactly the planted growth", async () => {
    const r = await run(["diff", toyDump(5), toyDump(12), "--json"]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(validateReport(report).errors).toEqual([]);
    const cls = report.diff.rows.filter((x: { kind: string }) => x.kind === "size-class");
    expect(cls).toEqual([expect.objectContaining({ size: 0x3fff, delta: { count: 7, bytes: 7 * 0x3fff } })]);
    expect((await run(["diff", toyDump(5), toyDump(12)])).out).toMatch(/\+.*7 blocks/);
  });
});
