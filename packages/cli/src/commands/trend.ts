import { Command, Option } from "@commander-js/extra-typings";
import { InputError, type Report } from "@leakscope/core";
import { type TrendInput, trendOfSnapshots } from "@leakscope/analyze";
import { checkOutputFile } from "../checks.js";
import type { CommandContext } from "../context.js";
import { releaseBetweenInputs } from "../gc.js";
import { formatOption, jsonOption, outputOption, parseCount, symbolsOption, topOption } from "../options.js";
import { snapshotForCompare } from "../snapshots.js";
import { type InputIdentity, identify } from "./diff.js";
import { processFigures, processSection } from "@leakscope/process";

const describe = (p: NonNullable<InputIdentity["program"]>): string => `${p.name} (size 0x${p.size.toString(16)}, timestamp 0x${p.timestamp.toString(16)})`;

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
          const first = inputs[0]?.id.program;
          if (first && id.program && flags.force !== true && (first.name !== id.program.name || first.size !== id.program.size || first.timestamp !== id.program.timestamp)) {
            throw new InputError(
              "CLI_TREND_DIFFERENT_PROGRAMS",
              `trend: ${inputs[0]!.id.path} is ${describe(first)} but ${file} is ${describe(id.program)}: give snapshots of one build of one program, or pass --force`,
            );
          }
          // handles, GDI objects, threads and private memory outside the heaps are followed too
          const ps = processSection(run, { referrers: false });
          inputs.push({
            snapshot: snapshotForCompare(run, { types: flags.types }),
            id,
            ...(id.capturedAt !== undefined ? { capturedAt: id.capturedAt * 1000 } : {}),
            ...(ps ? { process: processFigures(ps) } : {}),
          });
          for (const d of run.allDiagnostics()) diagnostics.push({ ...d, location: { ...d.location, file: d.location?.file ?? file } });
          return r;
        });
        await releaseBetweenInputs();
      }
      if (flags.order === "time" && inputs.every((x) => x.capturedAt !== undefined)) inputs.sort((a, b) => a.capturedAt! - b.capturedAt!);
      const trend = trendOfSnapshots(inputs, { top });
      ctx.output({ ...last!, command: "trend", trend, diagnostics }, flags.json ? "json" : flags.format, flags.output, top);
    });
}
