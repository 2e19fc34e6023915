import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { EXIT_BAD_INPUT, type LeakscopePlugin, LeakscopeError, UsageError, minidumpInput } from "@leakscope/core";
import { pageHeap } from "@leakscope/heap-page";
import { heapNt } from "@leakscope/heap-nt";
import { heapLfh } from "@leakscope/heap-lfh";
import { heapSegment } from "@leakscope/heap-segment";
import { stackTraces } from "@leakscope/stacks";
import { poolKm } from "@leakscope/pool-km";
import { processKinds } from "@leakscope/process";
import { symbols } from "@leakscope/symbols";
import { windbgText } from "@leakscope/windbg-text";

/**
 * The plugins the `leakscope` command uses, in no particular order (stages order the taps).
 * The CLI is the only package that wires plugins together.
 */
export function defaultPlugins(): LeakscopePlugin[] {
  return [minidumpInput(), poolKm(), windbgText(), heapNt(), heapLfh(), heapSegment(), pageHeap(), stackTraces(), symbols(), processKinds()];
}

// ---- plugins chosen by the user: --plugin and leakscope.config.{mjs,json} ------------------------

/** The config file names searched from the working directory up to the filesystem root. */
export const CONFIG_FILES = ["leakscope.config.mjs", "leakscope.config.json"] as const;

/** One plugin to load: a package name or a path, its options, and where to resolve it from. */
export interface PluginEntry {
  /** Package name (`leakscope-plugin-x`, `@scope/leakscope-plugin-x`) or path (`./my-plugin.mjs`). */
  spec: string;
  options?: unknown;
  /** Directory a relative path or a package name is resolved from. */
  from: string;
  /** `--plugin` or the config file, for messages. */
  origin: string;
  /** Already loaded (an `.mjs` config may list plugin objects or factories). */
  value?: unknown;
}

/** What {@link loadUserPlugins} returns: the argv without `--plugin`/`--config`, and the plugins. */
export interface UserPlugins {
  argv: string[];
  /** The config file used, if any. */
  config: string | undefined;
  plugins: LeakscopePlugin[];
  /** The defaults with user plugins added (a user plugin replaces a default of the same name). */
  wrap(defaults: () => LeakscopePlugin[]): () => LeakscopePlugin[];
}

/**
 * Accept what embedders pass as `runCli`'s `plugins`: a function returning plugins, or an array of
 * plugins. Anything else is a usage error, not an internal one.
 */
export function pluginSource(value: unknown): () => LeakscopePlugin[] {
  if (value === undefined) return defaultPlugins;
  if (typeof value === "function") return value as () => LeakscopePlugin[];
  if (Array.isArray(value)) {
    value.forEach((p, i) => {
      if (!isPlugin(p)) throw new UsageError(`runCli options.plugins[${i}] is not a plugin: pass objects with a name and an apply(engine) function`);
    });
    const list = value as LeakscopePlugin[];
    return () => [...list];
  }
  throw new UsageError("runCli options.plugins must be an array of plugins or a function returning one");
}

function isPlugin(value: unknown): value is LeakscopePlugin {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as { name?: unknown }).name === "string" &&
    typeof (value as { apply?: unknown }).apply === "function"
  );
}

/**
 * Take `--plugin <spec>` (repeatable) and `--config <file>` out of `argv`, read the config file
 * (given, or the first `leakscope.config.mjs`/`.json` from `cwd` upwards), load every plugin and
 * create it with its options. Runs before any input is opened, so a bad option ends the command
 * with exit 2 (`PLUGIN_OPTIONS`, naming the plugin and the option) and nothing is read.
 * With `--help`/`--version` nothing is loaded.
 */
