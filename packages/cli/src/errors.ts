import { CommanderError } from "@commander-js/extra-typings";
import { EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, InternalError, LeakscopeError, VERSION } from "@leakscope/core";
import type { CliIO } from "./io.js";

/** The CLI's one top-level catch: prints the error and returns its exit code. */
export function handleError(e: unknown, io: CliIO, debug: boolean): number {
  if (e instanceof CommanderError) {
    if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") {
      return EXIT_OK;
    }
    return EXIT_BAD_INPUT; // commander already printed the message
  }
  if (e instanceof LeakscopeError && !(e instanceof InternalError) && e.exitCode !== EXIT_INTERNAL) {
    const where =
      e.fileOffset !== undefined
        ? ` (file offset 0x${e.fileOffset.toString(16)})`
        : e.where !== undefined
          ? ` (${e.where})`
          : "";
    io.stderr(`leakscope: error [${e.code}]: ${e.message}${where}\n`);
    if (debug && e.stack) io.stderr(`${e.stack}\n`);
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  const code = e instanceof LeakscopeError ? ` [${e.code}]` : "";
  io.stderr(
    `leakscope: internal error${code}: ${err.message}\n` +
      `This is a bug in leakscope ${VERSION} (node ${process.version}, ${process.platform}). ` +
      `Please report it with this message${debug ? " and the stack below" : " (rerun with --debug for the stack)"}.\n`,
  );
  if (debug && err.stack) io.stderr(`${err.stack}\n`);
  return EXIT_INTERNAL;
}
