/**
 * Pure-TypeScript writers of the PE pieces a dump carries and of a small PDB, so the bundled
 * example and tests get symbolized frames without a compiler: the mapped header page of an image
 * with its export directory, and a PDB 7.0 (MSF container, info stream, DBI stream with one
 * module whose symbol stream holds S_GPROC32 procedures, and the section header stream).
 * Written from the published PE/COFF and MSF/PDB layouts.
 */
import { guidBytes } from "../minidump/builder.js";

export interface PeExportSpec {
  name: string;
  rva: number;
}

export interface PeSectionSpec {
  name: string;
  rva: number;
  size: number;
  /** IMAGE_SCN_* flags; default code/execute/read. */
  characteristics?: number;
}

export interface MappedHeaderSpec {
  bitness: 32 | 64;
  base: number;
  sizeOfImage: number;
  /** The DLL's own name, recorded in the export directory. */
  dllName?: string;
  exports?: readonly PeExportSpec[];
  sections?: readonly PeSectionSpec[];
  timestamp?: number;
  /** Bytes left before the name strings (to move them off an alignment; default 0). */
  namePad?: number;
}

const CODE = 0x60000020;

/**
 * The first page (0x1000 bytes) of an image as the loader maps it: MZ and PE headers, section
 * table, and an export directory (name table sorted, as the loader's binary search needs)
 * inside the header page.
 */
