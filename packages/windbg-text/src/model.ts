import type { Address, Diagnostic } from "@leakscope/core";

/**
 * The session model: what {@link parseWindbgLog} makes of a WinDbg / kd / UMDH / poolmon text.
 *
 * Conventions used by every type below:
 * - Addresses are core `Address` numbers (via `parseAddress`): `NaN` when the text was not a
 *   valid address. 64-bit kernel addresses are sign-extended negative numbers.
 * - Sizes are plain numbers **in bytes** unless the field name says otherwise (`...K` = KiB as
 *   printed by WinDbg, `...Granules` = heap granules as printed in `-flt` / `-p -a` tables).
 * - `line` is the 1-based line number in the decoded input.
 */

/** Text encoding detected in the input. */
export type TextEncoding = "utf-8" | "utf-16le" | "utf-16be";

/** A line the parser recognised as noise rather than data (kept so nothing is silently dropped). */
export interface BlockNote {
  line: number;
  /**
   * `warning`: `*** WARNING` / `*** ERROR` debugger messages; `debugger`: extension chatter such
   * as kd-cache statistics, `HEAPEXT:`, `DBGHELP:`; `progress`: progress dots, "Walking the
   * heap"; `elision`: `...` lines an author put in place of rows (the block is incomplete);
   * `readError`: "unable to read" / "ReadMemory error" (the debugger could not read memory, the
   * listing is incomplete); `legend`: column legends and flag explanations.
   */
  kind: "warning" | "debugger" | "progress" | "elision" | "readError" | "legend";
  text: string;
}

/** One stack frame, as printed by `!heap -p -a`, UMDH or a resolved UMDH diff. */
export interface StackFrame {
  /** Return address when printed (`NaN` when the frame has none, e.g. resolved UMDH frames). */
  address: Address;
  /** Module name (`ntdll`), absent for address-only or `+0x3b` frames. */
  module?: string;
  /** Symbol inside the module (`RtlAllocateHeap`, `std::vector<int>::push_back`). */
  symbol?: string;
  /** Offset from the symbol (or the module base when there is no symbol). */
  offset?: number;
  /** Source file from a `[file @ line]` or `(file, line)` suffix. */
  file?: string;
  sourceLine?: number;
  /** The frame text as printed, trimmed. */
  text: string;
}

/** Fields shared by every block. */
export interface BlockBase {
  /** The command as typed (`!heap -s`), or undefined for prompt-less formats (UMDH, poolmon). */
  command: string | undefined;
  /** Debugger prompt before the command (`0:000>`, `0:000:x86>`, `kd>`, `0: kd>`), if any. */
  prompt: string | undefined;
  /** First line of the block (the command line, or the first output line). */
  line: number;
  /** Last line of the block. */
  endLine: number;
  /** True when an elision line (`...`) was seen: the block lists only part of the output. */
  elided: boolean;
  /** Recognised noise lines. */
  notes: BlockNote[];
}

// ---------------------------------------------------------------------------------------------
// !heap -s

/** One row of the classic NT `!heap -s` table. */
export interface NtHeapSummary {
  address: Address;
  flags: number;
  reservedK: number;
  committedK: number;
  virtualK: number;
  freeK: number;
  /** Free-list length (free blocks). */
  listLength: number;
  /** Uncommitted ranges. */
  ucrs: number;
  virtualBlocks: number;
  lockContention: number;
  /** Front-end marker as printed: `LFH`, `L` (old lookaside), or `""`. */
  fastHeap: string;
  /** True when the front end is the LFH. */
  lfh: boolean;
  /** `External fragmentation  NN % (N free blocks)` continuation line, when printed. */
  externalFragmentation?: { percent: number; freeBlocks: number };
  line: number;
}

/** One row of the segment-heap `!heap -s` table. */
export interface SegmentHeapSummary {
  address: Address;
  signature: number;
  globalFlags: number;
  processHeapListIndex: number;
  reservedK: number;
  committedK: number;
  line: number;
}

/** `!heap -s` (no heap argument): the process heap summary. */
export interface HeapSummaryBlock extends BlockBase {
  kind: "heapSummary";
  lfhKey?: string;
  terminationOnCorruption?: "ENABLED" | "DISABLED";
  /** Lines under "NtGlobalFlag enables following debugging aids for new heaps:". */
  debuggingAids: string[];
  /** `Virtual block: a - b (size n)` lines. */
  virtualBlocks: { address: Address; end: Address; size: number; line: number }[];
  heaps: NtHeapSummary[];
  segmentHeaps: SegmentHeapSummary[];
}

