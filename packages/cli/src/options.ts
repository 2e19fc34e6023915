import { Option } from "@commander-js/extra-typings";
import { UsageError, parseAddress } from "@leakscope/core";
import { FORMATS, type FormatName } from "@leakscope/format";

/**
 * Options shared by several commands, declared once. Each is a factory because commander
 * options are stateful (one instance per command).
 */

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export const jsonOption = (description = "print the report as JSON") => new Option("--json", description);

export const symbolsOption = () =>
  new Option("--symbols <dir>", "PDB directory (repeatable; also LEAKSCOPE_SYMBOL_PATH): frames get function names from matching PDBs")
    .argParser(collect)
    .default([] as string[]);

export const heapOption = () => new Option("--heap <address>", "only this heap");

export const topOption = (description: string, fallback: string) => new Option("--top <n>", description).default(fallback);

export const formatOption = () => new Option("--format <format>", "output format").choices(FORMATS as FormatName[]).default("text" as FormatName);

export const outputOption = () => new Option("-o, --output <file>", "write the report to a file instead of stdout");

/** Parse a size or address typed by the user: hex by default (WinDbg style), `0n` for decimal. */
export function parseNumberArg(text: string, what: string): number {
  const v = parseAddress(text);
  if (!(v === v) || v < 0) throw new UsageError(`${what} "${text}" is not a number: use hex (0x1f0 or 1f0) or decimal with 0n (0n496)`);
  return v;
}

/** `LO-HI` as two numbers, inclusive. */
export function parseRangeArg(text: string): { min: number; max: number } {
  const m = /^\s*([^-\s]+)\s*-\s*([^-\s]+)\s*$/.exec(text);
  if (!m) throw new UsageError(`--range "${text}" must look like LO-HI, e.g. 3fff-4400 or 0n16383-0n17408`);
  const min = parseNumberArg(m[1]!, "--range start");
  const max = parseNumberArg(m[2]!, "--range end");
  if (min > max) throw new UsageError(`--range start 0x${min.toString(16)} is above its end 0x${max.toString(16)}`);
  return { min, max };
}

/** `--top N` (or another count flag) as a whole number of at least `min`. */
export function parseCount(text: string, flag: string, min = 1): number {
  const n = Number.parseInt(text, 10);
  if (!(n >= min)) throw new UsageError(`${flag} "${text}" must be a whole number${min > 0 ? ` >= ${min}` : ""}`);
  return n;
}
