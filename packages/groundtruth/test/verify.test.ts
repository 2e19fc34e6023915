import { BytesAddressSpace, formatAddress, parseAddress } from "@leakscope/core";
import { describe, expect, it } from "vitest";
import {
  type FoundAllocation,
  type Manifest,
  type ManifestAllocation,
  type VerifyResult,
  formatVerifyResult,
  frameFunction,
  groundtruthCodes,
  isAllocatorFrame,
  normalizeTypeName,
  validateManifest,
  verifyManifest,
} from "../src/index.js";

const PROCESS_HEAP = 0x1d2c3e40000;
const PRIVATE_HEAP = 0x1d2c4100000;
const VTABLE = 0x7ff6a1b24370;

interface Case {
  manifest: Manifest;
  found: FoundAllocation[];
  /** Memory of the synthetic dump: one piece per allocation, filled as gtalloc fills it. */
  pieces: { address: number; bytes: Uint8Array }[];
  space: () => BytesAddressSpace;
}

function alloc(address: number, size: number, fill: number, extra: Partial<ManifestAllocation> = {}): ManifestAllocation {
  return {
    address: formatAddress(address),
    size,
    fill,
    fillOffset: 0,
    allocator: "HeapAlloc",
    heap: formatAddress(PROCESS_HEAP),
    kind: "pattern",
    site: "gt_alloc_process_heap",
    ...extra,
  };
}

/** A consistent synthetic case: manifest, what a correct leakscope would find, and the memory. */
function makeCase(stackTraces = true): Case {
  const allocations: ManifestAllocation[] = [
    alloc(PROCESS_HEAP + 0x1230, 100, 0xa4),
    alloc(PRIVATE_HEAP + 0x1000, 48, 0xe3, { heap: formatAddress(PRIVATE_HEAP), kind: "lfh-burst", site: "gt_alloc_lfh_burst" }),
    alloc(PROCESS_HEAP + 0x2000, 48, 0xd1, {
      allocator: "new",
      kind: "object",
      site: "gt_new_widget",
      fillOffset: 8,
      typeName: "GtWidget",
      vtable: formatAddress(VTABLE),
    }),
    alloc(PROCESS_HEAP + 0x3000, 288, 0x4c, { kind: "leak", site: "gt_leaky_function" }),
    alloc(PROCESS_HEAP + 0x10040, 0x18000, 0xf1, { kind: "large", site: "gt_alloc_large" }),
    alloc(PROCESS_HEAP + 0x4000, 1, 0xa1),
  ];
  const manifest: Manifest = {
    schemaVersion: 1,
    tool: "gtalloc",
    toolVersion: "1.0.0",
    label: "synthetic",
    machine: "x64",
    pointerSize: 8,
    wow64: false,
    processId: 1,
    os: { major: 10, minor: 0, build: 22631 },
    ntGlobalFlag: stackTraces ? 0x1000 : 0,
    stackTraces,
    pageHeap: false,
    scale: 1,
    module: { name: "gtalloc.exe", path: "C:\\gt\\gtalloc.exe", base: "0x7ff6a1b20000" },
    heaps: [
      { role: "process", address: formatAddress(PROCESS_HEAP), kind: "nt" },
      { role: "private", address: formatAddress(PRIVATE_HEAP), kind: "nt" },
      { role: "crt", address: formatAddress(PROCESS_HEAP), kind: "nt" },
    ],
    dumpFile: "synthetic.dmp",
    complete: true,
    allocations,
    freed: [{ address: formatAddress(PROCESS_HEAP + 0x5000), size: 0x70, allocator: "HeapAlloc", heap: formatAddress(PROCESS_HEAP) }],
  };
  const pieces = allocations.map((a) => {
    const bytes = new Uint8Array(a.size).fill(a.fill);
    if (a.vtable !== undefined) new DataView(bytes.buffer).setBigUint64(0, BigInt(a.vtable), true);
    return { address: parseAddress(a.address), bytes };
  });
  const found: FoundAllocation[] = allocations.map((a) => ({
    userAddress: parseAddress(a.address),
    requestedSize: a.size,
    busy: true,
    heapAddress: parseAddress(a.heap),
    stackTopFrame: `gtalloc!${a.site}+0x1c`,
    ...(a.typeName === undefined ? {} : { typeName: `gtalloc!${a.typeName}::\`vftable'` }),
  }));
  return { manifest, found, pieces, space: () => new BytesAddressSpace(pieces, 8) };
}

function codesOf(r: VerifyResult): string[] {
  return r.allocations.flatMap((c) => c.differences.map((d) => d.code));
}

