import { type ByteSource, type Diagnostics, FileSource } from "@leakscope/core";
import { formatGuid } from "./codeview.js";
import { ChunkReader, MsfFile, type MsfStream, type Report, newDiagnostics, reporter } from "./msf.js";
import type { PeSection } from "./pe.js";

/**
 * A PDB 7.0 reader written from the published MSF/PDB layout: info stream, DBI header and
 * module list, the section header stream, public and global symbols (GSI hash records into the
 * symbol record stream) and per-module symbol streams (procedures, thunks, separated code).
 * Streams are read on demand; every count, size and offset is checked.
 */

export const PDB_STREAM_INFO = 1;
export const PDB_STREAM_DBI = 3;
/** Most records kept from one stream. */
export const MAX_RECORDS = 4_000_000;
/** Most modules read from the DBI module list. */
export const MAX_MODULES = 200_000;

// CodeView symbol record kinds used here.
export const S_END = 0x0006;
export const S_THUNK32 = 0x1102;
export const S_LDATA32 = 0x110c;
export const S_GDATA32 = 0x110d;
export const S_PUB32 = 0x110e;
export const S_LPROC32 = 0x110f;
export const S_GPROC32 = 0x1110;
export const S_PROCREF = 0x1125;
export const S_LPROCREF = 0x1127;
export const S_SEPCODE = 0x1132;
export const S_LPROC32_ID = 0x1146;
export const S_GPROC32_ID = 0x1147;
export const S_LPROC32_DPC = 0x1155;
export const S_LPROC32_DPC_ID = 0x1156;

const PROC_KINDS = new Set([S_LPROC32, S_GPROC32, S_LPROC32_ID, S_GPROC32_ID, S_LPROC32_DPC, S_LPROC32_DPC_ID]);

export const SYMBOL_KIND_NAMES: Readonly<Record<number, string>> = {
  [S_THUNK32]: "S_THUNK32",
  [S_LDATA32]: "S_LDATA32",
  [S_GDATA32]: "S_GDATA32",
  [S_PUB32]: "S_PUB32",
  [S_LPROC32]: "S_LPROC32",
  [S_GPROC32]: "S_GPROC32",
  [S_PROCREF]: "S_PROCREF",
  [S_LPROCREF]: "S_LPROCREF",
  [S_SEPCODE]: "S_SEPCODE",
  [S_LPROC32_ID]: "S_LPROC32_ID",
  [S_GPROC32_ID]: "S_GPROC32_ID",
  [S_LPROC32_DPC]: "S_LPROC32_DPC",
  [S_LPROC32_DPC_ID]: "S_LPROC32_DPC_ID",
};

export interface PdbInfo {
  /** 20000404 for VC7.0 and later. */
  version: number;
  signature: number;
  age: number;
  /** Lowercase `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, as in {@link CodeViewInfo.guid}. */
  guid: string;
}

export interface DbiHeader {
  versionHeader: number;
  /** The age a matching image's RSDS record carries. */
  age: number;
  globalStreamIndex: number;
  publicStreamIndex: number;
  symRecordStreamIndex: number;
  machine: number;
  modInfoSize: number;
  sectionContributionSize: number;
  sectionMapSize: number;
  sourceInfoSize: number;
  typeServerMapSize: number;
  ecSubstreamSize: number;
  optionalDbgHeaderSize: number;
}

export interface PdbModule {
  index: number;
  name: string;
  objName: string;
  /** Stream with this module's symbols (0xffff = none). */
  symStream: number;
  symByteSize: number;
  c13ByteSize: number;
  sourceFileCount: number;
}

export interface PdbPublic {
  name: string;
  segment: number;
  offset: number;
  /** CV_PUBSYMFLAGS: 1 code, 2 function, 4 managed, 8 MSIL. */
  flags: number;
  /** segment:offset through the section headers; -1 when the segment is unknown. */
  rva: number;
}

export interface PdbGlobal {
  kind: number;
  name: string;
  /** S_PROCREF / S_LPROCREF: 1-based module index and offset of the procedure in its stream. */
  module?: number;
  symOffset?: number;
  /** S_GDATA32 / S_LDATA32 and others with an address. */
  segment?: number;
  offset?: number;
}

export interface PdbProc {
  kind: number;
  name: string;
  segment: number;
  offset: number;
  /** Code size in bytes (procedures, thunks, separated code). */
  size: number;
  rva: number;
  /** 0-based module index. */
  module: number;
  /** Offset of the record in the module's symbol stream. */
  symOffset: number;
}

