import type { Engine } from "./engine/engine.js";
import type { InputProbe } from "./engine/hooks.js";
import type { LeakscopePlugin } from "./engine/plugin.js";
import { isMinidumpHead, minidumpReader } from "./minidump/target.js";

/**
 * The built-in input plugin: claims inputs that start with the minidump signature `MDMP`
 * (user-mode dumps from procdump, Task Manager, WER, MiniDumpWriteDump) on `resolveReader`.
 */
export function minidumpInput(): LeakscopePlugin {
  const reader = minidumpReader();
  return Object.freeze({
    name: "minidump",
    apply(engine: Engine) {
      engine.hooks.resolveReader.tap("minidump", (probe: InputProbe) => (isMinidumpHead(probe.head) ? reader : undefined));
    },
  });
}
