import { defineConfig } from "tsup";

export default defineConfig([
  {
    entry: ["src/index.ts"],
    format: ["esm"],
    target: "node20",
    platform: "node",
    dts: true,
    sourcemap: true,
    // (the two builds run at once: this one must not delete the worker's output)
    clean: ["!nt-worker.*"],
  },
  {
    // The segment-walk worker: core's parts it uses are bundled in (tree-shaken), so a worker
    // starts without loading the whole engine (schemas, validators) [bench: the module loads in
    // 16 ms instead of 250-310 ms].
    entry: ["src/nt-worker.ts"],
    format: ["esm"],
    target: "node20",
    platform: "node",
    sourcemap: true,
    noExternal: ["@leakscope/core"],
    // core from its sources: its `sideEffects: false` then drops every module the walk does not use
    esbuildOptions(options) {
      options.conditions = ["@leakscope/source"];
    },
  },
]);
