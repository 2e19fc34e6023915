import { defineCodes } from "./diagnostics.js";

/**
 * Every diagnostic and error code raised by `@leakscope/core`.
 * Codes never change meaning once released; add new ones, never rename.
 */
export const coreCodes = defineCodes("core", {
  // ---- general ------------------------------------------------------------------------------
  DIAGNOSTICS_SUPPRESSED: {
    severity: "info",
    description: "A code was raised more often than the per-code limit; the rest were counted, not listed.",
  },
  MEMORY_NOT_CAPTURED: {
    severity: "warning",
    description: "A structure lies in memory the dump does not contain; take a full-memory dump (procdump -ma).",
  },
  // ---- input --------------------------------------------------------------------------------
  INPUT_NOT_FOUND: { severity: "error", description: "The input path does not exist." },
  INPUT_IS_DIRECTORY: { severity: "error", description: "The input path is a directory; pass a dump or log file." },
  INPUT_UNREADABLE: { severity: "error", description: "The input file could not be opened or read (permissions, I/O error)." },
  INPUT_EMPTY: { severity: "error", description: "The input file is empty." },
  INPUT_UNKNOWN_FORMAT: {
    severity: "error",
    description: "No reader recognises the input: it is not a minidump, a kernel dump or a supported text log.",
  },
  READ_PAST_END: {
    severity: "error",
    description: "A structure extends past the end of the file: the file is truncated.",
  },
  // ---- engine -------------------------------------------------------------------------------
  PLUGIN_ERROR: { severity: "error", description: "A plugin's hook threw; the message names plugin and hook." },
  PLUGIN_OPTIONS: { severity: "error", description: "A plugin's options do not match its schema." },
  PLUGIN_LOAD: {
    severity: "error",
    description: "A plugin named by --plugin or the config file cannot be found, imported or created; the message says which and why.",
  },
  CONFIG_INVALID: {
    severity: "error",
    description: "leakscope.config.mjs/json cannot be read or does not have the expected shape.",
  },
  REPORT_INVALID: {
    severity: "error",
    description: "The final report fails the report schema or a plugin's section schema, or holds a value JSON cannot carry (BigInt); names the plugin and the path.",
  },
  ALLOCATOR_WALK_FAILED: {
    severity: "error",
    description: "Walking one allocator failed; the others were still walked and reported.",
  },
  // ---- minidump (reader in src/minidump) -----------------------------------------------------
  // (minidump codes are declared in src/minidump/codes.ts)
});
