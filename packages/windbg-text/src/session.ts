import { Diagnostics, type DiagnosticsOptions, windowsVersionOfBuild } from "@leakscope/core";
import { windbgTextCodes } from "./codes.js";
import { decodeText } from "./decode.js";
import type { OtherBlock, SessionBlock, SessionFacts, TextEncoding, UnknownBlock, WindbgSession } from "./model.js";
import { parseHeapAddress, parseHeapEntryTable, parseHeapFilter, parseHeapListing, parseHeapSearch } from "./parsers/heap-entries.js";
import { parseHeapDetail, parseHeapStat, parseHeapSummary } from "./parsers/heap-summary.js";
import { parseAddressInfo, parseAddressSummary, parseEvaluate, parseGflag, parseModuleList } from "./parsers/misc.js";
import { parsePoolmon, parsePoolUsed } from "./parsers/pool.js";
import { looksLikeUmdhDiff, parseUmdhDiff, parseUmdhLog } from "./parsers/umdh.js";
import { type BlockInput, clip, commandWord, Ctx, noiseKind, SOURCE } from "./util.js";

/** Options of {@link parseWindbgLog}. All limits protect against hostile or accidental huge inputs. */
export interface ParseWindbgLogOptions {
  /** Input file name, copied into every diagnostic's location. */
  file?: string;
  /** Most input bytes (or UTF-16 code units for a string) read. Default 256 MiB. */
  maxBytes?: number;
  /** Most lines read. Default 5,000,000. */
  maxLines?: number;
  /** Longer lines are cut to this many characters. Default 4,096 (debugger output lines are far shorter). */
  maxLineLength?: number;
  /** Limits of the diagnostics collector. */
  diagnostics?: DiagnosticsOptions;
}

const PROMPT = /^\s*((?:\d+:)*\d+(?::[a-z0-9]+)?>|(?:\d+:\s*)?l?kd(?::[a-z0-9]+)?>)\s?(.*)$/i;
const BARE_COMMAND = /^\s*(![a-z][\w.]*|\.effmach|gflags(?:\.exe)?|umdh(?:\.exe)?|poolmon(?:\.exe)?)(?:\s.*)?$/i;
const OTHER_COMMANDS =
  /^(g|gh|gn|gu|p|pc|pt|t|tc|tt|bp|bu|bm|bl|bc|bd|be|k|kb|kp|kv|kn|kpn|\.effmach|\.reload|\.symfix|\.sympath|\.sympath\+|\.logopen|\.logclose|\.load|\.loadby|\.ecxr|\.cls|\.cxr|\.frame|\.time|\|\||~|gflags|gflags\.exe|umdh|umdh\.exe|poolmon|poolmon\.exe)$/i;

const AUTHOR_REMARK = /\s+(?:<-{1,}|<={2,}|\u2190|\u21d0)(?:\s.*|[^-=].*)?$/;

interface RawBlock {
  command: string | undefined;
  prompt: string | undefined;
  /** Line number of the first output line. */
  first: number;
  lines: string[];
}

function matchCommand(text: string): { prompt: string | undefined; command: string } | undefined {
  const p = PROMPT.exec(text);
  if (p) return { prompt: (p[1] ?? "").trim(), command: (p[2] ?? "").trim() };
  if (BARE_COMMAND.test(text)) return { prompt: undefined, command: text.trim() };
  return undefined;
}

