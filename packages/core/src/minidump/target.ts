import { type Address, formatAddress } from "../address.js";
import { Diagnostics } from "../diagnostics.js";
import type { InputProbe, InputReader } from "../engine/hooks.js";
import { type ByteSource, FileSource, type FileSourceOptions } from "../io/byte-source.js";
import { type AddressSpace, RangeAddressSpace } from "../memory/address-space.js";
import type {
  Arch,
  ModuleInfo,
  OsInfo,
  ProcessView,
  Target,
  TargetData,
  ThreadContext,
  ThreadInfo,
  UnloadedModuleInfo,
} from "../model/target.js";
import { type MinidumpCode, minidumpCodes } from "./codes.js";
import { MINIDUMP_SIGNATURE, MinidumpStreamType } from "./constants.js";
import { InputError } from "../errors.js";
import { cpuFacts, describeException } from "../crash/exception.js";
import type { ProcessFacts } from "../crash/model.js";
import { CONTEXT_I386, X86_CONTEXT_SIZE, parseX86Context } from "./context.js";
import { parseMinidump } from "./reader.js";
import type { MinidumpFile, MinidumpModule } from "./types.js";

/**
 * What the minidump reader stores in `target.data`. Read it with {@link minidumpOf}; the core
 * `TargetData` interface may declare the field directly later.
 */
export interface MinidumpTargetData {
  /** Everything the minidump reader parsed (header, directory, streams). */
  minidump?: MinidumpFile;
}

/** The parsed minidump behind a target opened by this reader; undefined for other targets. */
export function minidumpOf(target: Target): MinidumpFile | undefined {
  return (target.data as MinidumpTargetData).minidump;
}

/** Offsets in the TEB and PEB used to find each view's PEB and the WoW64 structures. */
export const TebOffsets = {
  /** TEB64: NtTib.ExceptionList; holds the TEB32 address in a WoW64 thread. */
  teb64Wow64Teb: 0x0,
  teb64Self: 0x30,
  teb64Peb: 0x60,
  /** TEB64: TlsSlots[1]; on Windows 7 it points 4 bytes before the thread's WOW64_CONTEXT. */
  teb64TlsSlot1: 0x1488,
  /** TEB64: WowTebOffset (Windows 8.1+): TEB32 - TEB64, signed. */
  teb64WowTebOffset: 0x180c,
  teb32Self: 0x18,
  teb32Peb: 0x30,
} as const;

export interface OpenMinidumpOptions {
  /** Collector for the target's diagnostics (default: a new one). */
  diagnostics?: Diagnostics;
  /** Path reported in `target.file` (default: the source's name). */
  path?: string;
  /** Whether `target.close()` closes the source. Default true. */
  closeSource?: boolean;
}

const WOW64_MARKERS = new Set(["wow64.dll", "wow64cpu.dll"]);

function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf("\\"), path.lastIndexOf("/"));
  return i >= 0 ? path.slice(i + 1) : path;
}

function isSysWow64(path: string): boolean {
  return /(^|[\\/])syswow64[\\/]/i.test(path);
}

/** PE optional-header magic of the image mapped at `base`: 32, 64, or undefined when not readable. */
export function peBitness(space: AddressSpace, base: Address): 32 | 64 | undefined {
  if (space.u16(base) !== 0x5a4d) return undefined;
  const lfanew = space.u32(base + 0x3c);
  if (lfanew < 0x40 || lfanew > 0x10000) return undefined;
  if (space.u32(base + lfanew) !== 0x4550) return undefined;
  const magic = space.u16(base + lfanew + 0x18);
  return magic === 0x10b ? 32 : magic === 0x20b ? 64 : undefined;
}

function bitsOf(arch: Arch): 32 | 64 | undefined {
  if (arch === "x64" || arch === "arm64" || arch === "ia64") return 64;
  if (arch === "x86" || arch === "arm") return 32;
  return undefined;
}

class TargetBuilder {
  readonly file: MinidumpFile;
  readonly diagnostics: Diagnostics;
  constructor(file: MinidumpFile, diagnostics: Diagnostics) {
    this.file = file;
    this.diagnostics = diagnostics;
  }
  diag(code: MinidumpCode, message: string, extra: { address?: Address; where?: string; fileOffset?: number } = {}): void {
    const location: { file: string; address?: string; where?: string; fileOffset?: number } = { file: this.file.path };
    if (extra.address !== undefined) location.address = formatAddress(extra.address);
    if (extra.where !== undefined) location.where = extra.where;
    if (extra.fileOffset !== undefined) location.fileOffset = extra.fileOffset;
    this.diagnostics.report("minidump", code, minidumpCodes[code].severity, message, location);
  }
}

