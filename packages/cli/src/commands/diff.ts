import { Command } from "@commander-js/extra-typings";
import { type Diagnostic, InputError } from "@leakscope/core";
import { type Snapshot, analyzeDiff, coverageOf, diffSnapshots, snapshotHasFigures } from "@leakscope/analyze";
import { checkOutputFile } from "../checks.js";
import type { CommandContext } from "../context.js";
import { formatOption, jsonOption, outputOption, parseCount, symbolsOption, topOption } from "../options.js";
import { type InputIdentity, differentPrograms, identify, snapshotForCompare, tagInput } from "../snapshots.js";
import { diffProcess, processSection } from "@leakscope/process";

const when = (s: number): string => new Date(s * 1000).toISOString().replace(".000Z", "Z");

/**
 * Compare the inputs of a diff: different programs are refused (exit 2) unless forced; an
 * "after" dump written before the "before" one is a warning. Returns the warnings to report.
 */
export function checkDiffInputs(before: InputIdentity, after: InputIdentity, force: boolean): Diagnostic[] {
  const out: Diagnostic[] = [];
  const message = differentPrograms(before, after);
  if (message) {
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
      let beforeCoverage: ReturnType<typeof coverageOf> | undefined;
      const beforeReport = await ctx.execute({ file: beforeFile, depth: "walk", command: "diff", symbols: flags.symbols }, (r, run) => {
        before = snapshotForCompare(run);
        beforeId = identify(run);
        beforeProcess = processSection(run);
        let busy = 0;
        for (const h of before.heaps.values()) busy += h.count;
        beforeCoverage = coverageOf(run, busy, snapshotHasFigures(before) ? { hasFigures: true } : {});
        return r;
      });
      const report = await ctx.execute({ file: afterFile, depth: "walk", command: "diff", symbols: flags.symbols }, (r, run) => {
        const warnings = checkDiffInputs(beforeId!, identify(run), flags.force === true);
        const after = snapshotForCompare(run);
        const diff = diffSnapshots(before!, after, top);
        const afterProcess = processSection(run);
        if (beforeProcess && afterProcess) diff.process = diffProcess(beforeProcess, afterProcess, top);
        return {
          ...r,
          diff,
          analysis: analyzeDiff(diff, run, beforeCoverage, 10, snapshotHasFigures(after) ? { hasFigures: true } : {}),
          diagnostics: [...warnings, ...tagInput(beforeReport.diagnostics, beforeFile), ...tagInput(run.allDiagnostics(), afterFile)],
        };
      });
      for (const w of report.diagnostics.filter((d) => d.source === "cli")) ctx.io.stderr(`leakscope: warning [${w.code}]: ${w.message}\n`);
      ctx.output(report, flags.json ? "json" : flags.format, flags.output, top);
    });
}
