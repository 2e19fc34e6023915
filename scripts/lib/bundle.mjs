// Bundles what the scripts need from leakscope straight from the sources (esbuild, the
// `@leakscope/source` export condition) into .tmp/scripts: the engine, the default plugins and
// the test-utils generators as they are in the work tree. No build needed, and independent of
// the packages' dist folders (which a parallel build may be rewriting).
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

const COMMON_EXPORTS = [
  'export { Engine, BufferSource, isUserAllocation, LeakscopeError, InternalError, PluginError } from "@leakscope/core";',
  'export { defaultPlugins } from "./packages/cli/src/plugins.js";',
  'export * from "./packages/test-utils/src/bench.js";',
  'export * from "./packages/test-utils/src/fuzz.js";',
  'export { buildProcessDump } from "./packages/test-utils/src/process.js";',
];

/**
 * Bundle the common exports plus `extra` export lines; returns the bundle's path. The bundle gets
 * its own directory, with heap-nt's worker module beside it (`nt-worker.js`, where heap-nt looks for
 * it), so parallel walks run from the same sources as the rest.
 */
export async function bundleLeakscope(name, extra = []) {
  const { build } = await import("esbuild");
  const dir = join(root, ".tmp", "scripts", `${name}-${process.pid}`);
  const outfile = join(dir, "index.mjs");
  const common = {
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    conditions: ["@leakscope/source"],
    // CommonJS dependencies (ajv, tapable) call require(): give the bundle one
    banner: { js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' },
    logLevel: "error",
  };
  await build({
    ...common,
    stdin: {
      contents: [...COMMON_EXPORTS, ...extra].join("\n"),
      resolveDir: root,
      sourcefile: `${name}-entry.ts`,
      loader: "ts",
    },
    outfile,
  });
  await build({ ...common, entryPoints: [join(root, "packages/heap-nt/src/nt-worker.ts")], outfile: join(dir, "nt-worker.js") });
  return outfile;
}
