import { Type } from "@leakscope/core";
import {
  type Address,
  AllocFlags,
  type HeapRecord,
  type ProcessView,
  type Run,
  STAGE_BACKEND,
  at,
  defineCodes,
  definePlugin,
  emptySpan,
  formatAddress,
  readNtGlobalFlag,
} from "@leakscope/core";

/**
 * Page heap (gflags +hpa, verifier's DPH) without symbols.
 *
 * Every page-heap allocation starts with a `_DPH_BLOCK_INFORMATION` whose start and end stamps
 * are fixed constants; its `Heap` field points at the owning `_DPH_HEAP_ROOT`. Instead of
 * following `verifier!AVrfpDphPageHeapList` (a symbol), the walker scans the captured memory
 * of processes whose NtGlobalFlag has +hpa for those stamps, validates each header (both stamps,
 * requested <= actual size, user data inside the dump), groups blocks by root and reports them
 * as heaps of kind `page-heap`.
 *
 * - Full page heap blocks (stamps `ABCDBBBB`/`DCBABBBB`) are allocations of their own.
 * - Light page heap blocks (`ABCDAAAA`/`DCBAAAAA`) live inside an NT heap block: the NT block
 *   found by heap-nt gets the page-heap requested size and stack instead of a second entry.
 * - Freed blocks (`ABCDAAA9`/`ABCDBBBA` start stamps) are reported as free.
 */
export const pageHeapCodes = defineCodes("heap-page", {
  PAGE_HEAP_HEADER_INVALID: {
    severity: "warning",
    description: "A page-heap block header has a start stamp but fails its checks (end stamp, sizes); it was skipped.",
  },
  PAGE_HEAP_SCAN_LIMIT: {
    severity: "warning",
    description: "The page-heap scan stopped at its block limit; raise maxBlocks to see the rest.",
  },
});

export const DPH = {
  32: { size: 0x20, heap: 0x04, requested: 0x08, actual: 0x0c, stack: 0x18, end: 0x1c },
  64: { size: 0x40, heap: 0x08, requested: 0x10, actual: 0x18, stack: 0x30, end: 0x3c },
} as const;

export const STAMP = {
  FULL_BUSY: 0xabcdbbbb,
  FULL_END: 0xdcbabbbb,
  LIGHT_BUSY: 0xabcdaaaa,
  LIGHT_END: 0xdcbaaaaa,
  LIGHT_FREED: 0xabcdaaa9,
  FULL_FREED: 0xabcdbbba,
  LIGHT_FREED_END: 0xdcbaaaa9,
  FULL_FREED_END: 0xdcbabbba,
} as const;

export interface PageHeapBlock {
  header: Address;
  user: Address;
  root: Address;
  requested: number;
  actual: number;
  stackTrace: Address;
  full: boolean;
  busy: boolean;
}

const START_STAMPS = new Set<number>([STAMP.FULL_BUSY, STAMP.LIGHT_BUSY, STAMP.LIGHT_FREED, STAMP.FULL_FREED]);

function endStampFor(start: number): number[] {
  switch (start) {
    case STAMP.FULL_BUSY:
      return [STAMP.FULL_END];
    case STAMP.LIGHT_BUSY:
      return [STAMP.LIGHT_END];
    case STAMP.FULL_FREED:
      return [STAMP.FULL_FREED_END, STAMP.FULL_END];
    default:
      return [STAMP.LIGHT_FREED_END, STAMP.LIGHT_END];
  }
}

/**
 * Scan a view's captured memory for page-heap block headers. Linear in the bytes present; the
 * number of blocks kept is bounded by `maxBlocks`.
 */
export function scanPageHeap(run: Run, view: ProcessView, maxBlocks: number): PageHeapBlock[] {
  const layout = DPH[view.bitness];
  const space = view.space;
  const ps = view.bitness === 64 ? 8 : 4;
  const out: PageHeapBlock[] = [];
  const span = emptySpan();
  for (const r of space.ranges()) {
    let va = r.address + ((8 - (r.address % 8)) % 8);
    const end = r.address + r.size;
    while (va + layout.size <= end) {
      if (!space.span(va, span)) break;
      const n = Math.min(span.length, end - va);
      const dv = span.view;
      const base = span.index;
      // headers are 8-byte aligned on both bitnesses
      for (let off = 0; off + 4 <= n; off += 8) {
        const s = dv.getUint32(base + off, true);
        if (!START_STAMPS.has(s)) continue;
        const h = va + off;
        const endStamp = space.u32(h + layout.end);
        if (!endStampFor(s).includes(endStamp)) {
          run.diagnostics.report("heap-page", "PAGE_HEAP_HEADER_INVALID", "warning", `page-heap header at ${formatAddress(h)} has start stamp 0x${s.toString(16)} but end stamp 0x${(endStamp >>> 0).toString(16)}`, at(h));
          continue;
        }
        const requested = ps === 8 ? space.u64(h + layout.requested) : space.u32(h + layout.requested);
        const actual = ps === 8 ? space.u64(h + layout.actual) : space.u32(h + layout.actual);
        const root = space.ptr(h + layout.heap);
        const stackTrace = space.ptr(h + layout.stack);
        if (!(requested >= 0) || !(actual >= requested) || actual > 0x80000000 || !(root === root)) {
          run.diagnostics.report("heap-page", "PAGE_HEAP_HEADER_INVALID", "warning", `page-heap header at ${formatAddress(h)} has inconsistent sizes or root`, at(h));
          continue;
        }
        const busy = s === STAMP.FULL_BUSY || s === STAMP.LIGHT_BUSY;
        out.push({
          header: h,
          user: h + layout.size,
          root,
          requested,
          actual,
          stackTrace: stackTrace === stackTrace ? stackTrace : 0,
          full: s === STAMP.FULL_BUSY || s === STAMP.FULL_FREED,
          busy,
        });
        if (out.length >= maxBlocks) {
          run.diagnostics.report("heap-page", "PAGE_HEAP_SCAN_LIMIT", "warning", `page-heap scan stopped after ${maxBlocks} blocks`);
          return out;
        }
      }
      const step = Math.max(8, n - (n % 8));
      va += step;
    }
  }
  return out;
}