/** Infer the format of lines that follow no command (prompt-less files, pasted tables). */
function inferCommand(lines: readonly string[]): string | undefined {
  const head = lines.slice(0, 400);
  const any = (re: RegExp): boolean => head.some((l) => re.test(l));
  if (any(/^\/\/ UMDH:|Start of data for heap @|^\s*[0-9a-f]+ bytes \+ [0-9a-f]+ at /i)) return "umdh";
  if (looksLikeUmdhDiff(lines)) return "umdh";
  if (any(/^\s*Tag\s+Type\s+Allocs|^\s*Memory:\s*\d+K\s+Avail:/i)) return "poolmon";
  if (any(/^\s*Tag\s+Allocs\s+(Frees\s+Diff\s+)?Used/i)) return "!poolused";
  if (any(/group-by:\s*\S+\s+max-display/i)) return "!heap -stat";
  if (any(/Heap\s+Flags\s+Reserv|Heap Address\s+Signature/i)) return "!heap -s";
  if (any(/HEAP_ENTRY\s+Size\s+Prev|^\s*_HEAP @/i)) return "!heap -flt";
  if (any(/^\s*[0-9a-f`]{6,17}:\s+[0-9a-f]+\s+\.\s+[0-9a-f]+\s+\[[0-9a-f]{1,3}\]/i)) return "!heap -a";
  if (any(/-{3,}\s*Usage (Summary|SUMMARY)/)) return "!address -summary";
  return undefined;
}

function dispatch(input: BlockInput, word: string, ctx: Ctx, text: string[]): SessionBlock | undefined {
  const args = " " + input.args.toLowerCase() + " ";
  const has = (flag: string): boolean => args.includes(" " + flag + " ");
  switch (word) {
    case "!heap": {
      if (has("-stat")) return parseHeapStat(input, ctx);
      if (has("-flt")) return parseHeapFilter(input, ctx);
      if (has("-p") && has("-a")) return parseHeapAddress(input, ctx);
      if (has("-x")) return parseHeapEntryTable(input, ctx, "x");
      if (has("-l")) return parseHeapEntryTable(input, ctx, "l");
      if (has("-srch")) return parseHeapSearch(input, ctx);
      if (has("-s")) {
        const detail = input.lines.some((l) => /^\s*\d+:\s*Heap\s+[0-9a-f`]+\s*$|Reserved memory in segments/i.test(l));
        return detail ? parseHeapDetail(input, ctx) : parseHeapSummary(input, ctx);
      }
      if (has("-p") || has("-b") || has("-bl") || has("-bc") || has("-v") || has("-triage")) return undefined;
      return parseHeapListing(input, ctx);
    }
    case "!poolused":
      return parsePoolUsed(input, ctx);
    case "!gflag":
      return parseGflag(input, ctx);
    case "!address":
      return has("-summary") ? parseAddressSummary(input, ctx) : parseAddressInfo(input, ctx);
    case "?":
      return parseEvaluate(input, ctx);
    case "umdh":
      return looksLikeUmdhDiff(input.lines) ? parseUmdhDiff(input, ctx) : parseUmdhLog(input, ctx);
    case "poolmon":
      return parsePoolmon(input, ctx);
    default:
      if (/^lm[a-z]*$/.test(word)) return parseModuleList(input, ctx);
      if (OTHER_COMMANDS.test(word)) {
        const out: OtherBlock = { ...ctx.base(input), kind: "other", text };
        return out;
      }
      return undefined;
  }
}

/** NT version of a Windows build number, undefined when the number is no Windows build. */
function versionOfBuild(build: number): { major: number; minor: number } | undefined {
  const v = windowsVersionOfBuild(build);
  return v.major > 0 ? v : undefined;
}

const WINDOWS_LINE = /\bWindows\b[^\n]*?\b(?:Kernel )?Version (\d{4,5})\b(.*)$/i;
const BUILT_BY = /^\s*Built by:\s*(\d{4,5})\.(\S+)/i;
const OS_VERSION = /^\s*(?:\/\/\s*)?(?:OS_VERSION:|OS version)\s*(\d+)\.(\d+)(?:\.(\d+))?/i;

