import type { Address } from "../address.js";
import type { ProcessView } from "./target.js";

/**
 * `_PEB` fields leakscope reads, stable from Windows 7 to Windows 11 (verified on real dumps:
 * `../shared/docs/heap-internals.md` §3.1). One table for every plugin.
 */
export const PEB_OFFSETS = {
  32: { processHeap: 0x18, readOnlySharedMemoryBase: 0x4c, ntGlobalFlag: 0x68, numberOfHeaps: 0x88, maximumNumberOfHeaps: 0x8c, processHeaps: 0x90 },
  64: { processHeap: 0x30, readOnlySharedMemoryBase: 0x88, ntGlobalFlag: 0xbc, numberOfHeaps: 0xe8, maximumNumberOfHeaps: 0xec, processHeaps: 0xf0 },
} as const;

/** `PEB.NtGlobalFlag` of a view, or undefined when the PEB is not in the dump. */
export function readNtGlobalFlag(view: ProcessView): number | undefined {
  if (view.peb === undefined || !(view.peb === view.peb)) return undefined;
  const v = view.space.u32(view.peb + PEB_OFFSETS[view.bitness].ntGlobalFlag);
  return v < 0 ? undefined : v;
}

export interface PebHeapList {
  processHeap: Address;
  /** NumberOfHeaps and MaximumNumberOfHeaps as stored (-1 when unreadable). */
  count: number;
  maximum: number;
  /** The ProcessHeaps array. */
  array: Address;
  /** ReadOnlySharedMemoryBase (the CSRSS shared heap), NaN when unreadable. */
  csr: Address;
  /** Non-zero ProcessHeaps entries, in order, up to the first slot the dump lacks. */
  heaps: Address[];
  /** Address of the first ProcessHeaps slot that is not in the dump, if the walk stopped there. */
  missingSlot?: Address;
}

/**
 * Read the PEB's heap list of a view: at most `min(NumberOfHeaps, MaximumNumberOfHeaps, limit)`
 * slots (bounded whatever the dump claims). Undefined when the PEB itself is not captured.
 */
export function readPebHeapList(view: ProcessView, limit = 4096): PebHeapList | undefined {
  if (view.peb === undefined || !(view.peb === view.peb)) return undefined;
  const o = PEB_OFFSETS[view.bitness];
  const space = view.space;
  const peb = view.peb;
  const processHeap = space.ptr(peb + o.processHeap);
  const count = space.u32(peb + o.numberOfHeaps);
  if (!(processHeap === processHeap) || count < 0) return undefined;
  const maximum = space.u32(peb + o.maximumNumberOfHeaps);
  const array = space.ptr(peb + o.processHeaps);
  const csr = space.ptr(peb + o.readOnlySharedMemoryBase);
  const ps = view.bitness / 8;
  const n = Math.min(count, maximum >= 0 ? maximum : count, limit);
  const heaps: Address[] = [];
  const out: PebHeapList = { processHeap, count, maximum, array, csr, heaps };
  for (let i = 0; i < n; i++) {
    const h = space.ptr(array + i * ps);
    if (!(h === h)) {
      out.missingSlot = array + i * ps;
      break;
    }
    if (h !== 0) heaps.push(h);
  }
  return out;
}
