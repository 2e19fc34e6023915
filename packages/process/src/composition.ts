import {
  type Address,
  type AllocationSet,
  type Diagnostics,
  type HeapRecord,
  type MinidumpFile,
  type ProcessSection,
  type Target,
  formatAddress,
  readPebHeapList,
} from "@leakscope/core";
import { findRange } from "./format.js";

export type Composition = ProcessSection["composition"];

const MEM_COMMIT = 0x1000;
const MEM_FREE = 0x10000;
const MEM_PRIVATE = 0x20000;
const MEM_MAPPED = 0x40000;
const MEM_IMAGE = 0x1000000;
/** KUSER_SHARED_DATA, the same user address on x86 and x64. */
const KUSER_SHARED_DATA = 0x7ffe0000;

/** Usage names of WinDbg's `!address -summary`. */
export type Usage = "Heap" | "Image" | "MappedFile" | "Stack" | "TEB" | "PEB" | "Other" | "Free" | "<unknown>";

/** A heap to attribute memory to: walked (`record` set) or only listed by a PEB. */
export interface HeapRef {
  address: Address;
  label?: string;
  record?: HeapRecord;
}

interface Region {
  base: number;
  size: number;
  allocationBase: number;
  state: number;
  type: number;
  protect: number;
}

/** One allocation (all regions sharing an allocation base). */
export interface AllocationGroup {
  base: number;
  end: number;
  regions: number;
  committed: number;
  type: number;
  usage: Usage;
  /** Index in the heap list, or -1. */
  heap: number;
  stack: boolean;
  teb: boolean;
  peb: boolean;
}

/** The composition plus the allocation groups it was computed from (for referrer scans and triage). */
export interface CompositionResult {
  composition: Composition;
  groups: AllocationGroup[];
  /** Private allocations in no heap, stack, TEB or PEB. */
  loose: AllocationGroup[];
}

export interface CompositionInput {
  target: Target;
  minidump: MinidumpFile | undefined;
  /** Walked heaps (`run.heaps`); when empty, the PEBs' heap lists are used. */
  heaps: readonly HeapRecord[];
  allocations?: AllocationSet;
  diagnostics: Diagnostics;
}

const PROTECT_NAMES: [number, string][] = [
  [0x01, "PAGE_NOACCESS"],
  [0x02, "PAGE_READONLY"],
  [0x04, "PAGE_READWRITE"],
  [0x08, "PAGE_WRITECOPY"],
  [0x10, "PAGE_EXECUTE"],
  [0x20, "PAGE_EXECUTE_READ"],
  [0x40, "PAGE_EXECUTE_READWRITE"],
  [0x80, "PAGE_EXECUTE_WRITECOPY"],
];

/** `PAGE_READWRITE | PAGE_GUARD`, as `!address` prints protections. */
export function protectName(p: number): string {
  const base = PROTECT_NAMES.find(([bit]) => (p & 0xff) === bit)?.[1] ?? `0x${(p & 0xff).toString(16)}`;
  const mods = [(p & 0x100) !== 0 ? "PAGE_GUARD" : "", (p & 0x200) !== 0 ? "PAGE_NOCACHE" : "", (p & 0x400) !== 0 ? "PAGE_WRITECOMBINE" : ""].filter(Boolean);
  return [base, ...mods].join(" | ");
}

function typeName(t: number): string {
  return t === MEM_IMAGE ? "MEM_IMAGE" : t === MEM_MAPPED ? "MEM_MAPPED" : t === MEM_PRIVATE ? "MEM_PRIVATE" : `0x${t.toString(16)}`;
}

/** The heaps to name: the walked ones, else those the PEBs list (plus the CSRSS shared heap). */
export function heapRefs(target: Target, heaps: readonly HeapRecord[]): HeapRef[] {
  if (heaps.length > 0) return heaps.map((h) => ({ address: h.address, record: h, ...(h.label !== undefined ? { label: h.label } : {}) }));
  const out: HeapRef[] = [];
  const seen = new Set<number>();
  for (const view of target.views) {
    const list = readPebHeapList(view, 1024);
    if (!list) continue;
    const listed = list.processHeap === list.processHeap && list.processHeap !== 0 && !list.heaps.includes(list.processHeap) ? [list.processHeap, ...list.heaps] : list.heaps;
    for (const h of listed) {
      if (seen.has(h)) continue;
      seen.add(h);
      out.push({ address: h, ...(h === list.processHeap ? { label: "process heap" } : {}) });
    }
    if (list.csr === list.csr && list.csr !== 0 && !seen.has(list.csr)) {
      seen.add(list.csr);
      out.push({ address: list.csr, label: "CSRSS shared heap" });
    }
  }
  return out;
}