export interface PdbOpenOptions {
  diagnostics?: Diagnostics;
  /** Name used in messages (defaults to the source name). */
  label?: string;
}

export class PdbFile {
  readonly msf: MsfFile;
  readonly info: PdbInfo;
  readonly dbi: DbiHeader | undefined;
  readonly modules: readonly PdbModule[];
  /** Section headers from the DBI optional debug header (for segment:offset -> RVA). */
  sections: readonly PeSection[];
  private readonly report: Report;
  private readonly ownsSource: boolean;

  private constructor(msf: MsfFile, info: PdbInfo, dbi: DbiHeader | undefined, modules: PdbModule[], sections: PeSection[], report: Report, ownsSource: boolean) {
    this.msf = msf;
    this.info = info;
    this.dbi = dbi;
    this.modules = modules;
    this.sections = sections;
    this.report = report;
    this.ownsSource = ownsSource;
  }

  /** Open a PDB file from disk (through a small block cache). Undefined with a diagnostic when unusable. */
  static openFile(path: string, options: PdbOpenOptions = {}): PdbFile | undefined {
    const diagnostics = newDiagnostics(options.diagnostics);
    let src: FileSource;
    try {
      src = FileSource.open(path, { blockSize: 1 << 16, cacheBlocks: 64 });
    } catch (e) {
      diagnostics.report("symbols", "SYMBOLS_PDB_UNREADABLE", "warning", `${path}: ${(e as Error).message}`, { file: path });
      return undefined;
    }
    const pdb = PdbFile.open(src, options, true);
    if (!pdb) src.close();
    return pdb;
  }

  /** Open a PDB from any ByteSource. Undefined (with a diagnostic) when it is not a usable PDB 7.0. */
  static open(source: ByteSource, options: PdbOpenOptions = {}, ownsSource = false): PdbFile | undefined {
    const report = reporter(newDiagnostics(options.diagnostics), options.label ?? source.name);
    const msf = MsfFile.open(source, report);
    if (!msf) return undefined;
    const infoStream = msf.stream(PDB_STREAM_INFO);
    const ib = infoStream?.bytes(0, 28);
    if (!infoStream || !ib) {
      report("PDB_BAD_STREAM", "the PDB info stream (1) is missing or shorter than 28 bytes", { file: source.name, where: "stream 1" });
      return undefined;
    }
    const iv = new DataView(ib.buffer);
    const info: PdbInfo = { version: iv.getUint32(0, true), signature: iv.getUint32(4, true), age: iv.getUint32(8, true), guid: formatGuid(ib, 12) };
    const dbiStream = msf.stream(PDB_STREAM_DBI);
    let dbi: DbiHeader | undefined;
    let modules: PdbModule[] = [];
    let sections: PeSection[] = [];
    if (dbiStream && dbiStream.size > 0) {
      dbi = readDbiHeader(dbiStream, report);
      if (dbi) {
        modules = readModules(dbiStream, dbi, report);
        sections = readSectionHeaders(msf, dbiStream, dbi, report);
      }
    }
    return new PdbFile(msf, info, dbi, modules, sections, report, ownsSource);
  }

  /** The age an image must carry to match: the DBI age when present, else the info stream's. */
  get matchAge(): number {
    return this.dbi?.age ?? this.info.age;
  }

  /** segment:offset -> RVA through {@link sections}; -1 when the segment is unknown. */
  rva(segment: number, offset: number): number {
    const s = this.sections[segment - 1];
    return s ? s.virtualAddress + offset : -1;
  }

  /** Public symbols (S_PUB32) from the public symbol stream's hash records. */
  publics(): PdbPublic[] {
    const out: PdbPublic[] = [];
    if (!this.dbi) return out;
    this.gsiRecords(this.dbi.publicStreamIndex, 28, (r, i, kind, end) => {
      if (kind !== S_PUB32 || i + 14 > end) return;
      const v = r.view;
      const flags = v.getUint32(i + 4, true);
      const offset = v.getUint32(i + 8, true);
      const segment = v.getUint16(i + 12, true);
      out.push({ name: r.cstr(i + 14, end), segment, offset, flags, rva: this.rva(segment, offset) });
    });
    return out;
  }

