import { Command } from "@commander-js/extra-typings";
import { UsageError } from "@leakscope/core";
import { lfhOffsets } from "@leakscope/heap-lfh";
import { layoutForBuild, ntOffsets } from "@leakscope/heap-nt";
import { segmentLayoutForBuild, segmentOffsets } from "@leakscope/heap-segment";
import { poolOffsets } from "@leakscope/pool-km";
import type { CommandContext } from "../context.js";

/**
 * The structure offsets leakscope uses for one Windows build and architecture, keyed
 * `Struct.Field` as Microsoft's PDBs spell them, from each walker's own table. A field the build
 * does not have is absent (e.g. `_LFH_BLOCK_ZONE.NextIndex` before 9600).
 */
export function layoutOffsets(build: number, arch: "x64" | "x86"): Record<string, number> {
  const bitness = arch === "x64" ? 64 : 32;
  const all: Record<string, number> = {
    ...ntOffsets(build, bitness),
    ...(layoutForBuild(build) !== undefined ? lfhOffsets(build, bitness) : {}),
    ...segmentOffsets(build, bitness),
    ...poolOffsets(build, bitness === 64 ? 8 : 4),
  };
  return Object.fromEntries(Object.entries(all).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Text form: one `Struct.Field  0x..` line each, with the table names on top. */
function renderOffsets(build: number, arch: "x64" | "x86", offsets: Record<string, number>): string {
  const bitness = arch === "x64" ? 64 : 32;
  const nt = layoutForBuild(build) ?? "none (probed from the heap)";
  const seg = segmentLayoutForBuild(build, bitness)?.name ?? "none (every table is tried against the heap)";
  const width = Math.max(0, ...Object.keys(offsets).map((k) => k.length));
  const lines = [`Windows build ${build} ${arch}: NT heap table ${nt}, segment heap table ${seg}`, ""];
  for (const [k, v] of Object.entries(offsets)) lines.push(`${k.padEnd(width)}  0x${v.toString(16)}`);
  return `${lines.join("\n")}\n`;
}

/** `leakscope layouts --build N --arch x64|x86 [--json]`. */
export function layoutsCommand(ctx: CommandContext) {
  const io = ctx.io;
  return new Command("layouts")
    .description("the structure offsets leakscope uses for a Windows build, to hold against a PDB listing")
    .requiredOption("--build <n>", "Windows build number (e.g. 19041)")
    .option("--arch <arch>", "x64 or x86", "x64")
    .option("--json", "print one object keyed Struct.Field")
    .action((flags) => {
      const build = Number(flags.build);
      if (!Number.isInteger(build) || build <= 0) throw new UsageError(`--build "${flags.build}" must be a Windows build number such as 19041`);
      if (flags.arch !== "x64" && flags.arch !== "x86") throw new UsageError(`--arch "${flags.arch}" must be x64 or x86`);
      const offsets = layoutOffsets(build, flags.arch);
      if (flags.json) io.stdout(`${JSON.stringify(offsets, null, 2)}\n`);
      else io.stdout(renderOffsets(build, flags.arch, offsets));
    });
}
