import {
  type Address,
  type AddressSpace,
  type Diagnostic,
  Diagnostics,
  type Severity,
  emptySpan,
  formatAddress,
  parseAddress,
} from "@leakscope/core";
import { type GroundtruthCode, groundtruthCodes } from "./codes.js";
import type { Manifest, ManifestAllocation } from "./manifest.js";

const SOURCE = "groundtruth";

/**
 * One allocation as leakscope found it. A plain interface so any walker's output can be adapted
 * to it. The verifier copies what it keeps, so an adapter may reuse one object for every item.
 */
export interface FoundAllocation {
  /** Address returned to the program. */
  userAddress: Address;
  /** Requested size in bytes. */
  requestedSize: number;
  /** True for a live (allocated) block. */
  busy: boolean;
  /** Heap the block belongs to (heap handle / base address). */
  heapAddress: Address;
  /**
   * Innermost frame of the allocation stack in the program's own code (allocator frames in
   * ntdll, kernelbase, the CRT and verifier skipped), as `module!function+0x12` or `function`.
   */
  stackTopFrame?: string | undefined;
  /**
   * The whole stack, innermost first. When given, the verifier itself picks the first frame that
   * is not an allocator frame (see {@link isAllocatorFrame}) and ignores {@link stackTopFrame}.
   */
  stack?: readonly string[] | undefined;
  /** C++ type of the object (from RTTI or the vtable symbol), in any common spelling. */
  typeName?: string | undefined;
  /** `requestedSize` is only the usable size (leakscope's SIZE_INEXACT flag). */
  sizeInexact?: boolean | undefined;
}

export interface VerifyOptions {
  /** The dump's memory: when given, every allocation's fill bytes and vtable are checked. */
  space?: AddressSpace | undefined;
  /** Fail allocations without a stack. Default: the manifest's `stackTraces`. */
  requireStacks?: boolean | undefined;
  /** Fail objects without a type name (instead of a warning). Default false. */
  requireTypes?: boolean | undefined;
  /** Bytes an inexact size may exceed the requested size by. Default 64. */
  inexactSlack?: number | undefined;
  /** Most bytes compared per allocation. Default 16 MiB. */
  maxContentBytes?: number | undefined;
  /** Most extra allocations listed in {@link VerifyResult.extras} (all are counted). Default 100. */
  maxExtrasListed?: number | undefined;
  /** Most found allocations read from the iterable (a bound for hostile input). Default 50 million. */
  maxFound?: number | undefined;
}

export type DifferenceField = "address" | "size" | "busy" | "content" | "stack" | "type" | "heap";

/** One way an allocation differs from what the program did. */
export interface Difference {
  code: GroundtruthCode;
  severity: Severity;
  field: DifferenceField;
  expected: string;
  actual: string;
  /** Offset in the block of the first differing byte (content). */
  offset?: number;
}

export interface AllocationCheck {
  /** Index in `manifest.allocations`. */
  index: number;
  /** The manifest's allocation. */
  expected: ManifestAllocation;
  /** What leakscope found at that address, if anything (a copy). */
  found?: FoundAllocation;
  /** `fail` when any difference has severity `error`. */
  status: "pass" | "fail";
  differences: Difference[];
}

export interface VerifySummary {
  /** Live allocations in the manifest (with a unique address). */
  total: number;
  passed: number;
  failed: number;
  matched: number;
  missing: number;
  sizeMismatches: number;
  busyMismatches: number;
  contentChecked: number;
  contentMismatches: number;
  contentNotCaptured: number;
  stackMismatches: number;
  stackMissing: number;
  typeMismatches: number;
  typeMissing: number;
  heapMismatches: number;
  /** Busy allocations in the manifest's heaps that the manifest does not list (info). */
  extra: number;
  /** Blocks the program freed that are busy again (info; also counted in `extra`). */
  freedReused: number;
  /** Found allocations read. */
  found: number;
}

