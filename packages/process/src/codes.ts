import { defineCodes } from "@leakscope/core";

/** Diagnostics of `@leakscope/process`. Codes never change meaning; add new ones, never rename. */
export const processCodes = defineCodes("process", {
  PROCESS_NO_MEMORY_INFO: {
    severity: "info",
    description:
      "The dump has no MemoryInfoList stream, so the memory composition covers only the captured ranges (reserved and uncaptured committed memory are missing); take the dump with procdump -ma or MiniDumpWithFullMemoryInfo.",
  },
  PROCESS_NO_HANDLE_DATA: {
    severity: "info",
    description: "The dump has no HandleData stream: handle counts cannot be judged; take the dump with procdump -ma or MiniDumpWithHandleData.",
  },
  PROCESS_GDI_TABLE_NOT_CAPTURED: {
    severity: "info",
    description: "PEB.GdiSharedHandleTable points at memory the dump did not capture (or only part of it): GDI object counts are missing or a lower bound; take a full-memory dump.",
  },
  PROCESS_HANDLE_TEXT_MALFORMED: {
    severity: "warning",
    description: "A line of `!handle` output could not be read (a handle block without its Type line, an unreadable count); the rest was read.",
  },
});

export type ProcessCode = keyof typeof processCodes;