/** LFH bucket row of `!heap -s -h`. */
export interface LfhBucket {
  size: number;
  blocks: number;
  segments: number;
  empty: number;
  affinity: number;
  /** The Distribution column as (segments-blocks) pairs. */
  distribution: [number, number][];
  line: number;
}

/** Range row of `!heap -s -h` ("Range (bytes) / Default heap Busy Free / Front heap Busy Free / Unused bytes"). */
export interface HeapRangeRow {
  /** Inclusive lower bound in bytes. */
  from: number;
  /** Exclusive upper bound in bytes. */
  to: number;
  defaultBusy: number;
  defaultFree: number;
  frontBusy: number;
  frontFree: number;
  unusedTotal: number;
  unusedAverage: number;
  line: number;
}

/** `!heap -s -h <heap>` (also `!exts.heap -s -h`): the detail view of one heap. */
export interface HeapDetailBlock extends BlockBase {
  kind: "heapDetail";
  heap: Address;
  flags: number;
  flagNames: string[];
  reservedK?: number;
  committedK?: number;
  virtualK?: number;
  freeK?: number;
  freeBlocks?: number;
  externalFragmentationPercent?: number;
  virtualAddressFragmentationPercent?: number;
  uncommittedRanges?: number;
  virtualBlocks?: number;
  virtualBlocksK?: number;
  lockContention?: number;
  segments?: number;
  lfh?: {
    address: Address;
    metadataUsageBytes?: number;
    segmentsCreated?: number;
    segmentsDeleted?: number;
    segmentsReused?: number;
    /** `Block cache` rows: index, block size in bytes and the two counters printed. */
    blockCache: { index: number; size: number; first: number; second: number; line: number }[];
    buckets: LfhBucket[];
  };
  ranges: HeapRangeRow[];
  rangeTotal?: Omit<HeapRangeRow, "from" | "to">;
}

// ---------------------------------------------------------------------------------------------
// !heap -stat

/** One `size #blocks - total (%)` group. */
export interface HeapStatGroup {
  size: number;
  count: number;
  total: number;
  /** Percent of the heap's busy bytes, as printed. */
  percent: number;
  line: number;
}

/** `!heap -stat -h <heap|0>`: one table per heap. */
export interface HeapStatBlock extends BlockBase {
  kind: "heapStat";
  tables: { heap: Address; groupBy?: string; maxDisplay?: number; groups: HeapStatGroup[]; line: number }[];
}

// ---------------------------------------------------------------------------------------------
// Heap entries

/** Block state, normalised. `internal` = heap-internal busy block (LFH subsegments etc.). */
export type EntryState = "busy" | "free" | "internal" | "virtualalloc" | "uncommitted" | "unknown";

/**
 * One heap block as printed by `!heap -h/-a` listings, `-flt`, `-p -a`, `-x`, `-l`, `-srch`.
 * `size` / `prevSize` are always bytes when known; tables that print granules keep the raw
 * value in `sizeGranules` / `prevGranules` with the `granularity` used to convert them.
 */
export interface HeapEntry {
  /** Address of the HEAP_ENTRY header. */
  entry: Address;
  /** Address of the user data, when printed. */
  user?: Address;
  /** Block size in bytes (NaN when unknown). */
  size: number;
  prevSize?: number;
  sizeGranules?: number;
  prevGranules?: number;
  /** Bytes per granule used for conversion (8 on 32-bit, 16 on 64-bit). */
  granularity?: number;
  /** Flags as printed in `[..]` (hex), or NaN. */
  flags: number;
  /** Flag words (`busy`, `extra`, `user_flag`, `fill`, `Internal` ...) when printed as text. */
  flagWords?: string[];
  state: EntryState;
  /** Requested (user) size in bytes: `busy (4a7)`, `UserSize`. */
  requestedSize?: number;
  /** Unused bytes (the `Unused` column of `-x -v`/`-l`). */
  unused?: number;
  heap?: Address;
  segment?: Address;
  /** `tail fill`, `free fill`, `user flags (2)`, `Internal`, ... */
  extra?: string;
  /** Tag name in `(NTDLL!LDR Database)` form, for old listings. */
  tag?: string;
  /**
   * What WinDbg printed on the line under a `-flt` / `-srch` row: the symbol the block's first
   * pointer resolves to (`MyApp!CFoo::\`vftable'`, `unknown!printable`), a hint of the block's type.
   */
  symbol?: string;
  /** Stack trace database index from a `Trace: 0c5c` line under the row. */
  traceIndex?: number;
  line: number;
}

