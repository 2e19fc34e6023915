import {
  type Address,
  AddressSpace,
  type Arch,
  type ByteSource,
  Diagnostics,
  type FileRange,
  FileSource,
  type ModuleInfo,
  RangeAddressSpace,
  type ThreadInfo,
  type Target,
  addressFromParts,
  formatAddress,
  readBytes,
  windowsVersionOfBuild,
} from "@leakscope/core";
import {
  DumpType,
  type KernelDumpHeader,
  MACHINE_ARM64,
  MACHINE_X64,
  MACHINE_X86,
  parseKernelDumpHeader,
} from "./header.js";
import { type Kdbg, decodeKdbg } from "./kdbg.js";
import { describeBugcheck, triageThread } from "./bugcheck.js";
import { kernelFacts } from "./facts.js";
import { KernelAddressSpace, type KernelSpaceOptions } from "./kernel-space.js";
import { PhysicalMemory, loadPhysicalMemory } from "./physical.js";

const SOURCE = "pool-km";
/** Most drivers read from a triage list or PsLoadedModuleList. */
export const MAX_DRIVERS = 4096;

/** TRIAGE_DUMP64 fields (x64 triage dumps). */
export interface TriageHeader {
  servicePackBuild: number;
  sizeOfDump: number;
  validOffset: number;
  contextOffset: number;
  exceptionOffset: number;
  mmOffset: number;
  unloadedDriversOffset: number;
  prcbOffset: number;
  processOffset: number;
  threadOffset: number;
  callStackOffset: number;
  sizeOfCallStack: number;
  driverListOffset: number;
  driverCount: number;
  stringPoolOffset: number;
  stringPoolSize: number;
  brokenDriverOffset: number;
  triageOptions: number;
  topOfStack: Address;
  dataPageAddress: Address;
  dataPageOffset: number;
  dataPageSize: number;
  debuggerDataOffset: number;
  debuggerDataSize: number;
  dataBlocksOffset: number;
  dataBlocksCount: number;
  /** True when the dword at ValidOffset is 'TRGD'. */
  valid: boolean;
}

/** One data block of a triage dump: a VA range copied into the file. */
export interface TriageDataBlock {
  address: Address;
  fileOffset: number;
  size: number;
}

/** A kernel dump opened for reading. */
export interface KernelDump {
  source: ByteSource;
  header: KernelDumpHeader;
  format: "kernel-full" | "kernel-bitmap" | "kernel-rdmp" | "kernel-triage" | "kernel-header";
  arch: Arch;
  /** Physical memory (empty for triage and header-only dumps). */
  phys: PhysicalMemory;
  /** Kernel virtual memory: page-table walk (full/bitmap/RDMP) or the triage data blocks. */
  space: AddressSpace;
  /** The page-table space when translation works (x64, x86 PAE and non-PAE). */
  pageTables?: KernelAddressSpace;
  triage?: TriageHeader;
  dataBlocks: TriageDataBlock[];
  kdbg?: Kdbg;
  drivers: ModuleInfo[];
  diagnostics: Diagnostics;
}

export interface OpenKernelDumpOptions extends KernelSpaceOptions {
  diagnostics?: Diagnostics;
}

function archOf(machine: number): Arch {
  if (machine === MACHINE_X64) return "x64";
  if (machine === MACHINE_X86) return "x86";
  if (machine === MACHINE_ARM64) return "arm64";
  if (machine === 0x1c4) return "arm";
  if (machine === 0x200) return "ia64";
  return "unknown";
}

/** An address space with nothing mapped. */
class EmptySpace extends RangeAddressSpace {}

/**
 * Open a kernel dump from a byte source. Throws only when the header itself is unusable
 * (not a kernel dump, shorter than the header); everything else becomes a diagnostic.
 */
