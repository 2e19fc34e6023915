import * as fs from "node:fs";
import { MinidumpBlob, type U64, cstring, setU64, utf16 } from "./bytes.js";
import { type MinidumpContextSpec, type MinidumpX64Registers, type MinidumpX86Registers, minidumpContextBytes, minidumpX86Context } from "./context.js";

/** Stream type numbers (MINIDUMP_STREAM_TYPE). */
export const MinidumpStream = {
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
  UnloadedModuleList: 14,
  MiscInfo: 15,
  MemoryInfoList: 16,
  ThreadInfoList: 17,
  ThreadNames: 24,
} as const;

const ARCH_CODES = { x86: 0, x64: 9, arm64: 12 } as const;

export interface MinidumpSystemInfoSpec {
  /** `x86`, `x64`, `arm64`, or a raw PROCESSOR_ARCHITECTURE value. */
  arch: keyof typeof ARCH_CODES | number;
  major?: number;
  minor?: number;
  build?: number;
  /** Default 2 (VER_PLATFORM_WIN32_NT). */
  platformId?: number;
  /** Default 1 (workstation). */
  productType?: number;
  /** CSDVersion, e.g. `Service Pack 1`; omitted = no string (RVA 0). */
  servicePack?: string;
  cpus?: number;
  level?: number;
  revision?: number;
  suiteMask?: number;
  /** CPUID vendor for x86/x64 (12 characters). Default `GenuineIntel`. */
  vendorId?: string;
  /** CPUID leaf 1 EAX (family/model/stepping) written after the vendor (x86/x64). */
  cpuVersion?: number;
}

/** The main image of a laid-out process; `codeView` goes into its ModuleList record. */
export interface MinidumpMainImageSpec {
  path: string;
  base: number;
  size: number;
  codeView?: MinidumpCodeViewSpec;
}

export type MinidumpCodeViewSpec =
  | { guid: string; age: number; pdb: string }
  | { nb10: number; age: number; pdb: string }
  | Uint8Array;

export interface MinidumpModuleSpec {
  path: string;
  base: U64;
  size: number;
  timestamp?: number;
  checksum?: number;
  /** File version `a.b.c.d` (written to VS_FIXEDFILEINFO); omitted = no version info. */
  version?: string;
  productVersion?: string;
  codeView?: MinidumpCodeViewSpec;
}

export interface MinidumpUnloadedModuleSpec {
  path: string;
  base: U64;
  size: number;
  timestamp?: number;
  checksum?: number;
}

export interface MinidumpThreadSpec {
  id: number;
  teb?: U64;
  /** Stack bytes: also added as a captured memory range. */
  stack?: { address: U64; bytes: Uint8Array };
  context?: MinidumpContextSpec;
  suspendCount?: number;
  priorityClass?: number;
  priority?: number;
}

export interface MinidumpThreadInfoSpec {
  threadId: number;
  dumpFlags?: number;
  dumpError?: number;
  exitStatus?: number;
  createTime?: U64;
  exitTime?: U64;
  kernelTime?: U64;
  userTime?: U64;
  startAddress?: U64;
  affinity?: U64;
}

export interface MinidumpMemoryInfoSpec {
  base: U64;
  allocationBase?: U64;
  allocationProtect?: number;
  size: U64;
  /** Default MEM_COMMIT 0x1000. */
  state?: number;
  /** Default PAGE_READWRITE 4. */
  protect?: number;
  /** Default MEM_PRIVATE 0x20000. */
  type?: number;
}

export interface MinidumpMiscInfoSpec {
  pid?: number;
  createTime?: number;
  userTime?: number;
  kernelTime?: number;
  /** MINIDUMP_MISC_INFO level: 1 (24 bytes) .. 5 (1364 bytes). Default: 5 with a build string, else 3. */
  level?: 1 | 2 | 3 | 4 | 5;
  processorMaxMhz?: number;
  processorCurrentMhz?: number;
  buildString?: string;
  dbgBuildString?: string;
  processCookie?: number;
}

export interface MinidumpExceptionSpec {
  threadId: number;
  code: number;
  flags?: number;
  record?: U64;
  address: U64;
  parameters?: U64[];
  context?: MinidumpContextSpec;
}

export interface MinidumpHandleSpec {
  handle: U64;
  typeName?: string;
  objectName?: string;
  attributes?: number;
  grantedAccess?: number;
  handleCount?: number;
  pointerCount?: number;
}

export interface MinidumpBuilderOptions {
  /** MINIDUMP_TYPE flags. Default 0x2 (WithFullMemory) with Memory64List, else 0. */
  flags?: number;
  timestamp?: number;
  checksum?: number;
  /** Header Version field. Default 0xA793. */
  version?: number;
  /** Which list holds the memory. Default `Memory64List`. */
  memoryList?: "Memory64List" | "MemoryList";
  /** Which thread stream to write. Default `ThreadList`. */
  threadList?: "ThreadList" | "ThreadExList";
  /** HandleData descriptor size: 32 or 40 (with ObjectInfoRva). Default 40. */
  handleDescriptorSize?: 32 | 40;
}