export interface VerifyResult {
  /** True when no allocation failed. */
  ok: boolean;
  label: string;
  machine: Manifest["machine"];
  pointerSize: 4 | 8;
  stackTraces: boolean;
  pageHeap: boolean;
  /** Kind of the process heap (`nt`, `segment`, `unknown`). */
  heapKind: string;
  summary: VerifySummary;
  /** One entry per unique manifest allocation, in manifest order. */
  allocations: AllocationCheck[];
  /** The first `maxExtrasListed` extra allocations. */
  extras: { userAddress: Address; requestedSize: number; heapAddress: Address; freedByProgram: boolean }[];
  /** Problems of the inputs themselves (manifest, duplicate found addresses). */
  diagnostics: Diagnostic[];
}

const ALLOCATOR_MODULES = new Set([
  "ntdll",
  "kernelbase",
  "kernel32",
  "ucrtbase",
  "ucrtbased",
  "msvcrt",
  "vcruntime140",
  "vcruntime140d",
  "vcruntime140_1",
  "msvcp140",
  "verifier",
]);
const ALLOCATOR_FUNCTIONS = new Set([
  "operator new",
  "operator new[]",
  "??2@YAPAXI@Z",
  "??2@YAPEAX_K@Z",
  "??_U@YAPAXI@Z",
  "??_U@YAPEAX_K@Z",
  "malloc",
  "_malloc_base",
  "_malloc_dbg",
  "calloc",
  "_calloc_base",
  "realloc",
  "_realloc_base",
  "HeapAlloc",
  "RtlAllocateHeap",
]);

function moduleOf(frame: string): string | undefined {
  const bang = frame.indexOf("!");
  if (bang < 0) return undefined;
  return frame
    .slice(0, bang)
    .trim()
    .toLowerCase()
    .replace(/\.(dll|exe)$/, "");
}

/**
 * The function name of a frame: `gtalloc!gt_leaky_function+0x1c` → `gt_leaky_function`. Strips
 * the module, the offset and x86 decorations (`_name`, `_name@8`, `@name@8`).
 */
export function frameFunction(frame: string): string {
  let f = frameSymbol(frame);
  if (/^[_@][A-Za-z_]/.test(f)) f = f.slice(1);
  return f.replace(/@\d+$/, "").trim();
}

/** A frame without module and offset, decorations kept: `ucrtbase!_malloc_base+0x36` → `_malloc_base`. */
function frameSymbol(frame: string): string {
  let f = frame.trim();
  const bang = f.indexOf("!");
  if (bang >= 0) f = f.slice(bang + 1);
  return f.replace(/\s*\+\s*(0x)?[0-9a-f]+$/i, "").trim();
}

/** True for frames of the allocator itself: ntdll, kernelbase, the CRT, verifier, operator new, malloc. */
export function isAllocatorFrame(frame: string): boolean {
  const mod = moduleOf(frame);
  if (mod !== undefined && ALLOCATOR_MODULES.has(mod)) return true;
  return ALLOCATOR_FUNCTIONS.has(frameSymbol(frame)) || ALLOCATOR_FUNCTIONS.has(frameFunction(frame));
}

/**
 * A C++ type name in canonical form: `class GtWidget`, `gtalloc!GtWidget::\`vftable'`,
 * `.?AVGtWidget@@` and `GtWidget` all become `GtWidget`; `.?AVInner@Outer@@` becomes `Outer::Inner`.
 */
export function normalizeTypeName(name: string): string {
  let t = name.trim();
  const rtti = /^\.\?A[VUT](.+)@@$/.exec(t);
  if (rtti?.[1] !== undefined) return rtti[1].split("@").reverse().join("::");
  const bang = t.indexOf("!");
  if (bang >= 0) t = t.slice(bang + 1);
  t = t.replace(/^(const\s+)?(class|struct|union)\s+/, "");
  t = t.replace(/::`vftable'(\{for `[^']*'\})?$/, "").replace(/\s*\+\s*(0x)?[0-9a-f]+$/i, "");
  return t.trim();
}

function hexSize(n: number): string {
  return `${n} (0x${n.toString(16)})`;
}

