import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../src/index.js";
import { capture, toyDump, toyPlugins } from "./helpers.js";

// Plugin files live inside the repository so that `@leakscope/core` resolves from them, as it
// does for a plugin installed beside the CLI.
const root = resolve(__dirname, "..", "..", "..", ".tmp");
mkdirSync(root, { recursive: true });
const dir = mkdtempSync(join(root, "cli-plugins-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A plugin module: a factory made with core's definePlugin, writing `extensions.counter`. */
writeFileSync(
  join(dir, "counter.mjs"),
  `import { Type, definePlugin } from "@leakscope/core";
export default definePlugin({
  name: "counter",
  options: Type.Object({ start: Type.Integer({ minimum: 0, default: 1 }), raw: Type.Optional(Type.Unknown()) }, { additionalProperties: false }),
  sections: { counter: Type.Object({ count: Type.Integer(), rows: Type.Array(Type.Object({ name: Type.String(), bytes: Type.Integer() })) }) },
  setup: (options) => ({
    apply(engine) {
      engine.hooks.report.tapPromise("counter", async (report) => ({
        ...report,
        extensions: { ...report.extensions, counter: { count: options.raw ?? options.start, rows: [{ name: "a", bytes: 16 }] } },
      }));
    },
  }),
});
`,
);
/** A plain plugin object without core at all, writing a BigInt. */
writeFileSync(
  join(dir, "bigint.mjs"),
  `export default () => ({ name: "bigint-writer", apply(engine) {
  engine.hooks.report.tapPromise("bigint-writer", async (report) => ({ ...report, extensions: { ...report.extensions, big: { n: 5n } } }));
} });
`,
);

const run = async (argv: string[], extra: { cwd?: string } = {}) => {
  const c = capture();
  const code = await runCli(argv, { io: c.io, plugins: toyPlugins, cwd: extra.cwd ?? dir });
  return { code, out: c.out(), err: c.err() };
};

describe("plugins from the command line and the config file", () => {
  it("loads a plugin with --plugin and puts its section in the report", async () => {
    const r = await run(["--plugin", "./counter.mjs", "heaps", toyDump(), "--json"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).extensions).toEqual({ counter: { count: 1, rows: [{ name: "a", bytes: 16 }] } });
  });

  it("takes plugins and their options from leakscope.config.json, searched from the working directory up", async () => {
    const project = mkdtempSync(join(dir, "project-"));
    const nested = join(project, "a", "b");
    mkdirSync(nested, { recursive: true });
    writeFileSync(join(project, "leakscope.config.json"), JSON.stringify({ plugins: [[join(dir, "counter.mjs"), { start: 7 }]] }));
    const r = await run(["heaps", toyDump(), "--json"], { cwd: nested });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).extensions.counter.count).toBe(7);
  });

  it("validates options before the input is opened: exit 2 naming the plugin and the option", async () => {
    const project = mkdtempSync(join(dir, "bad-"));
    writeFileSync(join(project, "leakscope.config.mjs"), `export default { plugins: [["${join(dir, "counter.mjs")}", { strat: 2 }]] };\n`);
    const r = await run(["heaps", join(project, "missing.dmp")], { cwd: project });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\[PLUGIN_OPTIONS\]/);
    expect(r.err).toMatch(/counter/);
    expect(r.err).toMatch(/strat/);
    expect(r.err).not.toMatch(/INPUT_NOT_FOUND/);
  });

  it("ends with exit 3 naming the plugin, the path and the reason when a section fails its schema", async () => {
    const project = mkdtempSync(join(dir, "invalid-"));
    writeFileSync(join(project, "leakscope.config.json"), JSON.stringify({ plugins: [{ plugin: join(dir, "counter.mjs"), options: { raw: "many" } }] }));
    const r = await run(["heaps", toyDump()], { cwd: project });
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/\[REPORT_INVALID\]/);
    expect(r.err).toMatch(/plugin counter/);
    expect(r.err).toMatch(/\/extensions\/counter\/count/);
    expect(r.err).not.toMatch(/bug in leakscope/);
  });

  it("names the plugin that wrote a BigInt (exit 3)", async () => {
    const r = await run(["--plugin=./bigint.mjs", "heaps", toyDump(), "--json"]);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/plugin bigint-writer/);
    expect(r.err).toMatch(/\/extensions\/big\/n/);
    expect(r.err).toMatch(/BigInt/);
    expect(r.out).toBe("");
  });

  it("says what to do when a plugin cannot be found or a config is malformed (exit 2)", async () => {
    const missing = await run(["--plugin", "leakscope-plugin-does-not-exist", "heaps", toyDump()]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/\[PLUGIN_LOAD\].*npm install leakscope-plugin-does-not-exist/);
    const nofile = await run(["--plugin", "./nope.mjs", "heaps", toyDump()]);
    expect(nofile.err).toMatch(/\[PLUGIN_LOAD\]/);
    const project = mkdtempSync(join(dir, "cfg-"));
    writeFileSync(join(project, "leakscope.config.json"), JSON.stringify({ plugin: ["x"] }));
    const bad = await run(["heaps", toyDump()], { cwd: project });
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/\[CONFIG_INVALID\].*unknown key "plugin"/);
  });

  it("loads nothing for --help and --version, and lists --plugin in the help", async () => {
    const r = await run(["--plugin", "./nope.mjs", "--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--plugin <package-or-path>/);
  });

  it("accepts an array of plugins from embedders, and refuses anything else with a usage error", async () => {
    const c = capture();
    expect(await runCli(["heaps", toyDump(), "--json"], { io: c.io, plugins: toyPlugins(), cwd: dir })).toBe(0);
    expect(JSON.parse(c.out()).heaps).toHaveLength(1);
    const c2 = capture();
    expect(await runCli(["heaps", toyDump()], { io: c2.io, plugins: [{ name: "x" }] as never, cwd: dir })).toBe(2);
    expect(c2.err()).toMatch(/\[USAGE\].*plugins\[0\] is not a plugin/);
  });
});

describe("plugin sections in the text of every command", () => {
  it("prints them after the command's own text", async () => {
    const r = await run(["--plugin", "./counter.mjs", "heaps", toyDump()]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("Plugin sections:");
    expect(r.out).toMatch(/counter:\n\s+count: 1\n\s+rows:\n\s+name\s+bytes\n\s+a\s+16/);
  });
});