/** Where things landed in the file, for tests that patch bytes. */
export interface MinidumpLayout {
  size: number;
  directoryRva: number;
  streams: { type: number; rva: number; size: number; directoryOffset: number }[];
  /** Captured ranges in file order. */
  memory: { address: U64; size: number; rva: number }[];
}

/** A captured range: bytes, or a generator for large synthetic dumps. */
interface Range {
  address: U64;
  size: number;
  bytes?: Uint8Array;
  fill?: (chunk: Uint8Array, offset: number) => void;
}

export interface MinidumpWow64ProcessSpec {
  /** Default 0x7efdb000 (Windows 7). */
  teb64?: number;
  /** Default teb64 + 0x2000. */
  teb32?: number;
  /** Default 0x7efdf000. */
  peb64?: number;
  /** Default 0x7efde000. */
  peb32?: number;
  threadId?: number;
  /** 32-bit main image (a PE32 header is written at its base). Default `C:\app\app.exe` at 0x400000. */
  mainImage?: MinidumpMainImageSpec;
  /** Registers of the 64-bit context (in wow64cpu). */
  context64?: Partial<MinidumpX64Registers>;
  /** The thread's WOW64_CONTEXT, placed where Windows 7 keeps it (TEB64 TlsSlots[1] + 4). */
  wow64Context?: Partial<MinidumpX86Registers>;
  /** Address of the page holding the WOW64_CONTEXT. Default teb64 - 0x1000. */
  wow64ContextPage?: number;
  /** Bytes reserved for each PEB. Default 0x1000. */
  pebSize?: number;
  /** Whether to set SystemInfo (x64, 6.1.7601 SP1) when none was set. Default true. */
  systemInfo?: boolean;
}

export interface MinidumpWow64Layout {
  teb64: number;
  teb32: number;
  peb64: number;
  peb32: number;
  threadId: number;
  /** Address of the WOW64_CONTEXT, when written. */
  wow64Context?: number;
  mainImage: MinidumpMainImageSpec;
  /** The captured bytes (live: write into them before build() to add heap lists, flags...). */
  teb64Bytes: Uint8Array;
  teb32Bytes: Uint8Array;
  peb64Bytes: Uint8Array;
  peb32Bytes: Uint8Array;
}

export interface MinidumpNativeProcessSpec {
  bitness: 32 | 64;
  /** Defaults: 64-bit TEB 0x7ff5ffdc000 (two pages) / PEB 0x7ff5ffdf000; 32-bit TEB 0x7ffdf000 / PEB 0x7ffde000. */
  teb?: number;
  peb?: number;
  threadId?: number;
  mainImage?: MinidumpMainImageSpec;
  context?: MinidumpContextSpec;
  pebSize?: number;
  /** Whether to set SystemInfo (Windows 10 19045) when none was set. Default true. */
  systemInfo?: boolean;
}

export interface MinidumpNativeProcessLayout {
  teb: number;
  peb: number;
  threadId: number;
  mainImage: MinidumpMainImageSpec;
  tebBytes: Uint8Array;
  pebBytes: Uint8Array;
}

function versionWords(v: string): [number, number] {
  const p = v.split(".").map((x) => Number(x) & 0xffff);
  return [(((p[0] ?? 0) << 16) | (p[1] ?? 0)) >>> 0, (((p[2] ?? 0) << 16) | (p[3] ?? 0)) >>> 0];
}

/** A GUID `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in its 16-byte in-memory layout (Data1..3 little-endian). */
export function guidBytes(guid: string): Uint8Array {
  const hex = guid.replace(/[{}-]/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`bad GUID ${guid}`);
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  v.setUint32(0, parseInt(hex.slice(0, 8), 16), true);
  v.setUint16(4, parseInt(hex.slice(8, 12), 16), true);
  v.setUint16(6, parseInt(hex.slice(12, 16), 16), true);
  for (let i = 0; i < 8; i++) out[8 + i] = parseInt(hex.slice(16 + i * 2, 18 + i * 2), 16);
  return out;
}

function codeViewBytes(cv: MinidumpCodeViewSpec): Uint8Array {
  if (cv instanceof Uint8Array) return cv;
  const name = cstring(cv.pdb);
  if ("guid" in cv) {
    const out = new Uint8Array(24 + name.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, 0x53445352, true);
    out.set(guidBytes(cv.guid), 4);
    v.setUint32(20, cv.age, true);
    out.set(name, 24);
    return out;
  }
  const out = new Uint8Array(16 + name.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0x3031424e, true);
  v.setUint32(8, cv.nb10, true);
  v.setUint32(12, cv.age, true);
  out.set(name, 16);
  return out;
}

/**
 * A minimal but consistent PE header for a mapped image: MZ, e_lfanew 0x80, PE, machine, no
 * sections, and a full optional header (magic, ImageBase, SizeOfImage, SizeOfHeaders 0x400, 16
 * empty data directories), as a loader leaves it in memory.
 */
