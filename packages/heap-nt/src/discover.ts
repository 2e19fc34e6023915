import { type Address, type AddressRanges, type AddressSpace, type HeapRecord, PEB_OFFSETS, type ProcessView, type Run, at, formatAddress, mergeRanges, readPebHeapList, scanAligned } from "@leakscope/core";

/** Secondary segments the signature scan attributed to a heap (checked by the walker against SegmentList). */
export const scannedSegments = new WeakMap<HeapRecord, Address[]>();
import { ntCodes } from "./codes.js";
import { HEAP_SIGNATURE, SEGMENT_HEAP_SIGNATURE, SEGMENT_SIGNATURE, ntLayout } from "./layouts.js";

const SOURCE = "heap-nt";
const SCAN_STEP = 0x10000;
const MAX_PEB_HEAPS = 1024;
const MAX_DESCRIPTORS = 4096;
/** Default bound of the scan: 64 KiB-aligned candidates visited (256 GiB of captured memory); beyond it the scan stops and reports NT_HEAP_SCAN_LIMIT. */
export const MAX_SCAN_CANDIDATES = 1 << 22;


export type HeapKind = "nt" | "segment" | "segment-of-nt" | "none" | "missing";

/** Classify the memory at `base` for a heap of `bitness`. */
export function classifyHeap(space: AddressSpace, base: Address, bitness: 32 | 64): HeapKind {
  const sig = space.u32(base + (bitness === 64 ? 0x10 : 0x08));
  if (sig < 0) return "missing";
  if (sig === SEGMENT_HEAP_SIGNATURE) return "segment";
  if (sig !== SEGMENT_SIGNATURE) return "none";
  const s7 = space.u32(base + (bitness === 64 ? 0xa0 : 0x64));
  const s8 = space.u32(base + (bitness === 64 ? 0x98 : 0x60));
  if (s7 === HEAP_SIGNATURE || s8 === HEAP_SIGNATURE) return "nt";
  return "segment-of-nt";
}

export interface DiscoveryOptions {
  scan: boolean;
  descriptorList: boolean;
  /** Bound of the signature scan (default {@link MAX_SCAN_CANDIDATES}). */
  maxScanCandidates?: number;
}

function viewFoundBy(view: ProcessView): string {
  return view.role === "wow64" ? "peb32" : "peb";
}

function register(run: Run, view: ProcessView, address: Address, kind: HeapKind, foundBy: string, label?: string): void {
  const bitness = view.bitness;
  const space = view.space;
  const isSegment = kind === "segment";
  const flags = isSegment ? -1 : space.u32(address + (bitness === 64 ? 0x70 : 0x40));
  run.addHeap({
    address,
    bitness,
    kind: isSegment ? "segment" : "nt",
    foundBy,
    view,
    walker: isSegment ? "heap-segment" : "heap-nt",
    ...(label !== undefined ? { label } : {}),
    ...(flags >= 0 ? { flags } : {}),
  });
}

