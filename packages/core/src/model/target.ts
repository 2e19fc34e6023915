import type { Address } from "../address.js";
import type { Diagnostics } from "../diagnostics.js";
import type { AddressSpace } from "../memory/address-space.js";
import type { CpuFacts, CrashInfo, ProcessFacts } from "../crash/model.js";

/** CPU architecture of a dump or of one view of a process. */
export type Arch = "x86" | "x64" | "arm64" | "arm" | "ia64" | "unknown";

/** What kind of input a target came from. */
export type TargetKind = "user" | "kernel" | "text";

export interface OsInfo {
  major: number;
  minor: number;
  build: number;
  /** Service pack text (`Service Pack 1`), when the dump has it. */
  servicePack?: string;
  /** Full build string from MiscInfo (`16299.637.amd64fre.rs3_release_svc.180808-1748`). */
  buildString?: string;
  /** 1 workstation, 2 domain controller, 3 server. */
  productType?: number;
  platformId?: number;
  /** Update build revision (UBR): the `282` of 10.0.22000.282, when the dump records it. */
  revision?: number;
}

/**
 * Windows major/minor version of a build number (kernel dump headers and debugger version lines
 * print only the build; old debuggers call Windows 10 builds "Windows 8"). 0.0 when unknown.
 */
export function windowsVersionOfBuild(build: number): { major: number; minor: number } {
  if (build >= 10240) return { major: 10, minor: 0 };
  if (build >= 9600) return { major: 6, minor: 3 };
  if (build >= 9200) return { major: 6, minor: 2 };
  if (build >= 7600) return { major: 6, minor: 1 };
  if (build >= 6000) return { major: 6, minor: 0 };
  if (build >= 3790) return { major: 5, minor: 2 };
  if (build >= 2600) return { major: 5, minor: 1 };
  if (build >= 2195) return { major: 5, minor: 0 };
  return { major: 0, minor: 0 };
}

export interface CodeViewInfo {
  /** `RSDS` (PDB 7.0) or `NB10` (PDB 2.0). */
  format: "RSDS" | "NB10";
  /** GUID as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (RSDS), or the NB10 signature as hex. */
  guid: string;
  age: number;
  pdbName: string;
}

export interface ModuleInfo {
  /** Full path as recorded by the dumper. */
  path: string;
  /** File name part of `path`, lowercase kept as recorded. */
  name: string;
  base: Address;
  size: number;
  timestamp: number;
  checksum: number;
  /** File version `a.b.c.d` from VS_FIXEDFILEINFO, when present. */
  version?: string;
  codeView?: CodeViewInfo;
  /** 32 for modules loaded in a 32-bit (WoW64 or x86) view, 64 otherwise. */
  bitness: 32 | 64;
}

export interface UnloadedModuleInfo {
  name: string;
  base: Address;
  size: number;
  timestamp: number;
  checksum: number;
}

/** Register subset leakscope uses (others stay in the raw context bytes). */
export interface ThreadContext {
  arch: "x86" | "x64" | "arm64";
  /** Instruction, stack and frame pointers. */
  ip: Address;
  sp: Address;
  fp: Address;
  /** Named general-purpose registers (eax/rax ...), as numbers. */
  registers: Record<string, number>;
}

export interface ThreadInfo {
  id: number;
  teb: Address;
  stack: { address: Address; size: number };
  suspendCount: number;
  priority: number;
  context?: ThreadContext;
  /** The 32-bit context of a WoW64 thread (from the TEB's WOW64_CONTEXT), when readable. */
  wow64Context?: ThreadContext;
  /** The 32-bit TEB of a WoW64 thread. */
  teb32?: Address;
  /** Thread description (ThreadNames stream), when the dump records one. */
  name?: string;
}

/**
 * One bitness of a process: the native view, and for a WoW64 process in a 64-bit dump also the
 * 32-bit view. Both share the same memory; each has its own PEB, pointer size and modules.
 */
export interface ProcessView {
  bitness: 32 | 64;
  /** Why this view exists: `native`, or `wow64` for the 32-bit side of a 64-bit dump. */
  role: "native" | "wow64";
  space: AddressSpace;
  /** PEB address of this bitness, when known. */
  peb?: Address;
  /** TEB addresses of this bitness. */
  tebs: Address[];
  /** Modules of this bitness (for WoW64: the SysWOW64 side and the 32-bit image). */
  modules: ModuleInfo[];
}

export interface MemorySummary {
  /** Number of captured ranges. */
  ranges: number;
  /** Bytes of memory captured. */
  bytes: number;
  /** Ranges (wholly or partly) and bytes left out because they overlap earlier ranges. */
  overlapping?: { ranges: number; bytes: number };
}

/**
 * An opened input, as every allocator walker and analyzer sees it. Readers fill it; plugins
 * can attach data under {@link TargetData} by module augmentation.
 */
export interface Target {
  kind: TargetKind;
  /** Reader-specific format name: `minidump`, `kernel-full`, `kernel-bitmap`, `kernel-triage`, `windbg-log` ... */
  format: string;
  file: { path: string; size: number };
  arch: Arch;
  os: OsInfo;
  /** A 32-bit process in a 64-bit dump (both views present), or a 32-bit view of a WoW64 process. */
  wow64: boolean;
  /** Process views: native first, then WoW64. Empty for kernel and text targets. */
  views: ProcessView[];
  modules: ModuleInfo[];
  unloadedModules: UnloadedModuleInfo[];
  threads: ThreadInfo[];
  memory: MemorySummary;
  // ---- crash, process and machine facts (each reader fills what its format records) ----
  /** The exception (user mode) or bugcheck (kernel) the dump records. */
  crash?: CrashInfo;
  cpu?: CpuFacts;
  process?: ProcessFacts;
  /** The dump's own type: `triage (DumpType 4)`, the minidump type flags... */
  dumpType?: string;
  /** Problems found while opening, with codes. The run adds its own. */
  diagnostics: Diagnostics;
  data: TargetData;
  /** Release the input (file handle). Idempotent. */
  close(): void;
}

/**
 * Typed per-target state for plugins, extended by module augmentation:
 *
 * ```ts
 * declare module "@leakscope/core" {
 *   interface TargetData { myPlugin?: MyState }
 * }
 * ```
 */
// biome-ignore lint: augmentation target
export interface TargetData {}
