import { Command } from "@commander-js/extra-typings";
import { formatLfhBuckets, lfhBucketStats } from "@leakscope/heap-lfh";
import type { CommandContext } from "../context.js";
import { jsonOption } from "../options.js";
import { renderHeaps } from "../render.js";

export function heapsCommand(ctx: CommandContext) {
  return new Command("heaps")
    .description("every heap of both bitnesses with totals, like !heap -s")
    .argument("<dump>")
    .option("--buckets", "also print each low-fragmentation heap's buckets (like !heap -s -h's bucket table)")
    .addOption(jsonOption("print the report as JSON (LFH buckets always included)"))
    .action(async (file, flags) => {
      const texts: string[] = [];
      const report = await ctx.execute({ file, depth: "walk", command: "heaps" }, (r, run) => {
        const heaps = r.heaps?.map((h, i) => {
          const stats = run.heaps[i] ? lfhBucketStats(run.heaps[i]!) : undefined;
          if (!stats) return h;
          if (flags.buckets) texts.push(formatLfhBuckets(stats));
          return {
            ...h,
            buckets: stats.buckets.map((b) => ({
              blockSize: b.blockSize,
              subsegments: b.subsegments,
              totalBlocks: b.totalBlocks,
              busyBlocks: b.busyBlocks,
              freeBlocks: b.freeBlocks,
              busyBytes: b.busyBytes,
            })),
          };
        });
        return heaps ? { ...r, heaps } : r;
      });
      ctx.emit(report, flags, (r) => renderHeaps(r) + (texts.length ? `\n${texts.join("\n")}` : ""));
    });
}
