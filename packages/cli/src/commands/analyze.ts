import { Command } from "@commander-js/extra-typings";
import { EXIT_FINDINGS, UsageError } from "@leakscope/core";
import { leakAnalyzer } from "@leakscope/analyze";
import { checkOutputFile } from "../checks.js";
import type { CommandContext } from "../context.js";
import { formatOption, jsonOption, outputOption, parseCount, symbolsOption, topOption } from "../options.js";

export function analyzeCommand(ctx: CommandContext) {
  return new Command("analyze")
    .description("the answer: leak suspects ranked by evidence (size classes, stacks, C++ types, unreferenced blocks)")
    .argument("<dump>", "minidump or WinDbg/UMDH/poolmon log")
    .addOption(formatOption())
    .addOption(jsonOption("same as --format json"))
    .addOption(outputOption())
    .addOption(topOption("suspects to report", "10"))
    .option("--no-reachability", "skip the unreferenced-block search (like !heap -l)")
    .option("--no-types", "skip C++ type recovery from vtables")
    .option("--fail-on <score>", "exit with code 1 when a suspect scores at least this (0..1)")
    .addOption(symbolsOption())
    .action(async (file, flags) => {
      const top = parseCount(flags.top, "--top");
      const failOn = flags.failOn !== undefined ? Number(flags.failOn) : undefined;
      if (failOn !== undefined && !(failOn >= 0 && failOn <= 1)) throw new UsageError(`--fail-on "${flags.failOn}" must be a number from 0 to 1`);
      checkOutputFile(flags.output);
      const analyzer = leakAnalyzer({ top, reachability: flags.reachability, types: flags.types });
      let report = await ctx.execute({ file, depth: "analyze", command: "analyze", symbols: flags.symbols, plugins: [analyzer] }, (r) => r);
      if (failOn !== undefined) {
        const count = (report.analysis?.suspects ?? []).filter((x) => x.score >= failOn).length;
        report = { ...report, findings: { threshold: failOn, count } };
        if (count > 0) ctx.setExitCode(EXIT_FINDINGS);
      }
      ctx.output(report, flags.json ? "json" : flags.format, flags.output, top);
    });
}