describe("verifyManifest", () => {
  it("all allocations pass when leakscope found exactly what the program did", () => {
    const c = makeCase();
    expect(validateManifest(c.manifest).valid).toBe(true);
    const r = verifyManifest(c.manifest, c.found, { space: c.space() });
    expect(codesOf(r)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.summary).toMatchObject({ total: 6, passed: 6, failed: 0, matched: 6, missing: 0, contentChecked: 6, extra: 0, found: 6 });
    expect(r.allocations.every((a) => a.status === "pass")).toBe(true);
    const text = formatVerifyResult(r);
    expect(text.trimEnd().split("\n").at(-1)).toBe("result: PASS");
    expect(text).not.toMatch(/^FAIL/m);
  });

  it("reports a size mismatch on the allocation and in the summary", () => {
    const c = makeCase();
    c.found[0]!.requestedSize = 104;
    const r = verifyManifest(c.manifest, c.found, { space: c.space() });
    expect(r.ok).toBe(false);
    expect(r.summary.sizeMismatches).toBe(1);
    expect(r.summary.failed).toBe(1);
    expect(r.allocations[0]!.status).toBe("fail");
    expect(r.allocations[0]!.differences.map((d) => [d.code, d.field])).toEqual([["GT_SIZE_MISMATCH", "size"]]);
    const text = formatVerifyResult(r);
    expect(text).toContain("GT_SIZE_MISMATCH");
    expect(text).toContain("0x000001d2c3e41230");
    expect(text.trimEnd().split("\n").at(-1)).toBe("result: FAIL");
  });

  it("accepts an inexact size within the slack, as info", () => {
    const c = makeCase();
    c.found[0]!.requestedSize = 112;
    c.found[0]!.sizeInexact = true;
    const r = verifyManifest(c.manifest, c.found, { space: c.space() });
    expect(r.ok).toBe(true);
    expect(codesOf(r)).toEqual(["GT_SIZE_INEXACT"]);
    c.found[0]!.requestedSize = 100 + 65;
    expect(codesOf(verifyManifest(c.manifest, c.found))).toEqual(["GT_SIZE_MISMATCH"]);
  });

  it("reports a missing allocation", () => {
    const c = makeCase();
    const found = c.found.filter((_, i) => i !== 3);
    const r = verifyManifest(c.manifest, found, { space: c.space() });
    expect(r.ok).toBe(false);
    expect(r.summary).toMatchObject({ missing: 1, matched: 5, failed: 1, passed: 5 });
    expect(r.allocations[3]!.differences.map((d) => d.code)).toEqual(["GT_ALLOCATION_MISSING"]);
    expect(r.allocations[3]!.found).toBeUndefined();
  });

  it("reports a content mismatch with the first differing offset", () => {
    const c = makeCase();
    c.pieces[3]!.bytes[77] = 0x00;
    c.pieces[3]!.bytes[200] = 0x00;
    const r = verifyManifest(c.manifest, c.found, { space: c.space() });
    expect(r.ok).toBe(false);
    expect(r.summary.contentMismatches).toBe(1);
    const d = r.allocations[3]!.differences;
    expect(d.map((x) => x.code)).toEqual(["GT_CONTENT_MISMATCH"]);
    expect(d[0]!.offset).toBe(77);
  });

  it("checks the vtable pointer of objects and the fill after it", () => {
    const c = makeCase();
    new DataView(c.pieces[2]!.bytes.buffer).setBigUint64(0, 0x7ff6a1b29999n, true);
    const r = verifyManifest(c.manifest, c.found, { space: c.space() });
    expect(r.allocations[2]!.differences.map((x) => [x.code, x.offset])).toEqual([["GT_CONTENT_MISMATCH", 0]]);
    // fill bytes start after the vtable: a correct object passes although bytes 0..7 are not the fill
    const ok = makeCase();
    expect(verifyManifest(ok.manifest, ok.found, { space: ok.space() }).allocations[2]!.differences).toEqual([]);
  });

  it("reports memory the dump lacks as not captured (a warning, not a failure)", () => {
    const c = makeCase();
    c.pieces[4]!.bytes = c.pieces[4]!.bytes.subarray(0, 0x1000);
    const r = verifyManifest(c.manifest, c.found, { space: c.space() });
    expect(r.ok).toBe(true);
    expect(r.summary.contentNotCaptured).toBe(1);
    expect(r.allocations[4]!.differences.map((d) => [d.code, d.severity])).toEqual([["GT_CONTENT_NOT_CAPTURED", "warning"]]);
  });

  it("reports a wrong top stack frame, and a missing stack when +ust was on", () => {
    const c = makeCase();
    c.found[3]!.stackTopFrame = "gtalloc!gt_alloc_process_heap+0x10";
    c.found[1]!.stackTopFrame = undefined;
    const r = verifyManifest(c.manifest, c.found, { space: c.space() });
    expect(r.ok).toBe(false);
    expect(r.summary).toMatchObject({ stackMismatches: 1, stackMissing: 1, failed: 2 });
    expect(r.allocations[3]!.differences.map((d) => d.code)).toEqual(["GT_STACK_MISMATCH"]);
    expect(r.allocations[1]!.differences.map((d) => d.code)).toEqual(["GT_STACK_MISSING"]);
    expect(formatVerifyResult(r)).toContain("GT_STACK_MISMATCH");
  });

  it("does not compare stacks when the manifest has no +ust, unless asked", () => {
    const c = makeCase(false);
    for (const f of c.found) f.stackTopFrame = undefined;
    expect(verifyManifest(c.manifest, c.found).ok).toBe(true);
    const forced = verifyManifest(c.manifest, c.found, { requireStacks: true });
    expect(forced.summary.stackMissing).toBe(6);
  });

  it("skips allocator frames when the whole stack is given", () => {
    const c = makeCase();
    c.found[2]!.stackTopFrame = undefined;
    c.found[2]!.stack = [
      "ntdll!RtlpAllocateHeapInternal+0x4f",
      "ntdll!RtlAllocateHeap+0x3e",
      "ucrtbase!_malloc_base+0x36",
      "gtalloc!operator new+0x1f",
      "gtalloc!gt_new_widget+0x12",
      "gtalloc!gt_run_plan+0x2a1",
    ];
    expect(verifyManifest(c.manifest, c.found).allocations[2]!.differences).toEqual([]);
    c.found[2]!.stack = ["ntdll!RtlAllocateHeap+0x3e", "gtalloc!gt_run_plan+0x2a1"];
    expect(verifyManifest(c.manifest, c.found).allocations[2]!.differences.map((d) => d.code)).toEqual(["GT_STACK_MISMATCH"]);
  });

  it("compares C++ type names in any common spelling", () => {
    const c = makeCase();
    for (const name of ["class GtWidget", ".?AVGtWidget@@", "GtWidget", "gtalloc!GtWidget::`vftable'"]) {
      c.found[2]!.typeName = name;
      expect(verifyManifest(c.manifest, c.found).allocations[2]!.differences, name).toEqual([]);
    }
    c.found[2]!.typeName = "class GtGadget";
    const wrong = verifyManifest(c.manifest, c.found);
    expect(wrong.summary.typeMismatches).toBe(1);
    expect(wrong.allocations[2]!.differences.map((d) => d.code)).toEqual(["GT_TYPE_MISMATCH"]);
    c.found[2]!.typeName = undefined;
    const missing = verifyManifest(c.manifest, c.found);
    expect(missing.ok).toBe(true);
    expect(missing.allocations[2]!.differences.map((d) => [d.code, d.severity])).toEqual([["GT_TYPE_MISSING", "warning"]]);
    expect(verifyManifest(c.manifest, c.found, { requireTypes: true }).ok).toBe(false);
  });

  it("reports a block leakscope sees as free, and a heap attribution difference as a warning", () => {
    const c = makeCase();
    c.found[0]!.busy = false;
    c.found[1]!.heapAddress = PROCESS_HEAP;
    const r = verifyManifest(c.manifest, c.found);
    expect(r.allocations[0]!.differences.map((d) => d.code)).toEqual(["GT_NOT_BUSY"]);
    expect(r.allocations[1]!.differences.map((d) => [d.code, d.severity])).toEqual([["GT_HEAP_MISMATCH", "warning"]]);
    expect(r.summary).toMatchObject({ busyMismatches: 1, heapMismatches: 1, failed: 1 });
  });

  it("counts extra busy allocations in the manifest's heaps as info, and freed blocks reused", () => {
    const c = makeCase();
    const found = [
      ...c.found,
      { userAddress: PROCESS_HEAP + 0x9000, requestedSize: 40, busy: true, heapAddress: PROCESS_HEAP },
      { userAddress: PROCESS_HEAP + 0x5000, requestedSize: 0x70, busy: true, heapAddress: PROCESS_HEAP },
      { userAddress: PROCESS_HEAP + 0x9100, requestedSize: 40, busy: false, heapAddress: PROCESS_HEAP },
      { userAddress: 0x5550000, requestedSize: 40, busy: true, heapAddress: 0x5550000 },
    ];
    const r = verifyManifest(c.manifest, found, { maxExtrasListed: 1 });
    expect(r.ok).toBe(true);
    expect(r.summary).toMatchObject({ extra: 2, freedReused: 1, found: 10 });
    expect(r.extras).toHaveLength(1);
    expect(r.extras[0]!.userAddress).toBe(PROCESS_HEAP + 0x9000);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["GT_EXTRA_ALLOCATION", "GT_FREED_REUSED"]);
    expect(r.diagnostics.every((d) => d.severity === "info")).toBe(true);
  });

  it("prefers the busy one of duplicate found entries and says so", () => {
    const c = makeCase();
    const found = [{ ...c.found[0]!, busy: false }, ...c.found];
    const r = verifyManifest(c.manifest, found);
    expect(r.ok).toBe(true);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["GT_FOUND_DUPLICATE_ADDRESS"]);
  });

  it("flags manifest problems: duplicates, bad fill offsets, incomplete runs", () => {
    const c = makeCase();
    c.manifest.allocations.push({ ...c.manifest.allocations[0]! });
    c.manifest.allocations[5]!.fillOffset = 9;
    c.manifest.complete = false;
    const r = verifyManifest(c.manifest, c.found, { space: c.space() });
    expect(r.summary.total).toBe(6);
    expect(r.diagnostics.map((d) => d.code).sort()).toEqual([
      "GT_MANIFEST_BAD_FILL_OFFSET",
      "GT_MANIFEST_DUPLICATE_ADDRESS",
      "GT_MANIFEST_INCOMPLETE",
    ]);
  });

  it("stops reading an endless found stream at maxFound, and reuse of one object is safe", () => {
    const c = makeCase();
    const shared: FoundAllocation = { userAddress: 0, requestedSize: 0, busy: true, heapAddress: 0 };
    function* endless(): Generator<FoundAllocation> {
      for (let i = 0; ; i++) {
        const src = c.found[i % c.found.length]!;
        Object.assign(shared, src);
        yield shared;
      }
    }
    const r = verifyManifest(c.manifest, endless(), { maxFound: 1000 });
    expect(r.summary.found).toBe(1000);
    expect(r.summary.matched).toBe(6);
    expect(r.allocations[2]!.found?.userAddress).toBe(PROCESS_HEAP + 0x2000);
    expect(r.allocations[2]!.found?.requestedSize).toBe(48);
    expect(r.diagnostics.every((d) => d.code === "GT_FOUND_DUPLICATE_ADDRESS" || d.code === "DIAGNOSTICS_SUPPRESSED")).toBe(true);
  });

  it("limits the failures printed by formatVerifyResult", () => {
    const c = makeCase();
    const r = verifyManifest(c.manifest, []);
    expect(r.summary.missing).toBe(6);
    const text = formatVerifyResult(r, { maxFailures: 2 });
    expect(text.match(/^FAIL /gm)).toHaveLength(2);
    expect(text).toMatch(/\(4 more not shown\)/);
  });
});