function byteHex(b: number): string {
  return "0x" + b.toString(16).padStart(2, "0");
}

/** Mutable result of one fill check, reused for every allocation. */
interface FillCheck {
  /** Bytes compared. */
  compared: number;
  mismatches: number;
  firstOffset: number;
  firstActual: number;
  /** Address of the first missing byte, NaN if none. */
  missingAt: Address;
}

function checkFill(space: AddressSpace, va: Address, length: number, fill: number, out: FillCheck, span = emptySpan()): void {
  out.compared = 0;
  out.mismatches = 0;
  out.firstOffset = -1;
  out.firstActual = -1;
  out.missingAt = Number.NaN;
  let done = 0;
  while (done < length) {
    if (!space.span(va + done, span) || span.length <= 0) {
      out.missingAt = va + done;
      return;
    }
    const n = Math.min(span.length, length - done);
    const bytes = span.bytes;
    const start = span.index;
    const end = start + n;
    for (let i = start; i < end; i++) {
      if (bytes[i] !== fill) {
        if (out.mismatches === 0) {
          out.firstOffset = done + (i - start);
          out.firstActual = bytes[i] ?? -1;
        }
        out.mismatches++;
      }
    }
    done += n;
    out.compared = done;
  }
}

function newSummary(): VerifySummary {
  return {
    total: 0,
    passed: 0,
    failed: 0,
    matched: 0,
    missing: 0,
    sizeMismatches: 0,
    busyMismatches: 0,
    contentChecked: 0,
    contentMismatches: 0,
    contentNotCaptured: 0,
    stackMismatches: 0,
    stackMissing: 0,
    typeMismatches: 0,
    typeMissing: 0,
    heapMismatches: 0,
    extra: 0,
    freedReused: 0,
    found: 0,
  };
}

function copyFound(f: FoundAllocation): FoundAllocation {
  const c: FoundAllocation = {
    userAddress: f.userAddress,
    requestedSize: f.requestedSize,
    busy: f.busy,
    heapAddress: f.heapAddress,
  };
  if (f.stackTopFrame !== undefined) c.stackTopFrame = f.stackTopFrame;
  if (f.stack !== undefined) c.stack = f.stack.slice(0, 256);
  if (f.typeName !== undefined) c.typeName = f.typeName;
  if (f.sizeInexact !== undefined) c.sizeInexact = f.sizeInexact;
  return c;
}

function diff(
  code: GroundtruthCode,
  field: DifferenceField,
  expected: string,
  actual: string,
  severity: Severity = groundtruthCodes[code].severity,
): Difference {
  return { code, severity, field, expected, actual };
}

/**
 * Compare every live allocation of a ground-truth manifest with what leakscope found.
 *
 * Matching is by user address. For each manifest allocation: found or missing, requested size,
 * busy state, heap, contents (fill byte over `[fillOffset, size)` and the vtable pointer, read
 * through `options.space`), the top stack frame when stacks are expected, and the C++ type when
 * the manifest names one. Busy allocations found in the manifest's heaps that it does not list
 * are counted as extras (info): the CRT, the loader and dbghelp allocate there too.
 *
 * Memory use is bounded by the manifest, not by the found allocations, which are streamed once.
 */