/** Read a thread's 32-bit TEB from its 64-bit TEB (WoW64). */
function findTeb32(space: AddressSpace, teb64: Address): Address | undefined {
  const valid = (t: Address): boolean =>
    t === t && t > 0 && t < 0x100000000 && (!space.isMapped(t + TebOffsets.teb32Self, 4) || space.u32(t + TebOffsets.teb32Self) === t);
  const first = space.ptr64(teb64 + TebOffsets.teb64Wow64Teb);
  if (valid(first)) return first;
  const off = space.i32(teb64 + TebOffsets.teb64WowTebOffset);
  if (off === off && off !== 0 && valid(teb64 + off) && space.isMapped(teb64 + off, 0x34)) return teb64 + off;
  const guess = teb64 + 0x2000;
  if (space.isMapped(guess + TebOffsets.teb32Self, 4) && space.u32(guess + TebOffsets.teb32Self) === guess) return guess;
  return undefined;
}

/** The WOW64_CONTEXT of a WoW64 thread (Windows 7 layout: TEB64 TlsSlots[1] + 4). */
function findWow64Context(space: AddressSpace, teb64: Address): ThreadContext | undefined {
  const p = space.ptr64(teb64 + TebOffsets.teb64TlsSlot1);
  if (!(p === p) || p <= 0) return undefined;
  const bytes = space.read(p + 4, X86_CONTEXT_SIZE);
  if (!bytes) return undefined;
  const view = new DataView(bytes.buffer);
  if ((view.getUint32(0, true) & CONTEXT_I386) === 0) return undefined;
  return parseX86Context(view, 0, X86_CONTEXT_SIZE);
}

/**
 * Open a user-mode minidump as a {@link Target}: memory from MemoryList and Memory64List behind
 * a {@link RangeAddressSpace}, process views (native, plus a 32-bit `wow64` view for a WoW64
 * process in a 64-bit dump), modules with their bitness, threads with contexts, and the parsed
 * file as `target.data.minidump` (typed accessor: {@link minidumpOf}). Problems become `MINIDUMP_*` diagnostics on
 * `target.diagnostics`.
 *
 * @throws InputError / DumpFormatError as {@link parseMinidump}. The source is not closed on a
 *   throw; the caller owns it.
 */