/** A page-heap (DPH) block from `!heap -flt` or `!heap -p -a`. */
export interface PageHeapBlock {
  /** The DPH_HEAP_BLOCK address. */
  block: Address;
  user?: Address;
  userSize?: number;
  virtualAddress: Address;
  virtualSize: number;
  state: "busy" | "free";
  line: number;
}

/** Heap header fields of a `!heap -a/-h/-m/-i` listing, plus its entries. */
export interface HeapListing {
  /** `Index` column of the heap list (1-based), when printed. */
  index?: number;
  address: Address;
  segments: { start: Address; end: Address; committed: number; line: number }[];
  /** `Name: value` header fields, raw text (`Flags`, `Granularity`, `Total Free Size`...). */
  fields: Record<string, string>;
  flags?: number;
  granularity?: number;
  /** Uncommitted ranges listed in the header (`address: size`). */
  uncommittedRanges: { address: Address; size: number; line: number }[];
  /** Entries listed under `FreeList[ n ]` (a view of the free lists, duplicates of `entries`). */
  freeListEntries: (HeapEntry & { list: number })[];
  /** Entries of the segment walks, in order; `uncommitted` pseudo-entries included. */
  entries: HeapEntry[];
  /** Heap kind when printed by the modern heap list (`NT Heap` / `Segment Heap`). */
  heapType?: string;
  line: number;
}

/** `!heap` (list), `!heap -a`, `!heap -h`, `!heap -m`, `!heap -i`, `!heap <addr>`. */
export interface HeapListingBlock extends BlockBase {
  kind: "heapListing";
  heaps: HeapListing[];
}

/** `!heap -flt s <size>` / `!heap -flt r <lo> <hi>`. */
export interface HeapFilterBlock extends BlockBase {
  kind: "heapFilter";
  filter: { by: "size"; size: number } | { by: "range"; min: number; max: number } | { by: "unknown" };
  /** Heaps named by `_HEAP @` / `_DPH_HEAP_ROOT @` lines, in order. */
  heaps: { address: Address; pageHeap: boolean; line: number }[];
  entries: HeapEntry[];
  pageHeapBlocks: PageHeapBlock[];
}

/** `!heap -p -a <address>`: the block that holds an address and its allocation (or free) stack. */
export interface HeapAddressBlock extends BlockBase {
  kind: "heapAddress";
  /** The address asked about. */
  address: Address;
  /** `_HEAP @` or `_DPH_HEAP_ROOT @`. */
  heap?: Address;
  pageHeap: boolean;
  entry?: HeapEntry;
  pageHeapBlock?: PageHeapBlock;
  /** Frames, innermost first (allocation stack, or free stack for a freed page-heap block). */
  stack: StackFrame[];
}

/** `!heap -x [-v] <address>` and `!heap -l`: rows of the Entry/User/Heap/Segment table. */
export interface HeapEntryTableBlock extends BlockBase {
  kind: "heapEntryTable";
  /** `x` for `!heap -x`, `l` for `!heap -l` (leak candidates), `other` otherwise. */
  mode: "x" | "l" | "other";
  entries: HeapEntry[];
  /** `!heap -l`: heaps scanned (`Heap 00170000` lines). */
  heapsScanned: Address[];
  /**
   * `!heap -l`: the count in `N leaks detected.` / `N potential unreachable blocks were detected.`
   * (may exceed `entries.length`).
   */
  reportedCount?: number;
  /** `-x -v`: `Search VM for address range a - b`. */
  searchRange?: { from: Address; to: Address };
}

/** `!heap -srch <pattern>`: blocks whose contents hold the pattern. */
export interface HeapSearchBlock extends BlockBase {
  kind: "heapSearch";
  pattern: string;
  heaps: Address[];
  /** Hits; the symbol line printed under a hit is in `HeapEntry.symbol`. */
  entries: HeapEntry[];
}

// ---------------------------------------------------------------------------------------------
// Misc debugger commands

