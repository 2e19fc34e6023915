/** Minidump stream types (MINIDUMP_STREAM_TYPE) with their names. */
export const MinidumpStreamType = {
  Unused: 0,
  Reserved0: 1,
  Reserved1: 2,
  ThreadList: 3,
  ModuleList: 4,
  MemoryList: 5,
  Exception: 6,
  SystemInfo: 7,
  ThreadExList: 8,
  Memory64List: 9,
  CommentA: 10,
  CommentW: 11,
  HandleData: 12,
  FunctionTable: 13,
  UnloadedModuleList: 14,
  MiscInfo: 15,
  MemoryInfoList: 16,
  ThreadInfoList: 17,
  HandleOperationList: 18,
  Token: 19,
  JavaScriptData: 20,
  SystemMemoryInfo: 21,
  ProcessVmCounters: 22,
  IptTrace: 23,
  ThreadNames: 24,
} as const;

const extraStreamNames: Record<number, string> = {
  0x8000: "ceStreamNull",
  0x8001: "ceStreamSystemInfo",
  0x8002: "ceStreamException",
  0x8003: "ceStreamModuleList",
  0x8004: "ceStreamProcessList",
  0x8005: "ceStreamThreadList",
  0x8006: "ceStreamThreadContextList",
  0x8007: "ceStreamThreadCallStackList",
  0x8008: "ceStreamMemoryVirtualList",
  0x8009: "ceStreamMemoryPhysicalList",
  0x800a: "ceStreamBucketParameters",
  0x800b: "ceStreamProcessModuleMap",
  0x800c: "ceStreamDiagnosisList",
  0xffff: "LastReserved",
  0x47670001: "BreakpadInfo",
  0x47670002: "BreakpadAssertionInfo",
  0x47670003: "LinuxCpuInfo",
  0x47670004: "LinuxProcStatus",
  0x47670005: "LinuxLsbRelease",
  0x47670006: "LinuxCmdLine",
  0x47670007: "LinuxEnviron",
  0x47670008: "LinuxAuxv",
  0x47670009: "LinuxMaps",
  0x4767000a: "LinuxDsoDebug",
  0x43500001: "CrashpadInfo",
};

const streamNames = new Map<number, string>();
for (const [name, type] of Object.entries(MinidumpStreamType)) streamNames.set(type, name);
for (const [type, name] of Object.entries(extraStreamNames)) streamNames.set(Number(type), name);

/** Name of a stream type: `ModuleList`, or `Unknown(0x1234)` for types leakscope does not know. */
export function minidumpStreamTypeName(type: number): string {
  return streamNames.get(type) ?? `Unknown(0x${type.toString(16)})`;
}

/** True when {@link minidumpStreamTypeName} knows the type. */
export function isKnownMinidumpStreamType(type: number): boolean {
  return streamNames.has(type);
}

/** MINIDUMP_TYPE flag bits in header order. */
export const MinidumpTypeFlags: readonly (readonly [number, string])[] = [
  [0x1, "WithDataSegs"],
  [0x2, "WithFullMemory"],
  [0x4, "WithHandleData"],
  [0x8, "FilterMemory"],
  [0x10, "ScanMemory"],
  [0x20, "WithUnloadedModules"],
  [0x40, "WithIndirectlyReferencedMemory"],
  [0x80, "FilterModulePaths"],
  [0x100, "WithProcessThreadData"],
  [0x200, "WithPrivateReadWriteMemory"],
  [0x400, "WithoutOptionalData"],
  [0x800, "WithFullMemoryInfo"],
  [0x1000, "WithThreadInfo"],
  [0x2000, "WithCodeSegs"],
  [0x4000, "WithoutAuxiliaryState"],
  [0x8000, "WithFullAuxiliaryState"],
  [0x10000, "WithPrivateWriteCopyMemory"],
  [0x20000, "IgnoreInaccessibleMemory"],
  [0x40000, "WithTokenInformation"],
  [0x80000, "WithModuleHeaders"],
  [0x100000, "FilterTriage"],
  [0x200000, "WithAvxXStateContext"],
  [0x400000, "WithIptTrace"],
  [0x800000, "ScanInaccessiblePartialPages"],
  [0x1000000, "FilterWriteCombinedMemory"],
];

/**
 * Names of the MINIDUMP_TYPE bits set in `flags` (`MiniDumpNormal` when none). Bits leakscope
 * does not know are listed as `0x...`. `flags` is the low 32 bits (no higher bit is defined).
 */
export function minidumpTypeNames(flags: number, flagsHigh = 0): string[] {
  const out: string[] = [];
  let rest = flags >>> 0;
  for (const [bit, name] of MinidumpTypeFlags) {
    if ((rest & bit) !== 0) {
      out.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  for (let b = 0; b < 32; b++) if ((rest >>> b) & 1) out.push(`0x${(2 ** b).toString(16)}`);
  for (let b = 0; b < 32; b++) if ((flagsHigh >>> b) & 1) out.push(`0x${(2 ** (b + 32)).toString(16)}`);
  if (out.length === 0) out.push("Normal");
  return out;
}

/** PROCESSOR_ARCHITECTURE_* values. */
export const ProcessorArchitecture = {
  x86: 0,
  mips: 1,
  alpha: 2,
  ppc: 3,
  shx: 4,
  arm: 5,
  ia64: 6,
  alpha64: 7,
  msil: 8,
  amd64: 9,
  ia32OnWin64: 10,
  neutral: 11,
  arm64: 12,
  arm32OnWin64: 13,
  ia32OnArm64: 14,
  unknown: 0xffff,
} as const;

/** The minidump signature `MDMP` as a little-endian u32. */
export const MINIDUMP_SIGNATURE = 0x504d444d;
/** MINIDUMP_VERSION (low 16 bits of the header's Version). */
export const MINIDUMP_VERSION = 0xa793;
export const MINIDUMP_HEADER_SIZE = 32;
export const MINIDUMP_DIRECTORY_ENTRY_SIZE = 12;
