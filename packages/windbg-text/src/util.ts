import { type Address, type Diagnostics, parseAddress } from "@leakscope/core";
import { windbgTextCodes, type WindbgTextCode } from "./codes.js";
import type { BlockBase, BlockNote, StackFrame } from "./model.js";

export const SOURCE = "windbg-text";

/** Most frames kept per stack; more are counted in a diagnostic. */
export const MAX_FRAMES = 1024;

/** Lines handed to one block parser. `lines[i]` is input line `first + i`. */
export interface BlockInput {
  lines: readonly string[];
  first: number;
  command: string | undefined;
  prompt: string | undefined;
  /** Command arguments after the command word (lower-cased, collapsed). */
  args: string;
}

/** Per-block parsing context: diagnostics with line numbers and noise notes. */
export class Ctx {
  readonly notes: BlockNote[] = [];
  elided = false;
  constructor(
    readonly diagnostics: Diagnostics,
    readonly where: string,
  ) {}

  report(code: WindbgTextCode, line: number, message: string): void {
    this.diagnostics.report(SOURCE, code, windbgTextCodes[code].severity, message, { line, where: this.where });
  }

  /** A run of consecutive lines not understood, reported once when it ends ({@link flush}). */
  private run: { first: number; last: number; text: string } | undefined;

  unparsed(line: number, text: string): void {
    if (this.run && line === this.run.last + 1) {
      this.run.last = line;
      return;
    }
    this.flush();
    this.run = { first: line, last: line, text };
  }

  /** Report the pending run of lines not understood (one diagnostic per run, at its first line). */
  flush(): void {
    const r = this.run;
    if (!r) return;
    this.run = undefined;
    const lines = r.last > r.first ? `lines ${r.first}-${r.last} not understood, the first` : "line not understood";
    this.report("WINDBG_TEXT_UNPARSED_LINE", r.first, `${this.where}: ${lines}: ${clip(r.text)}`);
  }

  note(line: number, kind: BlockNote["kind"], text: string): void {
    if (kind === "elision") this.elided = true;
    if (this.notes.length < 10_000) this.notes.push({ line, kind, text: clip(text.trim(), 300) });
  }

  /** Record `text` as a note when it is recognised noise; returns true if it was. */
  noise(line: number, text: string): boolean {
    const k = noiseKind(text);
    if (k === undefined) return false;
    if (k !== "blank") this.note(line, k, text);
    return true;
  }

  base(input: BlockInput): BlockBase {
    return {
      command: input.command,
      prompt: input.prompt,
      line: input.command === undefined ? input.first : input.first - 1,
      endLine: input.first + input.lines.length - 1,
      elided: this.elided,
      notes: this.notes,
    };
  }
}

export function clip(text: string, n = 120): string {
  return text.length > n ? text.slice(0, n) + "…" : text;
}

/**
 * Noise that may appear between or inside any command's output. Returns the note kind,
 * `"blank"` for blank lines, or undefined for data.
 */
export function noiseKind(text: string): BlockNote["kind"] | "blank" | undefined {
  const t = text.trim();
  if (t === "") return "blank";
  if (/^\*\*\*\s*(WARNING|ERROR)\b/i.test(t)) return "warning";
  if (/^\*{3,}\s*(Symbol|Your debugger|Type referenced|\*)/.test(t)) return "warning";
  if (/^\.+$/.test(t)) return t.length === 3 || t.length === 6 ? "elision" : "progress";
  if (/^(\.\.\.\s*)+$/.test(t)) return "elision";
  if (/^\S+\.pdb$/i.test(t) && /^\s/.test(text)) return "debugger";
  if (/^(unable to (read|get)|ReadMemory error|Unable to read|Failed to read|Could not read)/i.test(t)) return "readError";
  if (
    /^(HEAPEXT:|DBGHELP:|NOTE:|WARNING:|\*\*\s|\*\*\* CacheSize|Max cache size is|Total memory in cache|Number of regions cached|\d+ full reads broken into|counts: .*cached|bytes : .*cached|Using a machine size of|Walking the heap|Scanning VM|Scanning references|Loading|Symbol search path|Executable search path)/i.test(
      t,
    )
  )
    return t.startsWith("Walking") || t.startsWith("Scanning") ? "progress" : "debugger";
  return undefined;
}

