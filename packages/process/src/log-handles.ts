import type { Run } from "@leakscope/core";
import { type HandleText, handleEntriesFromText, parseHandleText } from "./handle-text.js";
import { type HandleSummary, summarizeHandles } from "./handles.js";

/** A command block of a WinDbg log as `@leakscope/windbg-text` keeps it (read structurally: not a dependency). */
interface LogBlock {
  command?: string | undefined;
  line: number;
  text?: unknown;
}

const HANDLE_COMMAND = /^!handle\b/i;

/** How many handles a parsed `!handle` output covers: its listing, else its summary table. */
const sizeOf = (p: HandleText): number => (p.handles.length > 0 ? p.handles.length : p.summary.reduce((s, r) => s + r.count, 0));

/**
 * The handles of a WinDbg log's `!handle` output (the summary, or `!handle 0 f` listings), read
 * with {@link parseHandleText} from the command blocks `@leakscope/windbg-text` keeps as text.
 * When the log holds several `!handle` commands, the one covering the most handles is taken (a
 * filtered `!handle 0 f Event` covers one type; the plain summary all of them). Unreadable
 * handle blocks are reported as `PROCESS_HANDLE_TEXT_MALFORMED` with their line in the log.
 * Undefined when the run is not a log or the log has no `!handle` output.
 */
export function handlesOfLog(run: Run): HandleSummary | undefined {
  if (!run.hasTarget || run.target.kind !== "text") return undefined;
  const session = (run.target.data as { windbg?: { blocks?: readonly LogBlock[] } }).windbg;
  let best: { parsed: HandleText; block: LogBlock } | undefined;
  for (const block of session?.blocks ?? []) {
    if (!block.command || !HANDLE_COMMAND.test(block.command.trim()) || !Array.isArray(block.text)) continue;
    const parsed = parseHandleText(block.text.filter((l): l is string => typeof l === "string").join("\n"));
    if (sizeOf(parsed) > 0 && (!best || sizeOf(parsed) >= sizeOf(best.parsed))) best = { parsed, block };
  }
  if (!best) return undefined;
  const problems = best.parsed.problems;
  for (const p of problems.slice(0, 20)) {
    // block lines are numbered from the command line: the output starts on the next one
    run.diagnostics.report("process", "PROCESS_HANDLE_TEXT_MALFORMED", "warning", `!handle output at line ${best.block.line + p.line}: ${p.text}; the rest was read.`, {
      line: best.block.line + p.line,
    });
  }
  return summarizeHandles("!handle", handleEntriesFromText(best.parsed), best.parsed.total);
}
