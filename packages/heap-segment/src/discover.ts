import { type Address, type AddressSpace, type ProcessView, type Run, at, formatAddress, readPebHeapList, scanAligned } from "@leakscope/core";
import { segmentCodes } from "./codes.js";
import { SEGMENT_HEAP_SIGNATURE, SEGMENT_LAYOUTS, type SegmentHeapLayout } from "./layouts.js";

const SOURCE = "heap-segment";
/**
 * Segment heaps are page-aligned, not always 64 KiB-aligned: WinDbg's `!heap -s` on a Windows
 * Terminal process lists a segment heap at 0x1822ff13000 (shared/data/windbg-samples). The scan
 * therefore visits every 4 KiB page.
 */
const SCAN_STEP = 0x1000;
const MAX_PEB_HEAPS = 1024;
const MAX_DESCRIPTORS = 4096;
/** Default bound of the page scan: pages visited (64 GiB of captured memory); beyond it the scan stops and reports SEGMENT_SCAN_LIMIT. */
export const MAX_SCAN_CANDIDATES = 1 << 24;
const NT_SEGMENT_SIGNATURE = 0xffeeffee;

export interface SegmentDiscoveryOptions {
  scan: boolean;
  descriptorList: boolean;
  /** Bound of the page scan (default {@link MAX_SCAN_CANDIDATES}). */
  maxScanCandidates?: number;
}

/** The dword at +0x10 (x64) / +0x08 (x86): -1 when not captured. */
function signatureAt(space: AddressSpace, base: Address, bitness: 32 | 64): number {
  return space.u32(base + (bitness === 64 ? 0x10 : 0x08));
}

/** True when `base` carries the segment heap signature for `bitness`. */
export function isSegmentHeap(space: AddressSpace, base: Address, bitness: 32 | 64): boolean {
  return signatureAt(space, base, bitness) === SEGMENT_HEAP_SIGNATURE;
}

function register(run: Run, view: ProcessView, address: Address, foundBy: string, label?: string): void {
  run.addHeap({
    address,
    bitness: view.bitness,
    kind: "segment",
    foundBy,
    view,
    walker: "heap-segment",
    ...(label !== undefined ? { label } : {}),
  });
}


/** ProcessHeap, then the ProcessHeaps entries not already named. */
function listedHeaps(pebList: { processHeap: Address; heaps: readonly Address[] }): Address[] {
  const list: Address[] = [];
  if (pebList.processHeap !== 0) list.push(pebList.processHeap);
  for (const h of pebList.heaps) if (!list.includes(h)) list.push(h);
  return list;
}

/**
 * Find segment heaps: both PEBs' heap lists, the 24H2 heap-descriptor list (x64) and a
 * page-granular signature scan (one sequential pass over the captured memory). Heaps already
 * registered (by heap-nt) are merged by the engine.
 */
export function discoverSegmentHeaps(run: Run, options: SegmentDiscoveryOptions): void {
  const target = run.target;
  for (const view of target.views) {
    if (view.peb === undefined) continue;
    const space = view.space;
    const pebList = readPebHeapList(view, MAX_PEB_HEAPS);
    if (!pebList) continue; // heap-nt reports an uncaptured PEB
    const foundBy = view.role === "wow64" ? "peb32" : "peb";
    const list = listedHeaps(pebList);
    for (const h of list) {
      const sig = signatureAt(space, h, view.bitness);
      if (sig < 0) {
        run.diagnostics.report(
          SOURCE,
          "SEGMENT_HEAP_UNCLASSIFIED",
          segmentCodes.SEGMENT_HEAP_UNCLASSIFIED.severity,
          `the ${view.bitness}-bit PEB lists heap ${formatAddress(h)} but its header is not in the dump: it may be a segment heap`,
          at(h, { where: foundBy }),
        );
        continue;
      }
      if (sig === SEGMENT_HEAP_SIGNATURE) register(run, view, h, foundBy, h === pebList.processHeap ? (view.role === "wow64" ? "process heap (32-bit)" : "process heap") : undefined);
    }
    if (options.descriptorList && view.bitness === 64 && target.os.build >= 26100 && list.length > 0) {
      followDescriptorList(run, view, list[0]!);
    }
  }
  if (options.scan) {
    claimPageSegments(run);
    signatureScan(run, options.maxScanCandidates ?? MAX_SCAN_CANDIDATES);
  }
}