/** Find NT (and segment) heaps: PEB lists, the 24H2 descriptor list, the CSR shared heap, a signature scan. */
export function discoverNtHeaps(run: Run, options: DiscoveryOptions): void {
  const target = run.target;
  // memory other allocators claimed before this discovery (heap-segment's page segments at
  // STAGE_EARLY): no heap starts inside it, so the scan skips it
  const othersClaimed = run.claimedMemory();
  const csrBases = new Set<number>();
  for (const view of target.views) {
    if (view.peb === undefined) continue;
    const space = view.space;
    const o = PEB_OFFSETS[view.bitness];
    const peb = view.peb;
    const foundBy = viewFoundBy(view);
    const pebList = readPebHeapList(view, MAX_PEB_HEAPS);
    if (!pebList) {
      const gap = space.firstMissing(peb, o.processHeaps + view.bitness / 8) ?? peb;
      run.diagnostics.report(SOURCE, "NT_HEAP_NOT_CAPTURED", ntCodes.NT_HEAP_NOT_CAPTURED.severity, `the ${view.bitness}-bit PEB at ${formatAddress(peb)} is not in the dump; heaps are found by the signature scan only`, at(gap));
      continue;
    }
    const { processHeap, count, maximum: max, array, csr } = pebList;
    if (csr === csr && csr !== 0) csrBases.add(csr);
    if (max >= 0 && count > max) {
      run.diagnostics.report(SOURCE, "NT_HEAP_PEB_INCONSISTENT", ntCodes.NT_HEAP_PEB_INCONSISTENT.severity, `${view.bitness}-bit PEB: NumberOfHeaps ${count} > MaximumNumberOfHeaps ${max}`, at(peb + o.numberOfHeaps));
    }
    const list = pebList.heaps;
    if (pebList.missingSlot !== undefined) {
      run.diagnostics.report(SOURCE, "NT_HEAP_NOT_CAPTURED", ntCodes.NT_HEAP_NOT_CAPTURED.severity, `the ${view.bitness}-bit PEB ProcessHeaps array at ${formatAddress(array)} is not in the dump; only ProcessHeap is known from the PEB`, at(pebList.missingSlot));
    }
    if (list.length > 0 && list[0] !== processHeap) {
      run.diagnostics.report(SOURCE, "NT_HEAP_PEB_INCONSISTENT", ntCodes.NT_HEAP_PEB_INCONSISTENT.severity, `${view.bitness}-bit PEB: ProcessHeaps[0] ${formatAddress(list[0]!)} differs from ProcessHeap ${formatAddress(processHeap)}`, at(array));
    }
    if (processHeap !== 0 && !list.includes(processHeap)) list.unshift(processHeap);
    for (const h of list) {
      const kind = classifyHeap(space, h, view.bitness);
      const label = h === processHeap ? (view.bitness === 32 && view.role === "wow64" ? "process heap (32-bit)" : "process heap") : undefined;
      if (kind === "none" || kind === "segment-of-nt") {
        run.diagnostics.report(SOURCE, "NT_HEAP_BAD_SIGNATURE", ntCodes.NT_HEAP_BAD_SIGNATURE.severity, `${view.bitness}-bit PEB lists ${formatAddress(h)} as a heap but it has no heap signature`, at(h));
        continue;
      }
      // "missing": found but not captured; the walker reports what is missing.
      register(run, view, h, kind, foundBy, label);
    }
    if (options.descriptorList && view.bitness === 64 && target.os.build >= 26100 && list.length > 0) {
      followDescriptorList(run, view, list[0]!);
    }
  }

  for (const csr of csrBases) {
    for (const view of target.views) {
      const kind = classifyHeap(view.space, csr, view.bitness);
      if (kind === "nt" || kind === "segment") {
        register(run, view, csr, kind, "csr-shared", "CSRSS shared heap");
        break;
      }
    }
  }

  // The heaps' own memory is read by their walks: the scan visits the first candidate of each
  // listed segment (the heap bases, confirmed in `foundBy`) and skips the rest, so that a dump on
  // disk is read once, by the walks, in sequence [bench: nt 4M blocks from a cold page cache,
  // pipeline 2.7 s when the scan read the heaps first].
  const claimed = new Set<HeapRecord>();
  const listed = claimNtSegments(run, claimed);
  if (options.scan) signatureScan(run, csrBases, options.maxScanCandidates ?? MAX_SCAN_CANDIDATES, segmentBodies(listed, othersClaimed));
  claimNtSegments(run, claimed);
}

/**
 * What the scan need not visit: [start + 64 KiB, end) of each segment span (pairs) and the ranges
 * `others` claimed, sorted and merged.
 */
function segmentBodies(spans: number[], others: AddressRanges): AddressRanges {
  const bodies: number[] = [];
  for (let i = 0; i + 1 < spans.length; i += 2) if (spans[i + 1]! > spans[i]! + SCAN_STEP) bodies.push(spans[i]! + SCAN_STEP, spans[i + 1]!);
  for (let i = 0; i < others.starts.length; i++) bodies.push(others.starts[i]!, others.ends[i]!);
  return mergeRanges(bodies);
}

const MAX_CLAIMED_SEGMENTS = 4096;
/** 2^20 pages: 4 GiB, far above any real segment; a larger count is not believed. */
const MAX_SEGMENT_PAGES = 1 << 20;

/**
 * Claim the reserved span of each segment of the NT heaps found so far and not in `done`
 * ({@link Run.claimMemory}), so that the scans skip NT heap memory (heap-segment's page scan
 * skips all of it). Only segments that carry the segment signature and name their heap are
 * claimed; the list is followed at most 4,096 steps. Returns the spans claimed, as pairs.
 */
function claimNtSegments(run: Run, done: Set<HeapRecord>): number[] {
  const spans: number[] = [];
  for (const heap of run.heaps) {
    if (heap.kind !== "nt" || done.has(heap)) continue;
    done.add(heap);
    const space = heap.view.space;
    const base = heap.address;
    const bitness = heap.bitness;
    if (space.u32(base + (bitness === 64 ? 0x10 : 0x08)) !== SEGMENT_SIGNATURE) continue;
    // the segment list moved once, between Windows 7 and 8 (where the heap signature moved too)
    const L = ntLayout(space.u32(base + (bitness === 64 ? 0xa0 : 0x64)) === HEAP_SIGNATURE ? "win7" : "win8", bitness);
    const head = base + L.segmentList;
    let link = space.ptr(head);
    for (let i = 0; i < MAX_CLAIMED_SEGMENTS && link === link && link !== 0 && link !== head; i++) {
      const seg = link - L.segListEntry;
      if (space.u32(seg + L.segmentSignature) !== SEGMENT_SIGNATURE || space.ptr(seg + L.segHeap) !== base) break;
      const pages = space.u32(seg + L.segNumberOfPages);
      if (pages > 0 && pages <= MAX_SEGMENT_PAGES) {
        run.claimMemory(seg, seg + pages * 0x1000);
        spans.push(seg, seg + pages * 0x1000);
      }
      link = space.ptr(link);
    }
  }
  return spans;
}