/** Target facts stated by any line: version lines (`vertarget`, dump headers), `Built by:`, `OS_VERSION:`, UMDH's header, `.effmach`. */
export function scanFacts(lines: readonly string[]): SessionFacts {
  const facts: SessionFacts = {};
  let m: RegExpExecArray | null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] ?? "";
    if (l.length > 400) continue;
    const line = i + 1;
    if ((m = WINDOWS_LINE.exec(l))) {
      const build = Number(m[1]);
      const v = versionOfBuild(build);
      if (v && (facts.os === undefined || facts.os.build === 0)) facts.os = { ...v, build, line, text: l.trim() };
      const tail = m[2] ?? "";
      if (/\bx64\b|AMD64/i.test(tail)) facts.arch = "x64";
      else if (/\bARM64\b/i.test(tail)) facts.arch = "arm64";
      else if (/\bx86 compatible\b/i.test(tail)) {
        facts.arch ??= "x86";
        facts.wow64 = true;
      } else if (/\bx86\b/i.test(tail)) facts.arch ??= "x86";
      continue;
    }
    if ((m = BUILT_BY.exec(l))) {
      const build = Number(m[1]);
      const v = versionOfBuild(build);
      if (v) {
        const buildString = `${m[1]}.${m[2]}`;
        if (facts.os === undefined || facts.os.build === build || facts.os.build === 0) facts.os = { ...v, build, buildString, line, text: l.trim() };
        if (/amd64fre|amd64chk/i.test(buildString)) facts.arch ??= "x64";
        else if (/arm64fre/i.test(buildString)) facts.arch ??= "arm64";
      }
      continue;
    }
    if ((m = OS_VERSION.exec(l))) {
      const build = m[3] !== undefined ? Number(m[3]) : 0;
      if (facts.os === undefined || (facts.os.build === 0 && build > 0)) facts.os = { major: Number(m[1]), minor: Number(m[2]), build, line, text: l.trim() };
    }
  }
  return facts;
}

/**
 * Parse a WinDbg / kd session log, a UMDH log or comparison, a poolmon snapshot or a Markdown
 * note with fenced debugger output into typed blocks. Never throws on bad input: what is not
 * understood becomes a diagnostic with its line number.
 */