/** `!gflag`. */
export interface GflagBlock extends BlockBase {
  kind: "gflag";
  flags?: number;
  flags2?: number;
  /** Enabled flags as printed: abbreviation and description (`ust`, `Create user mode stack trace database`). */
  enabled: { abbreviation: string; description: string; line: number }[];
}

/** One `!address -summary` row. Percentages are absent when the column is blank. */
export interface AddressSummaryRow {
  section: "usage" | "type" | "state" | "protect" | "largest";
  name: string;
  regionCount?: number;
  /** Bytes (from the hex column). */
  size: number;
  percentBusy?: number;
  percentTotal?: number;
  /** Base address for "Largest Region" rows. */
  base?: Address;
  line: number;
}

/** `!address -summary`, old (`RegionUsage*`) and modern (`--- Usage Summary ---`) layouts. */
export interface AddressSummaryBlock extends BlockBase {
  kind: "addressSummary";
  layout: "old" | "modern";
  rows: AddressSummaryRow[];
  /** Old layout: `Tot: ... Busy: ...`. */
  total?: number;
  busy?: number;
  /** Old layout: `Largest free region: Base b - Size s`. */
  largestFree?: { base: Address; size: number };
}

/** `!address <addr>`: key/value description of one region. */
export interface AddressInfoBlock extends BlockBase {
  kind: "addressInfo";
  fields: Record<string, string>;
}

/** `lm`: loaded modules. */
export interface ModuleListBlock extends BlockBase {
  kind: "moduleList";
  modules: { start: Address; end: Address; name: string; symbols: string; line: number }[];
}

/** `? expr`: the evaluated value. */
export interface EvaluateBlock extends BlockBase {
  kind: "evaluate";
  value?: number;
}

/**
 * Commands whose output is not data for leak analysis (`g`, `.effmach`, external tool command
 * lines such as `gflags.exe /i app.exe +ust`): recognised, output kept as text.
 */
export interface OtherBlock extends BlockBase {
  kind: "other";
  text: string[];
}

/** A command this package has no parser for: its output is kept and a diagnostic is raised. */
export interface UnknownBlock extends BlockBase {
  kind: "unknown";
  text: string[];
}

// ---------------------------------------------------------------------------------------------
// Pool

/** One `!poolused` or poolmon row. */
export interface PoolTagRow {
  /** Tag exactly as printed (4 characters, trailing spaces kept, `.` for non-printables). */
  tag: string;
  nonPagedAllocs: number;
  nonPagedBytes: number;
  pagedAllocs: number;
  pagedBytes: number;
  /** Verbose (`!poolused 1`) only. */
  nonPagedFrees?: number;
  nonPagedDiff?: number;
  pagedFrees?: number;
  pagedDiff?: number;
  /** Description text (without the `, Binary:` part), trimmed; `""` when none. */
  description: string;
  /** Binary from `, Binary: x`. */
  binary?: string;
  /** True for `UNKNOWN pooltag '...'` descriptions. */
  unknownTag: boolean;
  line: number;
}

/** `!poolused [flags] [tag]`. */
export interface PoolUsedBlock extends BlockBase {
  kind: "poolUsed";
  flags: number;
  tagFilter?: string;
  sortedBy?: "tag" | "nonpaged" | "paged" | "other";
  layout: "old" | "modern";
  verbose: boolean;
  rows: PoolTagRow[];
  total?: Omit<PoolTagRow, "tag" | "description" | "unknownTag" | "binary">;
}

/** One poolmon row (`Tag Type Allocs (Δ) Frees (Δ) Diff Bytes (Δ) Per Alloc`). */
export interface PoolmonRow {
  tag: string;
  /** `Nonp` / `Paged` as printed. */
  type: string;
  paged: boolean;
  allocs: number;
  allocsDelta?: number;
  frees: number;
  freesDelta?: number;
  diff: number;
  bytes: number;
  bytesDelta?: number;
  perAlloc: number;
  /** Trailing text (driver names printed by `poolmon -g`). */
  mappedDriver?: string;
  line: number;
}

/** A poolmon text snapshot (`poolmon -n file`, or a pasted screen). */
export interface PoolmonBlock extends BlockBase {
  kind: "poolmon";
  /** `Name:value` figures from the two header lines, values in K where printed so. */
  header: Record<string, string>;
  rows: PoolmonRow[];
}

// ---------------------------------------------------------------------------------------------
// UMDH

