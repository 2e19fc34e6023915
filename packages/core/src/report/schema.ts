import { type Static, Type } from "@sinclair/typebox";

/**
 * The report model: every `--json` output of the CLI is one {@link Report}, and
 * `packages/core/schema/report.schema.json` (generated from these definitions, checked in CI)
 * is its published JSON Schema. Addresses are `0x`-prefixed lowercase hex strings (exact for
 * 64-bit values); sizes and counts are numbers of bytes / items.
 *
 * Compatibility: fields are only added; a change that removes or retypes a field raises
 * {@link REPORT_SCHEMA_VERSION}.
 */
export const REPORT_SCHEMA_VERSION = 1;

const Hex = Type.String({ pattern: "^0x[0-9a-f]+$", description: "Address as 0x-prefixed lowercase hex" });
const Count = Type.Integer({ minimum: 0 });
const Bytes = Type.Number({ minimum: 0, description: "Bytes" });

export const CountBytesSchema = Type.Object(
  { count: Count, bytes: Bytes },
  { additionalProperties: false },
);

export const DiagnosticSchema = Type.Object(
  {
    code: Type.String({ pattern: "^[A-Z][A-Z0-9_]*$" }),
    severity: Type.Union([Type.Literal("error"), Type.Literal("warning"), Type.Literal("info")]),
    source: Type.String(),
    message: Type.String(),
    location: Type.Optional(
      Type.Object(
        {
          file: Type.Optional(Type.String()),
          fileOffset: Type.Optional(Count),
          address: Type.Optional(Type.String()),
          where: Type.Optional(Type.String()),
          line: Type.Optional(Count),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const ModuleSummarySchema = Type.Object(
  {
    name: Type.String(),
    path: Type.String(),
    base: Hex,
    size: Count,
    timestamp: Count,
    checksum: Count,
    bitness: Type.Union([Type.Literal(32), Type.Literal(64)]),
    version: Type.Optional(Type.String()),
    pdb: Type.Optional(
      Type.Object(
        { format: Type.String(), guid: Type.String(), age: Count, name: Type.String() },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const ThreadSummarySchema = Type.Object(
  {
    id: Count,
    teb: Hex,
    teb32: Type.Optional(Hex),
    stack: Type.Object({ address: Hex, size: Count }, { additionalProperties: false }),
    ip: Type.Optional(Hex),
    sp: Type.Optional(Hex),
    ip32: Type.Optional(Hex),
    /** Thread description from the ThreadNames stream. */
    name: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const ViewSummarySchema = Type.Object(
  {
    bitness: Type.Union([Type.Literal(32), Type.Literal(64)]),
    role: Type.Union([Type.Literal("native"), Type.Literal("wow64")]),
    peb: Type.Optional(Hex),
    tebs: Type.Array(Hex),
    modules: Count,
  },
  { additionalProperties: false },
);

/**
 * The exception or bugcheck of a dump. `kind` is what the crash means for memory analysis:
 * `heap-corruption` and `out-of-memory` crashes lead the verdict to the heap walk.
 */
export const CrashSummarySchema = Type.Object(
  {
    source: Type.Union([Type.Literal("exception"), Type.Literal("bugcheck")]),
    kind: Type.Union([
      Type.Literal("heap-corruption"),
      Type.Literal("out-of-memory"),
      Type.Literal("stack-overflow"),
      Type.Literal("access-violation"),
      Type.Literal("fail-fast"),
      Type.Literal("cpp-exception"),
      Type.Literal("breakpoint"),
      Type.Literal("bugcheck"),
      Type.Literal("other"),
    ]),
    code: Hex,
    name: Type.Optional(Type.String()),
    text: Type.Optional(Type.String()),
    address: Type.Optional(Hex),
    /** `module+0xoffset` of the address, when a module or driver holds it. */
    location: Type.Optional(Type.String()),
    module: Type.Optional(Type.Object({ name: Type.String(), base: Hex, offset: Hex }, { additionalProperties: false })),
    parameters: Type.Array(Hex),
    threadId: Type.Optional(Count),
    /** Kernel: the thread (KTHREAD) that bugchecked. */
    thread: Type.Optional(Hex),
    ip: Type.Optional(Hex),
    sp: Type.Optional(Hex),
    contextSource: Type.Optional(Type.String()),
    access: Type.Optional(
      Type.Object({ operation: Type.Union([Type.Literal("read"), Type.Literal("write"), Type.Literal("execute")]), address: Hex }, { additionalProperties: false }),
    ),
    cppType: Type.Optional(Type.String()),
    failFast: Type.Optional(Type.Object({ code: Count, name: Type.Optional(Type.String()) }, { additionalProperties: false })),
    /** Heap-corruption crashes after a walk: the blocks the walkers found corrupt. */
    heap: Type.Optional(
      Type.Object({ corruptBlocks: Count, blocks: Type.Array(Hex), heaps: Type.Array(Hex) }, { additionalProperties: false }),
    ),
    notes: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);
export type CrashSummary = Static<typeof CrashSummarySchema>;

/** What `leakscope info` prints: the dump itself. */
export const TargetSummarySchema = Type.Object(
  {
    kind: Type.Union([Type.Literal("user"), Type.Literal("kernel"), Type.Literal("text")]),
    format: Type.String(),
    arch: Type.String(),
    os: Type.Object(
      {
        major: Count,
        minor: Count,
        build: Count,
        servicePack: Type.Optional(Type.String()),
        buildString: Type.Optional(Type.String()),
        /** Update build revision (the 282 of 10.0.22000.282). */
        revision: Type.Optional(Count),
      },
      { additionalProperties: false },
    ),
    wow64: Type.Boolean(),
    views: Type.Array(ViewSummarySchema),
    memory: Type.Object(
      {
        ranges: Count,
        bytes: Bytes,
        /** Ranges cut or dropped because they overlap earlier ranges, and the bytes left out of the totals. */
        overlapping: Type.Optional(Type.Object({ ranges: Count, bytes: Bytes }, { additionalProperties: false })),
      },
      { additionalProperties: false },
    ),
    moduleCount: Count,
    threadCount: Count,
    unloadedModuleCount: Count,
    modules: Type.Optional(Type.Array(ModuleSummarySchema)),
    threads: Type.Optional(Type.Array(ThreadSummarySchema)),
    /** Reader-specific facts (minidump streams, kernel header fields...), JSON-safe. */
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    // ---- crash, process and machine (issue 23) ----
    /** The exception (user mode) or bugcheck (kernel) the dump records. */
    crash: Type.Optional(CrashSummarySchema),
    cpu: Type.Optional(
      Type.Object(
        { count: Count, vendor: Type.Optional(Type.String()), description: Type.Optional(Type.String()), maxMhz: Type.Optional(Count) },
        { additionalProperties: false },
      ),
    ),
    process: Type.Optional(
      Type.Object(
        {
          id: Type.Optional(Count),
          mainModule: Type.Optional(Type.String()),
          /** ISO 8601 UTC. */
          createTime: Type.Optional(Type.String()),
          dumpTime: Type.Optional(Type.String()),
          userSeconds: Type.Optional(Count),
          kernelSeconds: Type.Optional(Count),
          uptimeSeconds: Type.Optional(Type.Number({ minimum: 0 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** `minidump (WithFullMemory | ...)`, `triage (DumpType 4)`... */
    dumpType: Type.Optional(Type.String()),
    /** Unloaded modules by name (info). */
    unloadedModules: Type.Optional(
      Type.Array(Type.Object({ name: Type.String(), base: Hex, size: Count, timestamp: Count }, { additionalProperties: false })),
    ),
  },
  { additionalProperties: false },
);

/** One heap, as `leakscope heaps` prints it (the JSON contract of issue 3). */
export const HeapSummarySchema = Type.Object(
  {
    address: Hex,
    bitness: Type.Union([Type.Literal(32), Type.Literal(64)]),
    kind: Type.String(),
    foundBy: Type.Array(Type.String()),
    label: Type.Optional(Type.String()),
    flags: Type.Optional(Hex),
    busy: CountBytesSchema,
    free: CountBytesSchema,
    reserved: Bytes,
    committed: Bytes,
    incomplete: Type.Boolean(),
    /** Allocator-specific figures (segments, UCRs, virtual blocks, LFH...). */
    summary: Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Boolean(), Type.Null()])),
    /** Front-end (LFH) buckets: block size (header included), subsegments, blocks, busy, free, busy requested bytes. */
    buckets: Type.Optional(
      Type.Array(
        Type.Object(
          { blockSize: Bytes, subsegments: Count, totalBlocks: Count, busyBlocks: Count, freeBlocks: Count, busyBytes: Bytes },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  { additionalProperties: false },
);

export const BlockStateSchema = Type.Union([
  Type.Literal("busy"),
  Type.Literal("free"),
  Type.Literal("internal"),
]);

/** One block row, like a line of `!heap -h` / `!heap -flt`. */
export const BlockRowSchema = Type.Object(
  {
    heap: Hex,
    entry: Hex,
    user: Hex,
    blockSize: Bytes,
    requestedSize: Bytes,
    state: BlockStateSchema,
    /** Kind markers: lfh, virtual, host, page-heap, vs, backend, size-inexact, corrupt. */
    flags: Type.Array(Type.String()),
    trace: Type.Optional(Hex),
  },
  { additionalProperties: false },
);

export const BlocksSectionSchema = Type.Object(
  {
    filter: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
    total: Count,
    truncated: Type.Boolean(),
    rows: Type.Array(BlockRowSchema),
  },
  { additionalProperties: false },
);

/** `leakscope stat`: busy user allocations grouped by requested size (`!heap -stat -h`). */
export const StatSectionSchema = Type.Object(
  {
    heap: Type.Union([Hex, Type.Null()]),
    groupBy: Type.Literal("requested-size"),
    busy: CountBytesSchema,
    rows: Type.Array(
      Type.Object(
        { size: Bytes, count: Count, total: Bytes, percent: Type.Number({ minimum: 0, maximum: 100 }) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const FrameSchema = Type.Object(
  {
    address: Hex,
    text: Type.String(),
    module: Type.Optional(Type.String()),
    symbol: Type.Optional(Type.String()),
    offset: Type.Optional(Count),
  },
  { additionalProperties: false },
);

/** `leakscope block <address>`: the block containing an address (`!heap -x`, `!heap -p -a`). */
export const BlockSectionSchema = Type.Object(
  {
    query: Hex,
    found: Type.Boolean(),
    block: Type.Optional(BlockRowSchema),
    host: Type.Optional(BlockRowSchema),
    details: Type.Optional(Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Boolean(), Type.Null()]))),
    stack: Type.Optional(Type.Array(FrameSchema)),
    stackNote: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

const Preview = Type.Object(
  {
    /** Printable ASCII runs of 4+ characters in the first bytes. */
    ascii: Type.Optional(Type.String()),
    /** UTF-16LE text in the first bytes. */
    utf16: Type.Optional(Type.String()),
    /** First bytes as hex pairs. */
    hex: Type.String(),
  },
  { additionalProperties: false },
);

export const SuspectSchema = Type.Object(
  {
    rank: Type.Integer({ minimum: 1 }),
    kind: Type.Union([
      Type.Literal("size-class"),
      Type.Literal("call-site"),
      Type.Literal("type"),
      Type.Literal("growth"),
      Type.Literal("heap"),
      Type.Literal("fragmentation"),
      Type.Literal("unreferenced"),
      Type.Literal("pool-tag"),
      Type.Literal("virtual-memory"),
      Type.Literal("handles"),
      Type.Literal("gdi"),
      Type.Literal("threads"),
    ]),
    title: Type.String(),
    /** 0..1, how strongly the evidence points at a leak. */
    score: Type.Number({ minimum: 0, maximum: 1 }),
    heap: Type.Optional(Hex),
    size: Type.Optional(Bytes),
    count: Count,
    bytes: Bytes,
    /** Share of all busy bytes (of the heap for size classes), in percent. */
    percent: Type.Number({ minimum: 0, maximum: 100 }),
    delta: Type.Optional(Type.Object({ count: Type.Integer(), bytes: Type.Number() }, { additionalProperties: false })),
    stack: Type.Optional(Type.Array(FrameSchema)),
    /** The first stack frame outside the allocator. */
    callSite: Type.Optional(Type.String()),
    typeName: Type.Optional(Type.String()),
    tag: Type.Optional(Type.String()),
    samples: Type.Array(Hex),
    preview: Type.Optional(Preview),
    evidence: Type.Array(Type.String()),
    nextStep: Type.String(),
    /** Requested sizes of a cause spanning several (one stack, one type). */
    sizes: Type.Optional(Type.Array(Bytes)),
    /** The id of this card's stack in `analysis.stacks` (listed there once). */
    stackId: Type.Optional(Count),
    /** The cause keys merged into this card (`class:<heap>:<size>`, `stack:<id>`, `type:<name>`...). */
    keys: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);

export const SizeClassRowSchema = Type.Object(
  {
    heap: Hex,
    size: Bytes,
    count: Count,
    bytes: Bytes,
    percent: Type.Number({ minimum: 0, maximum: 100 }),
  },
  { additionalProperties: false },
);

export const StackGroupSchema = Type.Object(
  {
    id: Count,
    count: Count,
    bytes: Bytes,
    /** Distinct requested sizes seen (at most 16). */
    sizes: Type.Array(Bytes),
    samples: Type.Array(Hex),
    frames: Type.Array(FrameSchema),
    /** The first frame outside the allocator. */
    callSite: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const TypeGroupSchema = Type.Object(
  {
    typeName: Type.String(),
    vtable: Hex,
    module: Type.String(),
    count: Count,
    bytes: Bytes,
    samples: Type.Array(Hex),
  },
  { additionalProperties: false },
);

/** `leakscope stacks`: live allocations grouped by allocation stack (UMDH-style). */
export const StacksSectionSchema = Type.Object(
  {
    status: Type.Union([Type.Literal("present"), Type.Literal("disabled"), Type.Literal("not-captured"), Type.Literal("unsupported")]),
    note: Type.String(),
    ust: Type.Boolean(),
    hpa: Type.Boolean(),
    distinct: Count,
    groups: Type.Array(StackGroupSchema),
  },
  { additionalProperties: false },
);

/** `leakscope pool`: kernel pool usage by tag, like `!poolused`. */
export const PoolSectionSchema = Type.Object(
  {
    /** Input format the rows came from (`kernel-full`, `windbg-log`...). */
    source: Type.String(),
    /** `tracker-tables`, `pool-header-scan` (a lower bound), `log`, or `none`. */
    method: Type.String(),
    sort: Type.Union([Type.Literal("nonpaged"), Type.Literal("paged"), Type.Literal("allocs"), Type.Literal("tag")]),
    rows: Type.Array(
      Type.Object(
        {
          tag: Type.String(),
          nonPagedAllocs: Count,
          nonPagedBytes: Bytes,
          pagedAllocs: Count,
          pagedBytes: Bytes,
          description: Type.Optional(Type.String()),
          binary: Type.Optional(Type.String()),
          /** Drivers whose images use the tag (immediate operand or string). */
          owners: Type.Optional(Type.Array(Type.String())),
          /** What to look at next for system tags that mean leaked kernel objects. */
          hint: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
    notes: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

/** `leakscope analyze`: the answer. */
export const AnalysisSectionSchema = Type.Object(
  {
    /**
     * The answer's first line: `leak-suspected` (a suspect scores at least 0.3),
     * `no-leak-evidence` (the input could show a leak and none is there), `cannot-judge` (the input
     * cannot support the question: no heap memory captured, a truncated dump, a log without heap
     * or pool figures).
     */
    verdict: Type.Union([Type.Literal("leak-suspected"), Type.Literal("no-leak-evidence"), Type.Literal("cannot-judge")]),
    /** One sentence: why, and for `cannot-judge` what to capture instead. */
    verdictReason: Type.String(),
    /** For `leak-suspected`: which kind of leak the leading suspect is. */
    leakKind: Type.Optional(
      Type.Union([
        Type.Literal("heap"),
        Type.Literal("virtual-memory"),
        Type.Literal("handles"),
        Type.Literal("gdi"),
        Type.Literal("threads"),
        Type.Literal("pool"),
      ]),
    ),
    summary: Type.Object(
      {
        heaps: Count,
        busy: CountBytesSchema,
        free: CountBytesSchema,
        traces: Type.Union([Type.Literal("present"), Type.Literal("disabled"), Type.Literal("not-captured"), Type.Literal("unsupported")]),
        tracesNote: Type.String(),
      },
      { additionalProperties: false },
    ),
    /** Plain-language remarks about what could not be analysed and why. */
    notes: Type.Optional(Type.Array(Type.String())),
    suspects: Type.Array(SuspectSchema),
    sizeClasses: Type.Array(SizeClassRowSchema),
    /** Busy bytes per power-of-two size bucket [low, high). */
    histogram: Type.Array(
      Type.Object({ low: Bytes, high: Bytes, count: Count, bytes: Bytes }, { additionalProperties: false }),
    ),
    stacks: Type.Array(StackGroupSchema),
    types: Type.Array(TypeGroupSchema),
    /** The largest size classes that are not suspects: large is not a leak signal on its own. */
    largest: Type.Optional(
      Type.Array(
        Type.Object(
          {
            heap: Hex,
            size: Bytes,
            count: Count,
            bytes: Bytes,
            /** Share of all busy bytes, in percent. */
            percent: Type.Number({ minimum: 0, maximum: 100 }),
            samples: Type.Array(Hex),
          },
          { additionalProperties: false },
        ),
      ),
    ),
    /** What the input could show, behind a `cannot-judge` verdict. */
    coverage: Type.Optional(
      Type.Object(
        {
          hasFigures: Type.Boolean(),
          /** Share of the busy blocks whose memory is in the input, 0..1. */
          captured: Type.Number({ minimum: 0, maximum: 1 }),
          truncated: Type.Boolean(),
          /** Heaps whose walk could not complete. */
          incompleteHeaps: Count,
        },
        { additionalProperties: false },
      ),
    ),
    reachability: Type.Optional(
      Type.Object(
        {
          method: Type.String(),
          rootBytes: Bytes,
          scannedBytes: Bytes,
          reachable: CountBytesSchema,
          unreferenced: CountBytesSchema,
          samples: Type.Array(Hex),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

// ---- process: which kind of leak (issue 26; @leakscope/process) -------------------------------
const ProcessUsageRow = Type.Object(
  {
    /** `!address -summary` row: Heap, Image, MappedFile, Stack, TEB, PEB, Other, Free, <unknown>; or a type, state or protection. */
    name: Type.String(),
    regions: Count,
    bytes: Bytes,
    committed: Bytes,
    /** Percent of the busy (non-free) bytes; of all bytes for the state table. */
    percent: Type.Number({ minimum: 0, maximum: 100 }),
  },
  { additionalProperties: false },
);

/** Memory, handles, GDI objects and threads of a user-mode process, and which of them holds an abnormal share. */
export const ProcessSectionSchema = Type.Object(
  {
    composition: Type.Object(
      {
        /** `memory-info-list` (every region) or `memory-ranges` (only the captured ranges: less exact). */
        source: Type.Union([Type.Literal("memory-info-list"), Type.Literal("memory-ranges")]),
        regions: Count,
        committed: Bytes,
        reserved: Bytes,
        /** Committed bytes by region type (MEM_IMAGE, MEM_MAPPED, MEM_PRIVATE). */
        committedByType: Type.Object({ image: Bytes, mapped: Bytes, private: Bytes }, { additionalProperties: false }),
        usage: Type.Array(ProcessUsageRow),
        type: Type.Array(ProcessUsageRow),
        state: Type.Array(ProcessUsageRow),
        protect: Type.Array(ProcessUsageRow),
        heaps: Type.Array(
          Type.Object(
            {
              heap: Hex,
              label: Type.Optional(Type.String()),
              /** Allocations (allocation bases) attributed to the heap. */
              allocations: Count,
              committed: Bytes,
              reserved: Bytes,
              /** Requested bytes of busy blocks, free block bytes and the rest of the committed bytes (headers, bookkeeping), when walked. */
              busy: Type.Optional(Bytes),
              free: Type.Optional(Bytes),
              overhead: Type.Optional(Bytes),
            },
            { additionalProperties: false },
          ),
        ),
        /** Private allocations (VirtualAlloc) that belong to no heap, stack, TEB or PEB, grouped by size, largest total first. */
        privateGroups: Type.Array(
          Type.Object(
            {
              size: Bytes,
              count: Count,
              committed: Bytes,
              reserved: Bytes,
              /** Allocation bases (the first few). */
              samples: Type.Array(Hex),
              /** Captured memory holding a pointer to one of them: `module+0x...`, `stack of thread 0x...`. */
              referrers: Type.Array(Type.String()),
            },
            { additionalProperties: false },
          ),
        ),
        vmCounters: Type.Optional(Type.Record(Type.String(), Bytes)),
        systemMemory: Type.Optional(Type.Record(Type.String(), Bytes)),
        notes: Type.Array(Type.String()),
      },
      { additionalProperties: false },
    ),
    handles: Type.Object(
      {
        /** `HandleData` (the dump's stream), `!handle` (WinDbg text) or `none`. */
        source: Type.String(),
        total: Count,
        byType: Type.Array(
          Type.Object(
            {
              type: Type.String(),
              count: Count,
              handleCount: Count,
              pointerCount: Count,
              /** What a process usually holds at most; set when this type is far above it. */
              typical: Type.Optional(Count),
            },
            { additionalProperties: false },
          ),
        ),
        /** The most repeated object names. */
        names: Type.Array(Type.Object({ type: Type.String(), name: Type.String(), count: Count }, { additionalProperties: false })),
        notes: Type.Array(Type.String()),
      },
      { additionalProperties: false },
    ),
    gdi: Type.Object(
      {
        status: Type.Union([Type.Literal("present"), Type.Literal("not-captured"), Type.Literal("not-gui"), Type.Literal("unknown")]),
        table: Type.Optional(Hex),
        processId: Type.Optional(Count),
        total: Count,
        quota: Count,
        byType: Type.Array(Type.Object({ type: Type.String(), count: Count }, { additionalProperties: false })),
        note: Type.String(),
      },
      { additionalProperties: false },
    ),
    threads: Type.Object(
      {
        count: Count,
        /** Threads grouped by start address and top frame, largest group first. */
        groups: Type.Array(
          Type.Object(
            {
              start: Type.String(),
              top: Type.String(),
              count: Count,
              ids: Type.Array(Count),
              /** Creation times of the group's first and last thread (ISO 8601, from ThreadInfoList). */
              created: Type.Optional(Type.Object({ first: Type.String(), last: Type.String() }, { additionalProperties: false })),
            },
            { additionalProperties: false },
          ),
        ),
        notes: Type.Array(Type.String()),
      },
      { additionalProperties: false },
    ),
    /** Which kind of leak: one row per kind, abnormal ones first. */
    triage: Type.Array(
      Type.Object(
        {
          kind: Type.Union([Type.Literal("heap"), Type.Literal("virtual-memory"), Type.Literal("handles"), Type.Literal("gdi"), Type.Literal("threads")]),
          abnormal: Type.Boolean(),
          /** One sentence with the figures. */
          text: Type.String(),
          /** The evidence key (`handles:Event`, `region:0x...`). */
          key: Type.Optional(Type.String()),
          nextStep: Type.String(),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** `diff`: one process figure of two snapshots (committed bytes by kind, handles by type, GDI objects by type, threads by start). */
export const ProcessGrowthRowSchema = Type.Object(
  {
    /** `memory:private`, `memory:heaps`, `memory:outside-heaps`, `handles:Event`, `gdi:Bitmap`, `threads:<start>`, `threads:total`... */
    key: Type.String(),
    kind: Type.Union([Type.Literal("memory"), Type.Literal("handles"), Type.Literal("gdi"), Type.Literal("threads")]),
    /** Bytes for `memory`, counts for the others. */
    before: Type.Number({ minimum: 0 }),
    after: Type.Number({ minimum: 0 }),
    delta: Type.Number(),
  },
  { additionalProperties: false },
);

export const GrowthRowSchema = Type.Object(
  {
    key: Type.String(),
    kind: Type.Union([Type.Literal("heap"), Type.Literal("size-class"), Type.Literal("stack"), Type.Literal("type"), Type.Literal("pool-tag")]),
    before: CountBytesSchema,
    after: CountBytesSchema,
    delta: Type.Object({ count: Type.Integer(), bytes: Type.Number() }, { additionalProperties: false }),
    heap: Type.Optional(Hex),
    size: Type.Optional(Bytes),
    frames: Type.Optional(Type.Array(FrameSchema)),
  },
  { additionalProperties: false },
);

/** `leakscope diff before after`: growth between two snapshots, largest byte growth first. */
export const DiffSectionSchema = Type.Object(
  {
    before: Type.Object({ path: Type.String(), kind: Type.String(), format: Type.String() }, { additionalProperties: false }),
    after: Type.Object({ path: Type.String(), kind: Type.String(), format: Type.String() }, { additionalProperties: false }),
    total: Type.Object({ before: CountBytesSchema, after: CountBytesSchema }, { additionalProperties: false }),
    rows: Type.Array(GrowthRowSchema),
    /** Process figures that changed (user-mode dumps; `@leakscope/process`), largest relative growth first. */
    process: Type.Optional(Type.Array(ProcessGrowthRowSchema)),
  },
  { additionalProperties: false },
);

// ---- trend (issue 25) -----------------------------------------------------------------------

/** One group followed over the snapshots of `leakscope trend`. */
export const TrendSeriesSchema = Type.Object(
  {
    /** `heap:<bits>:<addr>`, `class:<bits>:<heap>/<size>`, `stack:<frames>`, `type:<name>`, `pool-tag:<tag>`, `handles:<type>`, `gdi:<type>`, `threads:total`, `memory:outside-heaps`. */
    key: Type.String(),
    kind: Type.Union([
      Type.Literal("heap"),
      Type.Literal("size-class"),
      Type.Literal("stack"),
      Type.Literal("type"),
      Type.Literal("pool-tag"),
      // process figures (@leakscope/process): handles and GDI objects by type, the thread count
      // (followed in `counts`), committed private bytes outside the heaps (in `bytes`)
      Type.Literal("handles"),
      Type.Literal("gdi"),
      Type.Literal("threads"),
      Type.Literal("virtual-memory"),
    ]),
    label: Type.String(),
    heap: Type.Optional(Hex),
    size: Type.Optional(Bytes),
    frames: Type.Optional(Type.Array(FrameSchema)),
    /** Live count and bytes in each input, in capture order. */
    counts: Type.Array(Type.Number({ minimum: 0 })),
    bytes: Type.Array(Type.Number({ minimum: 0 })),
    /** Last input minus first. */
    growth: Type.Object({ count: Type.Number(), bytes: Type.Number() }, { additionalProperties: false }),
    /** Least-squares slope over the capture times (0 when the inputs have no times). */
    slopeBytesPerHour: Type.Number(),
    slopeBytesPerSnapshot: Type.Number(),
    /** Series that count objects (`handles`, `gdi`, `threads`): the slopes of `counts` (the byte slopes are 0). */
    slopeCountPerHour: Type.Optional(Type.Number()),
    slopeCountPerSnapshot: Type.Optional(Type.Number()),
    /** R² of the straight-line fit, 0..1. */
    r2: Type.Number({ minimum: 0, maximum: 1 }),
    /** Share of steps that rose, weighted by bytes risen over bytes moved, 0..1. */
    steadiness: Type.Number({ minimum: 0, maximum: 1 }),
    status: Type.Union([
      Type.Literal("growing"),
      Type.Literal("started-growing"),
      Type.Literal("grew-then-stopped"),
      Type.Literal("shrinking"),
      Type.Literal("flat"),
      Type.Literal("noisy"),
    ]),
    /** Position (0-based) of the first input of the final rise (`started-growing`) or of the last input that rose (`grew-then-stopped`). */
    since: Type.Optional(Count),
    /** 0..1, how strongly the series points at a leak (0 unless it keeps growing). */
    score: Type.Number({ minimum: 0, maximum: 1 }),
  },
  { additionalProperties: false },
);

/** `leakscope trend A B C …`: growth over three or more snapshots of one program. */
export const TrendSectionSchema = Type.Object(
  {
    /** `capture-time` when every input has a distinct capture time, else `order` (slopes per snapshot). */
    timeBasis: Type.Union([Type.Literal("capture-time"), Type.Literal("order")]),
    inputs: Type.Array(
      Type.Object(
        {
          path: Type.String(),
          kind: Type.String(),
          format: Type.String(),
          capturedAt: Type.Optional(Type.String()),
          /** Hours since the first input (the input's position when there are no times). */
          hours: Type.Number(),
          busy: CountBytesSchema,
        },
        { additionalProperties: false },
      ),
    ),
    /** Growth below this never makes a suspect. */
    minGrowthBytes: Bytes,
    series: Type.Array(TrendSeriesSchema),
    /** Series that keep growing, ranked by slope and steadiness (keys into `series`). */
    suspects: Type.Array(Type.Object({ rank: Type.Integer({ minimum: 1 }), key: Type.String() }, { additionalProperties: false })),
    /** Series that grew, then stopped (keys): a cache filling up, not a leak. */
    stopped: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

/**
 * The report. Sections are present when the command produced them. `extensions` holds
 * third-party plugins' sections, keyed by plugin name.
 */
export const ReportSchema = Type.Object(
  {
    schemaVersion: Type.Literal(REPORT_SCHEMA_VERSION),
    tool: Type.Object({ name: Type.Literal("leakscope"), version: Type.String() }, { additionalProperties: false }),
    command: Type.String(),
    input: Type.Object(
      { path: Type.String(), size: Count, kind: Type.String(), format: Type.String() },
      { additionalProperties: false },
    ),
    target: Type.Optional(TargetSummarySchema),
    heaps: Type.Optional(Type.Array(HeapSummarySchema)),
    blocks: Type.Optional(BlocksSectionSchema),
    stat: Type.Optional(StatSectionSchema),
    block: Type.Optional(BlockSectionSchema),
    /** Sections of later features (stacks, pool, analysis, diff, verify): typed as they land. */
    stacks: Type.Optional(StacksSectionSchema),
    pool: Type.Optional(PoolSectionSchema),
    analysis: Type.Optional(AnalysisSectionSchema),
    /** Memory composition, handles, GDI objects, threads and the kind of leak (`info`, `analyze`). */
    process: Type.Optional(ProcessSectionSchema),
    diff: Type.Optional(DiffSectionSchema),
    trend: Type.Optional(TrendSectionSchema),
    /** Suspects at or above this score make `analyze` exit with code 1. */
    findings: Type.Optional(Type.Object({ threshold: Type.Number(), count: Count }, { additionalProperties: false })),
    verify: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    extensions: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    diagnostics: Type.Array(DiagnosticSchema),
  },
  {
    additionalProperties: false,
    $id: "https://leakscope.dev/schema/report.schema.json",
    title: "leakscope report",
    description: "The JSON output of every leakscope command.",
  },
);

export type Report = Static<typeof ReportSchema>;
export type TargetSummary = Static<typeof TargetSummarySchema>;
export type HeapSummary = Static<typeof HeapSummarySchema>;
export type BlockRow = Static<typeof BlockRowSchema>;
export type BlocksSection = Static<typeof BlocksSectionSchema>;
export type StatSection = Static<typeof StatSectionSchema>;
export type BlockSection = Static<typeof BlockSectionSchema>;
export type Frame = Static<typeof FrameSchema>;
export type Suspect = Static<typeof SuspectSchema>;
export type AnalysisSection = Static<typeof AnalysisSectionSchema>;
export type SizeClassRow = Static<typeof SizeClassRowSchema>;
export type StackGroup = Static<typeof StackGroupSchema>;
export type TypeGroup = Static<typeof TypeGroupSchema>;
export type DiffSection = Static<typeof DiffSectionSchema>;
export type StacksSection = Static<typeof StacksSectionSchema>;
export type PoolSection = Static<typeof PoolSectionSchema>;
export type GrowthRow = Static<typeof GrowthRowSchema>;
export type TrendSection = Static<typeof TrendSectionSchema>;
export type TrendSeries = Static<typeof TrendSeriesSchema>;
export type ProcessSection = Static<typeof ProcessSectionSchema>;
export type ProcessGrowthRow = Static<typeof ProcessGrowthRowSchema>;