export function parseWindbgLog(input: string | Uint8Array, options: ParseWindbgLogOptions = {}): WindbgSession {
  const diagnostics = new Diagnostics(options.diagnostics);
  const maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
  const maxLines = options.maxLines ?? 5_000_000;
  const maxLineLength = options.maxLineLength ?? 4096;
  const loc = (line: number): { line: number; file?: string } => (options.file === undefined ? { line } : { line, file: options.file });
  const report = (code: keyof typeof windbgTextCodes, line: number, message: string): void =>
    diagnostics.report(SOURCE, code, windbgTextCodes[code].severity, message, loc(line));

  let text: string;
  let encoding: TextEncoding = "utf-8";
  if (typeof input === "string") {
    text = input;
    if (text.length > maxBytes) {
      report("WINDBG_TEXT_INPUT_LIMIT", 1, `input longer than ${maxBytes} characters; the rest was ignored`);
      text = text.slice(0, maxBytes);
    }
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  } else {
    let bytes = input;
    if (bytes.length > maxBytes) {
      report("WINDBG_TEXT_INPUT_LIMIT", 1, `input larger than ${maxBytes} bytes; the rest was ignored`);
      bytes = bytes.subarray(0, maxBytes);
    }
    const d = decodeText(bytes);
    text = d.text;
    encoding = d.encoding;
    if (d.replaced) report("WINDBG_TEXT_DECODE", 1, `invalid ${encoding} sequences were replaced`);
  }

  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines.length > maxLines) {
    report("WINDBG_TEXT_INPUT_LIMIT", maxLines + 1, `more than ${maxLines} lines; the rest was ignored`);
    lines.length = maxLines;
  }
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] ?? "";
    if (l.length > maxLineLength) {
      report("WINDBG_TEXT_INPUT_LIMIT", i + 1, `line longer than ${maxLineLength} characters was cut`);
      lines[i] = l.slice(0, maxLineLength);
    }
    // An author's remark after a row (`<--- this one`, `<== leak`) is not output.
    const remark = AUTHOR_REMARK.exec(lines[i] ?? "");
    if (remark) lines[i] = (lines[i] ?? "").slice(0, remark.index);
  }

  // Markdown: only fenced code is debugger text.
  let markdown = false;
  for (let i = 0; i < lines.length && !markdown; i++) if (/^\s*```/.test(lines[i] ?? "")) markdown = true;

  const raw: RawBlock[] = [];
  let proseLines = 0;
  let inFence = !markdown;
  let current: RawBlock | undefined;
  const seen = { umdhRecord: false, poolmonTable: false, output: false };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] ?? "";
    const n = i + 1;
    if (markdown && /^\s*```/.test(l)) {
      inFence = !inFence;
      current = undefined;
      continue;
    }
    if (!inFence) {
      if (l.trim() !== "") proseLines++;
      continue;
    }
    const c = matchCommand(l);
    // An empty prompt right after a command (Enter pressed, or a prompt pasted twice): the output
    // that follows still belongs to that command.
    if (c && c.command === "" && current?.command !== undefined && current.command !== "" && !seen.output) continue;
    if (c) {
      current = { command: c.command, prompt: c.prompt, first: n + 1, lines: [] };
      seen.umdhRecord = false;
      seen.poolmonTable = false;
      seen.output = false;
      raw.push(current);
      continue;
    }
    // A second UMDH snapshot or poolmon screen pasted after the first: a snapshot of its own, never merged into the first.
    // (What the current block holds is tracked as lines arrive: no rescans, linear on hostile input.)
    if (current && ((seen.umdhRecord && /^\/\/ UMDH: version /.test(l)) || (seen.poolmonTable && /^\s*Memory:\s*\d+K\s+Avail:/i.test(l)))) {
      current = { command: undefined, prompt: undefined, first: n, lines: [l] };
      raw.push(current);
      seen.umdhRecord = false;
      seen.poolmonTable = false;
      seen.output = true;
      continue;
    }
    if (markdown && /^#+\s/.test(l)) {
      proseLines++;
      continue;
    }
    if (!current) {
      current = { command: undefined, prompt: undefined, first: n, lines: [] };
      raw.push(current);
      seen.umdhRecord = false;
      seen.poolmonTable = false;
      seen.output = false;
    }
    current.lines.push(l);
    if (!seen.output && l.trim() !== "") seen.output = true;
    if (!seen.umdhRecord && / by BackTrace/i.test(l)) seen.umdhRecord = true;
    if (!seen.poolmonTable && /^\s*Tag\s+Type\s+Allocs/i.test(l)) seen.poolmonTable = true;
  }

  const blocks: SessionBlock[] = [];
  for (const r of raw) {
    const command = r.command === "" ? undefined : r.command;
    let inferred: string | undefined;
    if (command === undefined) {
      if (r.lines.every((l) => noiseKind(l) !== undefined)) continue;
      inferred = inferCommand(r.lines);
      if (inferred === undefined) {
        const firstData = r.lines.findIndex((l) => noiseKind(l) === undefined);
        const at = r.first + Math.max(0, firstData);
        report("WINDBG_TEXT_UNRECOGNISED_TEXT", at, `text matches no known format: ${clip((r.lines[firstData] ?? "").trim())}`);
        const ctx = new Ctx(diagnostics, "text");
        const out: UnknownBlock = { ...ctx.base({ lines: r.lines, first: r.first, command: undefined, prompt: r.prompt, args: "" }), kind: "unknown", text: r.lines };
        blocks.push(out);
        continue;
      }
    }
    const { word, args } = commandWord(command ?? inferred ?? "");
    const input: BlockInput = { lines: r.lines, first: r.first, command, prompt: r.prompt, args };
    const ctx = new Ctx(diagnostics, command ?? inferred ?? "text");
    let block: SessionBlock | undefined;
    try {
      block = dispatch(input, word, ctx, r.lines);
      ctx.flush();
      if (block === undefined)
        report("WINDBG_TEXT_UNKNOWN_COMMAND", Math.max(1, r.first - 1), `no parser for \`${clip(command ?? word)}\`; its output was kept as text`);
    } catch (error) {
      // A parser bug must not lose the rest of the log: keep the block as text and say so.
      report("WINDBG_TEXT_UNPARSED_LINE", r.first, `parser for ${word} failed (${clip(String(error))}); its output was kept as text`);
    }
    block ??= { ...new Ctx(diagnostics, word).base(input), kind: "unknown", text: r.lines } satisfies UnknownBlock;
    blocks.push(block);
  }
  // Attach the file name to every diagnostic raised by the block parsers.
  const list = diagnostics.list();
  if (options.file !== undefined) for (const d of list) if (d.location) d.location.file = options.file;
  return { encoding, lineCount: lines.length, markdown, proseLines, facts: scanFacts(lines), blocks, diagnostics: list };
}