/** Hex text (with optional `0x`, backticks) or `0n` decimal to a number; NaN when invalid or >= 2^53. */
export function num(text: string | undefined, radix: 16 | 10 = 16): number {
  if (text === undefined) return Number.NaN;
  let t = text.trim().replace(/`/g, "");
  let r: number = radix;
  if (/^0n/i.test(t)) {
    t = t.slice(2);
    r = 10;
  } else if (/^0x/i.test(t)) {
    t = t.slice(2);
    r = 16;
  }
  if (t.length > 1) t = t.replace(/^0+(?=.)/, "");
  if (t === "" || t.length > 14) return Number.NaN;
  if (r === 16 ? !/^[0-9a-f]+$/i.test(t) : !/^[0-9]+$/.test(t)) return Number.NaN;
  const v = parseInt(t, r);
  return Number.isSafeInteger(v) ? v : Number.NaN;
}

/** Decimal integer (allowing `-`). */
export function dec(text: string | undefined): number {
  if (text === undefined) return Number.NaN;
  const t = text.trim().replace(/,/g, "");
  if (!/^-?[0-9]{1,16}$/.test(t)) return Number.NaN;
  const v = Number(t);
  return Number.isSafeInteger(v) ? v : Number.NaN;
}

export function addr(text: string | undefined): Address {
  return text === undefined ? Number.NaN : parseAddress(text);
}

/** Split a command line into command word and argument text. */
export function commandWord(command: string): { word: string; args: string } {
  const m = /^\s*(\S+)\s*(.*)$/.exec(command);
  if (!m) return { word: "", args: "" };
  let word = (m[1] ?? "").toLowerCase();
  // `!exts.heap`, `!ntsdexts.heap`, `!kdexts.poolused` → `!heap`, `!poolused`
  const ext = /^!(?:[a-z0-9_]+\.)([a-z_]+)$/.exec(word);
  if (ext) word = "!" + (ext[1] ?? "");
  return { word, args: (m[2] ?? "").trim().replace(/\s+/g, " ") };
}

const FRAME_RE =
  /^\s*(?:([0-9a-f`]{6,17})\s+)?(?:([A-Za-z0-9_.$@-]+)(?:!(.+?))?)?\+(?:0x)?([0-9a-f]+)\b\s*(.*)$/i;

/**
 * Parse a stack frame: `7c83d9aa ntdll!RtlAllocateHeap+0x00000e9f`, `10006f2b +0x0000003b`,
 * `threads+0x1717`, `ntdll!RtlAllocateHeap+00000274 (file.cpp, 221)`, `... [file @ 105]`, a
 * raw UMDH address `776CDD82`, or a bare `module!symbol`. Returns undefined when the line is not
 * a frame.
 */
export function parseFrame(text: string): StackFrame | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  if (/^[0-9a-f`]{4,17}$/i.test(t)) return { address: addr(t), text: t };
  const m = FRAME_RE.exec(t);
  if (m) {
    const frame: StackFrame = { address: m[1] === undefined ? Number.NaN : addr(m[1]), text: t };
    if (m[2] !== undefined) frame.module = m[2];
    if (m[3] !== undefined) frame.symbol = m[3];
    frame.offset = num(m[4]);
    const rest = (m[5] ?? "").trim();
    if (rest !== "") {
      const src = /^\[(.+) @ (\d+)\]$/.exec(rest) ?? /^\((.+), (\d+)\)$/.exec(rest);
      if (!src) return undefined;
      frame.file = src[1] ?? "";
      frame.sourceLine = dec(src[2]);
    }
    return frame;
  }
  const bare = /^(?:([0-9a-f`]{6,17})\s+)?([A-Za-z0-9_.$@-]+)!(\S.*)$/i.exec(t);
  if (bare && !/\s-\s/.test(t)) {
    const frame: StackFrame = { address: bare[1] === undefined ? Number.NaN : addr(bare[1]), module: bare[2] ?? "", text: t };
    frame.symbol = (bare[3] ?? "").trim();
    return frame;
  }
  return undefined;
}

/** Trim and collapse whitespace (TABs included). */
export function squash(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