export function openKernelDump(source: ByteSource, options: OpenKernelDumpOptions = {}): KernelDump {
  const diagnostics = options.diagnostics ?? new Diagnostics();
  const header = parseKernelDumpHeader(source);
  const arch = archOf(header.machineImageType);
  const t = header.dumpType;
  let format: KernelDump["format"] = "kernel-header";
  if (t === DumpType.Full) format = "kernel-full";
  else if (t === DumpType.BitmapFull || t === DumpType.BitmapKernel) format = "kernel-bitmap";
  else if (t === DumpType.RdmpKernel || t === DumpType.RdmpKernelUser || t === DumpType.RdmpComplete) format = "kernel-rdmp";
  else if (t === DumpType.Triage) format = "kernel-triage";
  else {
    diagnostics.report(SOURCE, "KDUMP_UNSUPPORTED_TYPE", "warning", `DumpType ${t} has no page layout leakscope reads; only the header was decoded`, {
      file: source.name,
      fileOffset: header.headerBits === 64 ? 0xf98 : 0xf88,
    });
  }
  const phys = loadPhysicalMemory(source, header, diagnostics);
  const ptrSize: 4 | 8 = header.headerBits === 64 ? 8 : 4;
  let space: AddressSpace = new EmptySpace(source, [], ptrSize);
  let pageTables: KernelAddressSpace | undefined;
  let triage: TriageHeader | undefined;
  let dataBlocks: TriageDataBlock[] = [];
  let kdbg: Kdbg | undefined;
  let drivers: ModuleInfo[] = [];

  if (format === "kernel-triage") {
    if (header.headerBits === 64) {
      const tri = readTriage(source, diagnostics);
      if (tri) {
        triage = tri.header;
        dataBlocks = tri.blocks;
        const ranges: FileRange[] = dataBlocks.map((b) => ({ address: b.address, size: b.size, fileOffset: b.fileOffset }));
        space = new RangeAddressSpace(source, ranges, 8);
        drivers = readTriageDrivers(source, tri.header, diagnostics);
        for (const m of drivers) fillFromPeHeader(space, m);
        if (tri.header.debuggerDataOffset > 0 && tri.header.debuggerDataSize > 0) {
          const bytes = readBytes(source, tri.header.debuggerDataOffset, Math.min(tri.header.debuggerDataSize, 0x1000));
          kdbg = decodeKdbg(bytes, { kind: "file", fileOffset: tri.header.debuggerDataOffset });
        }
      }
    } else {
      diagnostics.report(SOURCE, "KDUMP_TRIAGE_BAD", "warning", "32-bit triage dumps are not decoded; only the header was read", { file: source.name, fileOffset: 0x1000 });
    }
  } else if (format !== "kernel-header") {
    const mode = arch === "x64" ? "x64" : arch === "x86" ? (header.paeEnabled ? "pae" : "x86") : undefined;
    if (mode) {
      pageTables = new KernelAddressSpace(phys, header.directoryTableBase, mode, options);
      space = pageTables;
      if (phys.fileOffset(pageTables.dtb) < 0) {
        diagnostics.report(SOURCE, "KDUMP_NO_PAGE_TABLES", "warning", `the page-table root 0x${pageTables.dtb.toString(16)} is not in the dump; kernel virtual memory cannot be read`, {
          file: source.name,
          fileOffset: 0x10,
        });
      }
    } else {
      diagnostics.report(SOURCE, "KDUMP_UNSUPPORTED_ARCH", "warning", `virtual addresses of machine 0x${header.machineImageType.toString(16)} (${arch}) are not translated; physical memory and the header are available`, {
        file: source.name,
        fileOffset: header.headerBits === 64 ? 0x30 : 0x20,
      });
    }
    const at = header.kdDebuggerDataBlock;
    if (at === at && at !== 0) {
      const bytes = space.read(at, 0x380) ?? space.read(at, 0x340);
      if (bytes) kdbg = decodeKdbg(bytes, { kind: "va", address: at }, ptrSize);
    }
    const head = header.psLoadedModuleList === header.psLoadedModuleList && header.psLoadedModuleList !== 0 ? header.psLoadedModuleList : kdbg?.psLoadedModuleList;
    if (head !== undefined && head === head && head !== 0 && mode) drivers = walkModuleList(space, head, diagnostics);
  }
  if (!kdbg && format !== "kernel-header") {
    diagnostics.report(SOURCE, "KDBG_NOT_FOUND", "warning", "no decoded KDDEBUGGER_DATA64 copy (OwnerTag 'KDBG') is readable in the dump", {
      file: source.name,
      address: formatAddress(header.kdDebuggerDataBlock),
    });
  }
  if (header.requiredDumpSpace > source.size && (format === "kernel-full" || format === "kernel-bitmap" || format === "kernel-rdmp")) {
    if (!diagnostics.has("KDUMP_TRUNCATED")) {
      diagnostics.report(SOURCE, "KDUMP_TRUNCATED", "warning", `the file has 0x${source.size.toString(16)} bytes, the header requires 0x${header.requiredDumpSpace.toString(16)}`, {
        file: source.name,
        fileOffset: source.size,
      });
    }
  }
  const dump: KernelDump = { source, header, format, arch, phys, space, dataBlocks, drivers, diagnostics };
  if (pageTables) dump.pageTables = pageTables;
  if (triage) dump.triage = triage;
  if (kdbg) dump.kdbg = kdbg;
  return dump;
}

