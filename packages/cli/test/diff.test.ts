import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MinidumpBuilder } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { runCli } from "../src/index.js";
import { capture, toyDump, toyPlugins } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "leakscope-diff-"));

/** A small x64 minidump whose main module and capture time are given. */
function dump(name: string, main: { path: string; size: number; timestamp: number }, capturedAt: number): string {
  const b = new MinidumpBuilder({ timestamp: capturedAt });
  b.module({ path: main.path, base: 0x140000000n, size: main.size, timestamp: main.timestamp });
  const p = join(dir, name);
  writeFileSync(p, b.build());
  return p;
}

async function run(argv: string[], plugins?: typeof toyPlugins) {
  const c = capture();
  const code = await runCli(argv, { io: c.io, ...(plugins ? { plugins } : {}) });
  return { code, out: c.out(), err: c.err() };
}

const app = { path: "C:\\app\\app.exe", size: 0x8000, timestamp: 0x65000000 };

describe("diff checks its inputs", () => {
  it("refuses dumps of two different programs with exit 2, naming both", async () => {
    for (const other of [
      { ...app, path: "C:\\other\\other.exe" },
      { ...app, size: 0x9000 },
      { ...app, timestamp: 0x65000001 },
    ]) {
      const r = await run(["diff", dump("a.dmp", app, 1000), dump("b.dmp", other, 2000)]);
      expect(r.code, r.err).toBe(2);
      expect(r.err.trimEnd().split("\n")).toHaveLength(1);
      expect(r.err).toContain("[CLI_DIFF_DIFFERENT_PROGRAMS]");
      expect(r.err).toContain("--force");
    }
  });

  it("--force compares them anyway and says so in the report", async () => {
    const r = await run(["diff", dump("a.dmp", app, 1000), dump("c.dmp", { ...app, size: 0x9000 }, 2000), "--force", "--json"]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.diagnostics.map((d: { code: string }) => d.code)).toContain("CLI_DIFF_FORCED");
    expect(r.err).toContain("[CLI_DIFF_FORCED]");
  });

  it("the same program matches whatever the path's case or folder", async () => {
    const r = await run(["diff", dump("a.dmp", app, 1000), dump("d.dmp", { ...app, path: "D:\\copy\\APP.EXE" }, 2000), "--json"]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).diagnostics.map((d: { code: string }) => d.code)).not.toContain("CLI_DIFF_FORCED");
  });

  it("warns when the after dump was captured before the before dump", async () => {
    const r = await run(["diff", dump("late.dmp", app, 2_000_000), dump("early.dmp", app, 1_000_000), "--json"]);
    expect(r.code, r.err).toBe(0);
    const codes = JSON.parse(r.out).diagnostics.map((d: { code: string }) => d.code);
    expect(codes).toContain("CLI_DIFF_AFTER_OLDER");
    expect(r.err).toContain("[CLI_DIFF_AFTER_OLDER]");
    const ok = await run(["diff", dump("early.dmp", app, 1_000_000), dump("late.dmp", app, 2_000_000), "--json"]);
    expect(JSON.parse(ok.out).diagnostics.map((d: { code: string }) => d.code)).not.toContain("CLI_DIFF_AFTER_OLDER");
  });

  it("groups the diagnostics per input", async () => {
    const a = dump("a.dmp", app, 1000);
    const b = dump("b2.dmp", app, 2000);
    const r = await run(["diff", a, b, "--json"]);
    const report = JSON.parse(r.out);
    const files = new Set(report.diagnostics.map((d: { location?: { file?: string } }) => d.location?.file));
    expect(report.diagnostics.length).toBeGreaterThan(0);
    for (const f of files) expect([a, b]).toContain(f);
    const text = (await run(["diff", a, b])).out;
    expect(text).toContain(`before (${a}):`);
    expect(text).toContain(`after (${b}):`);
    expect(text.indexOf(`before (${a}):`)).toBeLessThan(text.indexOf(`after (${b}):`));
  });
});

describe("diff output", () => {
  it("prints shrinkage as signed hex and signed decimal counts", async () => {
    const r = await run(["diff", toyDump(12), toyDump(5)], toyPlugins);
    expect(r.code, r.err).toBe(0);
    const shrink = 7 * 0x3fff;
    expect(r.out).toContain(`-0x${shrink.toString(16)}`);
    expect(r.out).not.toMatch(/0x-/);
    expect(r.out).toMatch(/Δ bytes \(hex\)\s+Δ count/);
    const md = (await run(["diff", toyDump(12), toyDump(5), "--format", "markdown"], toyPlugins)).out;
    expect(md).toContain(`| -0x${shrink.toString(16)} |`);
    expect(md).toContain("| -7 |");
  });
});