export function verifyManifest(
  manifest: Manifest,
  found: Iterable<FoundAllocation>,
  options: VerifyOptions = {},
): VerifyResult {
  const diagnostics = new Diagnostics();
  const requireStacks = options.requireStacks ?? manifest.stackTraces;
  const requireTypes = options.requireTypes ?? false;
  const slack = options.inexactSlack ?? 64;
  const maxContent = options.maxContentBytes ?? 16 * 1024 * 1024;
  const maxExtras = options.maxExtrasListed ?? 100;
  const maxFound = options.maxFound ?? 50_000_000;
  const summary = newSummary();

  if (!manifest.complete) {
    diagnostics.report(SOURCE, "GT_MANIFEST_INCOMPLETE", "warning", `manifest ${manifest.label} is incomplete`);
  }

  // Index the manifest by user address.
  const byAddress = new Map<Address, number>();
  const checks: AllocationCheck[] = [];
  const addresses: Address[] = [];
  manifest.allocations.forEach((a, index) => {
    const address = parseAddress(a.address);
    if (byAddress.has(address)) {
      diagnostics.report(
        SOURCE,
        "GT_MANIFEST_DUPLICATE_ADDRESS",
        "warning",
        `manifest allocation #${index} repeats address ${a.address}`,
        { address: a.address, where: `allocations[${index}]` },
      );
      return;
    }
    byAddress.set(address, checks.length);
    addresses.push(address);
    checks.push({ index, expected: a, status: "pass", differences: [] });
  });
  const heaps = new Set<Address>();
  for (const h of manifest.heaps) heaps.add(parseAddress(h.address));
  for (const a of manifest.allocations) heaps.add(parseAddress(a.heap));
  const freed = new Set<Address>();
  for (const f of manifest.freed) {
    const address = parseAddress(f.address);
    if (!byAddress.has(address)) freed.add(address);
  }

  // Stream the found allocations once.
  const extras: VerifyResult["extras"] = [];
  let n = 0;
  for (const f of found) {
    if (n >= maxFound) break;
    n++;
    const slot = byAddress.get(f.userAddress);
    if (slot !== undefined) {
      const check = checks[slot]!;
      if (check.found === undefined) check.found = copyFound(f);
      else {
        diagnostics.report(
          SOURCE,
          "GT_FOUND_DUPLICATE_ADDRESS",
          "warning",
          `leakscope reported more than one allocation at ${formatAddress(f.userAddress)}`,
          { address: formatAddress(f.userAddress) },
        );
        if (!check.found.busy && f.busy) check.found = copyFound(f);
      }
      continue;
    }
    if (f.busy && heaps.has(f.heapAddress)) {
      summary.extra++;
      const reused = freed.has(f.userAddress);
      if (reused) summary.freedReused++;
      if (extras.length < maxExtras) {
        extras.push({
          userAddress: f.userAddress,
          requestedSize: f.requestedSize,
          heapAddress: f.heapAddress,
          freedByProgram: reused,
        });
      }
    }
  }
  summary.found = n;
  if (summary.extra > 0) {
    diagnostics.report(
      SOURCE,
      "GT_EXTRA_ALLOCATION",
      "info",
      `${summary.extra} busy allocations in the manifest's heaps are not in the manifest (CRT, loader, dbghelp)`,
    );
  }
  if (summary.freedReused > 0) {
    diagnostics.report(
      SOURCE,
      "GT_FREED_REUSED",
      "info",
      `${summary.freedReused} blocks the program freed are busy again in the dump`,
    );
  }

  // Compare.
  const fill: FillCheck = { compared: 0, mismatches: 0, firstOffset: -1, firstActual: -1, missingAt: Number.NaN };
  const span = emptySpan();
  const space = options.space;
  for (let i = 0; i < checks.length; i++) {
    const check = checks[i]!;
    const e = check.expected;
    const address = addresses[i]!;
    const d = check.differences;
    const f = check.found;
    summary.total++;

    if (f === undefined) {
      summary.missing++;
      d.push(diff("GT_ALLOCATION_MISSING", "address", e.address, "not found"));
    } else {
      summary.matched++;
      // size
      if (f.requestedSize !== e.size) {
        if (f.sizeInexact === true && f.requestedSize >= e.size && f.requestedSize - e.size <= slack) {
          d.push(diff("GT_SIZE_INEXACT", "size", hexSize(e.size), `${hexSize(f.requestedSize)} (inexact)`));
        } else {
          summary.sizeMismatches++;
          d.push(diff("GT_SIZE_MISMATCH", "size", hexSize(e.size), hexSize(f.requestedSize)));
        }
      }
      // busy
      if (!f.busy) {
        summary.busyMismatches++;
        d.push(diff("GT_NOT_BUSY", "busy", "busy", "free"));
      }
      // heap
      const heap = parseAddress(e.heap);
      if (f.heapAddress !== heap) {
        summary.heapMismatches++;
        d.push(diff("GT_HEAP_MISMATCH", "heap", e.heap, formatAddress(f.heapAddress)));
      }
      // stack
      if (requireStacks) {
        let top: string | undefined;
        if (f.stack !== undefined) top = f.stack.find((frame) => !isAllocatorFrame(frame));
        else top = f.stackTopFrame;
        if (top === undefined || top.trim() === "") {
          summary.stackMissing++;
          d.push(diff("GT_STACK_MISSING", "stack", e.site, "no stack"));
        } else if (frameFunction(top) !== frameFunction(e.site)) {
          summary.stackMismatches++;
          d.push(diff("GT_STACK_MISMATCH", "stack", e.site, top));
        }
      }
      // type
      if (e.typeName !== undefined) {
        if (f.typeName === undefined || f.typeName.trim() === "") {
          summary.typeMissing++;
          d.push(diff("GT_TYPE_MISSING", "type", e.typeName, "no type", requireTypes ? "error" : "warning"));
        } else if (normalizeTypeName(f.typeName) !== normalizeTypeName(e.typeName)) {
          summary.typeMismatches++;
          d.push(diff("GT_TYPE_MISMATCH", "type", e.typeName, f.typeName));
        }
      }
    }

    // contents, read at the manifest's address (tests the dump reader too)
    if (space !== undefined) {
      let contentBad = false;
      let notCaptured = false;
      if (e.fillOffset > e.size) {
        diagnostics.report(
          SOURCE,
          "GT_MANIFEST_BAD_FILL_OFFSET",
          "warning",
          `allocation ${e.address}: fillOffset ${e.fillOffset} exceeds size ${e.size}`,
          { address: e.address, where: `allocations[${check.index}]` },
        );
      } else {
        if (e.vtable !== undefined) {
          const want = parseAddress(e.vtable);
          const got = manifest.pointerSize === 8 ? space.ptr64(address) : space.ptr32(address);
          if (!(got === got)) {
            notCaptured = true;
          } else if (got !== want) {
            contentBad = true;
            d.push({ ...diff("GT_CONTENT_MISMATCH", "content", `vtable ${e.vtable}`, `vtable ${formatAddress(got)}`), offset: 0 });
          }
        }
        const length = Math.min(e.size - e.fillOffset, maxContent);
        checkFill(space, address + e.fillOffset, length, e.fill, fill, span);
        if (fill.mismatches > 0) {
          contentBad = true;
          d.push({
            ...diff(
              "GT_CONTENT_MISMATCH",
              "content",
              `fill ${byteHex(e.fill)} over ${e.size - e.fillOffset} bytes`,
              `${fill.mismatches} bytes differ, first at +0x${fill.firstOffset.toString(16)} (${byteHex(fill.firstActual)})`,
            ),
            offset: fill.firstOffset,
          });
        }
        if (fill.missingAt === fill.missingAt) notCaptured = true;
        if (notCaptured) {
          d.push(
            diff(
              "GT_CONTENT_NOT_CAPTURED",
              "content",
              `${e.size} bytes at ${e.address}`,
              `memory missing from ${formatAddress(fill.missingAt === fill.missingAt ? fill.missingAt : address)}`,
            ),
          );
        }
        summary.contentChecked++;
        if (contentBad) summary.contentMismatches++;
        if (notCaptured) summary.contentNotCaptured++;
      }
    }

    check.status = d.some((x) => x.severity === "error") ? "fail" : "pass";
    if (check.status === "pass") summary.passed++;
    else summary.failed++;
  }

  const processHeap = manifest.heaps.find((h) => h.role === "process");
  return {
    ok: summary.failed === 0,
    label: manifest.label,
    machine: manifest.machine,
    pointerSize: manifest.pointerSize,
    stackTraces: manifest.stackTraces,
    pageHeap: manifest.pageHeap,
    heapKind: processHeap?.kind ?? "unknown",
    summary,
    allocations: checks,
    extras,
    diagnostics: diagnostics.list(),
  };
}