export function openMinidumpTarget(source: ByteSource, options: OpenMinidumpOptions = {}): Target {
  const diagnostics = options.diagnostics ?? new Diagnostics();
  const file = parseMinidump(source, diagnostics);
  refuseOtherPlatforms(file, options.path ?? source.name);
  const b = new TargetBuilder(file, diagnostics);
  const sys = file.systemInfo;

  // ---- architecture ------------------------------------------------------------------------
  let arch: Arch = sys?.arch ?? "unknown";
  if (!sys) {
    const ctxArch = file.threads.find((t) => t.context)?.context?.arch;
    const high = file.modules.some((m) => m.base >= 0x100000000) || file.memory.some((r) => r.address >= 0x100000000);
    arch = ctxArch ?? (high ? "x64" : "unknown");
    b.diag("MINIDUMP_NO_SYSTEM_INFO", `the dump has no SystemInfo stream; architecture guessed as ${arch}`, { where: "SystemInfo" });
  }
  let nativeBits = bitsOf(arch);
  if (nativeBits === undefined || arch === "ia64" || arch === "arm") {
    if (sys) {
      b.diag("MINIDUMP_UNKNOWN_ARCH", `processor architecture ${sys.processorArchitecture} (${arch}) is not supported; memory read as ${nativeBits ?? 64}-bit`, {
        where: "SystemInfo",
      });
    }
    nativeBits ??= file.modules.some((m) => m.base >= 0x100000000) ? 64 : 32;
  }
  const space = new RangeAddressSpace(source, file.memory, nativeBits === 64 ? 8 : 4);

  // ---- missing streams ---------------------------------------------------------------------
  if (file.memory.length === 0) {
    b.diag("MINIDUMP_NO_MEMORY", "the dump captured no process memory (no MemoryList or Memory64List ranges)", { where: "memory" });
  }
  if (!file.streams.some((s) => s.type === MinidumpStreamType.ModuleList && (s.status === "ok" || s.status === "truncated"))) {
    b.diag("MINIDUMP_NO_MODULES", "the dump has no ModuleList stream", { where: "ModuleList" });
  }
  if (file.threads.length === 0) b.diag("MINIDUMP_NO_THREADS", "the dump lists no threads", { where: "ThreadList" });

  // ---- WoW64 detection ---------------------------------------------------------------------
  const names = file.modules.map((m) => baseName(m.path).toLowerCase());
  const hasMarker = names.some((n) => WOW64_MARKERS.has(n));
  const hasSysWow64 = file.modules.some((m) => isSysWow64(m.path));
  const wow64 = nativeBits === 64 ? hasMarker && (arch === "x64" || arch === "arm64") : hasMarker || hasSysWow64;
  const wow64Split = wow64 && nativeBits === 64;

  // ---- modules -----------------------------------------------------------------------------
  const mainBase = file.modules[0]?.base;
  const moduleBits = (m: MinidumpModule): 32 | 64 => {
    if (nativeBits === 32) return 32;
    if (!wow64Split) return 64;
    const pe = peBitness(space, m.base);
    if (pe !== undefined) return pe;
    if (isSysWow64(m.path)) return 32;
    if (m.base === mainBase && m.base + m.size <= 0x100000000) return 32;
    return 64;
  };
  const modules: ModuleInfo[] = file.modules.map((m) => {
    const info: ModuleInfo = {
      path: m.path,
      name: baseName(m.path),
      base: m.base,
      size: m.size,
      timestamp: m.timestamp,
      checksum: m.checksum,
      bitness: moduleBits(m),
    };
    if (m.version !== undefined) info.version = m.version;
    if (m.codeView) info.codeView = m.codeView;
    return info;
  });
  const unloadedModules: UnloadedModuleInfo[] = file.unloadedModules.map((m) => ({
    name: m.path,
    base: m.base,
    size: m.size,
    timestamp: m.timestamp,
    checksum: m.checksum,
  }));

  // ---- threads, TEBs and PEBs --------------------------------------------------------------
  const threads: ThreadInfo[] = [];
  const threadNames = new Map(file.threadNames.filter((n) => n.name.length > 0).map((n) => [n.threadId >>> 0, n.name]));
  const ex = file.exception;
  const tebs: Address[] = [];
  const tebs32: Address[] = [];
  let peb: Address | undefined;
  let peb32: Address | undefined;
  let wow64ContextMissing = 0;
  const missingTebs: Address[] = [];
  for (const t of file.threads) {
    const info: ThreadInfo = {
      id: t.id,
      teb: t.teb,
      stack: { address: t.stack.address, size: t.stack.size },
      suspendCount: t.suspendCount,
      priority: t.priority,
    };
    if (t.context) info.context = t.context;
    // The crashing thread's registers at the crash are in the exception record; the thread
    // list holds where the thread stood when the dump was written (often the dumper's wait).
    if (ex?.context && ex.threadId >>> 0 === t.id >>> 0) info.context = ex.context;
    const name = threadNames.get(t.id >>> 0);
    if (name !== undefined) info.name = name;
    threads.push(info);
    if (!(t.teb === t.teb) || t.teb === 0) continue;
    tebs.push(t.teb);
    const tebMapped = space.isMapped(t.teb, nativeBits === 64 ? 0x68 : 0x34);
    if (!tebMapped) {
      missingTebs.push(t.teb);
      continue;
    }
    if (peb === undefined) {
      const p = nativeBits === 64 ? space.ptr64(t.teb + TebOffsets.teb64Peb) : space.ptr32(t.teb + TebOffsets.teb32Peb);
      if (p === p && p !== 0) peb = p;
    }
    if (wow64Split) {
      const teb32 = findTeb32(space, t.teb);
      if (teb32 !== undefined) {
        info.teb32 = teb32;
        tebs32.push(teb32);
        if (peb32 === undefined) {
          const p = space.ptr32(teb32 + TebOffsets.teb32Peb);
          if (p === p && p !== 0) peb32 = p;
        }
      }
      const ctx = findWow64Context(space, t.teb);
      if (ctx) info.wow64Context = ctx;
      else wow64ContextMissing++;
    }
  }
  if (missingTebs.length > 0) {
    const shown = missingTebs.slice(0, 8).map((a) => formatAddress(a)).join(", ");
    b.diag(
      "MINIDUMP_TEB_NOT_CAPTURED",
      `${missingTebs.length} of ${file.threads.length} thread TEBs are not in the dump (${shown}${missingTebs.length > 8 ? ", ..." : ""})`,
      { address: missingTebs[0]!, where: "ThreadList" },
    );
  }
  if (wow64ContextMissing > 0) {
    b.diag(
      "MINIDUMP_WOW64_CONTEXT_UNREADABLE",
      `the 32-bit context of ${wow64ContextMissing} of ${file.threads.length} WoW64 threads was not found in captured memory`,
      { where: "ThreadList" },
    );
  }
  const checkPeb = (p: Address | undefined, bits: number): void => {
    if (p === undefined) {
      b.diag("MINIDUMP_PEB_NOT_CAPTURED", `the ${bits}-bit PEB address is unknown: no thread's TEB is captured`, { where: `PEB${bits}` });
    } else if (!space.isMapped(p, bits === 64 ? 0x100 : 0x80)) {
      b.diag("MINIDUMP_PEB_NOT_CAPTURED", `the ${bits}-bit PEB at ${formatAddress(p)} is not in the dump`, { address: p, where: `PEB${bits}` });
    }
  };
  if (file.threads.length > 0) {
    checkPeb(peb, nativeBits);
    if (wow64Split) checkPeb(peb32, 32);
  }

  // ---- views -------------------------------------------------------------------------------
  const views: ProcessView[] = [];
  const native: ProcessView = {
    bitness: nativeBits,
    role: "native",
    space,
    tebs,
    modules: modules.filter((m) => m.bitness === nativeBits),
  };
  if (peb !== undefined) native.peb = peb;
  views.push(native);
  if (wow64Split) {
    const v32: ProcessView = {
      bitness: 32,
      role: "wow64",
      space: space.withPointerSize(4),
      tebs: tebs32,
      modules: modules.filter((m) => m.bitness === 32),
    };
    if (peb32 !== undefined) v32.peb = peb32;
    views.push(v32);
  }

  // ---- summary -----------------------------------------------------------------------------
  const os: OsInfo = { major: sys?.major ?? 0, minor: sys?.minor ?? 0, build: sys?.build ?? 0 };
  if (sys?.servicePack) os.servicePack = sys.servicePack;
  if (file.miscInfo?.buildString) os.buildString = file.miscInfo.buildString;
  if (sys) {
    os.productType = sys.productType;
    os.platformId = sys.platformId;
  }
  let bytes = 0;
  const ranges = space.ranges();
  for (const r of ranges) bytes += r.size;
  const overlapping = overlapOf(file.memory);
  const revision = revisionOf(os.build, sys?.servicePack, file.miscInfo?.buildString);
  if (revision !== undefined) os.revision = revision;

  const data: TargetData & MinidumpTargetData = { minidump: file };
  let closed = false;
  const closeSource = options.closeSource ?? true;
  return {
    kind: "user",
    format: "minidump",
    file: { path: options.path ?? source.name, size: source.size },
    arch,
    os,
    wow64,
    views,
    modules,
    unloadedModules,
    threads,
    memory: { ranges: ranges.length, bytes, ...(overlapping.ranges > 0 ? { overlapping } : {}) },
    ...(ex ? { crash: describeException({ ...ex, parameters: ex.parametersExact }, modules, space) } : {}),
    ...(sys ? { cpu: cpuFacts(sys, file.miscInfo?.processorMaxMhz) } : {}),
    process: processFacts(file, modules),
    dumpType: `minidump (${file.header.flagNames.join(" | ")})`,
    diagnostics,
    data,
    close() {
      if (closed) return;
      closed = true;
      if (closeSource) source.close();
    },
  };
}

