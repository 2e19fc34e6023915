import type { Frame } from "../report/schema.js";
import type { Run } from "./run.js";

/**
 * The evidence model of `analyze`.
 *
 * Detectors look at one kind of signal (a size class dominating its heap, one stack behind many
 * blocks, C++ objects in numbers, unreferenced blocks, growth between snapshots, totals a log
 * printed, pool tags, handles...) and return {@link Evidence} records, each about one or more
 * causes named by {@link CauseKey}s. A combiner merges every record that shares a key into one
 * suspect (one card per cause: a stack, its size classes and its type together), scores it, and
 * the verdict is taken from the suspects and from what the input could show
 * ({@link InputCoverage}).
 *
 * Built-in detectors live in `@leakscope/analyze`; any plugin adds its own by tapping
 * `engine.hooks.evidence` and calling `sink.add(...)`.
 */

/**
 * Names a cause, as `kind:identity`. Records sharing a key are merged into one suspect; a record
 * with several keys links them (a size class whose blocks all come from one stack carries both
 * `class:` and `stack:` keys, so the size-class card and the stack card become one).
 *
 * Conventional kinds (plugins may add their own `plugin-name/kind:...`):
 * - `stack:<id>` — an allocation stack (`<id>`: a stable id such as the frames' addresses joined,
 *   or a UMDH `BackTrace` id);
 * - `type:<name>` — a C++ type (demangled name);
 * - `class:<heap>:<size>` — requested size (hex) in one heap (hex address, or `*` for any heap);
 * - `heap:<address>` — a whole heap (commit, fragmentation);
 * - `tag:<tag>` — a kernel pool tag; `tags:<t1>+<t2>...` — tags that move together;
 * - `handles:<type>`, `gdi:<type>`, `threads:<start>`, `region:<allocation base>` — the other
 *   kinds of leak.
 */
export type CauseKey = string;

/**
 * What kind of leak signal a record carries. Only leak signals make a suspect: `size` alone
 * (a large block or class, nothing else) never does, it goes to the "largest" listing.
 * - `dominance`: a size class, type or stack holds a share of its heap/process above the floors;
 * - `concentration`: one allocation stack behind many blocks;
 * - `count`: objects of one type (or handles, GDI objects, threads) present in numbers;
 * - `unreferenced`: blocks no pointer reaches (reachability, `!heap -l`);
 * - `growth`: grew between snapshots (a diff, UMDH, two `!poolused` screens);
 * - `reported`: a figure the input itself printed that points at a leak (`!heap -s` commit far
 *   above the blocks it lists, `!address -summary` heap share, a poolmon tag at the top);
 * - `size`: only large; never a suspect on its own.
 */
export type EvidenceSignal = "dominance" | "concentration" | "count" | "unreferenced" | "growth" | "reported" | "size";

/** Which kind of leak a cause belongs to (feeds the verdict's `leakKind`). */
export type LeakKind = "heap" | "virtual-memory" | "handles" | "gdi" | "threads" | "pool";

/** One piece of evidence about one cause. All fields but the first six are optional facts for the card. */
export interface Evidence {
  /** The detector that produced it (`size-class`, `stack`, `type`, `unreferenced`, `umdh`...). */
  detector: string;
  signal: EvidenceSignal;
  /** The causes it is about; the first names the card when it leads. */
  keys: CauseKey[];
  /**
   * How strongly this record alone points at a leak, 0..1, before combination. Calibrated so
   * that 0.3 means "worth a look" (see the analyze README's evidence rules).
   */
  strength: number;
  /** Blocks (objects, handles, allocations) and bytes the cause holds now. */
  count: number;
  bytes: number;
  /** One sentence for the card, numbers in the house style. */
  text: string;

  leakKind?: LeakKind;
  /** Change between snapshots, when the input has two. */
  delta?: { count: number; bytes: number };
  /** Short title when this record leads its card. */
  title?: string;
  heap?: string;
  size?: number;
  sizes?: number[];
  stack?: Frame[];
  callSite?: string;
  sourceFile?: string;
  sourceLine?: number;
  typeName?: string;
  tag?: string;
  /** Sample addresses (hex). */
  samples?: string[];
  /** What to do next, when this record has something more specific than the kind's default. */
  nextStep?: string;
  /** Where in the input the figure came from (`!heap -s` at line 12). */
  source?: string;
}

/** What the input could show: the verdict is `cannot-judge` when it could not support the question. */
export interface InputCoverage {
  /** Heap (or pool) figures exist at all: walked blocks, a log's tables, pool rows. */
  hasFigures: boolean;
  /** Share of the busy bytes (or blocks) whose memory is in the input, 0..1 (1 for logs with their own totals). */
  captured: number;
  /** The dump is cut short or a heap could not be walked completely. */
  truncated?: boolean;
  /** Why the input cannot support the question, and what to capture instead (one sentence). */
  reason?: string;
}

/** Where detectors put their evidence. */
export interface EvidenceSink {
  add(evidence: Evidence): void;
  /** Record what the input could show (the last call for each field wins; `captured` takes the minimum). */
  coverage(coverage: Partial<InputCoverage>): void;
}

/**
 * A detector: one module per signal. `@leakscope/analyze` runs its built-in detectors and then
 * calls the `evidence` hook, where plugins add theirs (see {@link EvidenceSink}).
 */
export interface Detector<Context = unknown> {
  readonly name: string;
  detect(run: Run, context: Context, sink: EvidenceSink): void | Promise<void>;
}

/** `analysis.verdict`: the first line of every analyze report. */
export type Verdict = "leak-suspected" | "no-leak-evidence" | "cannot-judge";

/** Scores at or above this are "worth a look": suspects, the verdict and `--fail-on`'s default. */
export const SUSPECT_SCORE_FLOOR = 0.3;
