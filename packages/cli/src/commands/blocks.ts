import { Command, Option } from "@commander-js/extra-typings";
import { UsageError, queryBlocks } from "@leakscope/core";
import { checkHeapExists } from "../checks.js";
import type { CommandContext } from "../context.js";
import { heapOption, jsonOption, parseCount, parseNumberArg, parseRangeArg } from "../options.js";
import { renderBlocks } from "../render.js";

export function blocksCommand(ctx: CommandContext) {
  return new Command("blocks")
    .description("list heap blocks, like !heap -h and !heap -flt s|r (requested sizes, both bounds inclusive)")
    .argument("<dump>")
    .addOption(heapOption())
    .option("--size <size>", "requested size equal to SIZE (!heap -flt s)")
    .option("--range <lo-hi>", "requested size in LO..HI inclusive (!heap -flt r)")
    .addOption(new Option("--busy", "only busy user allocations").conflicts("free"))
    .addOption(new Option("--free", "only free blocks"))
    .option("--limit <n>", "most rows to print", "10000")
    .addOption(jsonOption())
    .action(async (file, flags) => {
      if (flags.size !== undefined && flags.range !== undefined) throw new UsageError("use either --size or --range, not both");
      const heap = flags.heap !== undefined ? parseNumberArg(flags.heap, "--heap") : undefined;
      const size = flags.size !== undefined ? parseNumberArg(flags.size, "--size") : undefined;
      const range = flags.range !== undefined ? parseRangeArg(flags.range) : undefined;
      const limit = parseCount(flags.limit, "--limit", 0);
      const report = await ctx.execute({ file, depth: "walk", command: "blocks", ...(heap !== undefined ? { heap } : {}) }, (r, run) => {
        checkHeapExists(run, heap);
        return {
        ...r,
        blocks: queryBlocks(run.allocations, run.heaps, {
          ...(heap !== undefined ? { heap } : {}),
          ...(size !== undefined ? { size } : {}),
          ...(range ? { range } : {}),
          ...(flags.busy ? { state: "busy" as const } : flags.free ? { state: "free" as const } : {}),
          limit,
        }),
        };
      });
      ctx.emit(report, flags, renderBlocks);
    });
}