function readTriage(source: ByteSource, diagnostics: Diagnostics): { header: TriageHeader; blocks: TriageDataBlock[] } | undefined {
  const raw = readBytes(source, 0x2000, 0x80);
  if (raw.length < 0x80) {
    diagnostics.report(SOURCE, "KDUMP_TRIAGE_BAD", "warning", "the TRIAGE_DUMP64 header lies past the end of the file", { file: source.name, fileOffset: 0x2000 });
    return undefined;
  }
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const u = (o: number): number => v.getUint32(o, true);
  const h: TriageHeader = {
    servicePackBuild: u(0),
    sizeOfDump: u(4),
    validOffset: u(8),
    contextOffset: u(0xc),
    exceptionOffset: u(0x10),
    mmOffset: u(0x14),
    unloadedDriversOffset: u(0x18),
    prcbOffset: u(0x1c),
    processOffset: u(0x20),
    threadOffset: u(0x24),
    callStackOffset: u(0x28),
    sizeOfCallStack: u(0x2c),
    driverListOffset: u(0x30),
    driverCount: u(0x34),
    stringPoolOffset: u(0x38),
    stringPoolSize: u(0x3c),
    brokenDriverOffset: u(0x40),
    triageOptions: u(0x44),
    topOfStack: addressFromParts(u(0x48), u(0x4c)),
    dataPageAddress: addressFromParts(u(0x60), u(0x64)),
    dataPageOffset: u(0x68),
    dataPageSize: u(0x6c),
    debuggerDataOffset: u(0x70),
    debuggerDataSize: u(0x74),
    dataBlocksOffset: u(0x78),
    dataBlocksCount: u(0x7c),
    valid: false,
  };
  const trgd = readBytes(source, h.validOffset, 4);
  h.valid = trgd.length === 4 && String.fromCharCode(...trgd) === "TRGD";
  if (!h.valid) {
    diagnostics.report(SOURCE, "KDUMP_TRIAGE_BAD", "warning", "the triage validity marker 'TRGD' is missing", { file: source.name, fileOffset: h.validOffset });
  }
  const fit = Math.floor(Math.max(0, source.size - h.dataBlocksOffset) / 16);
  let count = h.dataBlocksCount;
  if (count > fit) {
    diagnostics.report(SOURCE, "KDUMP_TRIAGE_BAD", "warning", `${count} data blocks claimed, ${fit} fit in the file`, { file: source.name, fileOffset: 0x2078 });
    count = fit;
  }
  const table = readBytes(source, h.dataBlocksOffset, count * 16);
  const tv = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const blocks: TriageDataBlock[] = [];
  let bad = 0;
  for (let i = 0; i + 16 <= table.length; i += 16) {
    const address = addressFromParts(tv.getUint32(i, true), tv.getUint32(i + 4, true));
    const fileOffset = tv.getUint32(i + 8, true);
    const size = tv.getUint32(i + 12, true);
    if (!(address === address) || fileOffset + size > source.size) {
      bad++;
      continue;
    }
    blocks.push({ address, fileOffset, size });
  }
  if (bad > 0) {
    diagnostics.report(SOURCE, "KDUMP_TRIAGE_BAD", "warning", `${bad} data blocks point outside the file and were skipped`, { file: source.name, fileOffset: h.dataBlocksOffset });
  }
  return { header: h, blocks };
}

