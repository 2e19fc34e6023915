import { defineCodes } from "../diagnostics.js";

/**
 * Every diagnostic and error code raised by the minidump reader (`src/minidump`).
 * Codes never change meaning once released; add new ones, never rename.
 */
export const minidumpCodes = defineCodes("minidump", {
  // ---- thrown (DumpFormatError) ---------------------------------------------------------------
  MINIDUMP_HEADER_TRUNCATED: {
    severity: "error",
    description: "The file starts with MDMP but is shorter than the 32-byte header; the dump was cut off, copy it again.",
  },
  MINIDUMP_DIRECTORY_OUT_OF_BOUNDS: {
    severity: "error",
    description: "The stream directory lies past the end of the file, so no stream can be found; the dump is truncated or corrupt.",
  },
  MINIDUMP_NOT_WINDOWS: {
    severity: "error",
    description: "The minidump comes from another platform (Linux, macOS, Android... written by breakpad or crashpad); leakscope reads Windows dumps only.",
  },
  // ---- header and directory ---------------------------------------------------------------------
  MINIDUMP_UNEXPECTED_VERSION: {
    severity: "warning",
    description: "The header version is not 0xA793; the dump was read anyway, check its producer if results look wrong.",
  },
  MINIDUMP_DIRECTORY_TRUNCATED: {
    severity: "warning",
    description: "The header claims more streams than the file holds directory entries for; the entries present were read.",
  },
  MINIDUMP_STREAM_OUT_OF_BOUNDS: {
    severity: "warning",
    description: "A stream's RVA or size lies past the end of the file; the stream was skipped or truncated to the bytes present.",
  },
  MINIDUMP_STREAM_TRUNCATED: {
    severity: "warning",
    description: "A stream claims more entries than its size holds; the entries that fit were read, the rest ignored.",
  },
  MINIDUMP_STREAM_MALFORMED: {
    severity: "warning",
    description: "A stream's own header is inconsistent (entry size too small, header larger than the stream); the stream was skipped.",
  },
  MINIDUMP_STREAM_DUPLICATE: {
    severity: "info",
    description: "A stream type appears twice in the directory; the first one was used.",
  },
  MINIDUMP_STRING_OUT_OF_BOUNDS: {
    severity: "warning",
    description: "A name or comment string lies outside the file or has an absurd length; it was left empty or cut.",
  },
  MINIDUMP_READ_BUDGET_EXCEEDED: {
    severity: "warning",
    description: "The dump's records point at more string and record bytes than the file holds (a hostile or corrupt file); the remaining names and contexts were not read.",
  },
  // ---- memory --------------------------------------------------------------------------------------
  MINIDUMP_MEMORY_OUT_OF_BOUNDS: {
    severity: "warning",
    description: "A captured memory range's bytes extend past the end of the file; the range was cut to what is present.",
  },
  MINIDUMP_MEMORY_OVERLAP: {
    severity: "warning",
    description: "Two captured memory ranges overlap; the first range's bytes are used for the overlap.",
  },
  MINIDUMP_INVALID_ADDRESS: {
    severity: "warning",
    description: "A 64-bit address in the dump is not a canonical address; the item was skipped.",
  },
  MINIDUMP_NO_MEMORY: {
    severity: "warning",
    description: "The dump captured no process memory (no MemoryList or Memory64List): heaps cannot be walked; take a full dump (procdump -ma).",
  },
  // ---- missing facts ---------------------------------------------------------------------------
  MINIDUMP_NO_SYSTEM_INFO: {
    severity: "warning",
    description: "The dump has no SystemInfo stream; the architecture was guessed from thread contexts or module addresses.",
  },
  MINIDUMP_UNKNOWN_ARCH: {
    severity: "warning",
    description: "The processor architecture is not one leakscope reads (x86, x64, ARM64); memory is read with a guessed pointer size.",
  },
  MINIDUMP_NO_MODULES: {
    severity: "info",
    description: "The dump has no ModuleList stream; module names and WoW64 detection are unavailable.",
  },
  MINIDUMP_NO_THREADS: {
    severity: "info",
    description: "The dump has no ThreadList stream; TEBs and the PEB cannot be located through threads.",
  },
  MINIDUMP_TEB_NOT_CAPTURED: {
    severity: "info",
    description: "Some threads' TEBs are not in the captured memory (one diagnostic lists them); the PEB and WoW64 TEB are looked up through the other threads.",
  },
  MINIDUMP_PEB_NOT_CAPTURED: {
    severity: "warning",
    description: "The PEB of a process view is unknown or not captured, so its heap list cannot be read; take a dump with full memory.",
  },
  MINIDUMP_CONTEXT_UNREADABLE: {
    severity: "warning",
    description: "A thread context lies outside the file or has an unexpected size for the architecture; registers were not decoded.",
  },
  MINIDUMP_WOW64_CONTEXT_UNREADABLE: {
    severity: "info",
    description: "The 32-bit context of a WoW64 thread was not found in captured memory (its location is known for Windows 7); registers are missing for that view.",
  },
});

export type MinidumpCode = keyof typeof minidumpCodes;
