import { defineCodes } from "@leakscope/core";

/** Every diagnostic code raised by `@leakscope/windbg-text`. Codes never change meaning once released. */
export const windbgTextCodes = defineCodes("windbg-text", {
  WINDBG_TEXT_UNPARSED_LINE: {
    severity: "warning",
    description:
      "A line (or a run of consecutive lines, reported once at its first line) inside a recognised command's output matches none of that command's formats; it was skipped — check the line (edited or wrapped text) or report the format.",
  },
  WINDBG_TEXT_TRUNCATED_ROW: {
    severity: "warning",
    description:
      "A table row ends before all its columns; the fields that could be read were kept — the log was probably cut or wrapped by the tool that saved it.",
  },
  WINDBG_TEXT_UNKNOWN_COMMAND: {
    severity: "info",
    description:
      "The log holds a debugger command this package has no parser for; its output was kept as text and not analysed.",
  },
  WINDBG_TEXT_UNRECOGNISED_TEXT: {
    severity: "info",
    description:
      "Text outside any debugger command matches no known format (WinDbg, UMDH, poolmon); it was skipped — add the command line with its prompt if it is command output.",
  },
  WINDBG_TEXT_INCONSISTENT: {
    severity: "info",
    description:
      "Numbers printed in one row disagree (for example size x count != total in `!heap -stat`); values are kept as printed — the text may have been edited.",
  },
  WINDBG_TEXT_INPUT_LIMIT: {
    severity: "warning",
    description:
      "The input exceeds the parser's limits (total size, lines, line length or frames per stack); the rest was ignored — split the log.",
  },
  WINDBG_TEXT_BLOCK_NO_HEAP: {
    severity: "info",
    description:
      "A heap block the log lists does not say which heap it belongs to (no `_HEAP @` line or heap column before it); it was not added to the allocations — include the heap in the command (`!heap -flt s <size>` prints it).",
  },
  WINDBG_TEXT_DECODE: {
    severity: "info",
    description:
      "The input is not valid text in the detected encoding; undecodable bytes were replaced — check that the file is a text log.",
  },
});

export type WindbgTextCode = keyof typeof windbgTextCodes;
