import { Command } from "@commander-js/extra-typings";
import { EXIT_OK, type LeakscopePlugin, VERSION } from "@leakscope/core";
import { COMMANDS } from "./commands/index.js";
import { createContext } from "./context.js";
import { handleError } from "./errors.js";
import { type CliIO, processIO } from "./io.js";
import { type UserPlugins, loadUserPlugins, pluginSource } from "./plugins.js";

export { parseNumberArg, parseRangeArg } from "./options.js";

export interface CliOptions {
  io?: CliIO;
  /** Plugins to use instead of the defaults (tests, embedders): an array, or a function returning one. */
  plugins?: readonly LeakscopePlugin[] | (() => LeakscopePlugin[]);
  /** Where `leakscope.config.*` is searched from and `--plugin` paths are resolved (default: the process's). */
  cwd?: string;
}

/**
 * Run the CLI with `argv` (without node and script). Returns the exit code:
 * 0 ok, 1 findings at or above the threshold (analyze), 2 bad usage or input, 3 internal error.
 * The commands live in `commands/`, one module each; this function only wires them.
 */
export async function runCli(argvIn: readonly string[], options: CliOptions = {}): Promise<number> {
  const io = options.io ?? processIO();
  let exitCode = EXIT_OK;
  // --plugin and the config file: loaded and their options validated before any input is opened
  let user: UserPlugins;
  let plugins: () => LeakscopePlugin[];
  try {
    const base = pluginSource(options.plugins);
    user = await loadUserPlugins(argvIn, options.cwd ?? process.cwd());
    plugins = user.wrap(base);
  } catch (e) {
    return handleError(e, io, argvIn.includes("--debug"));
  }
  const argv = user.argv;
  const ctx = createContext(io, plugins, (code) => {
    exitCode = code;
  });

  const program = new Command()
    .name("leakscope")
    .description("Find memory leaks in Windows crash dumps and WinDbg logs, on any OS, without symbols.")
    .version(VERSION, "-V, --version")
    .option("--debug", "print stack traces of internal errors")
    .option("--plugin <package-or-path>", "load a plugin (repeatable); plugins and options also come from leakscope.config.{mjs,json}")
    .option("--config <file>", "the config file to use instead of the first leakscope.config.{mjs,json} from the working directory up")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
    });
  program.addHelpText(
    "after",
    `
Numbers (sizes, addresses) are hexadecimal like in WinDbg; prefix 0n for decimal.
Exit codes: 0 ok, 1 findings reported (analyze), 2 bad usage or unreadable input, 3 internal error.`,
  );
  for (const make of COMMANDS) program.addCommand(make(ctx).copyInheritedSettings(program));

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (e) {
    exitCode = handleError(e, io, argv.includes("--debug"));
  }
  return exitCode;
}
