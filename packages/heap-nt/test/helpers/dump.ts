/** Test helper: run the engine (discovery + walk) over a ready Target (synthetic or opened minidump). */
import { BufferSource, Engine, type LeakscopePlugin, type Run, type Target } from "@leakscope/core";

/** Run discovery + walk over a ready Target with the given plugins. */
export async function runOnTarget(target: Target, plugins: LeakscopePlugin[], keepOpen = false): Promise<Run> {
  const reader: LeakscopePlugin = {
    name: "test-target",
    apply(engine) {
      engine.hooks.resolveReader.tap("test-target", () => ({ name: "test-target", open: () => target }));
    },
  };
  const engine = new Engine({ plugins: [reader, ...plugins] });
  const open = await engine.openSource(new BufferSource(new Uint8Array(16), "<target>"), { command: "heaps", depth: "walk" });
  if (!keepOpen) open.close();
  return open.run;
}
