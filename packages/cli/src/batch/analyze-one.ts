import type { BatchLine, LeakscopePlugin, Report } from "@leakscope/core";
import { defaultPlugins } from "../plugins.js";
import { identify } from "../snapshots.js";
import type { BatchInput } from "./inputs.js";
import { type BatchAnalyzeOptions, lineOfError, lineOfReport, parseCliError } from "./line.js";

/**
 * Analyse one input exactly as `leakscope analyze --json` does (same plugins, same exit codes)
 * and turn the result into its NDJSON line. Never throws: a failure is the line's error.
 */
export async function analyzeOne(input: BatchInput, options: BatchAnalyzeOptions): Promise<BatchLine> {
  const { runCli } = await import("../program.js");
  const started = performance.now();
  let out = "";
  let err = "";
  const argv = ["analyze", input.path, "--json", "--top", String(Math.max(options.top, 1))];
  if (!options.reachability) argv.push("--no-reachability");
  if (!options.types) argv.push("--no-types");
  for (const s of options.symbols) argv.push("--symbols", s);
  let code: number;
  try {
    code = await runCli(argv, {
      plugins: () => [...defaultPlugins(), programFacts],
      io: { stdout: (t) => void (out += t), stderr: (t) => void (err += t), stderrIsTTY: false, stdoutIsTTY: false, env: {} },
    });
  } catch (e) {
    return lineOfError(input, "INTERNAL_ERROR", e instanceof Error ? e.message : String(e), 3, performance.now() - started);
  }
  const ms = performance.now() - started;
  if (code === 0 || code === 1) {
    try {
      return lineOfReport(input, JSON.parse(out) as Report, options.top, ms);
    } catch (e) {
      return lineOfError(input, "INTERNAL_ERROR", `analyze printed no report: ${e instanceof Error ? e.message : String(e)}`, 3, ms);
    }
  }
  const { code: c, message } = parseCliError(err, code);
  return lineOfError(input, c, message, code, ms);
}

/** Puts the program a dump is of (main module name, version, link time) where the line reads it. */
const programFacts: LeakscopePlugin = {
  name: "batch-program",
  apply(engine) {
    engine.hooks.report.tapPromise("batch-program", async (report, run) => {
      const p = run.hasTarget && run.target.kind === "user" ? identify(run).program : undefined;
      if (!p) return report;
      const version = run.target.modules[0]?.version;
      return { ...report, extensions: { ...report.extensions, [PROGRAM_EXTENSION]: { ...p, ...(version ? { version } : {}) } } };
    });
  },
};

/** Where {@link analyzeOne} keeps the program facts in the report it reads (never printed). */
export const PROGRAM_EXTENSION = "batch-program";
