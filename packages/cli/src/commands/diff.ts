import { Command } from "@commander-js/extra-typings";
import type { Run } from "@leakscope/core";
import { diffSnapshots, snapshotOfRun } from "@leakscope/analyze";
import { outstanding } from "@leakscope/pool-km";
import { checkOutputFile } from "../checks.js";
import type { CommandContext } from "../context.js";
import { formatOption, jsonOption, outputOption, parseCount, symbolsOption, topOption } from "../options.js";
import { poolRowsOfRun } from "../pool.js";

/** A run's live allocations (and pool tags, for kernel inputs) as one snapshot to compare. */
function snapshot(run: Run): ReturnType<typeof snapshotOfRun> {
  const snap = snapshotOfRun(run);
  const pool = poolRowsOfRun(run);
  if (pool) {
    snap.other = new Map();
    for (const row of pool.rows) {
      const count = outstanding(row.nonPagedAllocs, row.nonPagedFrees) + outstanding(row.pagedAllocs, row.pagedFrees);
      snap.other.set(row.tag, { kind: "pool-tag", count, bytes: row.nonPagedBytes + row.pagedBytes });
    }
  }
  return snap;
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
    .addOption(symbolsOption())
    .action(async (beforeFile, afterFile, flags) => {
      const top = parseCount(flags.top, "--top");
      checkOutputFile(flags.output);
      let before: ReturnType<typeof snapshotOfRun> | undefined;
      const beforeReport = await ctx.execute({ file: beforeFile, depth: "walk", command: "diff", symbols: flags.symbols }, (r, run) => {
        before = snapshot(run);
        return r;
      });
      const report = await ctx.execute({ file: afterFile, depth: "walk", command: "diff", symbols: flags.symbols }, (r, run) => ({
        ...r,
        diff: diffSnapshots(before!, snapshot(run), top),
        diagnostics: [...beforeReport.diagnostics, ...run.allDiagnostics()],
      }));
      ctx.output(report, flags.json ? "json" : flags.format, flags.output, top);
    });
}