/** Breakpad/crashpad PlatformId values of non-Windows systems (SystemInfo.PlatformId). */
const OTHER_PLATFORMS: ReadonlyMap<number, string> = new Map([
  [0x8000, "Unix"],
  [0x8101, "macOS"],
  [0x8102, "iOS"],
  [0x8201, "Linux"],
  [0x8202, "Solaris"],
  [0x8203, "Android"],
  [0x8204, "PS3"],
  [0x8205, "Native Client"],
  [0x8206, "Fuchsia"],
]);

/** The platform of a non-Windows minidump (by PlatformId, else by Linux-only streams); undefined for Windows. */
export function minidumpPlatform(file: MinidumpFile): string | undefined {
  const id = file.systemInfo?.platformId;
  if (id !== undefined) {
    if (id <= 3) return undefined;
    return `${OTHER_PLATFORMS.get(id) ?? "a non-Windows system"} (SystemInfo PlatformId 0x${id.toString(16)})`;
  }
  const linux = file.streams.find((s) => s.type >= 0x47670003 && s.type <= 0x4767000a);
  return linux ? `Linux (${linux.name} stream, no SystemInfo)` : undefined;
}

function refuseOtherPlatforms(file: MinidumpFile, path: string): void {
  const platform = minidumpPlatform(file);
  if (platform === undefined) return;
  const writer = file.streams.some((s) => s.type === 0x43500001) ? "crashpad" : file.streams.some((s) => s.type >>> 16 === 0x4767) ? "breakpad" : "its writer";
  throw new InputError(
    "MINIDUMP_NOT_WINDOWS",
    `${path} is a minidump of ${platform}, written by ${writer}: leakscope reads Windows dumps only (its heaps are not Windows heaps)`,
    { file: path, where: "SystemInfo" },
  );
}

