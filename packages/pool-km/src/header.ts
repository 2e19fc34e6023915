import { type Address, type ByteSource, DumpFormatError, INVALID_ADDRESS, addressFromParts, readBytes } from "@leakscope/core";

/** 'PAGE' fill written into header fields the kernel did not set. */
export const PAGE_FILL = 0x45474150;

/** DumpType values of DUMP_HEADER64/32. */
export const DumpType = {
  Unknown: 0,
  Full: 1,
  Summary: 2,
  Header: 3,
  Triage: 4,
  BitmapFull: 5,
  BitmapKernel: 6,
  Automatic: 7,
  RdmpKernel: 8,
  RdmpKernelUser: 9,
  RdmpComplete: 10,
} as const;

export const MACHINE_X86 = 0x14c;
export const MACHINE_X64 = 0x8664;
export const MACHINE_ARM64 = 0xaa64;
export const MACHINE_ARMNT = 0x1c4;
export const MACHINE_IA64 = 0x200;

export interface PhysicalRun {
  basePage: number;
  pageCount: number;
}

/** The decoded kernel dump header (both the 64-bit 'PAGEDU64' and 32-bit 'PAGEDUMP' forms). */
export interface KernelDumpHeader {
  /** 64 for DUMP_HEADER64, 32 for DUMP_HEADER32. */
  headerBits: 32 | 64;
  /** Size of the header: 0x2000 or 0x1000. */
  headerSize: number;
  majorVersion: number;
  /** Windows build number. */
  minorVersion: number;
  /** Page-table root as stored (low bits may be set: masked when used). */
  directoryTableBase: number;
  pfnDataBase: Address;
  psLoadedModuleList: Address;
  psActiveProcessHead: Address;
  machineImageType: number;
  numberProcessors: number;
  bugCheckCode: number;
  /** Bugcheck parameters as exact unsigned 64-bit integers. */
  bugCheckParameters: bigint[];
  kdDebuggerDataBlock: Address;
  /** 32-bit dumps: PAE paging in use. */
  paeEnabled: boolean;
  /** NumberOfRuns as stored (may be 'PAGE' fill or absurd). */
  numberOfRuns: number;
  /** NumberOfPages as stored. */
  numberOfPages: number;
  /** Runs that fit the descriptor buffer (the count is clamped; see KDUMP_BAD_RUNS). */
  runs: PhysicalRun[];
  /** True when the physical memory descriptor is 'PAGE' fill (triage dumps). */
  runsAreFill: boolean;
  dumpType: number;
  requiredDumpSpace: number;
  /** FILETIME as bigint (100 ns since 1601), 0n when unset. */
  systemTime: bigint;
  /** 100 ns units. */
  systemUpTime: number;
  comment: string;
  productType: number;
  suiteMask: number;
  /** Exception code and address from the header's EXCEPTION_RECORD (64-bit headers). */
  exceptionCode: number;
  exceptionAddress: Address;
}

/** True when `head` (the first 8 bytes or more) starts a Windows kernel dump. */
export function isKernelDump(head: Uint8Array): boolean {
  if (head.length < 8) return false;
  const s = String.fromCharCode(...head.subarray(0, 8));
  return s === "PAGEDU64" || s === "PAGEDUMP";
}

function u64(view: DataView, off: number): number {
  return view.getUint32(off + 4, true) * 4294967296 + view.getUint32(off, true);
}
function ptr64(view: DataView, off: number): Address {
  return addressFromParts(view.getUint32(off, true), view.getUint32(off + 4, true));
}

/**
 * Decode DUMP_HEADER64 or DUMP_HEADER32. Throws {@link DumpFormatError} `KDUMP_NOT_KERNEL_DUMP`
 * when the signature is wrong and `READ_PAST_END` when the file is shorter than the header.
 */
