import { Command } from "@commander-js/extra-typings";
import { statBySize } from "@leakscope/core";
import { logStatSection } from "@leakscope/windbg-text";
import { checkHeapExists } from "../checks.js";
import type { CommandContext } from "../context.js";
import { heapOption, jsonOption, parseCount, parseNumberArg, topOption } from "../options.js";
import { renderStat } from "../render.js";

export function statCommand(ctx: CommandContext) {
  return new Command("stat")
    .description("busy allocations grouped by requested size, like !heap -stat -h")
    .argument("<dump>")
    .addOption(heapOption())
    .addOption(topOption("rows to show", "20"))
    .addOption(jsonOption())
    .action(async (file, flags) => {
      const heap = flags.heap !== undefined ? parseNumberArg(flags.heap, "--heap") : undefined;
      const top = parseCount(flags.top, "--top");
      const report = await ctx.execute({ file, depth: "walk", command: "stat", ...(heap !== undefined ? { heap } : {}) }, (r, run) => {
        checkHeapExists(run, heap);
        return {
        ...r,
        stat: logStatSection(run, heap, top) ?? statBySize(run.allocations, run.heaps, heap, top),
        };
      });
      ctx.emit(report, flags, renderStat);
    });
}