export function minidumpPeHeader(bitness: 32 | 64, size = 0x1000, image: { base?: number; sizeOfImage?: number } = {}): Uint8Array {
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  const is64 = bitness === 64;
  v.setUint16(0, 0x5a4d, true);
  v.setUint32(0x3c, 0x80, true);
  v.setUint32(0x80, 0x4550, true);
  v.setUint16(0x84, is64 ? 0x8664 : 0x14c, true);
  v.setUint16(0x86, 0, true); // NumberOfSections
  v.setUint16(0x94, is64 ? 0xf0 : 0xe0, true); // SizeOfOptionalHeader
  v.setUint16(0x96, is64 ? 0x0022 : 0x0102, true); // executable, large-address-aware / 32-bit machine
  const o = 0x98;
  v.setUint16(o, is64 ? 0x20b : 0x10b, true);
  const base = image.base ?? (is64 ? 0x140000000 : 0x400000);
  if (is64) {
    v.setUint32(o + 24, base % 0x100000000, true);
    v.setUint32(o + 28, Math.floor(base / 0x100000000), true);
  } else v.setUint32(o + 28, base >>> 0, true);
  v.setUint32(o + 32, 0x1000, true); // SectionAlignment
  v.setUint32(o + 36, 0x200, true); // FileAlignment
  v.setUint16(o + 40, 6, true); // MajorOperatingSystemVersion
  v.setUint16(o + 48, 6, true); // MajorSubsystemVersion
  v.setUint32(o + 56, Math.max(0x1000, image.sizeOfImage ?? 0x20000), true); // SizeOfImage
  v.setUint32(o + 60, 0x400, true); // SizeOfHeaders
  v.setUint16(o + 68, 3, true); // Subsystem: console
  v.setUint32(o + (is64 ? 108 : 92), 16, true); // NumberOfRvaAndSizes
  return out;
}

/**
 * Writes Windows minidumps (MDMP) for tests and benchmarks: every stream kind leakscope reads,
 * memory ranges in a MemoryList or Memory64List, threads with x86/x64/ARM64 contexts, and
 * process layouts (TEB/PEB, WoW64). Plain bytes: no dependency on @leakscope/core.
 *
 * ```ts
 * const b = new MinidumpBuilder().systemInfo({ arch: "x64", major: 10, build: 19045 });
 * b.memory(0x10000, new Uint8Array(0x1000));
 * const bytes = b.build();
 * ```
 *
 * Byte arrays passed in are kept by reference until {@link build} / {@link writeTo}.
 */
export class MinidumpBuilder {
  private readonly options: MinidumpBuilderOptions;
  private sys: MinidumpSystemInfoSpec | undefined;
  private readonly modules: MinidumpModuleSpec[] = [];
  private readonly unloaded: MinidumpUnloadedModuleSpec[] = [];
  private readonly threads: { spec: MinidumpThreadSpec; stackRange: Range | undefined }[] = [];
  private readonly threadInfos: MinidumpThreadInfoSpec[] = [];
  private readonly ranges: Range[] = [];
  private readonly memInfo: MinidumpMemoryInfoSpec[] = [];
  private misc: MinidumpMiscInfoSpec | undefined;
  private exc: MinidumpExceptionSpec | undefined;
  private names: { threadId: number; name: string }[] = [];
  private handleList: MinidumpHandleSpec[] | undefined;
  private readonly comments: { text: string; wide: boolean }[] = [];
  private readonly raw: { type: number; bytes: Uint8Array }[] = [];
  private moduleListForced = false;
  private threadListForced = false;

  constructor(options: MinidumpBuilderOptions = {}) {
    this.options = options;
  }

  get hasSystemInfo(): boolean {
    return this.sys !== undefined;
  }

  systemInfo(spec: MinidumpSystemInfoSpec): this {
    this.sys = spec;
    return this;
  }

  module(spec: MinidumpModuleSpec): this {
    this.modules.push(spec);
    return this;
  }

  /** Write a ModuleList even when no module was added (an empty list). */
  emptyModuleList(): this {
    this.moduleListForced = true;
    return this;
  }

  unloadedModule(spec: MinidumpUnloadedModuleSpec): this {
    this.unloaded.push(spec);
    return this;
  }

  thread(spec: MinidumpThreadSpec): this {
    let stackRange: Range | undefined;
    if (spec.stack) {
      stackRange = { address: spec.stack.address, size: spec.stack.bytes.length, bytes: spec.stack.bytes };
      this.ranges.push(stackRange);
    }
    this.threads.push({ spec, stackRange });
    return this;
  }

  /** Write a thread list even when no thread was added. */
  emptyThreadList(): this {
    this.threadListForced = true;
    return this;
  }

  threadInfo(spec: MinidumpThreadInfoSpec): this {
    this.threadInfos.push(spec);
    return this;
  }

  /** Capture `bytes` at `address` (one MemoryList / Memory64List range). */
  memory(address: U64, bytes: Uint8Array): this {
    this.ranges.push({ address, size: bytes.length, bytes });
    return this;
  }

  /**
   * Capture `size` bytes at `address` produced on demand: `fill(chunk, offset)` writes the range's
   * bytes from `offset` into `chunk` (zeroed, at most 1 MiB). For GB-scale dumps with {@link writeTo}.
   */
  memoryFill(address: U64, size: number, fill: (chunk: Uint8Array, offset: number) => void): this {
    this.ranges.push({ address, size, fill });
    return this;
  }

