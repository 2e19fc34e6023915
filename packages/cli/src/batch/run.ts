import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { type BatchLine, TASK_WORKER } from "@leakscope/core";
import { releaseBetweenInputs } from "../gc.js";
import { analyzeOne } from "./analyze-one.js";
import type { BatchInput } from "./inputs.js";
import { type BatchAnalyzeOptions, lineOfError } from "./line.js";

export interface BatchRunOptions {
  /** Worker threads; 0 analyses on the calling thread. */
  workers: number;
  /** An input taking longer than this is abandoned (its worker is stopped) and recorded as an error. */
  timeoutMs: number;
  /** Heap limit of each worker, in MiB (undefined: Node's default). */
  workerMemoryMb?: number;
  analyze: BatchAnalyzeOptions;
  /** Called with each finished line, in completion order. */
  onLine: (line: BatchLine) => void;
}

/**
 * The lines of an NDJSON text that parse as batch lines (an object naming its input), and how many
 * did not: a line cut short by a killed run is not a line.
 */
export function parseBatchLines(text: string): { lines: BatchLine[]; unreadable: number } {
  const lines: BatchLine[] = [];
  let unreadable = 0;
  for (const raw of text.split("\n")) {
    if (raw.trim() === "") continue;
    try {
      const v = JSON.parse(raw) as BatchLine;
      if (v && typeof v === "object" && typeof v.input?.path === "string") lines.push(v);
      else unreadable++;
    } catch {
      unreadable++;
    }
  }
  return { lines, unreadable };
}

/** The input paths already recorded in an NDJSON file (a resumed run skips them; a cut line's input is analysed again). */
export function recordedInputs(text: string): Set<string> {
  return new Set(parseBatchLines(text).lines.map((l) => l.input.path));
}

/** Default worker count: one per CPU, at most the number of inputs. */
export function defaultBatchWorkers(inputs: number): number {
  return Math.max(1, Math.min(inputs, availableParallelism()));
}

/**
 * The parent's Node flags without export conditions: the worker module is the build, and a test
 * runner's source condition (`@leakscope/source`) would send its imports to TypeScript sources.
 */
function builtExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--conditions" || a === "-C") i++;
    else if (!a.startsWith("--conditions=")) out.push(a);
  }
  return out;
}

/** The built worker module, beside the bundle or beside the sources' build; undefined when not built. */
function workerModule(): URL | undefined {
  for (const rel of ["./batch-worker.js", "../dist/batch-worker.js", "../../dist/batch-worker.js"]) {
    const u = new URL(rel, import.meta.url);
    if (u.protocol === "file:" && existsSync(fileURLToPath(u))) return u;
  }
  return undefined;
}

/**
 * Analyse every input, `workers` at a time, each in a worker thread (a crash or an exhausted heap
 * in one input ends that input's worker, not the run: the input gets an error line and a new
 * worker takes the next one).
 */
export async function runBatch(inputs: readonly BatchInput[], options: BatchRunOptions): Promise<void> {
  const url = options.workers > 0 ? workerModule() : undefined;
  if (!url) {
    for (const input of inputs) {
      options.onLine(await analyzeOne(input, options.analyze));
      await releaseBetweenInputs();
    }
    return;
  }
  let next = 0;
  let id = 0;
  const lane = async (): Promise<void> => {
    let worker: Worker | undefined;
    const spawn = () =>
      new Worker(url, {
        execArgv: builtExecArgv(),
        // the workers fill the CPUs: no page-touching helper or segment workers of their own
        workerData: { [TASK_WORKER]: true },
        ...(options.workerMemoryMb !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: options.workerMemoryMb } } : {}),
        stderr: false,
      });
    try {
      while (next < inputs.length) {
        const input = inputs[next++]!;
        worker ??= spawn();
        const w = worker;
        const started = performance.now();
        const taskId = ++id;
        const line = await new Promise<BatchLine>((resolve) => {
          let settled = false;
          const finish = (l: BatchLine, broken: boolean) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            w.off("message", onMessage);
            w.off("error", onError);
            w.off("exit", onExit);
            if (broken) {
              void w.terminate();
              worker = undefined;
            }
            resolve(l);
          };
          const onMessage = (m: { id: number; line: BatchLine }) => {
            if (m.id === taskId) finish(m.line, false);
          };
          const onError = (e: Error) =>
            finish(lineOfError(input, "BATCH_WORKER_FAILED", `the analysis stopped: ${e.message}`, 3, performance.now() - started), true);
          const onExit = (code: number) =>
            finish(lineOfError(input, "BATCH_WORKER_FAILED", `the worker exited with code ${code}`, 3, performance.now() - started), true);
          const timer = setTimeout(
            () =>
              finish(
                lineOfError(input, "BATCH_TIMEOUT", `no result after ${Math.round(options.timeoutMs / 1000)} s: the analysis was stopped (raise --timeout for very large dumps)`, 2, performance.now() - started),
                true,
              ),
            options.timeoutMs,
          );
          w.on("message", onMessage);
          w.on("error", onError);
          w.on("exit", onExit);
          w.postMessage({ id: taskId, input, options: options.analyze });
        });
        options.onLine(line);
      }
    } finally {
      if (worker) await worker.terminate();
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.workers, inputs.length) }, lane));
}

/** Read NDJSON files: the lines that parse, and how many did not. */
export function readBatchFiles(files: readonly string[]): { lines: BatchLine[]; unreadable: number } {
  const lines: BatchLine[] = [];
  let unreadable = 0;
  for (const f of files) {
    const got = parseBatchLines(readFileSync(f, "utf8"));
    for (const l of got.lines) lines.push(l); // no spread: a fleet file can hold millions of lines
    unreadable += got.unreadable;
  }
  return { lines, unreadable };
}
