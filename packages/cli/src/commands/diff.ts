import { Command } from "@commander-js/extra-typings";
import { type Diagnostic, InputError, type Report, type Run, minidumpOf } from "@leakscope/core";
import { type Snapshot, diffSnapshots } from "@leakscope/analyze";
import { checkOutputFile } from "../checks.js";
import type { CommandContext } from "../context.js";
import { formatOption, jsonOption, outputOption, parseCount, symbolsOption, topOption } from "../options.js";
import { snapshotForCompare } from "../snapshots.js";
import { diffProcess, processSection } from "@leakscope/process";

/** What says two dumps come from one program, and when each was written. */
export interface InputIdentity {
  path: string;
  /** The main module (a process's executable, a kernel's ntoskrnl); absent for text logs. */
  program?: { name: string; size: number; timestamp: number };
  /** When the dump was written, seconds since 1970 (UTC). */
  capturedAt?: number;
}

export function identify(run: Run): InputIdentity {
  const t = run.target;
  const id: InputIdentity = { path: run.input.path };
  const main = t.kind === "text" ? undefined : t.modules[0];
  if (main) id.program = { name: (main.name.split(/[\\/]/).pop() ?? main.name).toLowerCase(), size: main.size, timestamp: main.timestamp >>> 0 };
  const md = minidumpOf(t);
  if (md && md.header.timestamp > 0) id.capturedAt = md.header.timestamp;
  const kd = (t.data as { kernelDump?: { header: { systemTime: bigint } } }).kernelDump;
  if (kd && kd.header.systemTime > 0n) id.capturedAt = Number(kd.header.systemTime / 10_000_000n) - 11_644_473_600;
  return id;
}

const describe = (p: NonNullable<InputIdentity["program"]>): string => `${p.name} (size 0x${p.size.toString(16)}, timestamp 0x${p.timestamp.toString(16)})`;
const when = (s: number): string => new Date(s * 1000).toISOString().replace(".000Z", "Z");

/**
 * Compare the inputs of a diff: different programs are refused (exit 2) unless forced; an
 * "after" dump written before the "before" one is a warning. Returns the warnings to report.
 */
export function checkDiffInputs(before: InputIdentity, after: InputIdentity, force: boolean): Diagnostic[] {
  const out: Diagnostic[] = [];
  const a = before.program;
  const b = after.program;
  if (a && b && (a.name !== b.name || a.size !== b.size || a.timestamp !== b.timestamp)) {
    const message = `${before.path} is ${describe(a)} but ${after.path} is ${describe(b)}`;
    if (!force) throw new InputError("CLI_DIFF_DIFFERENT_PROGRAMS", `diff: ${message}: compare two dumps of one program, or pass --force to compare them anyway`);
    out.push({ code: "CLI_DIFF_FORCED", severity: "warning", source: "cli", message: `--force: ${message}; growth between them may mean nothing` });
  }
  if (before.capturedAt !== undefined && after.capturedAt !== undefined && after.capturedAt < before.capturedAt) {
    out.push({
      code: "CLI_DIFF_AFTER_OLDER",
      severity: "warning",
      source: "cli",
      message: `the "after" dump ${after.path} was captured at ${when(after.capturedAt)}, before the "before" dump ${before.path} (${when(before.capturedAt)}): swap them to see growth`,
    });
  }
  return out;
}

/** Each diagnostic names the input it came from, so the outputs can group them per input. */
function tagged(diagnostics: Report["diagnostics"], path: string): Report["diagnostics"] {
  return diagnostics.map((d) => ({ ...d, location: { ...d.location, file: d.location?.file ?? path } }));
}

export function diffCommand(ctx: CommandContext) {
  return new Command("diff")
    .description("what grew between two snapshots of one process (heaps, size classes, stacks), like UMDH's diff")
    .argument("<before>", "the earlier dump")
    .argument("<after>", "the later dump")
    .addOption(formatOption())
    .addOption(jsonOption("same as --format json"))
    .addOption(outputOption())
    .addOption(topOption("rows to report", "50"))
    .option("--force", "compare dumps of different programs (refused otherwise)")
    .addOption(symbolsOption())
    .action(async (beforeFile, afterFile, flags) => {
      const top = parseCount(flags.top, "--top");
      checkOutputFile(flags.output);
      let before: Snapshot | undefined;
      let beforeId: InputIdentity | undefined;
      let beforeProcess: ReturnType<typeof processSection>;
      const beforeReport = await ctx.execute({ file: beforeFile, depth: "walk", command: "diff", symbols: flags.symbols }, (r, run) => {
        before = snapshotForCompare(run);
        beforeId = identify(run);
        beforeProcess = processSection(run);
        return r;
      });
      const report = await ctx.execute({ file: afterFile, depth: "walk", command: "diff", symbols: flags.symbols }, (r, run) => {
        const warnings = checkDiffInputs(beforeId!, identify(run), flags.force === true);
        const diff = diffSnapshots(before!, snapshotForCompare(run), top);
        const afterProcess = processSection(run);
        if (beforeProcess && afterProcess) diff.process = diffProcess(beforeProcess, afterProcess, top);
        return {
          ...r,
          diff,
          diagnostics: [...warnings, ...tagged(beforeReport.diagnostics, beforeFile), ...tagged(run.allDiagnostics(), afterFile)],
        };
      });
      for (const w of report.diagnostics.filter((d) => d.source === "cli")) ctx.io.stderr(`leakscope: warning [${w.code}]: ${w.message}\n`);
      ctx.output(report, flags.json ? "json" : flags.format, flags.output, top);
    });
}