export function parseKernelDumpHeader(source: ByteSource): KernelDumpHeader {
  const head = readBytes(source, 0, 8);
  if (!isKernelDump(head)) {
    throw new DumpFormatError("INPUT_UNKNOWN_FORMAT", `${source.name} is not a Windows kernel dump (no PAGEDU64/PAGEDUMP signature)`, {
      file: source.name,
      fileOffset: 0,
    });
  }
  const is64 = head[7] === 0x34; // '4'
  const size = is64 ? 0x2000 : 0x1000;
  const bytes = readBytes(source, 0, size);
  if (bytes.length < size) {
    throw new DumpFormatError("READ_PAST_END", `${source.name}: kernel dump header needs 0x${size.toString(16)} bytes, file has 0x${source.size.toString(16)}`, {
      file: source.name,
      fileOffset: bytes.length,
    });
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return is64 ? parse64(v) : parse32(v);
}

function latin(v: DataView, off: number, max: number): string {
  let s = "";
  for (let i = 0; i < max; i++) {
    const c = v.getUint8(off + i);
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

function parse64(v: DataView): KernelDumpHeader {
  const nRuns = v.getUint32(0x88, true);
  const nPages = u64(v, 0x90);
  const runsAreFill = nRuns === PAGE_FILL;
  const maxRuns = Math.floor((0x348 - 0x98) / 16);
  const runs: PhysicalRun[] = [];
  if (!runsAreFill) {
    const n = Math.min(nRuns, maxRuns);
    for (let i = 0; i < n; i++) runs.push({ basePage: u64(v, 0x98 + i * 16), pageCount: u64(v, 0xa0 + i * 16) });
  }
  const params: bigint[] = [];
  for (let i = 0; i < 4; i++) params.push(v.getBigUint64(0x40 + i * 8, true));
  const comment = latin(v, 0xfb0, 128);
  return {
    headerBits: 64,
    headerSize: 0x2000,
    majorVersion: v.getUint32(8, true),
    minorVersion: v.getUint32(0xc, true),
    directoryTableBase: u64(v, 0x10),
    pfnDataBase: ptr64(v, 0x18),
    psLoadedModuleList: ptr64(v, 0x20),
    psActiveProcessHead: ptr64(v, 0x28),
    machineImageType: v.getUint32(0x30, true),
    numberProcessors: v.getUint32(0x34, true),
    bugCheckCode: v.getUint32(0x38, true),
    bugCheckParameters: params,
    kdDebuggerDataBlock: ptr64(v, 0x80),
    paeEnabled: false,
    numberOfRuns: nRuns,
    numberOfPages: nPages,
    runs,
    runsAreFill,
    dumpType: v.getUint32(0xf98, true),
    requiredDumpSpace: u64(v, 0xfa0),
    systemTime: v.getBigUint64(0xfa8, true),
    systemUpTime: u64(v, 0x1030),
    comment: comment.startsWith("PAGEPAGE") ? "" : comment,
    productType: v.getUint32(0x1040, true),
    suiteMask: v.getUint32(0x1044, true),
    exceptionCode: v.getUint32(0xf00, true),
    exceptionAddress: ptr64(v, 0xf10),
  };
}

function parse32(v: DataView): KernelDumpHeader {
  const nRuns = v.getUint32(0x64, true);
  const nPages = v.getUint32(0x68, true);
  const runsAreFill = nRuns === PAGE_FILL;
  const maxRuns = Math.floor((0x820 - 0x6c) / 8);
  const runs: PhysicalRun[] = [];
  if (!runsAreFill) {
    const n = Math.min(nRuns, maxRuns);
    for (let i = 0; i < n; i++) runs.push({ basePage: v.getUint32(0x6c + i * 8, true), pageCount: v.getUint32(0x70 + i * 8, true) });
  }
  const params: bigint[] = [];
  for (let i = 0; i < 4; i++) params.push(BigInt(v.getUint32(0x2c + i * 4, true)));
  return {
    headerBits: 32,
    headerSize: 0x1000,
    majorVersion: v.getUint32(8, true),
    minorVersion: v.getUint32(0xc, true),
    directoryTableBase: v.getUint32(0x10, true),
    pfnDataBase: v.getUint32(0x14, true),
    psLoadedModuleList: v.getUint32(0x18, true),
    psActiveProcessHead: v.getUint32(0x1c, true),
    machineImageType: v.getUint32(0x20, true),
    numberProcessors: v.getUint32(0x24, true),
    bugCheckCode: v.getUint32(0x28, true),
    bugCheckParameters: params,
    kdDebuggerDataBlock: v.getUint32(0x60, true),
    paeEnabled: v.getUint8(0x5c) === 1,
    numberOfRuns: nRuns,
    numberOfPages: nPages,
    runs,
    runsAreFill,
    dumpType: v.getUint32(0xf88, true),
    requiredDumpSpace: u64(v, 0xfa0),
    systemTime: v.getBigUint64(0xfc0, true),
    systemUpTime: u64(v, 0xfb8),
    comment: latin(v, 0x820, 128),
    productType: v.getUint32(0xf94, true),
    suiteMask: v.getUint32(0xf98, true),
    exceptionCode: 0,
    exceptionAddress: INVALID_ADDRESS,
  };
}