/** 24H2 x64: heap[0].UserContext (NT +0x188, segment +0x38) -> {Next, Prev, Heap} descriptors. */
function followDescriptorList(run: Run, view: ProcessView, heap0: Address): void {
  const space = view.space;
  const sig = signatureAt(space, heap0, 64);
  const ctx = sig === NT_SEGMENT_SIGNATURE ? 0x188 : sig === SEGMENT_HEAP_SIGNATURE ? 0x38 : -1;
  if (ctx < 0) return;
  const first = space.ptr(heap0 + ctx);
  if (!(first === first) || first === 0) return;
  const seen = new Set<number>();
  let d = first;
  for (let i = 0; i < MAX_DESCRIPTORS; i++) {
    if (seen.has(d)) {
      run.diagnostics.report(SOURCE, "SEGMENT_LIST_BROKEN", segmentCodes.SEGMENT_LIST_BROKEN.severity, `the heap descriptor list loops back to ${formatAddress(d)}`, at(d));
      return;
    }
    seen.add(d);
    const h = space.ptr(d + 0x10);
    if (!(h === h)) {
      run.diagnostics.report(SOURCE, "SEGMENT_HEAP_NOT_CAPTURED", segmentCodes.SEGMENT_HEAP_NOT_CAPTURED.severity, `heap descriptor at ${formatAddress(d)} is not in the dump`, at(d));
      return;
    }
    const s = signatureAt(space, h, 64);
    if (s === SEGMENT_HEAP_SIGNATURE) register(run, view, h, "descriptor-list");
    else if (s < 0) {
      run.diagnostics.report(SOURCE, "SEGMENT_HEAP_UNCLASSIFIED", segmentCodes.SEGMENT_HEAP_UNCLASSIFIED.severity, `the heap descriptor list names heap ${formatAddress(h)} but its header is not in the dump`, at(h, { where: "descriptor-list" }));
    }
    const next = space.ptr(d);
    if (!(next === next) || next === 0 || next === first) return;
    d = next;
  }
  run.diagnostics.report(SOURCE, "SEGMENT_LIST_BROKEN", segmentCodes.SEGMENT_LIST_BROKEN.severity, `the heap descriptor list from ${formatAddress(first)} is longer than ${MAX_DESCRIPTORS}`, at(first));
}

/**
 * A scan hit is kept only when the header also holds two SegContexts (UnitShift 12 then 13..20)
 * that point back at it, for any known context layout at any offset in its first 1 KiB: a lone
 * 0xDDEEDDEE dword in user data is not a heap.
 */
export function confirmSegmentHeap(space: AddressSpace, base: Address, bitness: 32 | 64): boolean {
  return findSegContexts(space, base, bitness) !== undefined;
}

/** The first of the two SegContexts of the heap at `base` and the layout that found them ({@link confirmSegmentHeap}). */
function findSegContexts(space: AddressSpace, base: Address, bitness: 32 | 64): { ctx: Address; layout: SegmentHeapLayout } | undefined {
  const ps = bitness / 8;
  for (const l of SEGMENT_LAYOUTS) {
    if (l.bitness !== bitness) continue;
    const size = l.heap.segContextSize;
    for (let o = 0x18; o <= 0x400; o += ps) {
      const ctx = base + o;
      if (space.u8(ctx + l.ctx.unitShift) !== 12) continue;
      const p = bitness === 64 ? space.ptr64(ctx + l.ctx.heap) : space.ptr32(ctx + l.ctx.heap);
      if (p !== base) continue;
      const u1 = space.u8(ctx + size + l.ctx.unitShift);
      const p1 = bitness === 64 ? space.ptr64(ctx + size + l.ctx.heap) : space.ptr32(ctx + size + l.ctx.heap);
      if (u1 >= 13 && u1 <= 20 && p1 === base) return { ctx, layout: l };
    }
  }
  return undefined;
}

const MAX_CLAIMED_SEGMENTS = 4096;
const PAGE_SEGMENT_ALIGN = 0x100000;

/** Segment heaps whose page segments a run has claimed (`bitness:address`). */
const claimedHeaps = new WeakMap<Run, Set<string>>();

/**
 * Claim the page segments of the segment heaps found so far ({@link Run.claimMemory}): the page
 * scan that follows skips them, since no heap header lies inside another heap's page segment.
 */
function claimPageSegments(run: Run): void {
  for (const heap of run.heaps) if (heap.kind === "segment") claimHeapSegments(run, heap.view.space, heap.address, heap.bitness);
}

/**
 * Claim the page segments of the segment heaps both PEBs list, before any heap is registered
 * (discoverHeaps at STAGE_EARLY): heap-nt's 64 KiB scan then skips them too. From a cold page
 * cache its probes, one small read per 64 KiB of a segment heap, took 0.96 s of a 4M-block
 * segment dump's 1.87 s pipeline.
 */