  /** Global symbols (S_PROCREF, S_LPROCREF, S_GDATA32, S_UDT, S_CONSTANT, ...) from the global symbol stream. */
  globals(): PdbGlobal[] {
    const out: PdbGlobal[] = [];
    if (!this.dbi) return out;
    this.gsiRecords(this.dbi.globalStreamIndex, 0, (r, i, kind, end) => {
      const v = r.view;
      if ((kind === S_PROCREF || kind === S_LPROCREF) && i + 14 <= end) {
        out.push({ kind, name: r.cstr(i + 14, end), module: v.getUint16(i + 12, true), symOffset: v.getUint32(i + 8, true) });
      } else if ((kind === S_GDATA32 || kind === S_LDATA32) && i + 14 <= end) {
        out.push({ kind, name: r.cstr(i + 14, end), offset: v.getUint32(i + 8, true), segment: v.getUint16(i + 12, true) });
      } else {
        out.push({ kind, name: nameOfOther(r, i, kind, end) });
      }
    });
    return out;
  }

  /**
   * Procedures, thunks and separated code blocks of one module (0-based index), with code sizes.
   */
  moduleProcs(moduleIndex: number): PdbProc[] {
    const out: PdbProc[] = [];
    const m = this.modules[moduleIndex];
    if (!m || m.symStream === 0xffff || m.symByteSize < 4) return out;
    const s = this.msf.stream(m.symStream);
    if (!s) {
      this.report("PDB_BAD_STREAM", `module ${moduleIndex} (${m.name}) names symbol stream ${m.symStream}, which does not exist`, { where: `module ${moduleIndex}` });
      return out;
    }
    const limit = Math.min(m.symByteSize, s.size);
    const r = new ChunkReader(s);
    const names = new Map<number, string>();
    let off = 4; // CV_SIGNATURE_C13
    let n = 0;
    while (off + 4 <= limit) {
      if (++n > MAX_RECORDS) {
        this.report("PDB_SYMBOL_LIMIT", `module ${moduleIndex} has more than ${MAX_RECORDS} symbol records`, s.location(off));
        break;
      }
      let i = r.at(off, 4);
      if (i < 0) break;
      const reclen = r.view.getUint16(i, true);
      const total = reclen + 2;
      if (reclen < 2 || off + total > limit) {
        this.report("PDB_BAD_STREAM", `module ${moduleIndex}: symbol record length ${reclen} at 0x${off.toString(16)} runs past the stream`, s.location(off));
        break;
      }
      i = r.at(off, total);
      if (i < 0) {
        this.report("PDB_TRUNCATED", `module ${moduleIndex}: symbol record at 0x${off.toString(16)} is not readable`, s.location(off));
        break;
      }
      const kind = r.view.getUint16(i + 2, true);
      const end = i + total;
      const v = r.view;
      if (PROC_KINDS.has(kind) && total >= 39) {
        const name = r.cstr(i + 39, end);
        const segment = v.getUint16(i + 36, true);
        const offset = v.getUint32(i + 32, true);
        names.set(off, name);
        out.push({ kind, name, segment, offset, size: v.getUint32(i + 16, true), rva: this.rva(segment, offset), module: moduleIndex, symOffset: off });
      } else if (kind === S_THUNK32 && total >= 25) {
        const segment = v.getUint16(i + 20, true);
        const offset = v.getUint32(i + 16, true);
        out.push({ kind, name: r.cstr(i + 25, end), segment, offset, size: v.getUint16(i + 22, true), rva: this.rva(segment, offset), module: moduleIndex, symOffset: off });
      } else if (kind === S_SEPCODE && total >= 32) {
        const parent = v.getUint32(i + 4, true);
        const segment = v.getUint16(i + 28, true);
        const offset = v.getUint32(i + 20, true);
        const name = names.get(parent) ?? "";
        if (name) out.push({ kind, name, segment, offset, size: v.getUint32(i + 12, true), rva: this.rva(segment, offset), module: moduleIndex, symOffset: off });
      }
      off += total;
    }
    return out;
  }

  /** Procedures of every module (see {@link moduleProcs}). */
  allProcs(): PdbProc[] {
    const out: PdbProc[] = [];
    for (let i = 0; i < this.modules.length && out.length < MAX_RECORDS; i++) {
      for (const p of this.moduleProcs(i)) out.push(p);
    }
    return out;
  }

