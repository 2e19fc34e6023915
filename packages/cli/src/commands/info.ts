import { Command } from "@commander-js/extra-typings";
import type { CommandContext } from "../context.js";
import { jsonOption } from "../options.js";
import { renderInfo } from "../render.js";

export function infoCommand(ctx: CommandContext) {
  return new Command("info")
    .description("what the dump is: kind, architecture, OS build, WoW64, modules, threads, memory")
    .argument("<dump>", "minidump, kernel dump or WinDbg log")
    .addOption(jsonOption("print the report as JSON (schema: @leakscope/core/report.schema.json)"))
    .action(async (file, flags) => {
      const report = await ctx.execute({ file, depth: "open", command: "info" }, (r) => r);
      ctx.emit(report, flags, renderInfo);
    });
}