export function claimListedSegmentHeaps(run: Run): void {
  if (!run.hasTarget) return;
  for (const view of run.target.views) {
    if (view.peb === undefined) continue;
    const pebList = readPebHeapList(view, MAX_PEB_HEAPS);
    if (!pebList) continue;
    for (const h of listedHeaps(pebList)) if (isSegmentHeap(view.space, h, view.bitness)) claimHeapSegments(run, view.space, h, view.bitness);
  }
}

/**
 * Claim one segment heap's page segments, once per run. A segment is claimed only when it is
 * 1 MiB-aligned and its Blink names the entry before it; each SegmentListHead is followed at most
 * 4,096 steps. Segments span 256 units of their context (1 MiB with 4 KiB units, 16 MiB with
 * 64 KiB units on x64).
 */
function claimHeapSegments(run: Run, space: AddressSpace, base: Address, bitness: 32 | 64): void {
  let done = claimedHeaps.get(run);
  if (!done) claimedHeaps.set(run, (done = new Set()));
  const id = `${bitness}:${base}`;
  if (done.has(id)) return;
  done.add(id);
  const found = findSegContexts(space, base, bitness);
  if (!found) return;
  const { ctx: first, layout: L } = found;
  const ps = bitness / 8;
  // peeked: a link per MiB, each would otherwise load a 128 KiB cache block
  const ptr = (va: Address): number => (space.pointerSize === ps ? space.peekPtr(va) : ps === 8 ? space.ptr64(va) : space.ptr32(va));
  for (const ctx of [first, first + L.heap.segContextSize]) {
    const unitShift = space.u8(ctx + L.ctx.unitShift);
    if (!(unitShift >= 12 && unitShift <= 20)) continue;
    const span = 2 ** (unitShift + 8);
    const head = ctx + L.ctx.segmentListHead;
    let prev = head;
    let cur = ptr(head);
    for (let i = 0; i < MAX_CLAIMED_SEGMENTS && cur === cur && cur !== head && cur % PAGE_SEGMENT_ALIGN === 0 && cur !== 0; i++) {
      if (ptr(cur + ps) !== prev) break;
      run.claimMemory(cur, cur + span);
      prev = cur;
      cur = ptr(cur);
    }
  }
}

/** Page-aligned scan of captured memory for 0xDDEEDDEE at +0x10 (x64) / +0x08 (x86). */
function signatureScan(run: Run, maxCandidates: number): void {
  const views = run.target.views;
  if (views.length === 0) return;
  const byBitness = new Map<number, ProcessView>();
  for (const v of views) if (!byBitness.has(v.bitness)) byBitness.set(v.bitness, v);
  const space = views[0]!.space;
  // memory that an allocator claimed (NT heap segments, the page segments of the segment heaps
  // found so far) cannot hold a segment heap
  const scanned = scanAligned(space, { step: SCAN_STEP, probe: 0x20, maxCandidates, skip: run.claimedMemory() }, (a, dv, i) => {
    const s64 = dv.getUint32(i + 0x10, true) === SEGMENT_HEAP_SIGNATURE;
    const s32 = dv.getUint32(i + 0x08, true) === SEGMENT_HEAP_SIGNATURE;
    if (!s64 && !s32) return;
    for (const bitness of [64, 32] as const) {
      if (!(bitness === 64 ? s64 : s32)) continue;
      if (!confirmSegmentHeap(space, a, bitness)) {
        run.diagnostics.report(SOURCE, "SEGMENT_SCAN_UNCONFIRMED", segmentCodes.SEGMENT_SCAN_UNCONFIRMED.severity, `0xddeeddee at ${formatAddress(a + (bitness === 64 ? 0x10 : 0x08))} is not followed by segment heap contexts; not registered`, at(a));
        continue;
      }
      const view = byBitness.get(bitness);
      if (!view) {
        run.diagnostics.report(SOURCE, "SEGMENT_HEAP_NO_VIEW", segmentCodes.SEGMENT_HEAP_NO_VIEW.severity, `a ${bitness}-bit segment heap at ${formatAddress(a)} has no ${bitness}-bit process view`, at(a));
        continue;
      }
      register(run, view, a, "signature-scan");
      break;
    }
  });
  if (scanned.resumeAt !== undefined) {
    const from = scanned.resumeAt;
    run.diagnostics.report(
      SOURCE,
      "SEGMENT_SCAN_LIMIT",
      segmentCodes.SEGMENT_SCAN_LIMIT.severity,
      `the segment heap page scan stopped after ${maxCandidates} pages at ${formatAddress(from)}: segment heaps above it are found only if the PEB lists them; raise the heap-segment option maxScanCandidates to scan the rest`,
      at(from),
    );
  }
}
