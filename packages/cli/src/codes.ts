import { defineCodes } from "@leakscope/core";

/**
 * Codes of the command line's own errors: user mistakes in flags and paths, each exit 2 with one
 * line that names the flag and the fix. Codes never change meaning once released.
 */
export const cliCodes = defineCodes("cli", {
  CLI_OUTPUT_DIR_MISSING: {
    severity: "error",
    description: "The folder of the -o/--output file does not exist; create it first or write the report elsewhere.",
  },
  CLI_OUTPUT_IS_DIRECTORY: {
    severity: "error",
    description: "-o/--output names a folder; give a file name inside it (e.g. DIR/report.html).",
  },
  CLI_POOLTAG_NOT_FOUND: {
    severity: "error",
    description: "The --pooltag file does not exist; pass the path of a pooltag.txt (from the Debugging Tools' triage folder) or leave the flag out.",
  },
  CLI_POOLTAG_IS_DIRECTORY: {
    severity: "error",
    description: "--pooltag names a folder; pass the pooltag.txt file inside it.",
  },
  CLI_SYMBOLS_DIR_MISSING: {
    severity: "error",
    description: "A --symbols folder does not exist; pass a folder that holds PDBs (flat or symbol-store layout).",
  },
  CLI_DRIVERS_DIR_MISSING: {
    severity: "error",
    description: "The --drivers folder does not exist or is a file; pass the folder of the driver files (e.g. a copy of C:\\Windows\\System32\\drivers).",
  },
  CLI_HEAP_NOT_FOUND: {
    severity: "error",
    description: "--heap names no heap of the dump; the message lists the heaps there are (see also `leakscope heaps`).",
  },
  CLI_DIFF_DIFFERENT_PROGRAMS: {
    severity: "error",
    description: "diff: the two dumps come from different programs (main module name, size or timestamp differ); compare two dumps of one program, or pass --force.",
  },
  CLI_DIFF_FORCED: {
    severity: "warning",
    description: "diff --force compared dumps of different programs; growth between them may mean nothing.",
  },
  CLI_DIFF_AFTER_OLDER: {
    severity: "warning",
    description: "diff: the \"after\" dump was captured before the \"before\" one; swap the arguments to see growth rather than shrinkage.",
  },
  CLI_TREND_TOO_FEW_INPUTS: {
    severity: "error",
    description: "trend needs three or more snapshots; for two, use `leakscope diff before after`.",
  },
  CLI_TREND_DIFFERENT_PROGRAMS: {
    severity: "error",
    description: "trend: an input is a dump of another program than the first (main module name, size or timestamp differ); give snapshots of one build of one program, or pass --force.",
  },
  CLI_BATCH_NO_INPUT: {
    severity: "error",
    description: "batch: a folder or file does not exist, or a glob matches no file; check the path (quote globs so the shell does not expand them).",
  },
  CLI_BATCH_BAD_SHARD: {
    severity: "error",
    description: "batch --shard must be K/N with 1 <= K <= N (e.g. --shard 2/8).",
  },
  CLI_BATCH_OUT_IS_DIRECTORY: {
    severity: "error",
    description: "batch --out names a folder; give the NDJSON file to write (e.g. DIR/fleet.ndjson).",
  },
  BATCH_TIMEOUT: {
    severity: "error",
    description: "batch: an input's analysis ran past --timeout and was stopped; its line records the error (raise --timeout for very large dumps).",
  },
  BATCH_WORKER_FAILED: {
    severity: "error",
    description: "batch: the worker thread analysing an input failed (a crash or an exhausted --worker-memory); its line records the error, the run went on.",
  },
});