function readCountedUtf16(source: ByteSource, offset: number): string | undefined {
  const len = readBytes(source, offset, 4);
  if (len.length < 4) return undefined;
  const n = new DataView(len.buffer, len.byteOffset, 4).getUint32(0, true);
  if (n > 1024) return undefined;
  const bytes = readBytes(source, offset + 4, n * 2);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length & ~1).toString("utf16le");
}

function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf("\\"), path.lastIndexOf("/"));
  return i >= 0 ? path.slice(i + 1) : path;
}

/** Size of one triage driver entry: DriverNameOffset + pad + KLDR_DATA_TABLE_ENTRY64 copy. */
export const TRIAGE_DRIVER_ENTRY_SIZE = 0x90;

function readTriageDrivers(source: ByteSource, h: TriageHeader, diagnostics: Diagnostics): ModuleInfo[] {
  const fit = Math.floor(Math.max(0, source.size - h.driverListOffset) / TRIAGE_DRIVER_ENTRY_SIZE);
  let count = Math.min(h.driverCount, MAX_DRIVERS);
  if (count > fit) count = fit;
  if (count !== h.driverCount) {
    diagnostics.report(SOURCE, "KDUMP_TRIAGE_BAD", "warning", `driver list claims ${h.driverCount} entries, ${count} were read`, { file: source.name, fileOffset: h.driverListOffset });
  }
  const table = readBytes(source, h.driverListOffset, count * TRIAGE_DRIVER_ENTRY_SIZE);
  const v = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const out: ModuleInfo[] = [];
  for (let i = 0; i < count; i++) {
    const e = i * TRIAGE_DRIVER_ENTRY_SIZE;
    const nameOffset = v.getUint32(e, true);
    const k = e + 8;
    const base = addressFromParts(v.getUint32(k + 0x30, true), v.getUint32(k + 0x34, true));
    const size = v.getUint32(k + 0x40, true);
    const checksum = v.getUint32(k + 0x78, true);
    const path = readCountedUtf16(source, nameOffset) ?? "";
    out.push({ path, name: baseName(path), base, size, timestamp: 0, checksum, bitness: 64 });
  }
  return out;
}

/** TimeDateStamp (and CheckSum when `checksum` is 0) from the PE header, when the image's first page is captured. */
function fillFromPeHeader(space: AddressSpace, m: ModuleInfo): void {
  if (!(m.base === m.base) || space.u16(m.base) !== 0x5a4d) return;
  const lfanew = space.u32(m.base + 0x3c);
  if (!(lfanew > 0 && lfanew < 0x1000) || space.u32(m.base + lfanew) !== 0x4550) return;
  const ts = space.u32(m.base + lfanew + 8);
  if (ts >= 0) m.timestamp = ts;
  if (m.checksum === 0) {
    const ck = space.u32(m.base + lfanew + 0x18 + 0x40);
    if (ck >= 0) m.checksum = ck;
  }
}

function readUnicodeString(space: AddressSpace, at: Address): string {
  const len = space.u16(at);
  const buf = space.ptr(at + (space.pointerSize === 8 ? 8 : 4));
  if (len <= 0 || len > 2048 || !(buf === buf)) return "";
  const bytes = space.read(buf, len & ~1);
  return bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("utf16le") : "";
}

/**
 * Walk PsLoadedModuleList (KLDR_DATA_TABLE_ENTRY, 64- or 32-bit by the space's pointer size).
 * Bounded by {@link MAX_DRIVERS} and cycle-safe; stops with `KDUMP_MODULE_LIST_BROKEN`.
 */