/** One allocation of a raw UMDH snapshot log. */
export interface UmdhAllocation {
  requested: number;
  overhead: number;
  address: Address;
  backtraceId: string;
  heap: Address;
  line: number;
}

/** A raw UMDH snapshot log (`umdh -p:PID -f:log`). */
export interface UmdhLogBlock extends BlockBase {
  kind: "umdhLog";
  header: { version?: string; logTime?: string; machine?: string; pid?: number; osVersion?: string };
  modules: { base: Address; size: number; path: string; line: number }[];
  heaps: { address: Address; line: number }[];
  allocations: UmdhAllocation[];
  /** Stacks by backtrace id (raw addresses in a snapshot; printed once per id). */
  stacks: Record<string, StackFrame[]>;
}

/** One record of UMDH comparison (`umdh log1 log2`) output. */
export interface UmdhDiffRecord {
  /** Bytes delta (sign from the leading `+`/`-`). */
  bytesDelta: number;
  newBytes: number;
  oldBytes: number;
  /**
   * The `N allocs` figure of the first line: the allocations of the backtrace in the newer log
   * (`+ 5320 ( f110 - 9df0) 3a allocs`: 0x3a blocks of 0x428 bytes make 0xf110).
   */
  allocs?: number;
  /** Allocation-count delta, from the second line of the newer layout (`+ 1 ( 1 - 0) BackTraceX allocations`). */
  countDelta?: number;
  newCount?: number;
  oldCount?: number;
  backtraceId: string;
  line: number;
}

/** UMDH comparison output, and resolved `N bytes in M allocations (@ x) by: BackTraceID` records. */
export interface UmdhDiffBlock extends BlockBase {
  kind: "umdhDiff";
  records: UmdhDiffRecord[];
  totalIncrease?: number;
  totalDecrease?: number;
  /** Resolved records with their stacks. */
  resolved: { bytes: number; count: number; at?: Address; backtraceId: string; stack: StackFrame[]; line: number }[];
  /** Stacks printed under diff records (TAB-indented), by backtrace id. */
  stacks: Record<string, StackFrame[]>;
}

/** Every block kind. Switch on `kind`. */
export type SessionBlock =
  | HeapSummaryBlock
  | HeapDetailBlock
  | HeapStatBlock
  | HeapListingBlock
  | HeapFilterBlock
  | HeapAddressBlock
  | HeapEntryTableBlock
  | HeapSearchBlock
  | GflagBlock
  | AddressSummaryBlock
  | AddressInfoBlock
  | ModuleListBlock
  | EvaluateBlock
  | PoolUsedBlock
  | PoolmonBlock
  | UmdhLogBlock
  | UmdhDiffBlock
  | OtherBlock
  | UnknownBlock;

export type BlockKind = SessionBlock["kind"];

/** What the log says about the machine and the debugger (`vertarget`, `Windows 10 Version ...`, UMDH's header). */
export interface SessionFacts {
  /** Windows version: `major.minor.build` when a line states it (build 0 when only `6.1` is printed). */
  os?: { major: number; minor: number; build: number; buildString?: string; line: number; text: string };
  /** Processor named by the version line (`Free x64`, `Free x86 compatible`), or by `.effmach`. */
  arch?: "x86" | "x64" | "arm64";
  /** True when the version line says `x86 compatible` (a 32-bit process on 64-bit Windows). */
  wow64?: boolean;
}

/** What {@link parseWindbgLog} returns. */
export interface WindbgSession {
  /** Target facts stated anywhere in the log. */
  facts: SessionFacts;
  encoding: TextEncoding;
  /** Lines in the decoded input. */
  lineCount: number;
  /** True when the input was Markdown with fenced code: only fenced lines were parsed. */
  markdown: boolean;
  /** Lines outside code fences (Markdown prose), not parsed. */
  proseLines: number;
  /** Command blocks in input order. */
  blocks: SessionBlock[];
  /** Everything not understood, with codes and line numbers. */
  diagnostics: Diagnostic[];
}

/** The blocks of one kind, typed: `blocksOfKind(session, "heapStat")`. */
export function blocksOfKind<K extends BlockKind>(session: Pick<WindbgSession, "blocks">, kind: K): Extract<SessionBlock, { kind: K }>[] {
  return session.blocks.filter((b): b is Extract<SessionBlock, { kind: K }> => b.kind === kind);
}
