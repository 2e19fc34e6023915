import { Type } from "@leakscope/core";
import { type Address, STAGE_ENRICH, type StackRecord, definePlugin } from "@leakscope/core";
import { Symbolizer, type SymbolizedFrame, toFrameText } from "./symbolizer.js";

/** Runs after the stack-trace plugin (STAGE_ENRICH) has filled `run.data.traces`. */
export const STAGE_SYMBOLIZE = STAGE_ENRICH + 10;

export const SymbolsOptions = Type.Object(
  {
    symbolPaths: Type.Array(Type.String(), {
      default: [],
      description: "Directories searched for <pdb> and <pdb>/<GUIDAGE>/<pdb> (the CLI's --symbols)",
    }),
    exports: Type.Boolean({ default: true, description: "Name frames from the PE export directories in dump memory" }),
  },
  { additionalProperties: false },
);

/**
 * Replace the symbol-free `module+0xoff` text of every allocation stack with
 * `module!symbol+0xoff` (PDB procedures and publics, else exports, else module+offset), at
 * `heapsWalked` / {@link STAGE_SYMBOLIZE}. Diagnostics (mismatched PDBs ...) go to the run.
 */
export const symbols = definePlugin({
  name: "symbols",
  options: SymbolsOptions,
  setup: (options) => ({
    apply(engine) {
      engine.hooks.heapsWalked.tapPromise({ name: "symbols", stage: STAGE_SYMBOLIZE }, async (run) => {
        const traces = run.data.traces;
        if (run.target.kind !== "user" || !traces || traces.stacks.length === 0) return;
        const s = Symbolizer.forTarget(run.target, { symbolPaths: options.symbolPaths, exports: options.exports, diagnostics: run.diagnostics });
        symbolizeStacks(s, traces.stacks);
      });
    },
  }),
});

/** Fill `text` of every stack record; frames shared between stacks are symbolized once. */
export function symbolizeStacks(symbolizer: Symbolizer, stacks: StackRecord[]): void {
  const memo = new Map<Address, SymbolizedFrame>();
  for (const st of stacks) {
    st.text = st.frames.map((a) => {
      let r = memo.get(a);
      if (!r) memo.set(a, (r = symbolizer.symbolize(a)));
      return toFrameText(r);
    });
  }
}
