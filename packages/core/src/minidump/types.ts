import type { Address } from "../address.js";
import type { FileRange } from "../memory/address-space.js";
import type { Arch, CodeViewInfo, ThreadContext } from "../model/target.js";
import type { MinidumpProcessVmCounters, MinidumpSystemMemoryInfo } from "./process-streams.js";

/** The 32-byte MINIDUMP_HEADER. */
export interface MinidumpHeader {
  /** `0x504d444d` (`MDMP`). */
  signature: number;
  /** Low 16 bits of Version: 0xA793 for every Windows minidump. */
  version: number;
  /** High 16 bits of Version (implementation specific). */
  implementationVersion: number;
  streamCount: number;
  directoryRva: number;
  checksum: number;
  /** Seconds since 1970 (time_t). */
  timestamp: number;
  /** MINIDUMP_TYPE, low 32 bits (no higher bit is defined). */
  flags: number;
  /** High 32 bits of the flags field, normally 0. */
  flagsHigh: number;
  /** Names of the MINIDUMP_TYPE bits: `WithFullMemory`, ... (`Normal` when none). */
  flagNames: string[];
}

/** One directory entry. */
export interface MinidumpStreamEntry {
  /** Position in the directory. */
  index: number;
  type: number;
  /** `ModuleList`, ... or `Unknown(0x...)`. */
  name: string;
  size: number;
  rva: number;
  /** File offset of the directory entry itself. */
  entryOffset: number;
  /** `ok`; `out-of-bounds` (skipped); `truncated` (cut to the file's end); `duplicate` (ignored); `unused`. */
  status: "ok" | "out-of-bounds" | "truncated" | "duplicate" | "unused";
}

export interface MinidumpSystemInfo {
  arch: Arch;
  /** PROCESSOR_ARCHITECTURE_* value. */
  processorArchitecture: number;
  processorLevel: number;
  processorRevision: number;
  cpuCount: number;
  /** 1 workstation, 2 domain controller, 3 server. */
  productType: number;
  major: number;
  minor: number;
  build: number;
  platformId: number;
  /** CSDVersion (`Service Pack 1`), empty when none. */
  servicePack: string;
  suiteMask: number;
  /** CPUID vendor (`GenuineIntel`) for x86/x64 dumps. */
  vendorId?: string;
}

export interface MinidumpModule {
  path: string;
  base: Address;
  size: number;
  checksum: number;
  timestamp: number;
  /** File version `a.b.c.d` from VS_FIXEDFILEINFO (absent when its signature is missing). */
  version?: string;
  productVersion?: string;
  codeView?: CodeViewInfo;
  /** Location of the CodeView record in the file. */
  cvRecord: { rva: number; size: number };
  miscRecord: { rva: number; size: number };
}

export interface MinidumpUnloadedModule {
  path: string;
  base: Address;
  size: number;
  checksum: number;
  timestamp: number;
}

export interface MinidumpThread {
  id: number;
  suspendCount: number;
  priorityClass: number;
  priority: number;
  teb: Address;
  /** Stack range and where its bytes are in the file. */
  stack: { address: Address; size: number; rva: number };
  contextLocation: { rva: number; size: number };
  /** Decoded context (x86, x64, ARM64); absent when unreadable. */
  context?: ThreadContext;
  /** ThreadExList only: the IA-64 backing store. */
  backingStore?: { address: Address; size: number; rva: number };
}

export interface MinidumpThreadInfo {
  threadId: number;
  dumpFlags: number;
  dumpError: number;
  exitStatus: number;
  /** FILETIME values as numbers (100 ns units; exact to about 1 µs). */
  createTime: number;
  exitTime: number;
  kernelTime: number;
  userTime: number;
  startAddress: Address;
  affinity: number;
}

export interface MinidumpMemoryInfo {
  base: Address;
  allocationBase: Address;
  allocationProtect: number;
  size: number;
  /** MEM_COMMIT 0x1000, MEM_RESERVE 0x2000, MEM_FREE 0x10000. */
  state: number;
  protect: number;
  /** MEM_PRIVATE 0x20000, MEM_MAPPED 0x40000, MEM_IMAGE 0x1000000. */
  type: number;
}

export interface MinidumpMiscInfo {
  sizeOfInfo: number;
  flags: number;
  processId?: number;
  /** time_t of process creation; user and kernel times in seconds. */
  processCreateTime?: number;
  processUserTime?: number;
  processKernelTime?: number;
  processorMaxMhz?: number;
  processorCurrentMhz?: number;
  processIntegrityLevel?: number;
  processExecuteFlags?: number;
  protectedProcess?: number;
  timeZoneId?: number;
  /** MiscInfo 4+: `16299.637.amd64fre.rs3_release_svc.180808-1748`. */
  buildString?: string;
  dbgBuildString?: string;
  /** MiscInfo 5. */
  processCookie?: number;
}

export interface MinidumpException {
  threadId: number;
  code: number;
  flags: number;
  /** Address of a nested EXCEPTION_RECORD (usually 0). */
  record: Address;
  address: Address;
  /** ExceptionInformation[0..NumberParameters) (at most 15), as numbers. */
  parameters: number[];
  contextLocation: { rva: number; size: number };
  context?: ThreadContext;
}

export interface MinidumpHandle {
  handle: number;
  typeName?: string;
  objectName?: string;
  attributes: number;
  grantedAccess: number;
  handleCount: number;
  pointerCount: number;
  /** MINIDUMP_HANDLE_DESCRIPTOR_2 only. */
  objectInfoRva?: number;
}

export interface MinidumpHandleData {
  /** NumberOfDescriptors as claimed by the stream. */
  count: number;
  descriptorSize: number;
  handles: MinidumpHandle[];
}

/** Everything {@link parseMinidump} read. */
export interface MinidumpFile {
  path: string;
  fileSize: number;
  header: MinidumpHeader;
  streams: MinidumpStreamEntry[];
  systemInfo?: MinidumpSystemInfo;
  modules: MinidumpModule[];
  unloadedModules: MinidumpUnloadedModule[];
  /** ThreadList, else ThreadExList. */
  threads: MinidumpThread[];
  threadInfos: MinidumpThreadInfo[];
  /** Captured memory from MemoryList and Memory64List, in stream order, cut to the file. */
  memory: FileRange[];
  /** Which lists the memory came from. */
  memorySources: ("MemoryList" | "Memory64List")[];
  memoryInfo: MinidumpMemoryInfo[];
  miscInfo?: MinidumpMiscInfo;
  exception?: MinidumpException;
  handleData?: MinidumpHandleData;
  comments: { type: "CommentA" | "CommentW"; text: string }[];
  /** ProcessVmCounters: private bytes, commit, working set (see process-streams.ts). */
  processVmCounters?: MinidumpProcessVmCounters;
  /** SystemMemoryInfo: page size, commit and physical memory of the machine. */
  systemMemoryInfo?: MinidumpSystemMemoryInfo;
}
