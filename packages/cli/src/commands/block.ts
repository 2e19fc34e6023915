import { Command } from "@commander-js/extra-typings";
import { findBlock } from "@leakscope/core";
import { stackFrames } from "@leakscope/analyze";
import { buildTraceTable } from "@leakscope/stacks";
import type { CommandContext } from "../context.js";
import { jsonOption, parseNumberArg, symbolsOption } from "../options.js";
import { renderBlock } from "../render.js";

export function blockCommand(ctx: CommandContext) {
  return new Command("block")
    .description("the block containing an address, like !heap -x (and its stack, like !heap -p -a, when traces exist)")
    .argument("<dump>")
    .argument("<address>", "any address inside a block")
    .addOption(jsonOption())
    .addOption(symbolsOption())
    .action(async (file, addressText, flags) => {
      const address = parseNumberArg(addressText, "address");
      const report = await ctx.execute({ file, depth: "walk", command: "block", symbols: flags.symbols }, (r, run) => {
        const block = findBlock(run.allocations, run.heaps, address);
        const traces = run.data.traces ?? (run.target.kind === "user" ? buildTraceTable(run) : undefined);
        if (block.found) {
          const i = run.allocations.findContaining(address);
          const sid = traces?.stackOf[i] ?? -1;
          if (traces && sid >= 0) {
            block.stack = stackFrames(traces, sid);
          } else {
            block.stackNote = traces?.status === "present" ? "This block has no recorded allocation stack." : (traces?.note ?? "No allocation stacks in this input.");
          }
        }
        return { ...r, block };
      });
      ctx.emit(report, flags, renderBlock);
    });
}