  memoryInfo(spec: MinidumpMemoryInfoSpec): this {
    this.memInfo.push(spec);
    return this;
  }

  miscInfo(spec: MinidumpMiscInfoSpec): this {
    this.misc = spec;
    return this;
  }

  exception(spec: MinidumpExceptionSpec): this {
    this.exc = spec;
    return this;
  }

  /** Name a thread (one ThreadNames stream entry, as SetThreadDescription records it). */
  threadName(threadId: number, name: string): this {
    this.names.push({ threadId, name });
    return this;
  }

  handles(list: MinidumpHandleSpec[]): this {
    this.handleList = list;
    return this;
  }

  comment(text: string, options: { wide?: boolean } = {}): this {
    this.comments.push({ text, wide: options.wide ?? false });
    return this;
  }

  /** Add a stream with any type and bytes (unknown streams, hand-made corrupt streams). */
  rawStream(type: number, bytes: Uint8Array): this {
    this.raw.push({ type, bytes });
    return this;
  }

  /**
   * Lay out a WoW64 process as Windows 7 does: TEB64 whose first pointer is the TEB32, PEB64 at
   * TEB64+0x60, PEB32 at TEB32+0x30, the wow64*.dll and System32 ntdll modules (64-bit), the
   * SysWOW64 ntdll and a 32-bit main image with a PE32 header, and one thread. Returns the
   * addresses and the live byte arrays (write PEB fields into them before building).
   */
  wow64Process(spec: MinidumpWow64ProcessSpec = {}): MinidumpWow64Layout {
    const teb64 = spec.teb64 ?? 0x7efdb000;
    const teb32 = spec.teb32 ?? teb64 + 0x2000;
    const peb64 = spec.peb64 ?? 0x7efdf000;
    const peb32 = spec.peb32 ?? 0x7efde000;
    const threadId = spec.threadId ?? 0x1234;
    const pebSize = spec.pebSize ?? 0x1000;
    const mainImage = spec.mainImage ?? { path: "C:\\app\\app.exe", base: 0x400000, size: 0x20000 };
    if ((spec.systemInfo ?? true) && !this.sys) {
      this.systemInfo({ arch: "x64", major: 6, minor: 1, build: 7601, servicePack: "Service Pack 1", cpus: 4 });
    }
    const teb64Bytes = new Uint8Array(0x2000);
    const t64 = new DataView(teb64Bytes.buffer);
    setU64(t64, 0x0, teb32); // NtTib.ExceptionList -> TEB32
    setU64(t64, 0x30, teb64); // NtTib.Self
    setU64(t64, 0x60, peb64);
    const teb32Bytes = new Uint8Array(0x1000);
    const t32 = new DataView(teb32Bytes.buffer);
    t32.setUint32(0x18, teb32, true); // NtTib.Self
    t32.setUint32(0x30, peb32, true);
    t32.setUint32(0x24, 0, true);
    const peb64Bytes = new Uint8Array(pebSize);
    const peb32Bytes = new Uint8Array(pebSize);
    const layout: MinidumpWow64Layout = { teb64, teb32, peb64, peb32, threadId, mainImage, teb64Bytes, teb32Bytes, peb64Bytes, peb32Bytes };
    if (spec.wow64Context) {
      const page = spec.wow64ContextPage ?? teb64 - 0x1000;
      const bytes = new Uint8Array(0x1000);
      bytes.set(minidumpX86Context(spec.wow64Context), 4);
      setU64(t64, 0x1488, page); // TlsSlots[1]
      this.memory(page, bytes);
      layout.wow64Context = page + 4;
    }
    this.memory(teb64, teb64Bytes).memory(teb32, teb32Bytes).memory(peb32, peb32Bytes).memory(peb64, peb64Bytes);
    this.memory(mainImage.base, minidumpPeHeader(32, 0x1000, { base: mainImage.base, sizeOfImage: mainImage.size }));
    this.module({ path: mainImage.path, base: mainImage.base, size: mainImage.size, ...(mainImage.codeView ? { codeView: mainImage.codeView } : {}) });
    this.module({ path: "C:\\Windows\\System32\\ntdll.dll", base: 0x77ae0000, size: 0x1a9000, version: "6.1.7601.19135" });
    this.module({ path: "C:\\Windows\\System32\\wow64.dll", base: 0x755b0000, size: 0x3f000, version: "6.1.7601.19135" });
    this.module({ path: "C:\\Windows\\System32\\wow64win.dll", base: 0x75550000, size: 0x5c000, version: "6.1.7601.19135" });
    this.module({ path: "C:\\Windows\\System32\\wow64cpu.dll", base: 0x75540000, size: 0x8000, version: "6.1.7601.19135" });
    this.module({ path: "C:\\Windows\\SysWOW64\\ntdll.dll", base: 0x77cc0000, size: 0x180000, version: "6.1.7601.19135" });
    this.thread({ id: threadId, teb: teb64, context: { arch: "x64", registers: spec.context64 ?? {} } });
    return layout;
  }