/** 24H2: heap[0].UserContext -> {Next, Prev, Heap} descriptors (x64). */
function followDescriptorList(run: Run, view: ProcessView, heap0: Address): void {
  const space = view.space;
  const kind0 = classifyHeap(space, heap0, 64);
  const ctx = kind0 === "nt" ? 0x188 : kind0 === "segment" ? 0x38 : -1;
  if (ctx < 0) return;
  const first = space.ptr(heap0 + ctx);
  if (!(first === first) || first === 0) return;
  let d = first;
  const seen = new Set<number>();
  for (let i = 0; i < MAX_DESCRIPTORS; i++) {
    if (seen.has(d)) return;
    seen.add(d);
    const h = space.ptr(d + 0x10);
    if (!(h === h)) {
      run.diagnostics.report(SOURCE, "NT_HEAP_NOT_CAPTURED", ntCodes.NT_HEAP_NOT_CAPTURED.severity, `heap descriptor at ${formatAddress(d)} is not in the dump`, at(d));
      return;
    }
    const kind = classifyHeap(space, h, 64);
    if (kind === "nt" || kind === "segment") register(run, view, h, kind, "descriptor-list");
    const next = space.ptr(d);
    if (!(next === next) || next === 0 || next === first) return;
    d = next;
  }
  run.diagnostics.report(SOURCE, "NT_HEAP_LIST_CYCLE", ntCodes.NT_HEAP_LIST_CYCLE.severity, `the heap descriptor list from ${formatAddress(first)} is longer than ${MAX_DESCRIPTORS}`, at(first));
}

/** Scan captured memory at 64 KiB-aligned addresses for heap bases of both pointer sizes. */
function signatureScan(run: Run, csrBases: Set<number>, maxCandidates: number, skip: AddressRanges): void {
  const views = run.target.views;
  if (views.length === 0) return;
  const byBitness = new Map<number, ProcessView>();
  for (const v of views) if (!byBitness.has(v.bitness)) byBitness.set(v.bitness, v);
  const space = views[0]!.space;
  const orphans: { segment: Address; heap: Address; view: ProcessView }[] = [];
  const scanned = scanAligned(space, { step: SCAN_STEP, probe: 0x100, maxCandidates, skip }, (a, dv, i) => {
    // cheap probe first: most candidates hold no segment signature for either bitness
    const p64 = dv.getUint32(i + 0x10, true);
    const p32 = dv.getUint32(i + 0x08, true);
    if (p64 !== SEGMENT_SIGNATURE && p64 !== SEGMENT_HEAP_SIGNATURE && p32 !== SEGMENT_SIGNATURE && p32 !== SEGMENT_HEAP_SIGNATURE) return;
    for (const bitness of [64, 32] as const) {
      const kind = classifyHeap(space, a, bitness);
      if (kind === "none" || kind === "missing") continue;
      const view = byBitness.get(bitness);
      if (!view) {
        run.diagnostics.report(SOURCE, "NT_HEAP_NO_VIEW", ntCodes.NT_HEAP_NO_VIEW.severity, `a ${bitness}-bit heap structure at ${formatAddress(a)} was found but the dump has no ${bitness}-bit process view`, at(a));
        continue;
      }
      if (kind === "segment-of-nt") {
        const owner = view.space.ptr(a + (bitness === 64 ? 0x28 : 0x18));
        orphans.push({ segment: a, heap: owner, view });
        continue;
      }
      const isCsr = csrBases.has(a);
      register(run, view, a, kind, "signature-scan", isCsr ? "CSRSS shared heap" : undefined);
      break;
    }
  });
  if (scanned.resumeAt !== undefined) {
    const from = scanned.resumeAt;
    run.diagnostics.report(
      SOURCE,
      "NT_HEAP_SCAN_LIMIT",
      ntCodes.NT_HEAP_SCAN_LIMIT.severity,
      `the heap signature scan stopped after ${maxCandidates} candidates at ${formatAddress(from)}: heaps above it are found only if the PEB lists them; raise the heap-nt option maxScanCandidates to scan the rest`,
      at(from),
    );
  }
  for (const o of orphans) {
    const owner = run.heaps.find((h) => h.address === o.heap && h.bitness === o.view.bitness);
    if (!owner) {
      run.diagnostics.report(SOURCE, "NT_HEAP_ORPHAN_SEGMENT", ntCodes.NT_HEAP_ORPHAN_SEGMENT.severity, `heap segment ${formatAddress(o.segment)} names heap ${formatAddress(o.heap)}, which was not found`, at(o.segment));
    } else {
      const list = scannedSegments.get(owner) ?? [];
      if (list.length < 4096 && !list.includes(o.segment)) list.push(o.segment);
      scannedSegments.set(owner, list);
    }
  }
}
