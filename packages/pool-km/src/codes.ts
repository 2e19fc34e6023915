import { defineCodes } from "@leakscope/core";

/** Every diagnostic code raised by `@leakscope/pool-km`. Codes never change meaning once released. */
export const poolKmCodes = defineCodes("pool-km", {
  KDUMP_TRUNCATED: {
    severity: "warning",
    description: "The kernel dump is shorter than its header says (runs, bitmap or RequiredDumpSpace); pages past the end are treated as not captured — copy the whole file again.",
  },
  KDUMP_BAD_RUNS: {
    severity: "warning",
    description: "The physical memory descriptor claims more runs or pages than fit; only the runs that fit the header and file were used.",
  },
  KDUMP_BAD_BITMAP: {
    severity: "warning",
    description: "The bitmap header is inconsistent (bit count, present-page count or first-page offset); pages that do not fit the file are not captured.",
  },
  KDUMP_UNSUPPORTED_TYPE: {
    severity: "warning",
    description: "The dump type has no page layout leakscope can read (summary, header-only, unknown); only the header was decoded — take a full, kernel or automatic dump.",
  },
  KDUMP_UNSUPPORTED_ARCH: {
    severity: "warning",
    description: "Virtual addresses of this architecture (ARM64, IA64, ARM) cannot be translated; only the header and physical data were read.",
  },
  KDUMP_NO_PAGE_TABLES: {
    severity: "warning",
    description: "The page-table root (DirectoryTableBase) is not in the dump, so kernel virtual memory cannot be read.",
  },
  KDUMP_TRIAGE_BAD: {
    severity: "warning",
    description: "A triage-dump structure (validity marker, driver list, data blocks, string pool) lies outside the file or is inconsistent; what fits was kept.",
  },
  KDBG_NOT_FOUND: {
    severity: "warning",
    description: "No decoded KDDEBUGGER_DATA64 copy with OwnerTag 'KDBG' was found (it may be encoded); nt globals such as PoolTrackTable are unknown.",
  },
  KDUMP_MODULE_LIST_BROKEN: {
    severity: "warning",
    description: "Walking PsLoadedModuleList stopped early (unreadable entry, cycle or entry limit); the drivers read so far are listed.",
  },
  POOL_TRACK_TABLE_MISSING: {
    severity: "warning",
    description: "The pool tracker table (nt!PoolTrackTable) is not in the dump or its address is unknown; tag totals fall back to a pool-header scan, which under-counts.",
  },
  POOL_TRACK_TABLE_SIZE_GUESSED: {
    severity: "info",
    description: "PoolTrackTableSize was inferred from the slot hashes of the tags present (no symbols); pass the size explicitly to be sure.",
  },
  POOL_PER_CPU_TABLES_MISSING: {
    severity: "warning",
    description: "The per-processor tracker tables (nt!ExPoolTagTables) were not found on a multi-processor dump; totals come from the global table only and under-count.",
  },
  POOL_TABLE_UNREADABLE: {
    severity: "warning",
    description: "Part of a tracker, expansion or big-page table is not captured in the dump; the readable entries were used.",
  },
  POOL_SCAN_LIMIT: {
    severity: "warning",
    description: "Reading the tracker tables stopped at the entry-read limit (hostile table size or count); totals are partial — pass the table size or raise the limit.",
  },
  POOL_HEADER_SCAN: {
    severity: "info",
    description: "Tag totals come from scanning pool headers on the captured pages, not from the tracker tables: segment-heap and big allocations are missed, so treat the numbers as a lower bound.",
  },
  POOLTAG_LINE_SKIPPED: {
    severity: "info",
    description: "A pooltag.txt line is neither an entry, a comment nor blank; it was skipped.",
  },
});
