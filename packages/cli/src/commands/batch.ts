import { appendFileSync, existsSync, readFileSync, statSync } from "node:fs";
import { Command } from "@commander-js/extra-typings";
import { InputError, UsageError } from "@leakscope/core";
import { expandInputs, inShard, parseShard } from "../batch/inputs.js";
import { defaultBatchWorkers, readBatchFiles, recordedInputs, runBatch } from "../batch/run.js";
import { renderFleet, summarizeFleet } from "../batch/summarize.js";
import type { CommandContext } from "../context.js";
import { ttyProgress } from "../io.js";
import { jsonOption, parseCount, symbolsOption, topOption } from "../options.js";

export function batchCommand(ctx: CommandContext) {
  const io = ctx.io;
  return new Command("batch")
    .description("analyse a fleet of dumps: one NDJSON line per input (resumable, shardable); --summarize merges lines into the fleet view")
    .argument("<inputs...>", "folders (every file below), files or quoted glob patterns; with --summarize: NDJSON files")
    .option("--out <file>", "append the lines to this file; inputs already recorded there are skipped (resume)")
    .option("--shard <K/N>", "take only shard K of N (array jobs: Kubernetes indexed Jobs, Slurm, AWS Batch, GNU parallel)")
    .option("--workers <n>", "worker threads (default: one per CPU)")
    .option("--timeout <seconds>", "give up on an input after this long", "900")
    .option("--worker-memory <MiB>", "heap limit of each worker thread")
    .addOption(topOption("suspects kept per line", "5"))
    .option("--no-reachability", "skip the unreferenced-block search")
    .option("--no-types", "skip C++ type recovery from vtables")
    .addOption(symbolsOption())
    .option("--summarize", "the inputs are NDJSON files of batch runs: print the fleet view")
    .addOption(jsonOption("with --summarize: the fleet view as JSON"))
    .action(async (specs, flags) => {
      if (flags.summarize) {
        for (const f of specs) {
          if (!existsSync(f) || statSync(f).isDirectory()) {
            throw new InputError("CLI_BATCH_NO_INPUT", `--summarize ${f}: not a file; pass the NDJSON files written by \`leakscope batch --out\``);
          }
        }
        const { lines, unreadable } = readBatchFiles(specs);
        const view = summarizeFleet(lines, unreadable);
        io.stdout(flags.json ? `${JSON.stringify(view, null, 2)}\n` : renderFleet(view));
        return;
      }
      const top = parseCount(flags.top, "--top");
      const timeout = Number(flags.timeout);
      if (!(timeout > 0)) throw new UsageError(`--timeout "${flags.timeout}" must be a number of seconds above 0`);
      const memory = flags.workerMemory !== undefined ? parseCount(flags.workerMemory, "--worker-memory", 64) : undefined;
      const shard = flags.shard !== undefined ? parseShard(flags.shard) : undefined;
      if (flags.out !== undefined && existsSync(flags.out) && statSync(flags.out).isDirectory()) {
        throw new InputError("CLI_BATCH_OUT_IS_DIRECTORY", `--out ${flags.out} is a folder: name the NDJSON file to write, e.g. --out ${flags.out}/fleet.ndjson`);
      }
      const all = expandInputs(specs).filter((x) => inShard(x.key, shard));
      const prior = flags.out !== undefined && existsSync(flags.out) ? readFileSync(flags.out, "utf8") : "";
      const done = recordedInputs(prior);
      const todo = all.filter((x) => !done.has(x.key));
      // a run killed mid-line left a partial line: start ours on a fresh one
      if (flags.out !== undefined && prior.length > 0 && !prior.endsWith("\n")) appendFileSync(flags.out, "\n");
      const workers = flags.workers !== undefined ? parseCount(flags.workers, "--workers", 0) : defaultBatchWorkers(todo.length);
      let finished = 0;
      let failed = 0;
      const progress = ttyProgress(io);
      progress.start(`batch${shard ? ` shard ${shard.index}/${shard.count}` : ""}`, todo.length);
      await runBatch(todo, {
        workers,
        timeoutMs: timeout * 1000,
        ...(memory !== undefined ? { workerMemoryMb: memory } : {}),
        analyze: { top, reachability: flags.reachability, types: flags.types, symbols: flags.symbols },
        onLine: (line) => {
          const text = `${JSON.stringify(line)}\n`;
          if (flags.out !== undefined) appendFileSync(flags.out, text);
          else io.stdout(text);
          finished++;
          if (line.status === "error") failed++;
          progress.update(finished);
        },
      });
      progress.end();
      io.stderr(
        `leakscope: batch: ${finished} input(s) analysed${failed ? ` (${failed} failed, see their lines)` : ""}` +
          `${all.length - todo.length > 0 ? `, ${all.length - todo.length} already recorded` : ""}${flags.out !== undefined ? `; lines in ${flags.out}` : ""}\n`,
      );
    });
}