function regionsOf(target: Target, md: MinidumpFile | undefined): { regions: Region[]; fromInfo: boolean } {
  const listed = md ? md.memoryInfo.filter((r) => r.size > 0 && r.base === r.base) : [];
  if (listed.length > 0) {
    return {
      fromInfo: true,
      regions: listed.map((r) => ({
          base: r.base,
          size: r.size,
          allocationBase: r.allocationBase === r.allocationBase && r.state !== MEM_FREE ? r.allocationBase : r.base,
          state: r.state,
          type: r.type,
          protect: r.protect,
        })),
    };
  }
  // only the captured ranges: each its own allocation, committed, image when inside a module
  const mods = target.modules;
  const ranges = (md?.memory ?? []).slice().sort((a, b) => a.address - b.address);
  return {
    fromInfo: false,
    regions: ranges.map((r) => ({
      base: r.address,
      size: r.size,
      allocationBase: r.address,
      state: MEM_COMMIT,
      type: mods.some((m) => r.address >= m.base && r.address < m.base + m.size) ? MEM_IMAGE : MEM_PRIVATE,
      protect: 0x04,
    })),
  };
}

/** The group containing `a` (binary search over groups sorted by base), or -1. */
export function findGroup(groups: readonly AllocationGroup[], a: number): number {
  return findRange(groups, a, groupStart, groupEnd);
}
const groupStart = (g: AllocationGroup): number => g.base;
const groupEnd = (g: AllocationGroup): number => g.end;

/**
 * Compute the memory composition of a user-mode process: MemoryInfoList regions (or the captured
 * ranges) grouped by allocation, each allocation attributed to a heap (by the heap's address or
 * by the walked blocks inside it), a thread stack, a TEB, the PEB, an image, a mapped view, or
 * nothing known (private memory VirtualAlloc'd directly).
 */
