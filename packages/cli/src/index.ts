export { runCli, parseNumberArg, parseRangeArg, type CliOptions } from "./program.js";
export { CONFIG_FILES, defaultPlugins, loadUserPlugins, type UserPlugins } from "./plugins.js";
export type { CliIO } from "./io.js";
