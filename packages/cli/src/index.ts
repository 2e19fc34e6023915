export { runCli, parseNumberArg, parseRangeArg, type CliOptions } from "./program.js";
export { defaultPlugins } from "./plugins.js";
export type { CliIO } from "./io.js";
