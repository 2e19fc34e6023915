import { type U64, setU64 } from "./bytes.js";

/**
 * Writers for the process-level facts of a minidump: ProcessVmCounters and SystemMemoryInfo
 * stream bytes (add them with `builder.rawStream(type, bytes)`) and the GDI shared handle table
 * that `PEB.GdiSharedHandleTable` points at (add it with `builder.memory(address, bytes)`).
 */
export const MinidumpProcessStream = { SystemMemoryInfo: 21, ProcessVmCounters: 22 } as const;

export interface MinidumpVmCountersSpec {
  /** 1 (80 bytes) or 2 (152 bytes, default). */
  revision?: 1 | 2;
  /** Revision 2 flags; default 0x1f (every group). */
  flags?: number;
  pageFaultCount?: number;
  peakWorkingSetSize?: U64;
  workingSetSize?: U64;
  pagefileUsage?: U64;
  peakPagefileUsage?: U64;
  privateUsage?: U64;
  peakVirtualSize?: U64;
  virtualSize?: U64;
  privateWorkingSetSize?: U64;
}

/** MINIDUMP_PROCESS_VM_COUNTERS_1 or _2 bytes. */
export function minidumpProcessVmCounters(spec: MinidumpVmCountersSpec = {}): Uint8Array {
  const rev = spec.revision ?? 2;
  const bytes = new Uint8Array(rev === 1 ? 80 : 152);
  const v = new DataView(bytes.buffer);
  v.setUint16(0, rev, true);
  if (rev === 2) v.setUint16(2, spec.flags ?? 0x1f, true);
  v.setUint32(4, spec.pageFaultCount ?? 1000, true);
  setU64(v, 8, spec.peakWorkingSetSize ?? 0);
  setU64(v, 16, spec.workingSetSize ?? 0);
  setU64(v, 56, spec.pagefileUsage ?? 0);
  setU64(v, 64, spec.peakPagefileUsage ?? 0);
  if (rev === 1) {
    setU64(v, 72, spec.privateUsage ?? 0);
  } else {
    setU64(v, 72, spec.peakVirtualSize ?? 0);
    setU64(v, 80, spec.virtualSize ?? 0);
    setU64(v, 88, spec.privateUsage ?? 0);
    setU64(v, 96, spec.privateWorkingSetSize ?? 0);
  }
  return bytes;
}

export interface MinidumpSystemMemorySpec {
  pageSize?: number;
  physicalPages?: number;
  processors?: number;
  availablePages?: U64;
  committedPages?: U64;
  commitLimit?: U64;
  peakCommitment?: U64;
}

/** MINIDUMP_SYSTEM_MEMORY_INFO_1 bytes (the performance block after the commit figures left zero). */
export function minidumpSystemMemoryInfo(spec: MinidumpSystemMemorySpec = {}): Uint8Array {
  const bytes = new Uint8Array(492);
  const v = new DataView(bytes.buffer);
  v.setUint16(0, 1, true);
  v.setUint32(4, 156250, true); // TimerResolution
  v.setUint32(8, spec.pageSize ?? 0x1000, true);
  v.setUint32(12, spec.physicalPages ?? 0x400000, true);
  v.setUint32(16, 1, true);
  v.setUint32(20, spec.physicalPages ?? 0x400000, true);
  v.setUint32(24, 0x10000, true);
  setU64(v, 28, 0x10000);
  setU64(v, 36, 0x7ffffffeffff);
  setU64(v, 44, 0xff);
  v.setUint32(52, spec.processors ?? 8, true);
  setU64(v, 116, spec.availablePages ?? 0x100000);
  setU64(v, 124, spec.committedPages ?? 0x200000);
  setU64(v, 132, spec.commitLimit ?? 0x800000);
  setU64(v, 140, spec.peakCommitment ?? 0x300000);
  return bytes;
}

/** One GDI object of the table: its handle index, owner and type (GDI base type: 1 DC, 4 region, 5 bitmap, 0x10 brush...). */
export interface GdiObjectSpec {
  index: number;
  processId: number;
  /** Type as the handle's bits 16..22 carry it (0x30 pen, 0x50 extended pen, 0x10 brush...). */
  type: number;
  kernelAddress?: U64;
}

/**
 * A GDI shared handle table (GDICELL array) of `entries` cells for a process of `bitness`:
 * 24-byte cells (x64) or 16-byte cells (x86): pKernelAddress, wProcessId, wCount, wUpper,
 * wType, pUserAddress.
 */
export function gdiSharedHandleTable(bitness: 32 | 64, objects: readonly GdiObjectSpec[], entries = 0x4000): Uint8Array {
  const cell = bitness === 64 ? 24 : 16;
  const bytes = new Uint8Array(entries * cell);
  const v = new DataView(bytes.buffer);
  const ps = bitness / 8;
  for (const o of objects) {
    if (o.index < 0 || o.index >= entries) continue;
    const at = o.index * cell;
    const kernel = o.kernelAddress ?? (bitness === 64 ? -0x0000100000000000 + o.index * 0x100 : 0xfe000000 + o.index * 0x10);
    if (bitness === 64) setU64(v, at, kernel);
    else v.setUint32(at, Number(kernel) >>> 0, true);
    v.setUint16(at + ps, o.processId & 0xffff, true);
    v.setUint16(at + ps + 2, 0, true);
    v.setUint16(at + ps + 4, (o.type & 0x7f) | 0x0400, true); // wUpper: type bits and a uniqueness value
    v.setUint16(at + ps + 6, (o.type & 0x1f) | 0x4000, true); // wType: base type, flags
  }
  return bytes;
}

/** `PEB.GdiSharedHandleTable` offsets (x86, x64). */
export const PEB_GDI_SHARED_HANDLE_TABLE = { 32: 0x94, 64: 0xf8 } as const;
