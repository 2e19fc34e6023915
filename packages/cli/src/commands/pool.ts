import { Command, Option } from "@commander-js/extra-typings";
import { UsageError } from "@leakscope/core";
import { type PoolSort, poolKm } from "@leakscope/pool-km";
import { checkDriversDir, checkPooltagFile } from "../checks.js";
import type { CommandContext } from "../context.js";
import { jsonOption, parseCount, topOption } from "../options.js";
import { poolRowsOfRun, poolSection, renderPool } from "../pool.js";

export function poolCommand(ctx: CommandContext) {
  return new Command("pool")
    .description("kernel pool usage by tag with descriptions and owning drivers, like !poolused")
    .argument("<input>", "kernel dump (MEMORY.DMP) or a log with !poolused / poolmon output")
    .addOption(new Option("--sort <by>", "sort order").choices(["nonpaged", "paged", "allocs", "tag"]).default("nonpaged"))
    .addOption(topOption("rows to show", "30"))
    .option("--pooltag <file>", "your pooltag.txt (default: the Debugging Tools install paths on Windows)")
    .option("--drivers <dir>", "also search these driver files for the tags")
    .option("--no-owners", "skip the search for drivers that use each tag")
    .addOption(jsonOption())
    .action(async (file, flags) => {
      const top = parseCount(flags.top, "--top");
      checkPooltagFile(flags.pooltag);
      checkDriversDir(flags.drivers);
      const pk = poolKm(flags.pooltag !== undefined ? { pooltagFile: flags.pooltag } : {});
      const report = await ctx.execute({ file, depth: "open", command: "pool", plugins: [pk] }, (r, run) => {
        const got = poolRowsOfRun(run);
        if (!got) throw new UsageError(`${file} holds no pool data: pass a kernel dump or a log with !poolused or poolmon output`);
        const section = poolSection(run, got.rows, got.method, {
          sort: flags.sort as PoolSort,
          top,
          owners: flags.owners,
          ...(flags.drivers !== undefined ? { drivers: flags.drivers } : {}),
        });
        return { ...r, pool: section, diagnostics: run.allDiagnostics() };
      });
      ctx.emit(report, flags, (r) => (r.pool ? renderPool(r.pool) : ""));
    });
}