export async function loadUserPlugins(argv: readonly string[], cwd: string): Promise<UserPlugins> {
  const rest: string[] = [];
  const flagSpecs: string[] = [];
  let configFlag: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    const m = /^--(plugin|config)(?:=(.*))?$/.exec(a);
    if (!m) {
      rest.push(a);
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined || value === "") throw new UsageError(`--${m[1]} needs a value: a package name or a path`);
    if (m[1] === "plugin") flagSpecs.push(value);
    else configFlag = value;
  }
  const informational = rest.some((a) => a === "-h" || a === "--help" || a === "-V" || a === "--version" || a === "help");
  const entries: PluginEntry[] = [];
  let config: string | undefined;
  if (!informational) {
    config = configFlag !== undefined ? resolve(cwd, configFlag) : findConfig(cwd);
    if (config !== undefined) entries.push(...(await readConfig(config)));
    for (const spec of flagSpecs) entries.push({ spec, from: cwd, origin: "--plugin" });
  }
  const plugins: LeakscopePlugin[] = [];
  for (const entry of entries) {
    const plugin = await instantiate(entry);
    const clash = plugins.findIndex((p) => p.name === plugin.name);
    if (clash >= 0) plugins.splice(clash, 1); // --plugin after the config: the later one wins
    plugins.push(plugin);
  }
  return {
    argv: rest,
    config,
    plugins,
    wrap: (defaults) =>
      plugins.length === 0 ? defaults : () => [...defaults().filter((d) => !plugins.some((p) => p.name === d.name)), ...plugins],
  };
}