  /**
   * Visit the records a GSI hash table (public or global stream) refers to, in symbol-record
   * stream order. `skip` is the header before the hash (28 for publics).
   */
  private gsiRecords(streamIndex: number, skip: number, visit: (r: ChunkReader, index: number, kind: number, end: number) => void): void {
    if (!this.dbi || streamIndex === 0xffff) return;
    const gs = this.msf.stream(streamIndex);
    const recStream = this.msf.stream(this.dbi.symRecordStreamIndex);
    if (!gs || !recStream) {
      this.report("PDB_BAD_STREAM", `symbol stream ${streamIndex} or record stream ${this.dbi.symRecordStreamIndex} does not exist`, { where: "DBI header" });
      return;
    }
    const hdr = gs.bytes(skip, 16);
    if (!hdr) {
      this.report("PDB_BAD_STREAM", `symbol hash stream ${streamIndex} is too short`, gs.location(0));
      return;
    }
    const hv = new DataView(hdr.buffer);
    const sig = hv.getUint32(0, true);
    let hrSize = hv.getUint32(8, true);
    if (sig !== 0xffffffff || hrSize % 8 !== 0 || skip + 16 + hrSize > gs.size) {
      this.report("PDB_BAD_STREAM", `symbol hash header of stream ${streamIndex} is inconsistent (signature 0x${sig.toString(16)}, ${hrSize} record bytes)`, gs.location(skip));
      hrSize = Math.max(0, Math.min(hrSize, gs.size - skip - 16)) & ~7;
      if (sig !== 0xffffffff) return;
    }
    let count = hrSize / 8;
    if (count > MAX_RECORDS) {
      this.report("PDB_SYMBOL_LIMIT", `stream ${streamIndex} has ${count} symbols; reading ${MAX_RECORDS}`, gs.location(skip));
      count = MAX_RECORDS;
    }
    const offsets = new Float64Array(count);
    const hr = new ChunkReader(gs);
    let n = 0;
    for (let k = 0; k < count; k++) {
      const i = hr.at(skip + 16 + k * 8, 8);
      if (i < 0) break;
      const o = hr.view.getInt32(i, true) - 1;
      if (o >= 0 && o + 4 <= recStream.size) offsets[n++] = o;
    }
    const sorted = offsets.subarray(0, n).sort();
    const r = new ChunkReader(recStream);
    let bad = 0;
    let prev = -1;
    for (let k = 0; k < n; k++) {
      const off = sorted[k]!;
      if (off === prev) continue;
      prev = off;
      let i = r.at(off, 4);
      if (i < 0) {
        bad++;
        continue;
      }
      const total = r.view.getUint16(i, true) + 2;
      if (total < 4 || off + total > recStream.size || (i = r.at(off, total)) < 0) {
        bad++;
        continue;
      }
      visit(r, i, r.view.getUint16(i + 2, true), i + total);
    }
    if (bad > 0) this.report("PDB_BAD_STREAM", `${bad} symbol records referenced by stream ${streamIndex} are damaged or out of range`, recStream.location(0));
  }

  /** Release the file when this object opened it. */
  close(): void {
    if (this.ownsSource) this.msf.source.close();
  }
}

function nameOfOther(r: ChunkReader, i: number, kind: number, end: number): string {
  // S_UDT: type u32 then name; S_CONSTANT: type u32, numeric leaf, name. Best effort only.
  if (kind === 0x1108 && i + 8 <= end) return r.cstr(i + 8, end);
  if (kind === 0x1107 && i + 10 <= end) {
    const leaf = r.view.getUint16(i + 8, true);
    const extra = leaf < 0x8000 ? 0 : ({ 0x8000: 1, 0x8001: 2, 0x8002: 2, 0x8003: 4, 0x8004: 4, 0x8009: 8, 0x800a: 8 } as Record<number, number>)[leaf];
    if (extra !== undefined && i + 10 + extra <= end) return r.cstr(i + 10 + extra, end);
  }
  return "";
}

