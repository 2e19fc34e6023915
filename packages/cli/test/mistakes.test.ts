import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../src/index.js";
import { capture, toyDump, toyPlugins } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "leakscope-mistakes-"));
mkdirSync(join(dir, "folder"));
writeFileSync(join(dir, "file.txt"), "x");

async function run(argv: string[]) {
  const c = capture();
  const code = await runCli(argv, { io: c.io, plugins: toyPlugins });
  return { code, out: c.out(), err: c.err() };
}

/** One line on stderr: `leakscope: error [CODE]: …` naming the flag. */
function expectMistake(r: { code: number; err: string; out: string }, code: string, flag: string): void {
  expect(r.code, r.err).toBe(2);
  const lines = r.err.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(`[${code}]`);
  expect(lines[0]).toContain(flag);
  expect(r.out).toBe("");
}

describe("user mistakes: exit 2 and one line naming the flag", () => {
  const dump = toyDump();

  it.each([
    ["-o into a missing folder", ["analyze", dump, "-o", join(dir, "missing", "r.html")], "CLI_OUTPUT_DIR_MISSING", "-o"],
    ["-o under a file", ["analyze", dump, "-o", join(dir, "file.txt", "r.html")], "CLI_OUTPUT_DIR_MISSING", "-o"],
    ["-o onto a folder", ["analyze", dump, "--format", "html", "-o", join(dir, "folder")], "CLI_OUTPUT_IS_DIRECTORY", "-o"],
    ["diff -o into a missing folder", ["diff", dump, dump, "-o", join(dir, "missing", "d.txt")], "CLI_OUTPUT_DIR_MISSING", "-o"],
    ["--pooltag of a missing file", ["pool", dump, "--pooltag", join(dir, "missing.txt")], "CLI_POOLTAG_NOT_FOUND", "--pooltag"],
    ["--pooltag of a folder", ["pool", dump, "--pooltag", join(dir, "folder")], "CLI_POOLTAG_IS_DIRECTORY", "--pooltag"],
    ["--drivers of a missing folder", ["pool", dump, "--drivers", join(dir, "nodrivers")], "CLI_DRIVERS_DIR_MISSING", "--drivers"],
    ["--drivers of a file", ["pool", dump, "--drivers", join(dir, "file.txt")], "CLI_DRIVERS_DIR_MISSING", "--drivers"],
    ["--symbols of a missing folder (analyze)", ["analyze", dump, "--symbols", join(dir, "nopdbs")], "CLI_SYMBOLS_DIR_MISSING", "--symbols"],
    ["--symbols of a missing folder (stacks)", ["stacks", dump, "--symbols", join(dir, "folder"), "--symbols", join(dir, "nopdbs")], "CLI_SYMBOLS_DIR_MISSING", "--symbols"],
    ["--heap of no heap (stat)", ["stat", dump, "--heap", "123456"], "CLI_HEAP_NOT_FOUND", "--heap"],
    ["--heap of no heap (blocks)", ["blocks", dump, "--heap", "123456"], "CLI_HEAP_NOT_FOUND", "--heap"],
  ])("%s", async (_, argv, code, flag) => {
    expectMistake(await run(argv), code, flag);
  });

  it("--heap lists the heaps there are", async () => {
    const r = await run(["stat", dump, "--heap", "123456"]);
    expect(r.err).toContain("0x123456");
    expect(r.err).toContain("0x200000");
  });

  it("a good -o, --heap and --symbols still work", async () => {
    const out = join(dir, "folder", "r.html");
    expect((await run(["analyze", dump, "--format", "html", "-o", out, "--symbols", join(dir, "folder")])).code).toBe(0);
    const r = await run(["stat", dump, "--heap", "200000"]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("3fff");
  });
});
