import { type Address, addressFromParts, formatAddress } from "../address.js";
import { parseCodeView } from "../model/codeview.js";
import type { DiagnosticLocation, Diagnostics } from "../diagnostics.js";
import { DumpFormatError, InputError } from "../errors.js";
import { type ByteSource, readBytes } from "../io/byte-source.js";
import type { FileRange } from "../memory/address-space.js";
import type { Arch, CodeViewInfo, ThreadContext } from "../model/target.js";
import { type MinidumpCode, minidumpCodes } from "./codes.js";
import {
  MINIDUMP_DIRECTORY_ENTRY_SIZE,
  MINIDUMP_HEADER_SIZE,
  MINIDUMP_SIGNATURE,
  MINIDUMP_VERSION,
  ProcessorArchitecture,
  MinidumpStreamType,
  isKnownMinidumpStreamType,
  minidumpTypeNames,
  minidumpStreamTypeName,
} from "./constants.js";
import { u64 } from "./bytes.js";
import { parseContext } from "./context.js";
import { readProcessVmCounters, readSystemMemoryInfo } from "./process-streams.js";
import type {
  MinidumpException,
  MinidumpFile,
  MinidumpHandle,
  MinidumpHandleData,
  MinidumpHeader,
  MinidumpMemoryInfo,
  MinidumpMiscInfo,
  MinidumpModule,
  MinidumpStreamEntry,
  MinidumpSystemInfo,
  MinidumpThread,
  MinidumpThreadInfo,
  MinidumpThreadName,
  MinidumpUnloadedModule,
} from "./types.js";

/** Longest MINIDUMP_STRING read, in bytes (paths are at most 32,767 UTF-16 units). */
const MAX_STRING_BYTES = 65536;
/** Longest CodeView record, context or comment read. */
const MAX_RECORD_BYTES = 65536;
const MAX_COMMENT_BYTES = 1 << 20;

/** A bounded slice of the file: `view` covers [offset, offset + length). */
interface Region {
  offset: number;
  length: number;
  view: DataView;
  bytes: Uint8Array;
}

function archOf(processorArchitecture: number): Arch {
  switch (processorArchitecture) {
    case ProcessorArchitecture.x86:
    case ProcessorArchitecture.ia32OnWin64:
    case ProcessorArchitecture.ia32OnArm64:
      return "x86";
    case ProcessorArchitecture.amd64:
      return "x64";
    case ProcessorArchitecture.arm64:
      return "arm64";
    case ProcessorArchitecture.arm:
    case ProcessorArchitecture.arm32OnWin64:
      return "arm";
    case ProcessorArchitecture.ia64:
      return "ia64";
    default:
      return "unknown";
  }
}

function hex(n: number): string {
  return "0x" + n.toString(16);
}

/**
 * Reads the structures of one minidump. Every read is bounded by the stream's size and the
 * file's size; nothing is allocated in proportion to a count the file claims.
 */
class MinidumpParser {
  private readonly source: ByteSource;
  private readonly diagnostics: Diagnostics;
  private readonly size: number;
  private readonly file: string;
  /** Decoding architecture for contexts, set once SystemInfo is read. */
  arch: Arch = "unknown";
  /** Bytes left for variable-length reads (strings, CodeView records, contexts, comments). */
  private budget: number;
  private budgetReported = false;
  /** Strings by RVA: many records may share one. */
  private readonly strings = new Map<number, string>();

  constructor(source: ByteSource, diagnostics: Diagnostics) {
    this.source = source;
    this.diagnostics = diagnostics;
    this.size = source.size;
    this.file = source.name;
    this.budget = 2 * source.size + (16 << 20);
  }

  /**
   * An address field. In 32-bit dumps some writers sign-extend addresses above 2 GiB
   * (0xFFFFFFFF8xxxxxxx); those are folded back to their 32-bit value.
   */
  addr(v: DataView, at: number): Address {
    const lo = v.getUint32(at, true);
    const hi = v.getUint32(at + 4, true);
    if (hi === 0xffffffff && (this.arch === "x86" || this.arch === "arm") && lo >= 0x80000000) return lo;
    return addressFromParts(lo, hi);
  }

  /**
   * Take `n` bytes from the read budget: a hostile file can point thousands of names at the
   * same long string; past twice the file size plus 16 MiB, further variable reads are refused.
   */
  private spend(n: number, where: string, fileOffset: number): boolean {
    if (n <= this.budget) {
      this.budget -= n;
      return true;
    }
    if (!this.budgetReported) {
      this.budgetReported = true;
      this.diag("MINIDUMP_READ_BUDGET_EXCEEDED", `${where}: the dump references more string and record bytes than it holds; further ones were not read`, {
        fileOffset,
        where,
      });
    }
    return false;
  }

