import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import type { CommandContext } from "../context.js";
import { analyzeCommand } from "./analyze.js";
import { blockCommand } from "./block.js";
import { blocksCommand } from "./blocks.js";
import { batchCommand } from "./batch.js";
import { diffCommand } from "./diff.js";
import { heapsCommand } from "./heaps.js";
import { infoCommand } from "./info.js";
import { layoutsCommand } from "./layouts.js";
import { poolCommand } from "./pool.js";
import { stacksCommand } from "./stacks.js";
import { statCommand } from "./stat.js";
import { trendCommand } from "./trend.js";
import { verifyCommand } from "./verify.js";

/** Builds one subcommand; the program adds it with the root's settings (output, exit override). */
export type CommandFactory = (ctx: CommandContext) => CommandUnknownOpts;

/** Every command, in the order `leakscope --help` lists them. Add a new command's factory here. */
export const COMMANDS: readonly CommandFactory[] = [
  infoCommand,
  heapsCommand,
  blocksCommand,
  statCommand,
  blockCommand,
  stacksCommand,
  verifyCommand,
  poolCommand,
  analyzeCommand,
  diffCommand,
  trendCommand,
  batchCommand,
  layoutsCommand,
];
