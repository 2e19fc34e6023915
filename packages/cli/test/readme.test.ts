import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildExampleDump } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { runCli } from "../src/index.js";
import { capture } from "./helpers.js";

const root = resolve(import.meta.dirname, "../../..");
const EXAMPLE = "examples/data/example.dmp";

/** The `npx leakscope …` lines of the root README's Use section, comments removed. */
function useCommands(): string[][] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const start = readme.indexOf("\n## Use\n");
  expect(start, "README has a Use section").toBeGreaterThan(0);
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return section
    .split("\n")
    .filter((l) => l.startsWith("npx leakscope "))
    .map((l) => l.replace(/\s+#.*$/, "").trim().split(/\s+/).slice(2));
}

describe("the README's Use section", () => {
  const commands = useCommands();
  // the example as `node scripts/make-example.mjs` writes it, from the current sources
  const dir = mkdtempSync(join(tmpdir(), "leakscope-readme-"));
  const example = join(dir, "example.dmp");
  writeFileSync(example, buildExampleDump());

  it("lists the commands on the bundled example", () => {
    expect(commands.length).toBeGreaterThanOrEqual(8);
    for (const argv of commands) expect(argv, argv.join(" ")).toContain(EXAMPLE);
    const names = new Set(commands.map((a) => a[0]));
    for (const c of ["analyze", "info", "heaps", "stat", "blocks", "block", "stacks"]) expect(names, c).toContain(c);
  });

  it.each(commands.map((argv) => [argv.join(" "), argv] as const))("runs as written: leakscope %s", async (_, argv) => {
    // the README's paths are relative to the repository root; output files go to a temp folder
    let outFile: string | undefined;
    const args = argv.map((a, i) => {
      if (a === EXAMPLE) return example;
      if (i > 0 && (argv[i - 1] === "-o" || argv[i - 1] === "--output")) return (outFile = join(dir, a));
      return a;
    });
    const c = capture();
    const code = await runCli(args, { io: c.io });
    expect(code, c.err()).toBe(0);
    if (outFile) expect(statSync(outFile).size).toBeGreaterThan(1000);
    else expect(c.out().trim().length).toBeGreaterThan(0);
    expect(c.err()).not.toMatch(/error/);
  });
});

describe("npx leakscope from a clone", () => {
  it("the root depends on the cli, whose bin is a committed launcher", () => {
    const rootPkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    expect(rootPkg.dependencies["@leakscope/cli"]).toBeDefined();
    expect(rootPkg.scripts.prepare).toContain("@leakscope/cli");
    const cliPkg = JSON.parse(readFileSync(join(root, "packages/cli/package.json"), "utf8"));
    const bin = join(root, "packages/cli", cliPkg.bin.leakscope);
    expect(existsSync(bin)).toBe(true);
    expect(cliPkg.files).toContain(cliPkg.bin.leakscope.replace(/^\.\//, "").split("/")[0]);
  });

  it("the launcher runs the built command, or says how to build it", () => {
    const r = spawnSync(process.execPath, [join(root, "packages/cli/bin/leakscope.js"), "--version"], { encoding: "utf8" });
    if (existsSync(join(root, "packages/cli/dist/bin.js"))) {
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    } else {
      expect(r.status).toBe(2);
      expect(r.stderr).toContain("npm run build");
    }
  });
});
