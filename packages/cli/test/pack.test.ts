/**
 * What a user gets from the registry: every public package packed with `npm pack`, installed from
 * the tarballs into a fresh project with no workspace links (third-party dependencies come from
 * the registry, or npm's cache), then an embedding script (ESM and `require`), a type check of
 * the public API (NodeNext and node10 resolution), and the `leakscope` command with a third-party
 * plugin loaded through `--plugin` and the config file, all against a real dump.
 *
 * Needs the build (`npm test` builds first); without it the test is skipped with a notice (and
 * fails under CI=true, like the tests that read ../shared).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const repo = resolve(__dirname, "..", "..", "..");
const dump = resolve(repo, "..", "shared", "dumps", "user", "lldb-fizzbuzz-wow64-win7sp1-full.dmp");

interface Pkg {
  dir: string;
  name: string;
  version: string;
  private?: boolean;
  peerDependencies?: Record<string, string>;
  dependencies?: Record<string, string>;
  files?: string[];
  repository?: { type: string; url: string; directory: string };
  homepage?: string;
  bugs?: { url: string };
  license?: string;
}

const packages: Pkg[] = readdirSync(join(repo, "packages"))
  .map((d) => join("packages", d))
  .filter((d) => existsSync(join(repo, d, "package.json")))
  .map((dir) => ({ dir, ...(JSON.parse(readFileSync(join(repo, dir, "package.json"), "utf8")) as Omit<Pkg, "dir">) }));
const published = packages.filter((p) => !p.private);
const example = { dir: "examples/example-plugin", ...(JSON.parse(readFileSync(join(repo, "examples/example-plugin/package.json"), "utf8")) as Omit<Pkg, "dir">) };

const built = [...published, example].every((p) => existsSync(join(repo, p.dir, "dist", "index.js")));
const haveDump = existsSync(dump);
const ready = built && haveDump;
if (!ready) {
  const why = !built ? "packages are not built (run `npm run build`)" : `${dump} is absent`;
  if (process.env.CI === "true") throw new Error(`pack test cannot run under CI: ${why}`);
  console.warn(`pack test skipped: ${why}`);
}

const work = mkdtempSync(join(tmpdir(), "leakscope-pack-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("package metadata", () => {
  const license = readFileSync(join(repo, "LICENSE"), "utf8");
  it("the root names workspace packages with `*`, so a version bump never sends npm to the registry", () => {
    const root = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
    for (const [name, range] of Object.entries(root.dependencies ?? {})) if (name.startsWith("@leakscope/")) expect(range, name).toBe("*");
  });
  it.each([...published, example].map((p) => [p.name, p] as const))("%s is ready to publish", (_name, p) => {
    expect(p.license).toBe("MIT");
    expect(readFileSync(join(repo, p.dir, "LICENSE"), "utf8")).toBe(license);
    expect(p.files).toContain("LICENSE");
    expect(p.repository).toEqual({ type: "git", url: "git+https://github.com/leakscope/leakscope.git", directory: p.dir });
    expect(p.homepage).toMatch(/^https:\/\//);
    expect(p.bugs?.url).toMatch(/^https:\/\//);
    if (p.name !== "@leakscope/core" && p.name !== "@leakscope/cli") {
      // plugins and libraries run on the core of whoever loads them: a peer, never a copy
      expect(p.peerDependencies?.["@leakscope/core"]).toBe("^0.x");
      expect(p.dependencies?.["@leakscope/core"]).toBeUndefined();
      expect(p.dependencies?.["@sinclair/typebox"]).toBeUndefined();
    }
  });
});

describe.runIf(ready)("the packed packages, installed from their tarballs", () => {
  const tarballs = join(work, "tarballs");
  const project = join(work, "project");
  const env = { ...process.env, npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" };
  const node = (args: string[], cwd = project) => spawnSync(process.execPath, args, { cwd, env, encoding: "utf8", timeout: 60_000 });

  it("packs every public package with its LICENSE, README, build and types, and nothing else", () => {
    mkdirSync(tarballs, { recursive: true });
    const out = execFileSync(
      "npm",
      ["pack", "--ignore-scripts", "--json", "--pack-destination", tarballs, ...[...published, example].flatMap((p) => ["-w", p.dir])],
      { cwd: repo, env, encoding: "utf8" },
    );
    const packed = JSON.parse(out) as { name: string; filename: string; files: { path: string }[] }[];
    expect(packed.map((p) => p.name).sort()).toEqual([...published, example].map((p) => p.name).sort());
    for (const p of packed) {
      const files = p.files.map((f) => f.path);
      expect(files, p.name).toEqual(expect.arrayContaining(["LICENSE", "README.md", "package.json", "dist/index.js", "dist/index.d.ts"]));
      expect(files.filter((f) => f.startsWith("src/") || f.startsWith("test/") || f.endsWith(".ts") && !f.endsWith(".d.ts")), p.name).toEqual([]);
    }
  });

  it("installs from the tarballs alone (no workspace links)", () => {
    mkdirSync(project, { recursive: true });
    const deps: Record<string, string> = {};
    for (const f of readdirSync(tarballs)) {
      const name = `@leakscope/${f.replace(/^leakscope-/, "").replace(/-\d+\.\d+\.\d+.*\.tgz$/, "")}`;
      deps[name] = `file:${join(tarballs, f)}`;
    }
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "pack-test", private: true, type: "module", dependencies: deps }, null, 2));
    const r = spawnSync("npm", ["install", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd: project,
      env,
      encoding: "utf8",
      timeout: 90_000,
    });
    expect(r.stderr).not.toMatch(/ERR!/);
    expect(r.status).toBe(0);
    // one core, no symlink into the repository
    const core = join(project, "node_modules", "@leakscope", "core");
    expect(readFileSync(join(core, "package.json"), "utf8")).toContain('"name": "@leakscope/core"');
    expect(execFileSync("find", [join(project, "node_modules"), "-type", "l", "-lname", `${repo}*`], { encoding: "utf8" })).toBe("");
    expect(execFileSync("find", [join(project, "node_modules"), "-path", "*/node_modules/@leakscope/core/package.json"], { encoding: "utf8" }).trim().split("\n")).toHaveLength(1);
  }, 120_000);

  it("embeds: the engine walks the dump, the report is valid and carries the package's version", () => {
    writeFileSync(
      join(project, "embed.mjs"),
      `import { Engine, VERSION, minidumpInput, validateReport } from "@leakscope/core";
import { heapNt } from "@leakscope/heap-nt";
import { heapLfh } from "@leakscope/heap-lfh";
import { readFileSync } from "node:fs";
const engine = new Engine({ plugins: [minidumpInput(), heapNt(), heapLfh()] });
const report = await engine.run(process.argv[2], { command: "heaps", depth: "walk" });
const pkg = JSON.parse(readFileSync(new URL("./node_modules/@leakscope/core/package.json", import.meta.url), "utf8"));
console.log(JSON.stringify({ version: VERSION, pkg: pkg.version, tool: report.tool.version, heaps: report.heaps.length, busy: report.heaps.reduce((n, h) => n + h.busy.count, 0), valid: validateReport(report).valid }));
`,
    );
    const r = node(["embed.mjs", dump]);
    expect(r.stderr).toBe("");
    const got = JSON.parse(r.stdout) as { version: string; pkg: string; tool: string; heaps: number; busy: number; valid: boolean };
    expect(got.version).toBe(got.pkg);
    expect(got.tool).toBe(got.pkg);
    expect(got.heaps).toBeGreaterThan(0);
    expect(got.busy).toBeGreaterThan(0);
    expect(got.valid).toBe(true);
  });

  it("loads with require() on Node >= 20.19", () => {
    writeFileSync(
      join(project, "embed.cjs"),
      `const core = require("@leakscope/core");
const { heapNt } = require("@leakscope/heap-nt");
console.log(typeof core.Engine, typeof heapNt, core.VERSION);
`,
    );
    const r = node(["--no-warnings", "embed.cjs"]);
    expect(r.stdout.trim()).toMatch(/^function function \d+\.\d+\.\d+/);
  });

  it("typechecks a plugin-using program (NodeNext ESM and CommonJS, and node10 resolution)", () => {
    const tsc = join(repo, "node_modules", "typescript", "bin", "tsc");
    writeFileSync(
      join(project, "use.mts"),
      `import { Engine, Type, definePlugin, type Report } from "@leakscope/core";
import { heapNt } from "@leakscope/heap-nt";
import { bigBlocks } from "@leakscope/example-plugin";
const mine = definePlugin({ name: "mine", options: Type.Object({ top: Type.Integer({ default: 3 }) }, { additionalProperties: false }), setup: () => ({ apply() {} }) });
const engine = new Engine({ plugins: [heapNt(), bigBlocks({ top: 2 }), mine({ top: 1 })] });
// @ts-expect-error a misspelled option is a compile error
mine({ tpo: 1 });
export const run: Promise<Report> = engine.run("x.dmp", { command: "heaps", depth: "walk" });
`,
    );
    writeFileSync(join(project, "use.cts"), `import core = require("@leakscope/core");\nexport const e: core.Engine = new core.Engine();\n`);
    writeFileSync(join(project, "node10.ts"), `import { Engine } from "@leakscope/core";\nimport { heapNt } from "@leakscope/heap-nt";\nexport const e = new Engine({ plugins: [heapNt()] });\n`);
    const common = ["--noEmit", "--strict", "--skipLibCheck", "--types", "node", "--typeRoots", join(repo, "node_modules", "@types"), "--target", "es2022"];
    const esm = spawnSync(process.execPath, [tsc, ...common, "--module", "nodenext", "--moduleResolution", "nodenext", "use.mts", "use.cts"], { cwd: project, encoding: "utf8" });
    expect(esm.stdout).toBe("");
    expect(esm.status).toBe(0);
    const old = spawnSync(process.execPath, [tsc, ...common, "--module", "commonjs", "--moduleResolution", "node10", "node10.ts"], { cwd: project, encoding: "utf8" });
    expect(old.stdout).toBe("");
    expect(old.status).toBe(0);
  }, 120_000);

  it("runs `leakscope --plugin <package>` and a config file's plugin with options; a plugin's invalid section ends with exit 3 naming it", () => {
    const bin = join(project, "node_modules", "@leakscope", "cli", "dist", "bin.js");
    const viaFlag = node([bin, "--plugin", "@leakscope/example-plugin", "heaps", dump, "--json"]);
    expect(viaFlag.stderr).toBe("");
    expect(viaFlag.status).toBe(0);
    const report = JSON.parse(viaFlag.stdout) as { extensions?: Record<string, { minSize: number; blocks: unknown[] }> };
    expect(report.extensions?.["big-blocks"]?.minSize).toBe(0x10000);

    const configured = join(project, "configured");
    mkdirSync(configured);
    writeFileSync(join(configured, "leakscope.config.json"), JSON.stringify({ plugins: [["@leakscope/example-plugin", { minSize: 1, top: 3 }]] }));
    const viaConfig = node([bin, "analyze", dump, "--format", "markdown", "--no-reachability"], configured);
    expect(viaConfig.status).toBe(0);
    expect(viaConfig.stdout).toContain("## Plugin sections");
    expect(viaConfig.stdout).toContain("| address | size | heap |");

    mkdirSync(join(project, "bad"));
    writeFileSync(join(project, "bad", "leakscope.config.json"), JSON.stringify({ plugins: [["@leakscope/example-plugin", { top: 0 }]] }));
    const rejected = node([bin, "heaps", dump], join(project, "bad"));
    expect(rejected.status).toBe(2);
    expect(rejected.stderr).toMatch(/PLUGIN_OPTIONS.*big-blocks.*top/);

    writeFileSync(
      join(project, "broken-plugin.mjs"),
      `import { Type, definePlugin } from "@leakscope/core";
export default definePlugin({
  name: "broken",
  options: Type.Object({}),
  sections: { broken: Type.Object({ count: Type.Integer() }) },
  setup: () => ({ apply(engine) { engine.hooks.report.tapPromise("broken", async (r) => ({ ...r, extensions: { ...r.extensions, broken: { count: "lots" } } })); } }),
});
`,
    );
    const broken = node([bin, "--plugin", "./broken-plugin.mjs", "heaps", dump, "--json"]);
    expect(broken.status).toBe(3);
    expect(broken.stderr).toMatch(/REPORT_INVALID.*plugin broken.*\/extensions\/broken\/count/);
    expect(broken.stdout).toBe("");
  }, 120_000);
});
