import { type Address, InputError, formatAddress, type Run } from "@leakscope/core";
import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { cliCodes } from "./codes.js";

/**
 * Checks of the paths and values users type, made before any dump is read, so a mistake costs
 * one line and exit 2 instead of a walk and an internal error.
 */

function kindOf(path: string): "file" | "directory" | "missing" {
  try {
    return statSync(path).isDirectory() ? "directory" : "file";
  } catch {
    return "missing";
  }
}

function mistake(code: keyof typeof cliCodes, message: string): InputError {
  return new InputError(code, message);
}

/** `-o FILE`: its folder exists and the path itself is not a folder. */
export function checkOutputFile(file: string | undefined): void {
  if (file === undefined) return;
  if (kindOf(file) === "directory") throw mistake("CLI_OUTPUT_IS_DIRECTORY", `-o ${file} is a folder: name a file inside it, e.g. -o ${file.replace(/[\\/]+$/, "")}/report.html`);
  const dir = dirname(resolve(file));
  const kind = kindOf(dir);
  if (kind !== "directory") {
    throw mistake("CLI_OUTPUT_DIR_MISSING", `-o ${file}: the folder ${dirname(file)} ${kind === "missing" ? "does not exist" : "is a file"}: create it first (mkdir -p ${dirname(file)}) or write the report elsewhere`);
  }
}

/** `--pooltag FILE`: an existing file. */
export function checkPooltagFile(file: string | undefined): void {
  if (file === undefined) return;
  const kind = kindOf(file);
  if (kind === "missing") throw mistake("CLI_POOLTAG_NOT_FOUND", `--pooltag ${file} does not exist: pass the path of your pooltag.txt (Debugging Tools' triage folder) or leave --pooltag out`);
  if (kind === "directory") throw mistake("CLI_POOLTAG_IS_DIRECTORY", `--pooltag ${file} is a folder: pass the pooltag.txt file inside it, e.g. --pooltag ${file.replace(/[\\/]+$/, "")}/pooltag.txt`);
}

/** `--symbols DIR` (each of them): existing folders or PDB files. */
export function checkSymbolPaths(paths: readonly string[] | undefined): void {
  for (const p of paths ?? []) {
    if (kindOf(p) === "missing") throw mistake("CLI_SYMBOLS_DIR_MISSING", `--symbols ${p} does not exist: pass a folder that holds the program's PDBs (flat or symbol-store layout)`);
  }
}

/** `--drivers DIR`: an existing folder. */
export function checkDriversDir(dir: string | undefined): void {
  if (dir === undefined) return;
  const kind = kindOf(dir);
  if (kind !== "directory") {
    throw mistake("CLI_DRIVERS_DIR_MISSING", `--drivers ${dir} ${kind === "missing" ? "does not exist" : "is a file"}: pass the folder of the driver files (e.g. a copy of C:\\Windows\\System32\\drivers)`);
  }
}

/** `--heap ADDRESS`: a heap the run found; the message lists those there are. */
export function checkHeapExists(run: Run, heap: Address | undefined): void {
  if (heap === undefined || run.heaps.some((h) => h.address === heap)) return;
  const known = run.heaps.map((h) => `${formatAddress(h.address)} (${h.bitness}-bit ${h.kind})`);
  throw mistake(
    "CLI_HEAP_NOT_FOUND",
    `--heap ${formatAddress(heap)} is not a heap of this dump: ${known.length ? `use one of ${known.join(", ")}` : "it has no heaps that leakscope found"}`,
  );
}