/** Ranges cut or dropped because they overlap an earlier-starting range, and the bytes lost. */
function overlapOf(memory: readonly { address: Address; size: number }[]): { ranges: number; bytes: number } {
  const sorted = memory.filter((r) => r.size > 0 && r.address === r.address).sort((a, b) => a.address - b.address);
  let prevEnd = -Infinity;
  let ranges = 0;
  let bytes = 0;
  for (const r of sorted) {
    if (r.address < prevEnd) {
      ranges++;
      bytes += Math.min(r.size, prevEnd - r.address);
    }
    prevEnd = Math.max(prevEnd, r.address + r.size);
  }
  return { ranges, bytes };
}

/**
 * The update revision: a CSDVersion of digits only (crashpad writes the UBR there), else the
 * number after the build in MiscInfo's build string (`16299.637.amd64fre...`,
 * `6.1.7601.18015 (...)`).
 */
export function revisionOf(build: number, servicePack: string | undefined, buildString: string | undefined): number | undefined {
  if (servicePack && /^\d{1,6}$/.test(servicePack.trim())) return Number(servicePack.trim());
  if (buildString) {
    const m = /^(?:\d+\.\d+\.)?(\d+)\.(\d+)/.exec(buildString.trim());
    if (m && Number(m[1]) === build) return Number(m[2]);
    const nt = /(\d+)\.(\d+)\.(\d+)\.(\d+)/.exec(buildString);
    if (nt && Number(nt[3]) === build) return Number(nt[4]);
  }
  return undefined;
}

function processFacts(file: MinidumpFile, modules: readonly ModuleInfo[]): ProcessFacts {
  const out: ProcessFacts = {};
  const misc = file.miscInfo;
  if (misc?.processId !== undefined) out.id = misc.processId;
  if (misc?.processCreateTime !== undefined && misc.processCreateTime > 0) out.createTime = misc.processCreateTime;
  if (misc?.processUserTime !== undefined) out.userSeconds = misc.processUserTime;
  if (misc?.processKernelTime !== undefined) out.kernelSeconds = misc.processKernelTime;
  const isExe = (m: ModuleInfo | undefined): boolean => m !== undefined && /\.exe$/i.test(m.name);
  const main = isExe(modules[0]) ? modules[0] : (modules.find(isExe) ?? modules[0]);
  if (main) out.mainModule = main.name;
  if (file.header.timestamp > 0) out.dumpTime = file.header.timestamp;
  return out;
}

/**
 * Open a minidump by path: {@link FileSource.open} plus {@link openMinidumpTarget}; the file is
 * closed when opening fails and by `target.close()` otherwise.
 */
export function openMinidumpFile(path: string, options: Omit<OpenMinidumpOptions, "closeSource"> & FileSourceOptions = {}): Target {
  const { blockSize, cacheBlocks, ...rest } = options;
  const fso: FileSourceOptions = {};
  if (blockSize !== undefined) fso.blockSize = blockSize;
  if (cacheBlocks !== undefined) fso.cacheBlocks = cacheBlocks;
  const source = FileSource.open(path, fso);
  try {
    return openMinidumpTarget(source, { ...rest, closeSource: true });
  } catch (e) {
    source.close();
    throw e;
  }
}

/** True when the first bytes carry the minidump signature `MDMP`. */
export function isMinidumpHead(head: Uint8Array): boolean {
  return head.length >= 4 && (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0 === MINIDUMP_SIGNATURE;
}

/**
 * The engine's reader for minidumps: tap it on `resolveReader`
 * (`hooks.resolveReader.tap("minidump", (p) => isMinidumpHead(p.head) ? minidumpReader() : undefined)`).
 */
export function minidumpReader(): InputReader {
  return {
    name: "minidump",
    open(probe: InputProbe): Target {
      return openMinidumpTarget(probe.source, { path: probe.path });
    },
  };
}
