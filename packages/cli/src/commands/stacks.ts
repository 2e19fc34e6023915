import { Command } from "@commander-js/extra-typings";
import { groupByStack } from "@leakscope/stacks";
import { logStackGroups } from "@leakscope/windbg-text";
import type { CommandContext } from "../context.js";
import { jsonOption, parseCount, symbolsOption, topOption } from "../options.js";
import { renderStacks } from "../render.js";

export function stacksCommand(ctx: CommandContext) {
  return new Command("stacks")
    .description("live allocations grouped by allocation stack (count, bytes, sizes, samples), like UMDH")
    .argument("<dump>")
    .addOption(topOption("stacks to show", "20"))
    .addOption(jsonOption())
    .addOption(symbolsOption())
    .action(async (file, flags) => {
      const top = parseCount(flags.top, "--top");
      const report = await ctx.execute({ file, depth: "walk", command: "stacks", symbols: flags.symbols }, (r, run) => ({ ...r, stacks: logStackGroups(run, groupByStack(run, top), top) }));
      ctx.emit(report, flags, renderStacks);
    });
}