function readDbiHeader(s: MsfStream, report: Report): DbiHeader | undefined {
  const b = s.bytes(0, 64);
  if (!b) {
    report("PDB_BAD_STREAM", "the DBI stream is shorter than its 64-byte header", s.location(0));
    return undefined;
  }
  const v = new DataView(b.buffer);
  if (v.getInt32(0, true) !== -1) {
    report("PDB_BAD_STREAM", "the DBI stream header has no 0xffffffff signature (pre-VC7 PDB)", s.location(0));
    return undefined;
  }
  const h: DbiHeader = {
    versionHeader: v.getUint32(4, true),
    age: v.getUint32(8, true),
    globalStreamIndex: v.getUint16(12, true),
    publicStreamIndex: v.getUint16(16, true),
    symRecordStreamIndex: v.getUint16(20, true),
    modInfoSize: v.getInt32(24, true),
    sectionContributionSize: v.getInt32(28, true),
    sectionMapSize: v.getInt32(32, true),
    sourceInfoSize: v.getInt32(36, true),
    typeServerMapSize: v.getInt32(40, true),
    optionalDbgHeaderSize: v.getInt32(48, true),
    ecSubstreamSize: v.getInt32(52, true),
    machine: v.getUint16(58, true),
  };
  const parts = [h.modInfoSize, h.sectionContributionSize, h.sectionMapSize, h.sourceInfoSize, h.typeServerMapSize, h.ecSubstreamSize, h.optionalDbgHeaderSize];
  const sum = parts.reduce((a, x) => a + x, 0);
  if (parts.some((x) => x < 0) || 64 + sum > s.size) {
    report("PDB_BAD_STREAM", `DBI substream sizes (${parts.join(", ")}) exceed the stream size ${s.size}`, s.location(24));
    // keep the header (stream indices) but no substreams
    h.modInfoSize = h.sectionContributionSize = h.sectionMapSize = h.sourceInfoSize = h.typeServerMapSize = h.ecSubstreamSize = h.optionalDbgHeaderSize = 0;
  }
  return h;
}

function readModules(s: MsfStream, h: DbiHeader, report: Report): PdbModule[] {
  const out: PdbModule[] = [];
  const r = new ChunkReader(s);
  let off = 64;
  const end = 64 + h.modInfoSize;
  while (off + 64 <= end) {
    if (out.length >= MAX_MODULES) {
      report("PDB_SYMBOL_LIMIT", `more than ${MAX_MODULES} modules in the DBI stream`, s.location(off));
      break;
    }
    // fixed part (64) + two names of at most 4 KiB each
    const want = Math.min(end - off, 64 + 8192);
    const i = r.at(off, want);
    if (i < 0) {
      report("PDB_TRUNCATED", "the DBI module list is not readable", s.location(off));
      break;
    }
    const v = r.view;
    let p = i + 64;
    const lim = i + want;
    let q = p;
    while (q < lim && r.buf[q] !== 0) q++;
    const name = r.cstr(p, q);
    p = q + 1;
    q = p;
    while (q < lim && r.buf[q] !== 0) q++;
    if (q >= lim) {
      report("PDB_BAD_STREAM", `DBI module ${out.length}: names are not NUL-terminated`, s.location(off));
      break;
    }
    const objName = r.cstr(p, q);
    out.push({
      index: out.length,
      name,
      objName,
      symStream: v.getUint16(i + 34, true),
      symByteSize: v.getUint32(i + 36, true),
      c13ByteSize: v.getUint32(i + 44, true),
      sourceFileCount: v.getUint16(i + 48, true),
    });
    const size = q + 1 - i;
    off += (size + 3) & ~3;
  }
  return out;
}

function readSectionHeaders(msf: MsfFile, s: MsfStream, h: DbiHeader, report: Report): PeSection[] {
  if (h.optionalDbgHeaderSize < 12) return [];
  const at = 64 + h.modInfoSize + h.sectionContributionSize + h.sectionMapSize + h.sourceInfoSize + h.typeServerMapSize + h.ecSubstreamSize;
  const b = s.bytes(at + 10, 2);
  if (!b) return [];
  const idx = b[0]! | (b[1]! << 8);
  if (idx === 0xffff) return [];
  const hs = msf.stream(idx);
  if (!hs) {
    report("PDB_BAD_STREAM", `section header stream ${idx} does not exist`, s.location(at + 10));
    return [];
  }
  const n = Math.min(Math.floor(hs.size / 40), 96 * 4);
  const raw = hs.bytes(0, n * 40);
  if (!raw) {
    report("PDB_TRUNCATED", "the section header stream is not readable", hs.location(0));
    return [];
  }
  const v = new DataView(raw.buffer);
  const out: PeSection[] = [];
  for (let k = 0; k < n; k++) {
    const o = k * 40;
    let e = 0;
    while (e < 8 && raw[o + e] !== 0) e++;
    out.push({
      name: Buffer.from(raw.buffer, o, e).toString("latin1"),
      virtualSize: v.getUint32(o + 8, true),
      virtualAddress: v.getUint32(o + 12, true),
      sizeOfRawData: v.getUint32(o + 16, true),
      pointerToRawData: v.getUint32(o + 20, true),
      characteristics: v.getUint32(o + 36, true),
    });
  }
  return out;
}