interface PageHeapState {
  blocks: PageHeapBlock[];
}

declare module "@leakscope/core" {
  interface HeapData {
    pageHeap?: PageHeapState;
  }
}

const FLG_HEAP_PAGE_ALLOCS = 0x02000000;

export const PageHeapOptions = Type.Object(
  {
    maxBlocks: Type.Integer({ minimum: 1, default: 10_000_000, description: "Most page-heap blocks kept per view" }),
    always: Type.Boolean({ default: false, description: "Scan even when NtGlobalFlag does not have +hpa" }),
  },
  { additionalProperties: false },
);

/** Page-heap discovery and walking: heaps of kind `page-heap`, one per `_DPH_HEAP_ROOT`. */
export const pageHeap = definePlugin({
  name: "heap-page",
  options: PageHeapOptions,
  setup: (options) => ({
    apply(engine) {
      engine.hooks.discoverHeaps.tapPromise({ name: "heap-page", stage: STAGE_BACKEND }, async (run) => {
        if (run.target.kind !== "user") return;
        for (const view of run.target.views) {
          const flag = readNtGlobalFlag(view);
          if (!options.always && !(flag !== undefined && (flag & FLG_HEAP_PAGE_ALLOCS) !== 0)) continue;
          const blocks = scanPageHeap(run, view, options.maxBlocks);
          const byRoot = new Map<number, PageHeapBlock[]>();
          for (const b of blocks) {
            let list = byRoot.get(b.root);
            if (!list) byRoot.set(b.root, (list = []));
            list.push(b);
          }
          for (const [root, list] of byRoot) {
            const heap = run.addHeap({ address: root, bitness: view.bitness, kind: "page-heap", foundBy: "stamp-scan", view, walker: "heap-page", label: "page heap (DPH)" });
            heap.data.pageHeap = { blocks: list };
          }
        }
      });
      // Full page-heap blocks are allocations of their own.
      engine.hooks.walkHeap.tapPromise({ name: "heap-page", stage: STAGE_BACKEND }, async (heap: HeapRecord, run) => {
        const state = heap.data.pageHeap;
        if (heap.kind !== "page-heap" || !state) return;
        let busy = 0;
        for (const b of state.blocks) {
          if (!b.full) continue;
          const trace = b.stackTrace !== 0 ? b.stackTrace : 0;
          const traceFlag = trace ? AllocFlags.HAS_TRACE : 0;
          run.allocations.add(
            heap.index,
            b.user,
            b.header,
            b.requested,
            b.actual > 0 ? b.actual : b.requested,
            (b.busy ? AllocFlags.BUSY : AllocFlags.FREE) | AllocFlags.PAGE_HEAP | traceFlag,
            trace,
          );
          if (b.busy) busy++;
        }
        heap.summary.pageHeapBlocks = state.blocks.length;
        heap.summary.pageHeapBusy = busy;
        heap.summary.full = state.blocks.some((b) => b.full);
      });
      // Light blocks sit inside NT heap blocks: once every heap is walked, give the NT block the
      // page-heap requested size and stack (or list the block alone when no NT block holds it).
      engine.hooks.heapsWalked.tapPromise({ name: "heap-page", stage: STAGE_BACKEND }, async (run) => {
        for (const heap of run.heaps) {
          const state = heap.data.pageHeap;
          if (heap.kind !== "page-heap" || !state) continue;
          for (const b of state.blocks) {
            if (b.full) continue;
            const trace = b.stackTrace !== 0 ? b.stackTrace : 0;
            const host = run.allocations.findContaining(b.header);
            if (host >= 0 && run.allocations.heap(host) !== heap.index) {
              run.allocations.setRequestedSize(host, b.requested);
              run.allocations.setFlags(host, run.allocations.flags(host) | AllocFlags.PAGE_HEAP);
              if (trace) run.allocations.setTracePointer(host, trace);
              continue;
            }
            run.allocations.add(heap.index, b.user, b.header, b.requested, b.actual > 0 ? b.actual : b.requested,
              (b.busy ? AllocFlags.BUSY : AllocFlags.FREE) | AllocFlags.PAGE_HEAP | (trace ? AllocFlags.HAS_TRACE : 0), trace);
          }
        }
      });
    },
  }),
});