  /** Lay out a native 32- or 64-bit process: TEB (Self, PEB pointer), PEB, main image, one thread. */
  nativeProcess(spec: MinidumpNativeProcessSpec): MinidumpNativeProcessLayout {
    const is64 = spec.bitness === 64;
    const teb = spec.teb ?? (is64 ? 0x7ff5ffdc000 : 0x7ffdf000);
    const peb = spec.peb ?? (is64 ? 0x7ff5ffdf000 : 0x7ffde000);
    const threadId = spec.threadId ?? 0x1234;
    const mainImage = spec.mainImage ?? { path: "C:\\app\\app.exe", base: is64 ? 0x7ff700000000 : 0x400000, size: 0x20000 };
    if ((spec.systemInfo ?? true) && !this.sys) {
      this.systemInfo({ arch: is64 ? "x64" : "x86", major: 10, minor: 0, build: 19045, cpus: 4 });
    }
    const tebBytes = new Uint8Array(is64 ? 0x2000 : 0x1000);
    const tv = new DataView(tebBytes.buffer);
    if (is64) {
      setU64(tv, 0x30, teb);
      setU64(tv, 0x60, peb);
    } else {
      tv.setUint32(0x18, teb, true);
      tv.setUint32(0x30, peb, true);
    }
    const pebBytes = new Uint8Array(spec.pebSize ?? 0x1000);
    this.memory(teb, tebBytes).memory(peb, pebBytes).memory(mainImage.base, minidumpPeHeader(spec.bitness, 0x1000, { base: mainImage.base, sizeOfImage: mainImage.size }));
    this.module({ path: mainImage.path, base: mainImage.base, size: mainImage.size });
    this.module({ path: "C:\\Windows\\System32\\ntdll.dll", base: is64 ? 0x7ffa00000000 : 0x77000000, size: 0x1f0000 });
    this.thread({ id: threadId, teb, context: spec.context ?? { arch: is64 ? "x64" : "x86", registers: {} } });
    return { teb, peb, threadId, mainImage, tebBytes, pebBytes };
  }

  // ---- output ----------------------------------------------------------------------------------

  /** Total bytes of captured memory. */
  get memoryBytes(): number {
    let n = 0;
    for (const r of this.ranges) n += r.size;
    return n;
  }

  /** The whole dump in one array (memory included). For dumps up to a few hundred MiB. */
  build(): Uint8Array {
    return this.buildWithLayout().bytes;
  }

  buildWithLayout(): { bytes: Uint8Array; layout: MinidumpLayout } {
    const { meta, layout } = this.layoutAll();
    const out = new Uint8Array(layout.size);
    let off = 0;
    for (const c of meta.chunks) {
      out.set(c, off);
      off += c.length;
    }
    for (const r of this.ranges) {
      if (r.bytes) out.set(r.bytes, off);
      else if (r.fill) {
        for (let done = 0; done < r.size; ) {
          const n = Math.min(1 << 20, r.size - done);
          r.fill(out.subarray(off + done, off + done + n), done);
          done += n;
        }
      }
      off += r.size;
    }
    return { bytes: out, layout };
  }

  /**
   * Write the dump to `path`, streaming memory ranges straight to the file (no second copy;
   * generated ranges are produced 1 MiB at a time). Works for files larger than 4 GiB.
   */
  writeTo(path: string): MinidumpLayout {
    const { meta, layout } = this.layoutAll();
    const fd = fs.openSync(path, "w");
    try {
      let pos = 0;
      const write = (b: Uint8Array): void => {
        let done = 0;
        while (done < b.length) {
          done += fs.writeSync(fd, b, done, b.length - done, pos + done);
        }
        pos += b.length;
      };
      for (const c of meta.chunks) write(c);
      let chunk: Uint8Array | undefined;
      for (const r of this.ranges) {
        if (r.bytes) write(r.bytes);
        else if (r.fill) {
          chunk ??= new Uint8Array(1 << 20);
          for (let done = 0; done < r.size; ) {
            const n = Math.min(chunk.length, r.size - done);
            const view = chunk.subarray(0, n);
            view.fill(0);
            r.fill(view, done);
            write(view);
            done += n;
          }
        }
      }
    } finally {
      fs.closeSync(fd);
    }
    return layout;
  }

  /** Two passes: the metadata size does not depend on the memory's RVA, only its values do. */
  private layoutAll(): { meta: MinidumpBlob; layout: MinidumpLayout } {
    const first = this.emit(0);
    const second = this.emit(first.meta.size);
    if (second.meta.size !== first.meta.size) throw new Error("minidump layout is not stable");
    return second;
  }

  private streamTypes(): number[] {
    const o = this.options;
    const types: number[] = [];
    if (this.threads.length > 0 || this.threadListForced) types.push(o.threadList === "ThreadExList" ? MinidumpStream.ThreadExList : MinidumpStream.ThreadList);
    if (this.modules.length > 0 || this.moduleListForced) types.push(MinidumpStream.ModuleList);
    if (this.unloaded.length > 0) types.push(MinidumpStream.UnloadedModuleList);
    if (this.ranges.length > 0) types.push(o.memoryList === "MemoryList" ? MinidumpStream.MemoryList : MinidumpStream.Memory64List);
    if (this.exc) types.push(MinidumpStream.Exception);
    if (this.sys) types.push(MinidumpStream.SystemInfo);
    if (this.misc) types.push(MinidumpStream.MiscInfo);
    if (this.memInfo.length > 0) types.push(MinidumpStream.MemoryInfoList);
    if (this.threadInfos.length > 0) types.push(MinidumpStream.ThreadInfoList);
    if (this.handleList) types.push(MinidumpStream.HandleData);
    if (this.names.length > 0) types.push(MinidumpStream.ThreadNames);
    for (const c of this.comments) types.push(c.wide ? MinidumpStream.CommentW : MinidumpStream.CommentA);
    return types;
  }