  diag(code: MinidumpCode, message: string, location: Omit<DiagnosticLocation, "file"> = {}): void {
    this.diagnostics.report("minidump", code, minidumpCodes[code].severity, message, { file: this.file, ...location });
  }

  /** Read up to `length` bytes at `offset`, cut at the end of the file; undefined when none. */
  region(offset: number, length: number): Region | undefined {
    if (!(offset >= 0) || offset >= this.size || !(length > 0)) return undefined;
    const bytes = readBytes(this.source, offset, Math.min(length, this.size - offset));
    if (bytes.length === 0) return undefined;
    return { offset, length: bytes.length, bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  }

  header(): MinidumpHeader {
    if (this.size === 0) {
      throw new InputError("INPUT_EMPTY", `${this.file} is empty (0 bytes); pass a minidump`, { file: this.file, fileOffset: 0 });
    }
    const r = this.region(0, MINIDUMP_HEADER_SIZE);
    const sig = r && r.length >= 4 ? r.view.getUint32(0, true) : -1;
    if (sig !== MINIDUMP_SIGNATURE) {
      throw new InputError("INPUT_UNKNOWN_FORMAT", `${this.file} is not a minidump: no MDMP signature at offset 0`, {
        file: this.file,
        fileOffset: 0,
      });
    }
    if (!r || r.length < MINIDUMP_HEADER_SIZE) {
      throw new DumpFormatError(
        "MINIDUMP_HEADER_TRUNCATED",
        `${this.file}: minidump header truncated: ${this.size} bytes, the header needs ${MINIDUMP_HEADER_SIZE}`,
        { file: this.file, fileOffset: this.size, where: "header" },
      );
    }
    const v = r.view;
    const versionField = v.getUint32(4, true);
    const flags = v.getUint32(24, true);
    const flagsHigh = v.getUint32(28, true);
    const header: MinidumpHeader = {
      signature: sig,
      version: versionField & 0xffff,
      implementationVersion: versionField >>> 16,
      streamCount: v.getUint32(8, true),
      directoryRva: v.getUint32(12, true),
      checksum: v.getUint32(16, true),
      timestamp: v.getUint32(20, true),
      flags,
      flagsHigh,
      flagNames: minidumpTypeNames(flags, flagsHigh),
    };
    if (header.version !== MINIDUMP_VERSION) {
      this.diag("MINIDUMP_UNEXPECTED_VERSION", `minidump version ${hex(header.version)}, expected 0xa793`, { fileOffset: 4, where: "header" });
    }
    return header;
  }

  directory(header: MinidumpHeader): MinidumpStreamEntry[] {
    const { directoryRva, streamCount } = header;
    if (streamCount === 0) return [];
    if (directoryRva + MINIDUMP_DIRECTORY_ENTRY_SIZE > this.size) {
      throw new DumpFormatError(
        "MINIDUMP_DIRECTORY_OUT_OF_BOUNDS",
        `${this.file}: stream directory at offset ${hex(directoryRva)} lies past the end of the file (${this.size} bytes)`,
        { file: this.file, fileOffset: directoryRva, where: "directory" },
      );
    }
    const available = Math.floor((this.size - directoryRva) / MINIDUMP_DIRECTORY_ENTRY_SIZE);
    const count = Math.min(streamCount, available);
    if (count < streamCount) {
      this.diag(
        "MINIDUMP_DIRECTORY_TRUNCATED",
        `the header claims ${streamCount} streams, the file holds ${count} directory entries`,
        { fileOffset: directoryRva + count * MINIDUMP_DIRECTORY_ENTRY_SIZE, where: "directory" },
      );
    }
    const r = this.region(directoryRva, count * MINIDUMP_DIRECTORY_ENTRY_SIZE)!;
    const out: MinidumpStreamEntry[] = [];
    const seen = new Set<number>();
    for (let i = 0; i < count; i++) {
      const at = i * MINIDUMP_DIRECTORY_ENTRY_SIZE;
      const type = r.view.getUint32(at, true);
      const size = r.view.getUint32(at + 4, true);
      const rva = r.view.getUint32(at + 8, true);
      const entry: MinidumpStreamEntry = {
        index: i,
        type,
        name: minidumpStreamTypeName(type),
        size,
        rva,
        entryOffset: directoryRva + at,
        status: "ok",
      };
      if (type === MinidumpStreamType.Unused) entry.status = "unused";
      else if (size > 0 && rva >= this.size) {
        entry.status = "out-of-bounds";
        this.diag(
          "MINIDUMP_STREAM_OUT_OF_BOUNDS",
          `stream ${entry.name} at offset ${hex(rva)} (${size} bytes) starts past the end of the file (${this.size} bytes); skipped`,
          { fileOffset: rva, where: entry.name },
        );
      } else if (rva + size > this.size) {
        entry.status = "truncated";
        this.diag(
          "MINIDUMP_STREAM_OUT_OF_BOUNDS",
          `stream ${entry.name} at offset ${hex(rva)} claims ${size} bytes, the file ends ${this.size - rva} bytes in; cut`,
          { fileOffset: this.size, where: entry.name },
        );
      }
      if (entry.status === "ok" || entry.status === "truncated") {
        if (isKnownMinidumpStreamType(type) && seen.has(type)) {
          entry.status = "duplicate";
          this.diag("MINIDUMP_STREAM_DUPLICATE", `a second ${entry.name} stream at offset ${hex(rva)} was ignored`, {
            fileOffset: rva,
            where: entry.name,
          });
        }
        seen.add(type);
      }
      out.push(entry);
    }
    return out;
  }

  /** The readable bytes of a stream (cut to the file). */
  streamRegion(s: MinidumpStreamEntry): Region | undefined {
    return this.region(s.rva, Math.min(s.size, this.size - s.rva));
  }

  /** Bytes of a stream's fixed header; a diagnostic when the stream is shorter. */
  private need(s: MinidumpStreamEntry, r: Region | undefined, n: number): r is Region {
    if (r && r.length >= n) return true;
    this.diag("MINIDUMP_STREAM_MALFORMED", `stream ${s.name} has ${r?.length ?? 0} bytes, its header needs ${n}; skipped`, {
      fileOffset: s.rva,
      where: s.name,
    });
    return false;
  }

  /**
   * How many entries of `entrySize` bytes at `start` in the region to read: the claimed count
   * cut to what the stream holds, with a diagnostic when cut.
   */
  private fit(s: MinidumpStreamEntry, r: Region, start: number, entrySize: number, claimed: number): number {
    const room = Math.max(0, Math.floor((r.length - start) / entrySize));
    if (claimed <= room) return claimed;
    this.diag(
      "MINIDUMP_STREAM_TRUNCATED",
      `stream ${s.name} claims ${claimed} entries of ${entrySize} bytes, it holds ${room}; read ${room}`,
      { fileOffset: s.rva + start + room * entrySize, where: s.name },
    );
    return room;
  }

  /** Start of the entries of a u32-count list, skipping the 4 padding bytes some dumpers write. */
  private listStart(r: Region, count: number, entrySize: number): number {
    return r.length === 8 + count * entrySize ? 8 : 4;
  }

  /** A MINIDUMP_STRING (u32 byte length + UTF-16LE). */
  string(rva: number, where: string): string {
    const head = this.region(rva, 4);
    if (!head || head.length < 4) {
      this.diag("MINIDUMP_STRING_OUT_OF_BOUNDS", `${where}: string at offset ${hex(rva)} lies outside the file`, { fileOffset: rva, where });
      return "";
    }
    let len = head.view.getUint32(0, true);
    if (len > MAX_STRING_BYTES || rva + 4 + len > this.size) {
      this.diag("MINIDUMP_STRING_OUT_OF_BOUNDS", `${where}: string at offset ${hex(rva)} claims ${len} bytes; cut`, { fileOffset: rva, where });
      len = Math.min(len, MAX_STRING_BYTES, Math.max(0, this.size - rva - 4));
    }
    len &= ~1;
    if (len === 0) return "";
    const cached = this.strings.get(rva);
    if (cached !== undefined) return cached;
    if (!this.spend(len, where, rva)) return "";
    const body = this.region(rva + 4, len);
    if (!body) return "";
    const text = Buffer.from(body.bytes.buffer, body.bytes.byteOffset, body.length & ~1).toString("utf16le");
    this.strings.set(rva, text);
    return text;
  }

  private nulTerminated(bytes: Uint8Array, encoding: "utf8" | "latin1"): string {
    let end = bytes.indexOf(0);
    if (end < 0) end = bytes.length;
    return Buffer.from(bytes.buffer, bytes.byteOffset, end).toString(encoding);
  }

  private location(v: DataView, at: number): { rva: number; size: number } {
    return { size: v.getUint32(at, true), rva: v.getUint32(at + 4, true) };
  }

  /** Decode a thread or exception context at a file location. */
  context(loc: { rva: number; size: number }, where: string): ThreadContext | undefined {
    if (loc.size === 0) return undefined;
    if (!this.spend(Math.min(loc.size, MAX_RECORD_BYTES), where, loc.rva)) return undefined;
    const r = this.region(loc.rva, Math.min(loc.size, MAX_RECORD_BYTES));
    const ctx = r ? parseContext(this.arch, r.view, 0, Math.min(loc.size, r.length)) : undefined;
    if (!ctx) {
      this.diag(
        "MINIDUMP_CONTEXT_UNREADABLE",
        `${where}: context at offset ${hex(loc.rva)} (${loc.size} bytes) is outside the file or too short for ${this.arch}`,
        { fileOffset: loc.rva, where },
      );
    }
    return ctx;
  }

  systemInfo(s: MinidumpStreamEntry): MinidumpSystemInfo | undefined {
    const r = this.streamRegion(s);
    if (!this.need(s, r, 32)) return undefined;
    const v = r.view;
    const pa = v.getUint16(0, true);
    const info: MinidumpSystemInfo = {
      arch: archOf(pa),
      processorArchitecture: pa,
      processorLevel: v.getUint16(2, true),
      processorRevision: v.getUint16(4, true),
      cpuCount: v.getUint8(6),
      productType: v.getUint8(7),
      major: v.getUint32(8, true),
      minor: v.getUint32(12, true),
      build: v.getUint32(16, true),
      platformId: v.getUint32(20, true),
      servicePack: "",
      suiteMask: v.getUint16(28, true),
    };
    const csd = v.getUint32(24, true);
    if (csd !== 0) info.servicePack = this.string(csd, "SystemInfo.CSDVersion");
    if ((info.arch === "x86" || info.arch === "x64") && r.length >= 44) {
      const vendor = this.nulTerminated(r.bytes.subarray(32, 44), "latin1");
      if (/^[\x20-\x7e]+$/.test(vendor)) info.vendorId = vendor;
      // X86CpuInfo holds CPUID values only with a vendor; otherwise the union is OtherCpuInfo.
      if (info.vendorId !== undefined && r.length >= 52) {
        info.cpuVersion = v.getUint32(44, true);
        info.cpuFeatures = v.getUint32(48, true);
      }
    }
    return info;
  }

  codeView(loc: { rva: number; size: number }, where: string): CodeViewInfo | undefined {
    if (loc.size < 4) return undefined;
    if (!this.spend(Math.min(loc.size, MAX_RECORD_BYTES), where, loc.rva)) return undefined;
    const r = this.region(loc.rva, Math.min(loc.size, MAX_RECORD_BYTES));
    if (!r || r.length < 4) {
      this.diag("MINIDUMP_STRING_OUT_OF_BOUNDS", `${where}: CodeView record at offset ${hex(loc.rva)} lies outside the file`, {
        fileOffset: loc.rva,
        where,
      });
      return undefined;
    }
    return parseCodeView(r.bytes);
  }

  modules(s: MinidumpStreamEntry): MinidumpModule[] {
    const ENTRY = 108;
    const r = this.streamRegion(s);
    if (!this.need(s, r, 4)) return [];
    const claimed = r.view.getUint32(0, true);
    const start = this.listStart(r, claimed, ENTRY);
    const n = this.fit(s, r, start, ENTRY, claimed);
    const out: MinidumpModule[] = [];
    const v = r.view;
    for (let i = 0; i < n; i++) {
      const at = start + i * ENTRY;
      const where = `ModuleList[${i}]`;
      const base = this.addr(v, at);
      const m: MinidumpModule = {
        path: this.string(v.getUint32(at + 20, true), where),
        base,
        size: v.getUint32(at + 8, true),
        checksum: v.getUint32(at + 12, true),
        timestamp: v.getUint32(at + 16, true),
        cvRecord: this.location(v, at + 76),
        miscRecord: this.location(v, at + 84),
      };
      if (v.getUint32(at + 24, true) === 0xfeef04bd) {
        const ms = v.getUint32(at + 32, true);
        const ls = v.getUint32(at + 36, true);
        m.version = `${ms >>> 16}.${ms & 0xffff}.${ls >>> 16}.${ls & 0xffff}`;
        const pms = v.getUint32(at + 40, true);
        const pls = v.getUint32(at + 44, true);
        m.productVersion = `${pms >>> 16}.${pms & 0xffff}.${pls >>> 16}.${pls & 0xffff}`;
      }
      const cv = this.codeView(m.cvRecord, where);
      if (cv) m.codeView = cv;
      if (!(base === base)) {
        this.diag("MINIDUMP_INVALID_ADDRESS", `${where} (${m.path}) has a non-canonical base address; skipped`, {
          fileOffset: s.rva + at,
          where,
        });
        continue;
      }
      out.push(m);
    }
    return out;
  }

  /**
   * The header of a "table" stream (`SizeOfHeader` u32, `SizeOfEntry` u32, count u32 or u64):
   * validated against the stream and the minimum sizes, the count cut to what the stream holds.
   * Undefined (with MINIDUMP_STREAM_MALFORMED, unless the table is empty) when inconsistent.
   */
  private table(
    s: MinidumpStreamEntry,
    r: Region,
    minHeader: 12 | 16,
    minEntry: number,
    countWidth: 4 | 8,
    label: string,
    /** An empty table with bad sizes is accepted silently: `never`, `if-header-ok`, or `always`. */
    emptyOk: "never" | "if-header-ok" | "always" = "never",
  ): { headerSize: number; entrySize: number; count: number; n: number } | undefined {
    const v = r.view;
    const headerSize = v.getUint32(0, true);
    const entrySize = v.getUint32(4, true);
    const count = countWidth === 8 ? u64(v, 8) : v.getUint32(8, true);
    if (headerSize < minHeader || headerSize > r.length || entrySize < minEntry) {
      if (count === 0 && (emptyOk === "always" || (emptyOk === "if-header-ok" && headerSize >= minHeader))) {
        return { headerSize, entrySize, count, n: 0 };
      }
      this.diag("MINIDUMP_STREAM_MALFORMED", `${label} header ${headerSize} / entry ${entrySize} bytes is inconsistent; skipped`, {
        fileOffset: s.rva,
        where: s.name,
      });
      return undefined;
    }
    return { headerSize, entrySize, count, n: this.fit(s, r, headerSize, entrySize, count) };
  }

  unloadedModules(s: MinidumpStreamEntry): MinidumpUnloadedModule[] {
    const r = this.streamRegion(s);
    if (!this.need(s, r, 12)) return [];
    const v = r.view;
    const t = this.table(s, r, 12, 24, 4, "UnloadedModuleList", "if-header-ok");
    if (!t) return [];
    const { headerSize, entrySize, n } = t;
    const out: MinidumpUnloadedModule[] = [];
    for (let i = 0; i < n; i++) {
      const at = headerSize + i * entrySize;
      const base = this.addr(v, at);
      if (!(base === base)) continue;
      out.push({
        base,
        size: v.getUint32(at + 8, true),
        checksum: v.getUint32(at + 12, true),
        timestamp: v.getUint32(at + 16, true),
        path: this.string(v.getUint32(at + 20, true), `UnloadedModuleList[${i}]`),
      });
    }
    return out;
  }

  threads(s: MinidumpStreamEntry, ex: boolean): MinidumpThread[] {
    const ENTRY = ex ? 64 : 48;
    const r = this.streamRegion(s);
    if (!this.need(s, r, 4)) return [];
    const v = r.view;
    const claimed = v.getUint32(0, true);
    const start = this.listStart(r, claimed, ENTRY);
    const n = this.fit(s, r, start, ENTRY, claimed);
    const out: MinidumpThread[] = [];
    for (let i = 0; i < n; i++) {
      const at = start + i * ENTRY;
      const t: MinidumpThread = {
        id: v.getUint32(at, true),
        suspendCount: v.getUint32(at + 4, true),
        priorityClass: v.getUint32(at + 8, true),
        priority: v.getUint32(at + 12, true),
        teb: this.addr(v, at + 16),
        stack: { address: this.addr(v, at + 24), size: v.getUint32(at + 32, true), rva: v.getUint32(at + 36, true) },
        contextLocation: this.location(v, at + 40),
      };
      const ctx = this.context(t.contextLocation, `${s.name}[${i}] (thread ${t.id})`);
      if (ctx) t.context = ctx;
      if (ex) t.backingStore = { address: this.addr(v, at + 48), size: v.getUint32(at + 56, true), rva: v.getUint32(at + 60, true) };
      out.push(t);
    }
    return out;
  }

  /** ThreadNamesStream: u32 count, then 12-byte entries (thread id, u64 RVA of a MINIDUMP_STRING). */
  threadNames(s: MinidumpStreamEntry): MinidumpThreadName[] {
    const ENTRY = 12;
    const r = this.streamRegion(s);
    if (!this.need(s, r, 4)) return [];
    const v = r.view;
    const n = this.fit(s, r, 4, ENTRY, v.getUint32(0, true));
    const out: MinidumpThreadName[] = [];
    for (let i = 0; i < n; i++) {
      const at = 4 + i * ENTRY;
      const rva = u64(v, at + 4);
      const name = rva > 0 && rva < this.size ? this.string(rva, `ThreadNames[${i}]`) : "";
      out.push({ threadId: v.getUint32(at, true), name });
    }
    return out;
  }

  threadInfos(s: MinidumpStreamEntry): MinidumpThreadInfo[] {
    const r = this.streamRegion(s);
    if (!this.need(s, r, 12)) return [];
    const v = r.view;
    const t = this.table(s, r, 12, 64, 4, "ThreadInfoList");
    if (!t) return [];
    const { headerSize, entrySize, n } = t;
    const out: MinidumpThreadInfo[] = [];
    for (let i = 0; i < n; i++) {
      const at = headerSize + i * entrySize;
      out.push({
        threadId: v.getUint32(at, true),
        dumpFlags: v.getUint32(at + 4, true),
        dumpError: v.getUint32(at + 8, true),
        exitStatus: v.getUint32(at + 12, true),
        createTime: u64(v, at + 16),
        exitTime: u64(v, at + 24),
        kernelTime: u64(v, at + 32),
        userTime: u64(v, at + 40),
        startAddress: this.addr(v, at + 48),
        affinity: u64(v, at + 56),
      });
    }
    return out;
  }

  /** A memory range, cut to the file; undefined (with a diagnostic) when nothing is present. */
  private memoryRange(address: Address, size: number, fileOffset: number, where: string, entryOffset: number): FileRange | undefined {
    if (!(address === address)) {
      this.diag("MINIDUMP_INVALID_ADDRESS", `${where}: range start is not a canonical address; skipped`, { fileOffset: entryOffset, where });
      return undefined;
    }
    if (size === 0) return undefined;
    if (fileOffset + size > this.size) {
      const present = Math.max(0, this.size - fileOffset);
      this.diag(
        "MINIDUMP_MEMORY_OUT_OF_BOUNDS",
        `${where}: ${size} bytes at ${formatAddress(address)} are stored at file offset ${hex(fileOffset)}, past the end of the file; ${present} bytes kept`,
        { fileOffset: Math.min(fileOffset, this.size), address: formatAddress(address), where },
      );
      if (present === 0) return undefined;
      size = present;
    }
    return { address, size, fileOffset };
  }

  memoryList(s: MinidumpStreamEntry): FileRange[] {
    const ENTRY = 16;
    const r = this.streamRegion(s);
    if (!this.need(s, r, 4)) return [];
    const v = r.view;
    const claimed = v.getUint32(0, true);
    const start = this.listStart(r, claimed, ENTRY);
    const n = this.fit(s, r, start, ENTRY, claimed);
    const out: FileRange[] = [];
    for (let i = 0; i < n; i++) {
      const at = start + i * ENTRY;
      const range = this.memoryRange(this.addr(v, at), v.getUint32(at + 8, true), v.getUint32(at + 12, true), `MemoryList[${i}]`, s.rva + at);
      if (range) out.push(range);
    }
    return out;
  }

  memory64List(s: MinidumpStreamEntry): FileRange[] {
    const ENTRY = 16;
    const r = this.streamRegion(s);
    if (!this.need(s, r, 16)) return [];
    const v = r.view;
    const claimed = u64(v, 0);
    const baseRva = u64(v, 8);
    const n = this.fit(s, r, 16, ENTRY, claimed);
    const out: FileRange[] = [];
    let offset = baseRva;
    for (let i = 0; i < n; i++) {
      const at = 16 + i * ENTRY;
      const size = u64(v, at + 8);
      if (offset >= this.size) {
        // Everything from here on lies past the end: report once, not per range.
        const rest = n - i;
        this.diag(
          "MINIDUMP_MEMORY_OUT_OF_BOUNDS",
          `Memory64List[${i}..${n - 1}]: ${rest} ranges are stored from file offset ${hex(offset)}, past the end of the file; skipped`,
          { fileOffset: this.size, where: `Memory64List[${i}]` },
        );
        break;
      }
      const range = this.memoryRange(this.addr(v, at), size, offset, `Memory64List[${i}]`, s.rva + at);
      if (range) out.push(range);
      offset += size;
    }
    return out;
  }

  memoryInfo(s: MinidumpStreamEntry): MinidumpMemoryInfo[] {
    const r = this.streamRegion(s);
    if (!this.need(s, r, 16)) return [];
    const v = r.view;
    const t = this.table(s, r, 16, 48, 8, "MemoryInfoList");
    if (!t) return [];
    const { headerSize, entrySize, n } = t;
    const out: MinidumpMemoryInfo[] = [];
    for (let i = 0; i < n; i++) {
      const at = headerSize + i * entrySize;
      const base = this.addr(v, at);
      if (!(base === base)) continue;
      out.push({
        base,
        allocationBase: this.addr(v, at + 8),
        allocationProtect: v.getUint32(at + 16, true),
        size: u64(v, at + 24),
        state: v.getUint32(at + 32, true),
        protect: v.getUint32(at + 36, true),
        type: v.getUint32(at + 40, true),
      });
    }
    return out;
  }

  miscInfo(s: MinidumpStreamEntry): MinidumpMiscInfo | undefined {
    const r = this.streamRegion(s);
    if (!this.need(s, r, 24)) return undefined;
    const v = r.view;
    const sizeOfInfo = v.getUint32(0, true);
    const flags = v.getUint32(4, true);
    const len = Math.min(sizeOfInfo, r.length);
    const m: MinidumpMiscInfo = { sizeOfInfo, flags };
    if (flags & 0x1) m.processId = v.getUint32(8, true);
    if (flags & 0x2) {
      m.processCreateTime = v.getUint32(12, true);
      m.processUserTime = v.getUint32(16, true);
      m.processKernelTime = v.getUint32(20, true);
    }
    if (len >= 44 && flags & 0x4) {
      m.processorMaxMhz = v.getUint32(24, true);
      m.processorCurrentMhz = v.getUint32(28, true);
    }
    if (len >= 232) {
      if (flags & 0x10) m.processIntegrityLevel = v.getUint32(44, true);
      if (flags & 0x20) m.processExecuteFlags = v.getUint32(48, true);
      if (flags & 0x80) m.protectedProcess = v.getUint32(52, true);
      if (flags & 0x40) m.timeZoneId = v.getUint32(56, true);
    }
    if (len >= 832 && flags & 0x100) {
      const utf16 = (from: number, units: number): string => {
        const b = r.bytes.subarray(from, from + units * 2);
        let end = 0;
        while (end + 1 < b.length && (b[end] !== 0 || b[end + 1] !== 0)) end += 2;
        return Buffer.from(b.buffer, b.byteOffset, end).toString("utf16le");
      };
      m.buildString = utf16(232, 260);
      m.dbgBuildString = utf16(752, 40);
    }
    if (len >= 1364 && flags & 0x200) m.processCookie = v.getUint32(1360, true);
    return m;
  }

  exception(s: MinidumpStreamEntry): MinidumpException | undefined {
    const r = this.streamRegion(s);
    if (!this.need(s, r, 168)) return undefined;
    const v = r.view;
    const nParams = Math.min(v.getUint32(32, true), 15);
    const parameters: number[] = [];
    const parametersExact: bigint[] = [];
    for (let i = 0; i < nParams; i++) {
      parameters.push(u64(v, 40 + i * 8));
      parametersExact.push(v.getBigUint64(40 + i * 8, true));
    }
    const e: MinidumpException = {
      threadId: v.getUint32(0, true),
      code: v.getUint32(8, true),
      flags: v.getUint32(12, true),
      record: this.addr(v, 16),
      address: this.addr(v, 24),
      parameters,
      parametersExact,
      contextLocation: this.location(v, 160),
    };
    const ctx = this.context(e.contextLocation, "Exception");
    if (ctx) e.context = ctx;
    return e;
  }

  handleData(s: MinidumpStreamEntry): MinidumpHandleData | undefined {
    const r = this.streamRegion(s);
    if (!this.need(s, r, 16)) return undefined;
    const v = r.view;
    const t = this.table(s, r, 16, 32, 4, "HandleData", "always");
    if (!t) return undefined;
    const { headerSize, entrySize: descriptorSize, count, n } = t;
    const handles: MinidumpHandle[] = [];
    for (let i = 0; i < n; i++) {
      const at = headerSize + i * descriptorSize;
      const where = `HandleData[${i}]`;
      const h: MinidumpHandle = {
        handle: u64(v, at),
        attributes: v.getUint32(at + 16, true),
        grantedAccess: v.getUint32(at + 20, true),
        handleCount: v.getUint32(at + 24, true),
        pointerCount: v.getUint32(at + 28, true),
      };
      const typeRva = v.getUint32(at + 8, true);
      const nameRva = v.getUint32(at + 12, true);
      if (typeRva !== 0) h.typeName = this.string(typeRva, where);
      if (nameRva !== 0) h.objectName = this.string(nameRva, where);
      if (descriptorSize >= 40) h.objectInfoRva = v.getUint32(at + 32, true);
      handles.push(h);
    }
    return { count, descriptorSize, handles };
  }

  /** Report captured ranges that overlap (the address space keeps the first). */
  checkOverlaps(ranges: readonly FileRange[]): void {
    if (ranges.length < 2) return;
    const sorted = ranges.slice().sort((a, b) => a.address - b.address);
    let prev = sorted[0]!;
    for (let i = 1; i < sorted.length; i++) {
      const r = sorted[i]!;
      if (r.address < prev.address + prev.size) {
        this.diag(
          "MINIDUMP_MEMORY_OVERLAP",
          `memory range ${formatAddress(r.address)} (${r.size} bytes) overlaps ${formatAddress(prev.address)} (${prev.size} bytes)`,
          { fileOffset: r.fileOffset, address: formatAddress(r.address), where: "memory" },
        );
        if (r.address + r.size > prev.address + prev.size) prev = r;
      } else prev = r;
    }
  }

  comment(s: MinidumpStreamEntry, wide: boolean): string {
    const r = this.region(s.rva, Math.min(s.size, MAX_COMMENT_BYTES, this.size - s.rva));
    if (!r) return "";
    if (s.size > MAX_COMMENT_BYTES) {
      this.diag("MINIDUMP_STRING_OUT_OF_BOUNDS", `${s.name} claims ${s.size} bytes; the first ${MAX_COMMENT_BYTES} were read`, {
        fileOffset: s.rva,
        where: s.name,
      });
    }
    if (!wide) return this.nulTerminated(r.bytes, "latin1");
    let end = 0;
    while (end + 1 < r.length && (r.bytes[end] !== 0 || r.bytes[end + 1] !== 0)) end += 2;
    return Buffer.from(r.bytes.buffer, r.bytes.byteOffset, end).toString("utf16le");
  }
}

/**
 * Parse a minidump's header, directory and the streams leakscope uses. Recoverable problems
 * (a stream past the end, a count larger than its stream, a string out of bounds) become
 * diagnostics with `MINIDUMP_*` codes; what could be read is kept.
 *
 * @throws InputError `INPUT_EMPTY` for an empty source, `INPUT_UNKNOWN_FORMAT` without the
 *   `MDMP` signature.
 * @throws DumpFormatError `MINIDUMP_HEADER_TRUNCATED`, `MINIDUMP_DIRECTORY_OUT_OF_BOUNDS`
 *   (with `fileOffset`).
 */
export function parseMinidump(source: ByteSource, diagnostics: Diagnostics): MinidumpFile {
  const p = new MinidumpParser(source, diagnostics);
  const header = p.header();
  const streams = p.directory(header);
  const file: MinidumpFile = {
    path: source.name,
    fileSize: source.size,
    header,
    streams,
    modules: [],
    unloadedModules: [],
    threads: [],
    threadInfos: [],
    threadNames: [],
    memory: [],
    memorySources: [],
    memoryInfo: [],
    comments: [],
  };
  const usable = streams.filter((s) => s.status === "ok" || s.status === "truncated");
  const first = (type: number): MinidumpStreamEntry | undefined => usable.find((s) => s.type === type);

  const sys = first(MinidumpStreamType.SystemInfo);
  if (sys) {
    const info = p.systemInfo(sys);
    if (info) {
      file.systemInfo = info;
      p.arch = info.arch;
    }
  }
  const threadList = first(MinidumpStreamType.ThreadList);
  for (const s of usable) {
    switch (s.type) {
      case MinidumpStreamType.ModuleList:
        file.modules = p.modules(s);
        break;
      case MinidumpStreamType.UnloadedModuleList:
        file.unloadedModules = p.unloadedModules(s);
        break;
      case MinidumpStreamType.ThreadList:
        file.threads = p.threads(s, false);
        break;
      case MinidumpStreamType.ThreadExList:
        if (!threadList) file.threads = p.threads(s, true);
        break;
      case MinidumpStreamType.ThreadInfoList:
        file.threadInfos = p.threadInfos(s);
        break;
      case MinidumpStreamType.ThreadNames:
        file.threadNames = p.threadNames(s);
        break;
      case MinidumpStreamType.MemoryList:
        for (const r of p.memoryList(s)) file.memory.push(r);
        file.memorySources.push("MemoryList");
        break;
      case MinidumpStreamType.Memory64List:
        for (const r of p.memory64List(s)) file.memory.push(r);
        file.memorySources.push("Memory64List");
        break;
      case MinidumpStreamType.MemoryInfoList:
        file.memoryInfo = p.memoryInfo(s);
        break;
      case MinidumpStreamType.MiscInfo: {
        const m = p.miscInfo(s);
        if (m) file.miscInfo = m;
        break;
      }
      case MinidumpStreamType.Exception: {
        const e = p.exception(s);
        if (e) file.exception = e;
        break;
      }
      case MinidumpStreamType.HandleData: {
        const h = p.handleData(s);
        if (h) file.handleData = h;
        break;
      }
      case MinidumpStreamType.ProcessVmCounters: {
        const c = readProcessVmCounters(source, s, diagnostics);
        if (c) file.processVmCounters = c;
        break;
      }
      case MinidumpStreamType.SystemMemoryInfo: {
        const m = readSystemMemoryInfo(source, s, diagnostics);
        if (m) file.systemMemoryInfo = m;
        break;
      }
      case MinidumpStreamType.CommentA:
        file.comments.push({ type: "CommentA", text: p.comment(s, false) });
        break;
      case MinidumpStreamType.CommentW:
        file.comments.push({ type: "CommentW", text: p.comment(s, true) });
        break;
      default:
        break;
    }
  }
  p.checkOverlaps(file.memory);
  return file;
}
