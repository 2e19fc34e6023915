import { type Static, Type } from "@leakscope/core";

/**
 * The ground-truth manifest written by `tools/groundtruth/gtalloc` next to its dump: the facts of
 * the process (machine, gflags, heaps) and every allocation still live when the dump was taken.
 * `schema/manifest.schema.json` (and `tools/groundtruth/manifest.schema.json`) are generated
 * from these definitions; a test fails when they drift.
 *
 * Addresses are `0x`-prefixed lowercase hex strings (exact for 64-bit values).
 */
export const MANIFEST_SCHEMA_VERSION = 1;

const Hex = Type.String({
  pattern: "^0x[0-9a-f]{1,16}$",
  description: "Address as 0x-prefixed lowercase hex",
});
const Count = Type.Integer({ minimum: 0 });

export const AllocatorSchema = Type.Union([Type.Literal("HeapAlloc"), Type.Literal("malloc"), Type.Literal("new")], {
  description: "API that made the allocation",
});
export type Allocator = Static<typeof AllocatorSchema>;

export const AllocationKindSchema = Type.Union(
  [
    Type.Literal("pattern"),
    Type.Literal("lfh-burst"),
    Type.Literal("large"),
    Type.Literal("leak"),
    Type.Literal("object"),
  ],
  { description: "Why gtalloc made it: plain pattern, LFH burst, large block, deliberate leak, C++ object" },
);
export type AllocationKind = Static<typeof AllocationKindSchema>;

export const ManifestAllocationSchema = Type.Object(
  {
    address: Type.String({ ...Hex, description: "User address (what the allocator returned)" }),
    size: Type.Integer({ minimum: 0, description: "Requested size in bytes" }),
    fill: Type.Integer({ minimum: 0, maximum: 255, description: "Byte written over [fillOffset, size)" }),
    fillOffset: Type.Integer({ minimum: 0, description: "Bytes before the fill (the vtable pointer of objects)" }),
    allocator: AllocatorSchema,
    heap: Type.String({ ...Hex, description: "Heap handle the block was allocated from" }),
    kind: AllocationKindSchema,
    site: Type.String({
      minLength: 1,
      description: "gtalloc function that called the allocator: the expected top frame in gtalloc with +ust",
    }),
    typeName: Type.Optional(Type.String({ minLength: 1, description: "C++ class of an object" })),
    vtable: Type.Optional(Type.String({ ...Hex, description: "The object's vtable pointer" })),
  },
  { additionalProperties: false },
);
export type ManifestAllocation = Static<typeof ManifestAllocationSchema>;

export const ManifestFreedSchema = Type.Object(
  {
    address: Hex,
    size: Count,
    allocator: AllocatorSchema,
    heap: Hex,
  },
  { additionalProperties: false, description: "A block the program allocated, filled and freed before the dump" },
);
export type ManifestFreed = Static<typeof ManifestFreedSchema>;

export const ManifestHeapSchema = Type.Object(
  {
    role: Type.Union([Type.Literal("process"), Type.Literal("private"), Type.Literal("crt")]),
    address: Hex,
    kind: Type.Union([Type.Literal("nt"), Type.Literal("segment"), Type.Literal("unknown")], {
      description: "From the heap's signature dword: 0xFFEEFFEE NT heap, 0xDDEEDDEE segment heap",
    }),
  },
  { additionalProperties: false },
);
export type ManifestHeap = Static<typeof ManifestHeapSchema>;

export const ManifestSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    schemaVersion: Type.Literal(MANIFEST_SCHEMA_VERSION),
    tool: Type.String(),
    toolVersion: Type.String(),
    label: Type.String({ description: "Name of the run (file names are <label>.json / <label>.dmp)" }),
    machine: Type.Union([Type.Literal("x86"), Type.Literal("x64"), Type.Literal("arm64"), Type.Literal("unknown")]),
    pointerSize: Type.Union([Type.Literal(4), Type.Literal(8)]),
    wow64: Type.Boolean({ description: "A 32-bit process on 64-bit Windows" }),
    processId: Count,
    os: Type.Union([
      Type.Object({ major: Count, minor: Count, build: Count }, { additionalProperties: false }),
      Type.Null(),
    ]),
    ntGlobalFlag: Type.Union([Count, Type.Null()], { description: "PEB NtGlobalFlag (gflags), null if unknown" }),
    stackTraces: Type.Boolean({ description: "+ust (0x1000) was on: every allocation has a stack" }),
    pageHeap: Type.Boolean({ description: "+hpa (0x02000000) was on" }),
    scale: Type.Integer({ minimum: 1, maximum: 100 }),
    module: Type.Object({ name: Type.String(), path: Type.String(), base: Hex }, { additionalProperties: false }),
    heaps: Type.Array(ManifestHeapSchema),
    dumpFile: Type.Union([Type.String(), Type.Null()], { description: "Dump file name, beside the manifest" }),
    complete: Type.Boolean({ description: "False when some allocation failed or was not recorded" }),
    allocations: Type.Array(ManifestAllocationSchema),
    freed: Type.Array(ManifestFreedSchema),
  },
  { additionalProperties: false, title: "leakscope ground-truth manifest", description: "Written by tools/groundtruth/gtalloc beside its dump" },
);
export type Manifest = Static<typeof ManifestSchema>;