export function mappedImageHeader(spec: MappedHeaderSpec): Uint8Array {
  const out = new Uint8Array(0x1000);
  const v = new DataView(out.buffer);
  const is64 = spec.bitness === 64;
  const sections = spec.sections ?? [];
  v.setUint16(0, 0x5a4d, true);
  v.setUint32(0x3c, 0x80, true);
  v.setUint32(0x80, 0x4550, true);
  v.setUint16(0x84, is64 ? 0x8664 : 0x14c, true);
  v.setUint16(0x86, sections.length, true);
  v.setUint32(0x88, spec.timestamp ?? 0x5f000000, true);
  const optSize = is64 ? 0xf0 : 0xe0;
  v.setUint16(0x94, optSize, true);
  v.setUint16(0x96, is64 ? 0x2022 : 0x2102, true); // DLL, executable (+ 32-bit machine)
  const o = 0x98;
  v.setUint16(o, is64 ? 0x20b : 0x10b, true);
  if (is64) {
    v.setUint32(o + 24, spec.base % 0x100000000, true);
    v.setUint32(o + 28, Math.floor(spec.base / 0x100000000), true);
  } else v.setUint32(o + 28, spec.base >>> 0, true);
  v.setUint32(o + 32, 0x1000, true);
  v.setUint32(o + 36, 0x200, true);
  v.setUint16(o + 40, 10, true); // OS version 10.0
  v.setUint16(o + 48, 10, true); // subsystem version 10.0
  v.setUint32(o + 56, spec.sizeOfImage, true);
  v.setUint32(o + 60, 0x400, true);
  v.setUint16(o + 68, 3, true); // console
  const dirs = o + (is64 ? 112 : 96);
  v.setUint32(dirs - 4, 16, true); // NumberOfRvaAndSizes
  out.set(sectionTable(sections), 0x98 + optSize);
  const exports = [...(spec.exports ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (exports.length > 0) {
    const dir = 0x400;
    const n = exports.length;
    const functions = dir + 40;
    const names = functions + n * 4;
    const ordinals = names + n * 4;
    let str = ordinals + n * 2 + (spec.namePad ?? 0);
    const put = (text: string): number => {
      const rva = str;
      out.set(Buffer.from(`${text}\0`, "latin1"), str);
      str += text.length + 1;
      return rva;
    };
    const dllName = put(spec.dllName ?? "image.dll");
    exports.forEach((e, i) => {
      v.setUint32(functions + i * 4, e.rva, true);
      v.setUint32(names + i * 4, put(e.name), true);
      v.setUint16(ordinals + i * 2, i, true);
    });
    if (str > out.length) throw new Error("export names do not fit the header page");
    v.setUint32(dir + 4, spec.timestamp ?? 0x5f000000, true);
    v.setUint32(dir + 12, dllName, true);
    v.setUint32(dir + 16, 1, true); // ordinal base
    v.setUint32(dir + 20, n, true);
    v.setUint32(dir + 24, n, true);
    v.setUint32(dir + 28, functions, true);
    v.setUint32(dir + 32, names, true);
    v.setUint32(dir + 36, ordinals, true);
    v.setUint32(dirs, dir, true);
    v.setUint32(dirs + 4, str - dir, true);
  }
  return out;
}

export interface PdbProcSpec {
  /** Undecorated name, as the compiler records it in S_GPROC32 (`net::Session::Create`). */
  name: string;
  rva: number;
  size: number;
}

export interface PdbSpec {
  /** The image's RSDS GUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`) and age. */
  guid: string;
  age: number;
  machine: 0x14c | 0x8664;
  sections: readonly PeSectionSpec[];
  procs: readonly PdbProcSpec[];
  /** Name of the one compiland (`leaky.obj`). */
  objectName?: string;
  /** Signature (time stamp) of the info stream. */
  signature?: number;
}

const BLOCK = 512;
const S_GPROC32 = 0x1110;
const S_END = 0x0006;

/** Pad a record body so that the whole record (with its 2-byte length) is 4-aligned (0xF3 0xF2 0xF1 fill). */
function record(kind: number, body: Uint8Array): Uint8Array {
  const raw = 4 + body.length;
  const total = (raw + 3) & ~3;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint16(0, total - 2, true);
  v.setUint16(2, kind, true);
  out.set(body, 4);
  for (let i = raw; i < total; i++) out[i] = 0xf0 + (total - i);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The module symbol stream: C13 signature, one S_GPROC32 + S_END pair per procedure. */
function moduleSymbols(spec: PdbSpec): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([4, 0, 0, 0])];
  let off = 4;
  for (const p of spec.procs) {
    const si = spec.sections.findIndex((s) => p.rva >= s.rva && p.rva < s.rva + s.size);
    if (si < 0) throw new Error(`procedure ${p.name} at rva 0x${p.rva.toString(16)} lies in no section`);
    const name = Buffer.from(`${p.name}\0`, "utf8");
    const proc = record(S_GPROC32, new Uint8Array(35 + name.length));
    const end = off + proc.length;
    // fields after kind: pParent, pEnd, pNext, len, dbgStart, dbgEnd, typind, off, seg, flags, name
    const pv = new DataView(proc.buffer);
    pv.setUint32(8, end, true);
    pv.setUint32(16, p.size, true);
    pv.setUint32(24, p.size, true);
    pv.setUint32(32, p.rva - spec.sections[si]!.rva, true);
    pv.setUint16(36, si + 1, true);
    proc.set(name, 39);
    parts.push(proc, record(S_END, new Uint8Array(0)));
    off = end + 4;
  }
  return concat(parts);
}

/** An empty TPI/IPI stream: the 56-byte header (version V80, no records, no hash streams). */
function typeStream(): Uint8Array {
  const out = new Uint8Array(56);
  const v = new DataView(out.buffer);
  v.setUint32(0, 20040203, true);
  v.setUint32(4, 56, true);
  v.setUint32(8, 0x1000, true);
  v.setUint32(12, 0x1000, true);
  v.setUint16(20, 0xffff, true);
  v.setUint16(22, 0xffff, true);
  v.setUint32(24, 4, true);
  v.setUint32(28, 0x3ffff, true);
  return out;
}

/** IMAGE_SECTION_HEADERs (raw layout = virtual layout), as an image and a PDB's section header stream hold them. */
function sectionTable(sections: readonly PeSectionSpec[]): Uint8Array {
  const out = new Uint8Array(sections.length * 40);
  const v = new DataView(out.buffer);
  sections.forEach((s, i) => {
    const at = i * 40;
    out.set(Buffer.from(s.name.slice(0, 8), "latin1"), at);
    v.setUint32(at + 8, s.size, true);
    v.setUint32(at + 12, s.rva, true);
    v.setUint32(at + 16, s.size, true);
    v.setUint32(at + 20, s.rva, true);
    v.setUint32(at + 36, s.characteristics ?? CODE, true);
  });
  return out;
}

/**
 * A PDB 7.0 for one image: streams 0 (empty old directory), 1 (info: version 20000404,
 * signature, age, GUID, empty named-stream map), 2 and 4 (empty TPI/IPI), 3 (DBI: header, one
 * module, optional debug header naming the section header stream), 5 (the module's symbols) and
 * 6 (section headers). Public and global symbol streams are absent (index 0xFFFF).
 */
export function writePdb(spec: PdbSpec): Uint8Array {
  const MODULE_STREAM = 5;
  const SECTION_STREAM = 6;
  const info = new Uint8Array(28 + 4 + 4 + 4 + 4 + 4 + 4);
  const iv = new DataView(info.buffer);
  iv.setUint32(0, 20000404, true);
  iv.setUint32(4, spec.signature ?? 0x5f000000, true);
  iv.setUint32(8, spec.age, true);
  info.set(guidBytes(spec.guid), 12);
  // named stream map: string buffer size 0, hash table size 0, capacity 1, present and deleted bit vectors empty
  iv.setUint32(28, 0, true);
  iv.setUint32(32, 0, true);
  iv.setUint32(36, 1, true);
  iv.setUint32(40, 0, true);
  iv.setUint32(44, 0, true);
  iv.setUint32(48, 20140508, true); // feature: VC140

  const symbols = moduleSymbols(spec);
  const obj = spec.objectName ?? "main.obj";
  const names = Buffer.from(`${obj}\0${obj}\0`, "latin1");
  const modLen = (64 + names.length + 3) & ~3;
  const mod = new Uint8Array(modLen);
  const mv = new DataView(mod.buffer);
  mv.setInt16(4, -1, true); // section contribution: section -1 (none)
  mv.setUint16(34, MODULE_STREAM, true);
  mv.setUint32(36, symbols.length, true);
  mod.set(names, 64);
  // EC substream: an empty PDB string table (signature, hash version 1, one NUL byte, one bucket, no names)
  const ec = new Uint8Array(25);
  const ev = new DataView(ec.buffer);
  ev.setUint32(0, 0xeffeeffe, true);
  ev.setUint32(4, 1, true);
  ev.setUint32(8, 1, true);
  ev.setUint32(13, 1, true);
  const dbgHeader = new Uint8Array(22).fill(0xff);
  new DataView(dbgHeader.buffer).setUint16(10, SECTION_STREAM, true);
  // file info substream: one module, no source files
  const fileInfo = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
  const dbi = new Uint8Array(64 + modLen + fileInfo.length + ec.length + dbgHeader.length);
  const dv = new DataView(dbi.buffer);
  dv.setInt32(0, -1, true);
  dv.setUint32(4, 19990903, true);
  dv.setUint32(8, spec.age, true);
  dv.setUint16(12, 0xffff, true); // globals
  dv.setUint16(14, 0x8e00, true); // build 14.0, new format
  dv.setUint16(16, 0xffff, true); // publics
  dv.setUint16(20, 0xffff, true); // symbol records
  dv.setInt32(24, modLen, true);
  dv.setInt32(36, fileInfo.length, true);
  dv.setInt32(48, dbgHeader.length, true);
  dv.setInt32(52, ec.length, true);
  dv.setUint16(58, spec.machine, true);
  dbi.set(mod, 64);
  dbi.set(fileInfo, 64 + modLen);
  dbi.set(ec, 64 + modLen + fileInfo.length);
  dbi.set(dbgHeader, 64 + modLen + fileInfo.length + ec.length);

  // the module stream ends with the size of its global references (none)
  const moduleStream = concat([symbols, new Uint8Array(4)]);
  const streams: Uint8Array[] = [new Uint8Array(0), info, typeStream(), dbi, typeStream(), moduleStream, sectionTable(spec.sections)];
  // Blocks: 0 superblock, 1-2 free block maps, then stream data, the directory, the block map.
  let next = 3;
  const blocksOf: number[][] = streams.map((s) => {
    const n = Math.ceil(s.length / BLOCK);
    const list = Array.from({ length: n }, (_, i) => next + i);
    next += n;
    return list;
  });
  const dirWords = [streams.length, ...streams.map((s) => s.length), ...blocksOf.flat()];
  const dir = new Uint8Array(dirWords.length * 4);
  const dirView = new DataView(dir.buffer);
  dirWords.forEach((w, i) => dirView.setUint32(i * 4, w, true));
  const dirBlocks = Array.from({ length: Math.ceil(dir.length / BLOCK) }, (_, i) => next + i);
  next += dirBlocks.length;
  const mapBlock = next++;
  const out = new Uint8Array(next * BLOCK);
  const ov = new DataView(out.buffer);
  out.set(Buffer.from("Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0", "latin1"), 0);
  ov.setUint32(32, BLOCK, true);
  ov.setUint32(36, 1, true); // free block map block
  ov.setUint32(40, next, true);
  ov.setUint32(44, dir.length, true);
  ov.setUint32(52, mapBlock, true);
  streams.forEach((s, i) => blocksOf[i]!.forEach((b, k) => out.set(s.subarray(k * BLOCK, (k + 1) * BLOCK), b * BLOCK)));
  dirBlocks.forEach((b, k) => out.set(dir.subarray(k * BLOCK, (k + 1) * BLOCK), b * BLOCK));
  dirBlocks.forEach((b, k) => ov.setUint32(mapBlock * BLOCK + k * 4, b, true));
  // free block maps: every block in use (bit clear), the rest free
  out.fill(0xff, BLOCK, 3 * BLOCK);
  for (let b = 0; b < next; b++) out[BLOCK + (b >> 3)]! &= ~(1 << (b & 7));
  return out;
}

export interface MsvcThrowSpec {
  /** 64: RVAs from `imageBase` (x64 throws); 32: absolute pointers (x86). */
  bitness: 32 | 64;
  /** Where the page lies: the throw info is at its start. */
  address: number;
  /** x64 only: the image base the RVAs count from. */
  imageBase?: number;
  /** The thrown type's RTTI name (`.?AVbad_alloc@std@@`). */
  typeName: string;
}

/**
 * A 0x200-byte page holding what an MSVC `throw` points at: ThrowInfo (at the page start) ->
 * CatchableTypeArray (+0x20, one entry) -> CatchableType (+0x40) -> TypeDescriptor (+0x100).
 * The exception's parameters are then `[0x19930520, object, address]` (+ `imageBase` on x64).
 */
export function msvcThrowInfoPage(spec: MsvcThrowSpec): Uint8Array {
  const page = new Uint8Array(0x200);
  const v = new DataView(page.buffer);
  const ref = (offset: number): number => (spec.bitness === 64 ? spec.address - (spec.imageBase ?? 0) + offset : spec.address + offset);
  v.setUint32(0x0c, ref(0x20), true); // ThrowInfo.pCatchableTypeArray
  v.setInt32(0x20, 1, true); // nCatchableTypes
  v.setUint32(0x24, ref(0x40), true);
  v.setUint32(0x44, ref(0x100), true); // CatchableType.pType
  page.set(Buffer.from(`${spec.typeName}\0`, "latin1"), 0x100 + (spec.bitness === 64 ? 16 : 8));
  return page;
}
