import { Command, Option } from "@commander-js/extra-typings";
import { InputError, type Report } from "@leakscope/core";
import { type TrendInput, trendOfSnapshots } from "@leakscope/analyze";
import { checkOutputFile } from "../checks.js";
import type { CommandContext } from "../context.js";
import { releaseBetweenInputs } from "../gc.js";
import { formatOption, jsonOption, outputOption, parseCount, symbolsOption, topOption } from "../options.js";
import { type InputIdentity, differentPrograms, identify, snapshotForCompare, tagInput } from "../snapshots.js";
import { processFigures, processSection } from "@leakscope/process";

export function trendCommand(ctx: CommandContext) {
  return new Command("trend")
    .description("what keeps growing over three or more snapshots of one program (stacks, types, size classes, heaps, pool tags, handles, GDI objects, threads, private memory)")
    .argument("<inputs...>", "three or more dumps of one program (or UMDH / WinDbg / poolmon logs of it)")
    .addOption(formatOption())
    .addOption(jsonOption("same as --format json"))
    .addOption(outputOption())
    .addOption(topOption("suspects to report", "10"))
    .addOption(new Option("--order <order>", "snapshot order: by capture time (logs keep the command line's order) or as given").choices(["time", "given"]).default("time"))
    .option("--force", "compare dumps even when their main modules differ")
    .option("--no-types", "skip C++ type recovery from vtables")
    .addOption(symbolsOption())
    .action(async (files, flags) => {
      const top = parseCount(flags.top, "--top");
      checkOutputFile(flags.output);
      if (files.length < 3) {
        throw new InputError("CLI_TREND_TOO_FEW_INPUTS", `trend needs three or more snapshots (got ${files.length}): for two, use \`leakscope diff before after\``);
      }
      const inputs: (TrendInput & { id: InputIdentity })[] = [];
      const diagnostics: Report["diagnostics"] = [];
      let last: Report | undefined;
      for (const file of files) {
        // one input at a time: its walk is reduced to groups and released before the next
        last = await ctx.execute({ file, depth: "walk", command: "trend", symbols: flags.symbols }, (r, run) => {
          const id = identify(run);
          const other = inputs[0] && flags.force !== true ? differentPrograms(inputs[0].id, id) : undefined;
          if (other) throw new InputError("CLI_TREND_DIFFERENT_PROGRAMS", `trend: ${other}: give snapshots of one build of one program, or pass --force`);
          // handles, GDI objects, threads and private memory outside the heaps are followed too
          const ps = processSection(run, { referrers: false });
          inputs.push({
            snapshot: snapshotForCompare(run, { types: flags.types }),
            id,
            ...(id.capturedAt !== undefined ? { capturedAt: id.capturedAt * 1000 } : {}),
            ...(ps ? { process: processFigures(ps) } : {}),
          });
          diagnostics.push(...tagInput(run.allDiagnostics(), file));
          return r;
        });
        await releaseBetweenInputs();
      }
      if (flags.order === "time" && inputs.every((x) => x.capturedAt !== undefined)) inputs.sort((a, b) => a.capturedAt! - b.capturedAt!);
      const trend = trendOfSnapshots(inputs, { top });
      ctx.output({ ...last!, command: "trend", trend, diagnostics }, flags.json ? "json" : flags.format, flags.output, top);
    });
}