function findConfig(cwd: string): string | undefined {
  for (let dir = resolve(cwd); ; ) {
    for (const name of CONFIG_FILES) {
      const file = join(dir, name);
      if (existsSync(file)) return file;
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

const CONFIG_SHAPE =
  'a config names plugins: { "plugins": ["leakscope-plugin-x", ["./my-plugin.mjs", { "top": 5 }], { "plugin": "@scope/leakscope-plugin-y", "options": {} }] }';

function configError(file: string, what: string): LeakscopeError {
  return new LeakscopeError("CONFIG_INVALID", `${file}: ${what}; ${CONFIG_SHAPE}`, EXIT_BAD_INPUT, { file });
}

async function readConfig(file: string): Promise<PluginEntry[]> {
  let data: unknown;
  try {
    if (file.endsWith(".json")) {
      data = JSON.parse(readFileSync(file, "utf8"));
    } else {
      const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
      data = mod.default;
    }
  } catch (e) {
    throw configError(file, `cannot be read: ${(e as Error).message}`);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) throw configError(file, "must hold an object (the default export of an .mjs config)");
  const extra = Object.keys(data).filter((k) => k !== "plugins" && k !== "$schema");
  if (extra.length > 0) throw configError(file, `unknown key "${extra[0]}"`);
  const list = (data as { plugins?: unknown }).plugins ?? [];
  if (!Array.isArray(list)) throw configError(file, '"plugins" must be an array');
  const from = dirname(file);
  return list.map((item, i): PluginEntry => {
    const where = `${file} plugins[${i}]`;
    if (typeof item === "string") return { spec: item, from, origin: where };
    if (Array.isArray(item) && typeof item[0] === "string" && item.length <= 2) return { spec: item[0], options: item[1], from, origin: where };
    if (item !== null && typeof item === "object" && typeof (item as { plugin?: unknown }).plugin === "string") {
      const extraKeys = Object.keys(item).filter((k) => k !== "plugin" && k !== "options");
      if (extraKeys.length > 0) throw configError(file, `plugins[${i}] has unknown key "${extraKeys[0]}"`);
      return { spec: (item as { plugin: string }).plugin, options: (item as { options?: unknown }).options, from, origin: where };
    }
    if (isPlugin(item) || typeof item === "function") return { spec: isPlugin(item) ? item.name : "(factory)", value: item, from, origin: where };
    if (Array.isArray(item) && typeof item[0] === "function") return { spec: "(factory)", value: item[0], options: item[1], from, origin: where };
    throw configError(file, `plugins[${i}] is not a plugin name, [name, options], { plugin, options } or a plugin`);
  });
}

function isPathSpec(spec: string): boolean {
  return spec.startsWith(".") || isAbsolute(spec) || spec.startsWith("file:") || /^[A-Za-z]:[\\/]/.test(spec);
}

/** Resolve a package's ES module entry from `from` upwards (`exports` with node/import/default). */
function resolvePackage(spec: string, from: string): string | undefined {
  const parts = spec.split("/");
  const nameLength = spec.startsWith("@") ? 2 : 1;
  const name = parts.slice(0, nameLength).join("/");
  const subpath = parts.length > nameLength ? `./${parts.slice(nameLength).join("/")}` : ".";
  for (let dir = resolve(from); ; ) {
    const pkgDir = join(dir, "node_modules", name);
    const pkgFile = join(pkgDir, "package.json");
    if (existsSync(pkgFile)) {
      const pkg = JSON.parse(readFileSync(pkgFile, "utf8")) as { exports?: unknown; main?: string };
      let target: string | undefined;
      if (pkg.exports !== undefined) {
        const exp = pkg.exports;
        const map = typeof exp === "string" || Array.isArray(exp) || !Object.keys(exp as object).some((k) => k.startsWith(".")) ? { ".": exp } : (exp as Record<string, unknown>);
        target = pickCondition(map[subpath]);
        if (target === undefined) throw new LeakscopeError("PLUGIN_LOAD", `${name} does not export "${subpath}" for import (${pkgFile})`, EXIT_BAD_INPUT);
      } else {
        target = subpath === "." ? (pkg.main ?? "index.js") : subpath;
      }
      return pathToFileURL(join(pkgDir, target)).href;
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

function pickCondition(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    for (const v of value) {
      const got = pickCondition(v);
      if (got !== undefined) return got;
    }
    return undefined;
  }
  if (value !== null && typeof value === "object") {
    for (const [cond, v] of Object.entries(value)) {
      if (cond === "node" || cond === "import" || cond === "default") {
        const got = pickCondition(v);
        if (got !== undefined) return got;
      }
    }
  }
  return undefined;
}

async function importEntry(entry: PluginEntry): Promise<unknown> {
  const { spec, from, origin } = entry;
  let url: string | undefined;
  if (isPathSpec(spec)) {
    const file = spec.startsWith("file:") ? fileURLToPath(spec) : resolve(from, spec);
    if (!existsSync(file)) throw new LeakscopeError("PLUGIN_LOAD", `plugin ${spec} (${origin}) not found: ${file} does not exist`, EXIT_BAD_INPUT, { file });
    url = pathToFileURL(file).href;
  } else {
    url = resolvePackage(spec, from);
  }
  try {
    // a package not found from the working directory may sit beside the leakscope command itself
    return await import(url ?? spec);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const hint =
      code === "ERR_MODULE_NOT_FOUND" && url === undefined
        ? `plugin ${spec} (${origin}) is not installed: run \`npm install ${spec}\` in ${from}, or pass a path`
        : `plugin ${spec} (${origin}) cannot be loaded: ${(e as Error).message}`;
    throw new LeakscopeError("PLUGIN_LOAD", hint, EXIT_BAD_INPUT, { cause: e });
  }
}

/** Load an entry and create its plugin with its options (validated now, before any input). */
async function instantiate(entry: PluginEntry): Promise<LeakscopePlugin> {
  let value = entry.value;
  if (value === undefined) {
    const mod = (await importEntry(entry)) as Record<string, unknown>;
    value = mod.default ?? mod.plugin;
    if (value === undefined) {
      const functions = Object.values(mod).filter((v) => typeof v === "function");
      if (functions.length === 1) value = functions[0];
    }
  }
  const what = `plugin ${entry.spec} (${entry.origin})`;
  if (isPlugin(value)) {
    if (entry.options !== undefined) throw new LeakscopeError("PLUGIN_OPTIONS", `${what} is a plugin object and takes no options; export a factory to accept them`, EXIT_BAD_INPUT);
    return value;
  }
  if (typeof value !== "function") {
    throw new LeakscopeError("PLUGIN_LOAD", `${what} exports no plugin: export default a factory, (options) => ({ name, apply(engine) {} })`, EXIT_BAD_INPUT);
  }
  let made: unknown;
  try {
    made = (value as (options?: unknown) => unknown)(entry.options);
  } catch (e) {
    // duck-typed: the plugin may have been built against another copy of @leakscope/core
    if ((e as { code?: unknown }).code === "PLUGIN_OPTIONS") {
      throw new LeakscopeError("PLUGIN_OPTIONS", `${(e as Error).message} (${entry.origin})`, EXIT_BAD_INPUT, { cause: e });
    }
    throw new LeakscopeError("PLUGIN_LOAD", `${what} failed to start: ${(e as Error).message}`, EXIT_BAD_INPUT, { cause: e });
  }
  if (!isPlugin(made)) throw new LeakscopeError("PLUGIN_LOAD", `${what}: its factory returned no plugin (an object with a name and an apply(engine) function)`, EXIT_BAD_INPUT);
  return made;
}
