import { Command } from "@commander-js/extra-typings";
import { EXIT_OK, type LeakscopePlugin, VERSION } from "@leakscope/core";
import { COMMANDS } from "./commands/index.js";
import { createContext } from "./context.js";
import { handleError } from "./errors.js";
import { type CliIO, processIO } from "./io.js";
import { defaultPlugins } from "./plugins.js";

export { parseNumberArg, parseRangeArg } from "./options.js";

export interface CliOptions {
  io?: CliIO;
  /** Plugins to use instead of the defaults (tests, embedders). */
  plugins?: () => LeakscopePlugin[];
}

/**
 * Run the CLI with `argv` (without node and script). Returns the exit code:
 * 0 ok, 1 findings at or above the threshold (analyze), 2 bad usage or input, 3 internal error.
 * The commands live in `commands/`, one module each; this function only wires them.
 */
export async function runCli(argv: readonly string[], options: CliOptions = {}): Promise<number> {
  const io = options.io ?? processIO();
  let exitCode = EXIT_OK;
  const ctx = createContext(io, options.plugins ?? defaultPlugins, (code) => {
    exitCode = code;
  });

  const program = new Command()
    .name("leakscope")
    .description("Find memory leaks in Windows crash dumps and WinDbg logs, on any OS, without symbols.")
    .version(VERSION, "-V, --version")
    .option("--debug", "print stack traces of internal errors")
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