  private emit(memBase: number): { meta: MinidumpBlob; layout: MinidumpLayout } {
    const o = this.options;
    const listed = this.streamTypes();
    const types = listed.concat(this.raw.map((r) => r.type));
    const meta = new MinidumpBlob(0);
    const header = meta.reserve(32);
    const dir = meta.reserve(types.length * 12);
    const directoryRva = dir.rva;

    // Memory RVAs: contiguous from memBase in range order.
    const rangeRva = new Map<Range, number>();
    const memoryLayout: MinidumpLayout["memory"] = [];
    let cur = memBase;
    for (const r of this.ranges) {
      rangeRva.set(r, cur);
      memoryLayout.push({ address: r.address, size: r.size, rva: cur });
      cur += r.size;
    }

    const str = (text: string): number => {
      const body = utf16(text);
      const b = new Uint8Array(4 + body.length + 2);
      new DataView(b.buffer).setUint32(0, body.length, true);
      b.set(body, 4);
      return meta.add(b);
    };

    const streams: MinidumpLayout["streams"] = [];
    const entries: { type: number; rva: number; size: number }[] = [];
    let comment = 0;
    types.forEach((type, index) => {
      let rva = 0;
      let size = 0;
      const put = (bytes: Uint8Array): void => {
        rva = meta.add(bytes, 8);
        size = bytes.length;
      };
      if (index >= listed.length) {
        put(this.raw[index - listed.length]!.bytes);
        entries.push({ type, rva, size });
        return;
      }
      switch (type) {
        case MinidumpStream.ThreadList:
        case MinidumpStream.ThreadExList: {
          const entry = type === MinidumpStream.ThreadExList ? 64 : 48;
          const ctx = this.threads.map((t) => (t.spec.context ? meta.add(minidumpContextBytes(t.spec.context), 16) : 0));
          const ctxSize = this.threads.map((t) => (t.spec.context ? minidumpContextBytes(t.spec.context).length : 0));
          const body = new Uint8Array(4 + this.threads.length * entry);
          const v = new DataView(body.buffer);
          v.setUint32(0, this.threads.length, true);
          this.threads.forEach((t, i) => {
            const at = 4 + i * entry;
            const s = t.spec;
            v.setUint32(at, s.id, true);
            v.setUint32(at + 4, s.suspendCount ?? 0, true);
            v.setUint32(at + 8, s.priorityClass ?? 0x20, true);
            v.setUint32(at + 12, s.priority ?? 0, true);
            setU64(v, at + 16, s.teb ?? 0);
            if (t.stackRange) {
              setU64(v, at + 24, t.stackRange.address);
              v.setUint32(at + 32, t.stackRange.size, true);
              v.setUint32(at + 36, rangeRva.get(t.stackRange)!, true);
            }
            v.setUint32(at + 40, ctxSize[i]!, true);
            v.setUint32(at + 44, ctx[i]!, true);
          });
          put(body);
          break;
        }
        case MinidumpStream.ModuleList: {
          const names = this.modules.map((m) => str(m.path));
          const cvs = this.modules.map((m) => (m.codeView ? codeViewBytes(m.codeView) : undefined));
          const cvRva = cvs.map((c) => (c ? meta.add(c) : 0));
          const body = new Uint8Array(4 + this.modules.length * 108);
          const v = new DataView(body.buffer);
          v.setUint32(0, this.modules.length, true);
          this.modules.forEach((m, i) => {
            const at = 4 + i * 108;
            setU64(v, at, m.base);
            v.setUint32(at + 8, m.size, true);
            v.setUint32(at + 12, m.checksum ?? 0, true);
            v.setUint32(at + 16, m.timestamp ?? 0, true);
            v.setUint32(at + 20, names[i]!, true);
            if (m.version !== undefined) {
              const [ms, ls] = versionWords(m.version);
              const [pms, pls] = versionWords(m.productVersion ?? m.version);
              v.setUint32(at + 24, 0xfeef04bd, true);
              v.setUint32(at + 28, 0x10000, true);
              v.setUint32(at + 32, ms, true);
              v.setUint32(at + 36, ls, true);
              v.setUint32(at + 40, pms, true);
              v.setUint32(at + 44, pls, true);
            }
            v.setUint32(at + 76, cvs[i]?.length ?? 0, true);
            v.setUint32(at + 80, cvRva[i]!, true);
          });
          put(body);
          break;
        }
        case MinidumpStream.ThreadNames: {
          const rvas = this.names.map((n) => str(n.name));
          const body = new Uint8Array(4 + this.names.length * 12);
          const v = new DataView(body.buffer);
          v.setUint32(0, this.names.length, true);
          this.names.forEach((n, i) => {
            v.setUint32(4 + i * 12, n.threadId, true);
            setU64(v, 8 + i * 12, rvas[i]!);
          });
          put(body);
          break;
        }
        case MinidumpStream.UnloadedModuleList: {
          const names = this.unloaded.map((m) => str(m.path));
          const body = new Uint8Array(12 + this.unloaded.length * 24);
          const v = new DataView(body.buffer);
          v.setUint32(0, 12, true);
          v.setUint32(4, 24, true);
          v.setUint32(8, this.unloaded.length, true);
          this.unloaded.forEach((m, i) => {
            const at = 12 + i * 24;
            setU64(v, at, m.base);
            v.setUint32(at + 8, m.size, true);
            v.setUint32(at + 12, m.checksum ?? 0, true);
            v.setUint32(at + 16, m.timestamp ?? 0, true);
            v.setUint32(at + 20, names[i]!, true);
          });
          put(body);
          break;
        }
        case MinidumpStream.MemoryList: {
          const body = new Uint8Array(4 + this.ranges.length * 16);
          const v = new DataView(body.buffer);
          v.setUint32(0, this.ranges.length, true);
          this.ranges.forEach((r, i) => {
            const at = 4 + i * 16;
            setU64(v, at, r.address);
            v.setUint32(at + 8, r.size, true);
            v.setUint32(at + 12, rangeRva.get(r)!, true);
          });
          put(body);
          break;
        }
        case MinidumpStream.Memory64List: {
          const body = new Uint8Array(16 + this.ranges.length * 16);
          const v = new DataView(body.buffer);
          setU64(v, 0, this.ranges.length);
          setU64(v, 8, memBase);
          this.ranges.forEach((r, i) => {
            setU64(v, 16 + i * 16, r.address);
            setU64(v, 24 + i * 16, r.size);
          });
          put(body);
          break;
        }
        case MinidumpStream.Exception: {
          const e = this.exc!;
          const ctx = e.context ? minidumpContextBytes(e.context) : undefined;
          const ctxRva = ctx ? meta.add(ctx, 16) : 0;
          const body = new Uint8Array(168);
          const v = new DataView(body.buffer);
          v.setUint32(0, e.threadId, true);
          v.setUint32(8, e.code >>> 0, true);
          v.setUint32(12, e.flags ?? 0, true);
          setU64(v, 16, e.record ?? 0);
          setU64(v, 24, e.address);
          const params = (e.parameters ?? []).slice(0, 15);
          v.setUint32(32, params.length, true);
          params.forEach((p, i) => setU64(v, 40 + i * 8, p));
          v.setUint32(160, ctx?.length ?? 0, true);
          v.setUint32(164, ctxRva, true);
          put(body);
          break;
        }
        case MinidumpStream.SystemInfo: {
          const s = this.sys!;
          const csd = s.servicePack !== undefined ? str(s.servicePack) : 0;
          const body = new Uint8Array(56);
          const v = new DataView(body.buffer);
          const arch = typeof s.arch === "number" ? s.arch : ARCH_CODES[s.arch];
          v.setUint16(0, arch, true);
          v.setUint16(2, s.level ?? 6, true);
          v.setUint16(4, s.revision ?? 0, true);
          v.setUint8(6, s.cpus ?? 4);
          v.setUint8(7, s.productType ?? 1);
          v.setUint32(8, s.major ?? 10, true);
          v.setUint32(12, s.minor ?? 0, true);
          v.setUint32(16, s.build ?? 19045, true);
          v.setUint32(20, s.platformId ?? 2, true);
          v.setUint32(24, csd, true);
          v.setUint16(28, s.suiteMask ?? 0x100, true);
          if (arch === 0 || arch === 9) body.set(Buffer.from((s.vendorId ?? "GenuineIntel").padEnd(12, "\0").slice(0, 12), "latin1"), 32);
          if ((arch === 0 || arch === 9) && s.cpuVersion !== undefined) v.setUint32(44, s.cpuVersion, true);
          put(body);
          break;
        }
        case MinidumpStream.MiscInfo: {
          const m = this.misc!;
          const level = m.level ?? (m.buildString !== undefined ? 5 : 3);
          const sizes = { 1: 24, 2: 44, 3: 232, 4: 832, 5: 1364 } as const;
          const body = new Uint8Array(sizes[level]);
          const v = new DataView(body.buffer);
          let flags = 0;
          v.setUint32(0, body.length, true);
          if (m.pid !== undefined) {
            flags |= 0x1;
            v.setUint32(8, m.pid, true);
          }
          if (m.createTime !== undefined || m.userTime !== undefined || m.kernelTime !== undefined) {
            flags |= 0x2;
            v.setUint32(12, m.createTime ?? 0, true);
            v.setUint32(16, m.userTime ?? 0, true);
            v.setUint32(20, m.kernelTime ?? 0, true);
          }
          if (level >= 2 && (m.processorMaxMhz !== undefined || m.processorCurrentMhz !== undefined)) {
            flags |= 0x4;
            v.setUint32(24, m.processorMaxMhz ?? 0, true);
            v.setUint32(28, m.processorCurrentMhz ?? 0, true);
          }
          if (level >= 4 && (m.buildString !== undefined || m.dbgBuildString !== undefined)) {
            flags |= 0x100;
            body.set(utf16((m.buildString ?? "").slice(0, 259)), 232);
            body.set(utf16((m.dbgBuildString ?? "").slice(0, 39)), 752);
          }
          if (level >= 5 && m.processCookie !== undefined) {
            flags |= 0x200;
            v.setUint32(1360, m.processCookie, true);
          }
          v.setUint32(4, flags, true);
          put(body);
          break;
        }
        case MinidumpStream.MemoryInfoList: {
          const body = new Uint8Array(16 + this.memInfo.length * 48);
          const v = new DataView(body.buffer);
          v.setUint32(0, 16, true);
          v.setUint32(4, 48, true);
          setU64(v, 8, this.memInfo.length);
          this.memInfo.forEach((m, i) => {
            const at = 16 + i * 48;
            setU64(v, at, m.base);
            setU64(v, at + 8, m.allocationBase ?? m.base);
            v.setUint32(at + 16, m.allocationProtect ?? 4, true);
            setU64(v, at + 24, m.size);
            v.setUint32(at + 32, m.state ?? 0x1000, true);
            v.setUint32(at + 36, m.protect ?? 4, true);
            v.setUint32(at + 40, m.type ?? 0x20000, true);
          });
          put(body);
          break;
        }
        case MinidumpStream.ThreadInfoList: {
          const body = new Uint8Array(12 + this.threadInfos.length * 64);
          const v = new DataView(body.buffer);
          v.setUint32(0, 12, true);
          v.setUint32(4, 64, true);
          v.setUint32(8, this.threadInfos.length, true);
          this.threadInfos.forEach((t, i) => {
            const at = 12 + i * 64;
            v.setUint32(at, t.threadId, true);
            v.setUint32(at + 4, t.dumpFlags ?? 0, true);
            v.setUint32(at + 8, t.dumpError ?? 0, true);
            v.setUint32(at + 12, t.exitStatus ?? 0, true);
            setU64(v, at + 16, t.createTime ?? 0);
            setU64(v, at + 24, t.exitTime ?? 0);
            setU64(v, at + 32, t.kernelTime ?? 0);
            setU64(v, at + 40, t.userTime ?? 0);
            setU64(v, at + 48, t.startAddress ?? 0);
            setU64(v, at + 56, t.affinity ?? 0);
          });
          put(body);
          break;
        }
        case MinidumpStream.HandleData: {
          const list = this.handleList!;
          const dsize = o.handleDescriptorSize ?? 40;
          const typeNames = list.map((h) => (h.typeName !== undefined ? str(h.typeName) : 0));
          const objNames = list.map((h) => (h.objectName !== undefined ? str(h.objectName) : 0));
          const body = new Uint8Array(16 + list.length * dsize);
          const v = new DataView(body.buffer);
          v.setUint32(0, 16, true);
          v.setUint32(4, dsize, true);
          v.setUint32(8, list.length, true);
          list.forEach((h, i) => {
            const at = 16 + i * dsize;
            setU64(v, at, h.handle);
            v.setUint32(at + 8, typeNames[i]!, true);
            v.setUint32(at + 12, objNames[i]!, true);
            v.setUint32(at + 16, h.attributes ?? 0, true);
            v.setUint32(at + 20, h.grantedAccess ?? 0, true);
            v.setUint32(at + 24, h.handleCount ?? 1, true);
            v.setUint32(at + 28, h.pointerCount ?? 1, true);
          });
          put(body);
          break;
        }
        case MinidumpStream.CommentA:
        case MinidumpStream.CommentW: {
          const c = this.comments[comment++]!;
          if (c.wide) {
            const body = utf16(c.text);
            const b = new Uint8Array(body.length + 2);
            b.set(body, 0);
            put(b);
          } else put(cstring(c.text, "latin1"));
          break;
        }
        default:
          break;
      }
      entries.push({ type, rva, size });
    });
    types.forEach((_, i) => {
      const e = entries[i]!;
      dir.view.setUint32(i * 12, e.type, true);
      dir.view.setUint32(i * 12 + 4, e.size, true);
      dir.view.setUint32(i * 12 + 8, e.rva, true);
      streams.push({ ...e, directoryOffset: directoryRva + i * 12 });
    });
    meta.align(16);
    const hv = header.view;
    hv.setUint32(0, 0x504d444d, true);
    hv.setUint32(4, o.version ?? 0xa793, true);
    hv.setUint32(8, types.length, true);
    hv.setUint32(12, directoryRva, true);
    hv.setUint32(16, o.checksum ?? 0, true);
    hv.setUint32(20, o.timestamp ?? 0x5f000000, true);
    const defaultFlags = (o.memoryList ?? "Memory64List") === "Memory64List" && this.ranges.length > 0 ? 0x2 : 0;
    setU64(hv, 24, o.flags ?? defaultFlags);
    return { meta, layout: { size: meta.size + this.memoryBytes, directoryRva, streams, memory: memoryLayout } };
  }
}