export function walkModuleList(space: AddressSpace, head: Address, diagnostics: Diagnostics): ModuleInfo[] {
  const p8 = space.pointerSize === 8;
  const o = p8 ? { base: 0x30, size: 0x40, full: 0x48, name: 0x58 } : { base: 0x18, size: 0x20, full: 0x24, name: 0x2c };
  const out: ModuleInfo[] = [];
  const seen = new Set<number>();
  let cur = space.ptr(head);
  if (!(cur === cur)) {
    diagnostics.report(SOURCE, "MEMORY_NOT_CAPTURED", "warning", `PsLoadedModuleList at ${formatAddress(head)} is not captured; no driver list`, { address: formatAddress(head) });
    return out;
  }
  while (cur !== head) {
    if (!(cur === cur) || cur === 0 || seen.has(cur) || out.length >= MAX_DRIVERS) {
      diagnostics.report(SOURCE, "KDUMP_MODULE_LIST_BROKEN", "warning", `PsLoadedModuleList walk stopped after ${out.length} entries at ${formatAddress(cur)}`, {
        address: formatAddress(cur),
      });
      break;
    }
    seen.add(cur);
    const base = space.ptr(cur + o.base);
    const size = space.u32(cur + o.size);
    const path = readUnicodeString(space, cur + o.full);
    const name = readUnicodeString(space, cur + o.name) || baseName(path);
    const m: ModuleInfo = { path: path || name, name, base, size: Math.max(0, size), timestamp: 0, checksum: 0, bitness: p8 ? 64 : 32 };
    fillFromPeHeader(space, m);
    out.push(m);
    cur = space.ptr(cur);
  }
  return out;
}

/** Open a kernel dump file as a core {@link Target} (kind "kernel", modules = drivers). */
export function openKernelDumpTarget(input: ByteSource | string, options: OpenKernelDumpOptions = {}): Target & { data: { kernelDump: KernelDump } } {
  const source = typeof input === "string" ? FileSource.open(input) : input;
  let dump: KernelDump;
  try {
    dump = openKernelDump(source, options);
  } catch (e) {
    if (typeof input === "string") source.close();
    throw e;
  }
  const h = dump.header;
  const crash = describeBugcheck(dump);
  const threads: ThreadInfo[] = [];
  if (crash?.thread !== undefined) {
    // A triage dump keeps the thread that bugchecked: its KTHREAD, Cid and registers.
    const t = triageThread(dump, crash.thread);
    const info: ThreadInfo = {
      id: t?.id ?? 0,
      teb: t?.teb ?? 0,
      stack: t?.stack ?? { address: crash.context?.sp ?? 0, size: 0 },
      suspendCount: 0,
      priority: 0,
    };
    if (crash.context) info.context = crash.context;
    threads.push(info);
  }
  const memBytes = dump.format === "kernel-triage" ? dump.dataBlocks.reduce((n, b) => n + b.size, 0) : dump.phys.presentPages * 0x1000;
  const memRanges = dump.format === "kernel-triage" ? dump.dataBlocks.length : dump.phys.segmentCount;
  const target = {
    kind: "kernel" as const,
    format: dump.format === "kernel-rdmp" ? "kernel-full" : dump.format,
    file: { path: source.name, size: source.size },
    arch: dump.arch,
    os: { ...windowsVersion(h.minorVersion), build: h.minorVersion, productType: h.productType },
    wow64: false,
    views: [],
    modules: dump.drivers,
    unloadedModules: [],
    threads,
    memory: { ranges: memRanges, bytes: memBytes },
    ...kernelFacts(dump, crash),
    diagnostics: dump.diagnostics,
    data: { kernelDump: dump },
    close: () => source.close(),
  };
  return target as Target & { data: { kernelDump: KernelDump } };
}

declare module "@leakscope/core" {
  interface TargetData {
    /** The opened kernel dump, set by `openKernelDumpTarget` (pool-km). */
    kernelDump?: KernelDump;
  }
}

/** Windows major/minor version from a build number (the header has only the build). */
export function windowsVersion(build: number): { major: number; minor: number } {
  return build >= 2600 ? windowsVersionOfBuild(build) : { major: 0, minor: 0 };
}