export function computeComposition(input: CompositionInput): CompositionResult {
  const { target, minidump: md } = input;
  const { regions, fromInfo } = regionsOf(target, md);
  const notes: string[] = [];
  if (!fromInfo) {
    const msg =
      "The dump has no MemoryInfoList: the composition covers only the captured memory ranges; reserved and uncaptured memory is missing (take the dump with procdump -ma).";
    notes.push(msg);
    input.diagnostics.report("process", "PROCESS_NO_MEMORY_INFO", "info", msg, { where: "MemoryInfoList" });
  }

  // allocation groups, sorted by base
  const byBase = new Map<number, AllocationGroup>();
  for (const r of regions) {
    if (r.state === MEM_FREE) continue;
    let g = byBase.get(r.allocationBase);
    if (!g) {
      g = { base: r.allocationBase, end: r.base + r.size, regions: 0, committed: 0, type: r.type, usage: "<unknown>", heap: -1, stack: false, teb: false, peb: false };
      byBase.set(r.allocationBase, g);
    }
    g.regions++;
    if (r.base < g.base) g.base = r.base;
    if (r.base + r.size > g.end) g.end = r.base + r.size;
    if (r.state === MEM_COMMIT) g.committed += r.size;
  }
  const groups = [...byBase.values()].sort((a, b) => a.base - b.base);

  const mark = (a: number | undefined, set: (g: AllocationGroup) => void): void => {
    if (a === undefined || !(a === a)) return;
    const k = findGroup(groups, a);
    if (k >= 0) set(groups[k]!);
  };
  for (const t of target.threads) {
    mark(t.stack.address, (g) => (g.stack = true));
    mark(t.teb, (g) => (g.teb = true));
    mark(t.teb32, (g) => (g.teb = true));
  }
  for (const v of target.views) {
    mark(v.peb, (g) => (g.peb = true));
    for (const t of v.tebs) mark(t, (g) => (g.teb = true));
  }

  const heaps = heapRefs(target, input.heaps);
  heaps.forEach((h, i) => mark(h.address, (g) => (g.heap < 0 ? (g.heap = i) : undefined)));
  // allocations holding walked blocks belong to the blocks' heap (other segments, virtual blocks)
  if (input.allocations && input.heaps.length > 0 && groups.length > 0) {
    let cur = -1;
    input.allocations.forEachChunk((c, used) => {
      const addr = c.blockAddress;
      const heap = c.heap;
      for (let i = 0; i < used; i++) {
        const a = addr[i]!;
        if (cur < 0 || a < groups[cur]!.base || a >= groups[cur]!.end) cur = findGroup(groups, a);
        if (cur >= 0 && groups[cur]!.heap < 0) groups[cur]!.heap = heap[i]!;
      }
    });
  }

  for (const g of groups) {
    g.usage =
      g.heap >= 0
        ? "Heap"
        : g.stack
          ? "Stack"
          : g.teb
            ? "TEB"
            : g.peb
              ? "PEB"
              : g.type === MEM_IMAGE
                ? "Image"
                : KUSER_SHARED_DATA >= g.base && KUSER_SHARED_DATA < g.end
                  ? "Other"
                  : g.type === MEM_MAPPED
                    ? "MappedFile"
                    : "<unknown>";
  }

  // the tables
  const usage = new Map<string, { regions: number; bytes: number; committed: number }>();
  const type = new Map<string, { regions: number; bytes: number; committed: number }>();
  const state = new Map<string, { regions: number; bytes: number; committed: number }>();
  const protect = new Map<string, { regions: number; bytes: number; committed: number }>();
  const add = (m: Map<string, { regions: number; bytes: number; committed: number }>, k: string, r: Region): void => {
    const row = m.get(k) ?? { regions: 0, bytes: 0, committed: 0 };
    row.regions++;
    row.bytes += r.size;
    if (r.state === MEM_COMMIT) row.committed += r.size;
    m.set(k, row);
  };
  let busy = 0;
  let total = 0;
  let committed = 0;
  let reserved = 0;
  const committedByType = { image: 0, mapped: 0, private: 0 };
  let cur = -1;
  for (const r of regions) {
    total += r.size;
    if (r.state === MEM_FREE) {
      add(usage, "Free", r);
      add(state, "MEM_FREE", r);
      continue;
    }
    busy += r.size;
    if (cur < 0 || groups[cur]!.base !== r.allocationBase) cur = findGroup(groups, r.base);
    add(usage, cur >= 0 ? groups[cur]!.usage : "<unknown>", r);
    add(type, typeName(r.type), r);
    if (r.state === MEM_COMMIT) {
      committed += r.size;
      add(state, "MEM_COMMIT", r);
      add(protect, protectName(r.protect), r);
      if (r.type === MEM_IMAGE) committedByType.image += r.size;
      else if (r.type === MEM_MAPPED) committedByType.mapped += r.size;
      else if (r.type === MEM_PRIVATE) committedByType.private += r.size;
    } else {
      reserved += r.size;
      add(state, "MEM_RESERVE", r);
    }
  }
  const rows = (m: Map<string, { regions: number; bytes: number; committed: number }>, of: number) =>
    [...m.entries()]
      .map(([name, v]) => ({ name, ...v, percent: of > 0 ? Math.min(100, round2((v.bytes / of) * 100)) : 0 }))
      .sort((a, b) => b.bytes - a.bytes);
  const usageRows = rows(usage, busy).map((r) => (r.name === "Free" ? { ...r, percent: total > 0 ? round2((r.bytes / total) * 100) : 0 } : r));

  // each heap's allocations, committed and reserved bytes: one pass over the groups, not one per heap
  const perHeap = heaps.map(() => ({ allocations: 0, committed: 0, reserved: 0 }));
  for (const g of groups) {
    const t = g.heap >= 0 ? perHeap[g.heap] : undefined;
    if (!t) continue;
    t.allocations++;
    t.committed += g.committed;
    t.reserved += g.end - g.base;
  }
  const heapRows: Composition["heaps"] = heaps.map((h, i) => {
    const { allocations, committed: hc, reserved: hr } = perHeap[i]!;
    const row: Composition["heaps"][number] = {
      heap: formatAddress(h.address),
      ...(h.label !== undefined ? { label: h.label } : {}),
      allocations,
      committed: hc,
      reserved: hr,
    };
    const rec = h.record;
    if (rec && (rec.stats.busy.count > 0 || rec.stats.free.count > 0)) {
      row.busy = rec.stats.busy.bytes;
      row.free = rec.stats.free.bytes;
      row.overhead = Math.max(0, (hc > 0 ? hc : rec.stats.committed) - rec.stats.busy.bytes - rec.stats.free.bytes);
    }
    return row;
  });

  const loose = groups.filter((g) => g.usage === "<unknown>" && g.type === MEM_PRIVATE);
  const bySize = new Map<number, { size: number; count: number; committed: number; reserved: number; samples: string[] }>();
  for (const g of loose) {
    const size = g.end - g.base;
    const row = bySize.get(size) ?? { size, count: 0, committed: 0, reserved: 0, samples: [] };
    row.count++;
    row.committed += g.committed;
    row.reserved += size;
    if (row.samples.length < 4) row.samples.push(formatAddress(g.base));
    bySize.set(size, row);
  }
  const privateGroups = [...bySize.values()]
    .sort((a, b) => b.committed - a.committed || b.count - a.count)
    .slice(0, 10)
    .map((r) => ({ ...r, referrers: [] as string[] }));

  const composition: Composition = {
    source: fromInfo ? "memory-info-list" : "memory-ranges",
    regions: regions.length,
    committed,
    reserved,
    committedByType,
    usage: usageRows,
    type: rows(type, busy),
    state: rows(state, total),
    protect: rows(protect, committed),
    heaps: heapRows,
    privateGroups,
    notes,
  };
  const vm = md?.processVmCounters;
  if (vm) {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(vm)) if (typeof v === "number" && k !== "revision" && k !== "flags") out[k] = v;
    composition.vmCounters = out;
  }
  const sm = md?.systemMemoryInfo;
  if (sm && sm.pageSize > 0) {
    composition.systemMemory = {
      pageSize: sm.pageSize,
      physicalBytes: sm.numberOfPhysicalPages * sm.pageSize,
      availableBytes: sm.availablePages * sm.pageSize,
      committedBytes: sm.committedPages * sm.pageSize,
      commitLimitBytes: sm.commitLimit * sm.pageSize,
      peakCommitmentBytes: sm.peakCommitment * sm.pageSize,
      processors: sm.numberOfProcessors,
    };
  }
  return { composition, groups, loose };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