describe("frame and type helpers", () => {
  it("frameFunction strips module, offset and x86 decorations", () => {
    expect(frameFunction("gtalloc!gt_leaky_function+0x1c")).toBe("gt_leaky_function");
    expect(frameFunction("gtalloc.exe!_gt_leaky_function@4+12")).toBe("gt_leaky_function");
    expect(frameFunction("gt_leaky_function")).toBe("gt_leaky_function");
  });

  it("isAllocatorFrame knows ntdll, the CRT and operator new", () => {
    expect(isAllocatorFrame("ntdll!RtlAllocateHeap+0x3e")).toBe(true);
    expect(isAllocatorFrame("KERNELBASE.dll!HeapAlloc+0x10")).toBe(true);
    expect(isAllocatorFrame("gtalloc!operator new+0x1f")).toBe(true);
    expect(isAllocatorFrame("gtalloc!malloc+0x5")).toBe(true);
    expect(isAllocatorFrame("gtalloc!_malloc_base+0x36")).toBe(true); // static CRT (/MT)
    expect(isAllocatorFrame("gtalloc!_malloc+0x5")).toBe(true); // x86 cdecl decoration
    expect(isAllocatorFrame("gtalloc!gt_new_widget+0x12")).toBe(false);
  });

  it("normalizeTypeName handles nested RTTI names", () => {
    expect(normalizeTypeName(".?AVInner@Outer@@")).toBe("Outer::Inner");
    expect(normalizeTypeName("struct GtGadget")).toBe("GtGadget");
  });

  it("every difference code is declared with a severity and a description", () => {
    for (const [code, def] of Object.entries(groundtruthCodes)) {
      expect(code).toMatch(/^GT_[A-Z0-9_]+$/);
      expect(def.description.length).toBeGreaterThan(10);
    }
  });
});
