import {
  type Address,
  addressFromParts,
  type AddressSpace,
  type ByteSource,
  type CodeViewInfo,
  type DiagnosticLocation,
  Diagnostics,
  formatAddress,
} from "@leakscope/core";
import { parseCodeView } from "./codeview.js";
import { symbolsCodes } from "./codes.js";

/**
 * A PE/COFF image read either from process memory (loaded layout: structures at base + RVA) or
 * from a file (file layout: RVAs translated through the section table). Everything is bounded:
 * counts are capped, RVAs outside the image are skipped with a diagnostic, nothing throws for
 * damaged input.
 */

/** The Windows loader refuses more than 96 sections. */
export const MAX_SECTIONS = 96;
/** Ordinals are 16-bit: no export table can usefully hold more entries. */
export const MAX_EXPORTS = 65536;
export const MAX_DEBUG_ENTRIES = 64;
const MAX_NAME = 512;
const MAX_RESOURCE_ENTRIES = 4096;

export const IMAGE_DIRECTORY_ENTRY_EXPORT = 0;
export const IMAGE_DIRECTORY_ENTRY_RESOURCE = 2;
export const IMAGE_DIRECTORY_ENTRY_DEBUG = 6;
export const IMAGE_DEBUG_TYPE_CODEVIEW = 2;

const MACHINES: Readonly<Record<number, string>> = {
  0x014c: "x86",
  0x8664: "x64",
  0xaa64: "arm64",
  0x01c4: "arm",
  0x0200: "ia64",
};

export interface PeSection {
  name: string;
  virtualSize: number;
  virtualAddress: number;
  sizeOfRawData: number;
  pointerToRawData: number;
  characteristics: number;
}

export interface DataDirectory {
  rva: number;
  size: number;
}

export interface PeExport {
  ordinal: number;
  /** RVA of the code or data; for forwarders the RVA of the forwarder string. */
  rva: number;
  /** Exported name, when the entry is exported by name (first name when several). */
  name?: string;
  /** `OTHERDLL.Function` or `OTHERDLL.#12` when the export forwards to another DLL. */
  forwarder?: string;
}

export interface PeExports {
  /** The DLL name recorded in the export directory. */
  dllName?: string;
  ordinalBase: number;
  timestamp: number;
  /** Entries with a non-zero RVA, by ordinal; one per (ordinal, name) pair, so aliases appear twice. */
  entries: PeExport[];
}

export interface PeDebugEntry {
  type: number;
  timestamp: number;
  sizeOfData: number;
  addressOfRawData: number;
  pointerToRawData: number;
  /** Parsed CodeView record when `type` is 2 and the record is readable. */
  codeView?: CodeViewInfo;
}

export interface PeReadOptions {
  /** Where problems go; a private collector is used when omitted. */
  diagnostics?: Diagnostics;
  /** Name used in messages (module or file name). */
  label?: string;
}

/** How an image's bytes are reached. */
interface ImageBytes {
  readonly layout: "loaded" | "file";
  /** Copy bytes at `rva`; returns the count copied (short when missing). */
  read(rva: number, dst: Uint8Array, length: number): number;
  location(rva: number): DiagnosticLocation;
}

class LoadedBytes implements ImageBytes {
  readonly layout = "loaded" as const;
  constructor(
    private readonly space: AddressSpace,
    private readonly base: Address,
  ) {}
  read(rva: number, dst: Uint8Array, length: number): number {
    return this.space.readInto(this.base + rva, dst, 0, length);
  }
  location(rva: number): DiagnosticLocation {
    return { address: formatAddress(this.base + rva) };
  }
}

class FileBytes implements ImageBytes {
  readonly layout = "file" as const;
  /** Filled once the section table is known; until then RVA = file offset (headers). */
  sections: readonly PeSection[] = [];
  sizeOfHeaders = 0x1000;
  constructor(readonly source: ByteSource) {}
  offsetOf(rva: number): number {
    if (rva < this.sizeOfHeaders) return rva;
    for (const s of this.sections) {
      const span = Math.max(s.virtualSize, s.sizeOfRawData);
      if (rva >= s.virtualAddress && rva < s.virtualAddress + span) {
        const delta = rva - s.virtualAddress;
        return delta < s.sizeOfRawData ? s.pointerToRawData + delta : -1;
      }
    }
    return -1;
  }
  read(rva: number, dst: Uint8Array, length: number): number {
    // Reads never cross a section boundary in practice; translate the start only, then bound
    // by the section's raw size.
    const off = this.offsetOf(rva);
    if (off < 0) return 0;
    let max = length;
    if (rva >= this.sizeOfHeaders) {
      for (const s of this.sections) {
        if (rva >= s.virtualAddress && rva < s.virtualAddress + s.sizeOfRawData) {
          max = Math.min(max, s.virtualAddress + s.sizeOfRawData - rva);
          break;
        }
      }
    }
    return this.source.readInto(off, dst, 0, max);
  }
  location(rva: number): DiagnosticLocation {
    const off = this.offsetOf(rva);
    return off >= 0 ? { file: this.source.name, fileOffset: off } : { file: this.source.name, where: `rva 0x${rva.toString(16)}` };
  }
}

interface PeInit {
  bytes: ImageBytes;
  base: Address;
  machine: number;
  is64: boolean;
  timestamp: number;
  characteristics: number;
  imageBase: Address;
  sizeOfImage: number;
  sizeOfHeaders: number;
  checksum: number;
  entryPoint: number;
  sections: PeSection[];
  dataDirectories: DataDirectory[];
  diagnostics: Diagnostics;
  label: string;
}

/** A parsed PE image. Construct with {@link PeImage.fromMemory} or {@link PeImage.fromFile}. */
export class PeImage {
  readonly layout: "loaded" | "file";
  /** Where the image is loaded (loaded layout); for file layout the preferred ImageBase. */
  readonly base: Address;
  readonly machine: number;
  /** `x86`, `x64`, `arm64`, ... or `unknown`. */
  readonly arch: string;
  /** PE32+ (64-bit optional header). */
  readonly is64: boolean;
  readonly timestamp: number;
  readonly characteristics: number;
  readonly imageBase: Address;
  readonly sizeOfImage: number;
  readonly sizeOfHeaders: number;
  readonly checksum: number;
  readonly entryPoint: number;
  readonly sections: readonly PeSection[];
  readonly dataDirectories: readonly DataDirectory[];
  /** True for DLLs (IMAGE_FILE_DLL). */
  get isDll(): boolean {
    return (this.characteristics & 0x2000) !== 0;
  }

  private readonly bytes: ImageBytes;
  private readonly diagnostics: Diagnostics;
  private readonly label: string;
  private exportsCache: PeExports | null | undefined;

  private constructor(init: PeInit) {
    this.bytes = init.bytes;
    this.layout = init.bytes.layout;
    this.base = init.base;
    this.machine = init.machine;
    this.arch = MACHINES[init.machine] ?? "unknown";
    this.is64 = init.is64;
    this.timestamp = init.timestamp;
    this.characteristics = init.characteristics;
    this.imageBase = init.imageBase;
    this.sizeOfImage = init.sizeOfImage;
    this.sizeOfHeaders = init.sizeOfHeaders;
    this.checksum = init.checksum;
    this.entryPoint = init.entryPoint;
    this.sections = init.sections;
    this.dataDirectories = init.dataDirectories;
    this.diagnostics = init.diagnostics;
    this.label = init.label;
  }

  /** Read the image mapped at `base` in a process (loaded layout). Undefined when no PE is there. */
  static fromMemory(space: AddressSpace, base: Address, options: PeReadOptions = {}): PeImage | undefined {
    return parse(new LoadedBytes(space, base), base, options, options.label ?? formatAddress(base));
  }

  /** Read a PE file (file layout) through a ByteSource. Undefined when it is not a PE file. */
  static fromFile(source: ByteSource, options: PeReadOptions = {}): PeImage | undefined {
    return parse(new FileBytes(source), Number.NaN, options, options.label ?? source.name);
  }

  /** @internal */
  static create(init: PeInit): PeImage {
    return new PeImage(init);
  }

  /** Copy of `length` bytes at `rva`, or undefined when any is missing or outside the image. */
  readRva(rva: number, length: number): Uint8Array | undefined {
    if (!(rva >= 0) || !(length >= 0) || rva + length > this.sizeOfImage || length > 0x1000000) return undefined;
    const out = new Uint8Array(length);
    return this.bytes.read(rva, out, length) === length ? out : undefined;
  }

  /** A NUL-terminated ASCII string at `rva` (at most `max` chars), or undefined if unreadable. */
  stringAt(rva: number, max = MAX_NAME): string | undefined {
    if (!(rva > 0) || rva >= this.sizeOfImage) return undefined;
    const want = Math.min(max, this.sizeOfImage - rva);
    const buf = new Uint8Array(want);
    const n = this.bytes.read(rva, buf, want);
    if (n === 0) return undefined;
    let end = 0;
    while (end < n && buf[end] !== 0) end++;
    if (end === n && n < want) return undefined; // ran into missing memory before the NUL
    return Buffer.from(buf.buffer, 0, end).toString("latin1");
  }

  /** File offset of an RVA (file layout only; -1 when not backed by file bytes). */
  rvaToFileOffset(rva: number): number {
    return this.bytes instanceof FileBytes ? this.bytes.offsetOf(rva) : -1;
  }

  private report(code: keyof typeof symbolsCodes, message: string, rva: number): void {
    this.diagnostics.report("symbols", code, symbolsCodes[code].severity, `${this.label}: ${message}`, this.bytes.location(rva));
  }

  private directory(index: number): DataDirectory | undefined {
    const d = this.dataDirectories[index];
    if (!d || d.rva === 0 || d.size === 0) return undefined;
    if (d.rva >= this.sizeOfImage || d.rva + d.size > this.sizeOfImage) {
      this.report("PE_RVA_OUT_OF_IMAGE", `data directory ${index} (rva 0x${d.rva.toString(16)}, size 0x${d.size.toString(16)}) lies outside the image`, 0);
      return undefined;
    }
    return d;
  }

  /** The export directory, or undefined when the image has none or it is unreadable. Cached. */
  exports(): PeExports | undefined {
    if (this.exportsCache !== undefined) return this.exportsCache ?? undefined;
    const e = this.readExports();
    this.exportsCache = e ?? null;
    return e;
  }

  private readExports(): PeExports | undefined {
    const dir = this.directory(IMAGE_DIRECTORY_ENTRY_EXPORT);
    if (!dir) return undefined;
    const hdr = this.readRva(dir.rva, 40);
    if (!hdr) {
      this.report("PE_EXPORTS_UNREADABLE", "export directory is not readable", dir.rva);
      return undefined;
    }
    const v = new DataView(hdr.buffer);
    const timestamp = v.getUint32(4, true);
    const nameRva = v.getUint32(12, true);
    const ordinalBase = v.getUint32(16, true);
    let nFunctions = v.getUint32(20, true);
    let nNames = v.getUint32(24, true);
    const functionsRva = v.getUint32(28, true);
    const namesRva = v.getUint32(32, true);
    const ordinalsRva = v.getUint32(36, true);
    if (nFunctions > MAX_EXPORTS || nNames > MAX_EXPORTS) {
      this.report("PE_COUNT_LIMIT", `export directory claims ${nFunctions} functions and ${nNames} names; reading at most ${MAX_EXPORTS}`, dir.rva);
      nFunctions = Math.min(nFunctions, MAX_EXPORTS);
      nNames = Math.min(nNames, MAX_EXPORTS);
    }
    // Tables must lie in the image; shrink counts to what fits.
    if (functionsRva + nFunctions * 4 > this.sizeOfImage) {
      this.report("PE_RVA_OUT_OF_IMAGE", `export address table (rva 0x${functionsRva.toString(16)}, ${nFunctions} entries) runs past the image`, dir.rva + 28);
    }
    if (nNames > 0 && (namesRva + nNames * 4 > this.sizeOfImage || ordinalsRva + nNames * 2 > this.sizeOfImage)) {
      this.report("PE_RVA_OUT_OF_IMAGE", `export name tables (rva 0x${namesRva.toString(16)} / 0x${ordinalsRva.toString(16)}, ${nNames} names) run past the image`, dir.rva + 32);
    }
    nFunctions = Math.min(nFunctions, Math.max(0, Math.floor((this.sizeOfImage - functionsRva) / 4)));
    nNames = Math.min(nNames, Math.max(0, Math.floor((this.sizeOfImage - namesRva) / 4)), Math.max(0, Math.floor((this.sizeOfImage - ordinalsRva) / 2)));
    const funcs = nFunctions > 0 ? this.readRva(functionsRva, nFunctions * 4) : new Uint8Array(0);
    if (!funcs) {
      this.report("PE_EXPORTS_UNREADABLE", "export address table is not readable", functionsRva);
      return undefined;
    }
    const fv = new DataView(funcs.buffer);
    const names = nNames > 0 ? this.readRva(namesRva, nNames * 4) : new Uint8Array(0);
    const ords = nNames > 0 ? this.readRva(ordinalsRva, nNames * 2) : new Uint8Array(0);
    const nameOf: (string[] | undefined)[] = [];
    if (!names || !ords) {
      this.report("PE_EXPORTS_UNREADABLE", "export name tables are not readable; exports are listed by ordinal only", namesRva);
    } else {
      const nv = new DataView(names.buffer);
      const ov = new DataView(ords.buffer);
      let bad = 0;
      for (let i = 0; i < nNames; i++) {
        const idx = ov.getUint16(i * 2, true);
        const s = idx < nFunctions ? this.stringAt(nv.getUint32(i * 4, true)) : undefined;
        if (s === undefined || s.length === 0) {
          bad++;
          continue;
        }
        (nameOf[idx] ??= []).push(s);
      }
      if (bad > 0) this.report("PE_RVA_OUT_OF_IMAGE", `${bad} export names point outside the image or at missing memory`, namesRva);
    }
    const entries: PeExport[] = [];
    for (let i = 0; i < nFunctions; i++) {
      const rva = fv.getUint32(i * 4, true);
      if (rva === 0) continue;
      const ordinal = ordinalBase + i;
      const fwd = rva >= dir.rva && rva < dir.rva + dir.size ? this.stringAt(rva) : undefined;
      const ns = nameOf[i];
      if (ns === undefined) entries.push(fwd !== undefined ? { ordinal, rva, forwarder: fwd } : { ordinal, rva });
      else for (const name of ns) entries.push(fwd !== undefined ? { ordinal, rva, name, forwarder: fwd } : { ordinal, rva, name });
    }
    const dllName = this.stringAt(nameRva);
    return dllName !== undefined ? { dllName, ordinalBase, timestamp, entries } : { ordinalBase, timestamp, entries };
  }

  /** Entries of the debug directory, CodeView records parsed. */
  debugDirectory(): PeDebugEntry[] {
    const dir = this.directory(IMAGE_DIRECTORY_ENTRY_DEBUG);
    if (!dir) return [];
    let n = Math.floor(dir.size / 28);
    if (n > MAX_DEBUG_ENTRIES) {
      this.report("PE_COUNT_LIMIT", `debug directory holds ${n} entries; reading ${MAX_DEBUG_ENTRIES}`, dir.rva);
      n = MAX_DEBUG_ENTRIES;
    }
    const raw = this.readRva(dir.rva, n * 28);
    if (!raw) {
      this.report("PE_CODEVIEW_UNREADABLE", "debug directory is not readable", dir.rva);
      return [];
    }
    const v = new DataView(raw.buffer);
    const out: PeDebugEntry[] = [];
    for (let i = 0; i < n; i++) {
      const o = i * 28;
      const entry: PeDebugEntry = {
        timestamp: v.getUint32(o + 4, true),
        type: v.getUint32(o + 12, true),
        sizeOfData: v.getUint32(o + 16, true),
        addressOfRawData: v.getUint32(o + 20, true),
        pointerToRawData: v.getUint32(o + 24, true),
      };
      if (entry.type === IMAGE_DEBUG_TYPE_CODEVIEW && entry.sizeOfData >= 16) {
        const len = Math.min(entry.sizeOfData, 24 + 1024);
        let rec: Uint8Array | undefined;
        if (entry.addressOfRawData !== 0) rec = this.readRva(entry.addressOfRawData, len);
        if (!rec && this.bytes instanceof FileBytes && entry.pointerToRawData !== 0) {
          const buf = new Uint8Array(len);
          if (this.bytes.source.readInto(entry.pointerToRawData, buf, 0, len) === len) rec = buf;
        }
        const cv = rec ? parseCodeView(rec) : undefined;
        if (cv) entry.codeView = cv;
        else this.report("PE_CODEVIEW_UNREADABLE", "CodeView record is missing or not RSDS/NB10", entry.addressOfRawData);
      }
      out.push(entry);
    }
    return out;
  }

  /** The first CodeView record of the debug directory (what a PDB must match). */
  codeView(): CodeViewInfo | undefined {
    for (const e of this.debugDirectory()) if (e.codeView) return e.codeView;
    return undefined;
  }

  /**
   * The file version `a.b.c.d` from the RT_VERSION resource's VS_FIXEDFILEINFO, or undefined.
   * Walks resource type 16, first name, first language; bounded depth and entry counts.
   */
  fileVersion(): string | undefined {
    const dir = this.directory(IMAGE_DIRECTORY_ENTRY_RESOURCE);
    if (!dir) return undefined;
    const seen = new Set<number>();
    const entryFor = (dirOff: number, id: number | undefined): number | undefined => {
      if (seen.has(dirOff)) {
        this.report("PE_RESOURCE_CYCLE", "resource directory refers back to itself", dir.rva + dirOff);
        return undefined;
      }
      seen.add(dirOff);
      const h = this.readRva(dir.rva + dirOff, 16);
      if (!h) return undefined;
      const hv = new DataView(h.buffer);
      const n = hv.getUint16(12, true) + hv.getUint16(14, true);
      if (n > MAX_RESOURCE_ENTRIES) {
        this.report("PE_COUNT_LIMIT", `resource directory claims ${n} entries`, dir.rva + dirOff);
        return undefined;
      }
      const ents = this.readRva(dir.rva + dirOff + 16, n * 8);
      if (!ents) return undefined;
      const ev = new DataView(ents.buffer);
      for (let i = 0; i < n; i++) {
        const nameOrId = ev.getUint32(i * 8, true);
        if (id !== undefined && ((nameOrId & 0x80000000) !== 0 || nameOrId !== id)) continue;
        return ev.getUint32(i * 8 + 4, true);
      }
      return undefined;
    };
    let off = entryFor(0, 16);
    for (let depth = 0; depth < 2 && off !== undefined; depth++) {
      if ((off & 0x80000000) === 0) return undefined;
      off = entryFor(off & 0x7fffffff, undefined);
    }
    if (off === undefined || (off & 0x80000000) !== 0) return undefined;
    const de = this.readRva(dir.rva + off, 8);
    if (!de) return undefined;
    const dv = new DataView(de.buffer);
    const dataRva = dv.getUint32(0, true);
    const size = Math.min(dv.getUint32(4, true), 4096);
    const data = this.readRva(dataRva, size);
    if (!data) return undefined;
    const v = new DataView(data.buffer);
    for (let o = 0; o + 52 <= data.length; o += 4) {
      if (v.getUint32(o, true) === 0xfeef04bd) {
        const ms = v.getUint32(o + 8, true);
        const ls = v.getUint32(o + 12, true);
        return `${ms >>> 16}.${ms & 0xffff}.${ls >>> 16}.${ls & 0xffff}`;
      }
    }
    return undefined;
  }
}

function parse(bytes: ImageBytes, base: Address, options: PeReadOptions, label: string): PeImage | undefined {
  const diagnostics = options.diagnostics ?? new Diagnostics();
  const report = (code: keyof typeof symbolsCodes, message: string, rva: number) =>
    diagnostics.report("symbols", code, symbolsCodes[code].severity, `${label}: ${message}`, bytes.location(rva));
  const dos = new Uint8Array(64);
  const dosRead = bytes.read(0, dos, 64);
  if (dosRead === 0) {
    // Common and harmless: many minidumps do not capture module images.
    report("PE_IMAGE_NOT_CAPTURED", "the image header is not in the dump; frames are named module+offset", 0);
    return undefined;
  }
  if (dosRead < 64 || dos[0] !== 0x4d || dos[1] !== 0x5a) {
    report("PE_NOT_AN_IMAGE", "no MZ header", 0);
    return undefined;
  }
  const lfanew = new DataView(dos.buffer).getUint32(0x3c, true);
  if (lfanew < 64 || lfanew > 0x10000) {
    report("PE_NOT_AN_IMAGE", `e_lfanew 0x${lfanew.toString(16)} is implausible`, 0x3c);
    return undefined;
  }
  const nt = new Uint8Array(24 + 240);
  const got = bytes.read(lfanew, nt, nt.length);
  if (got < 24 + 2) {
    report("PE_HEADER_TRUNCATED", "NT headers are not readable", lfanew);
    return undefined;
  }
  const v = new DataView(nt.buffer);
  if (v.getUint32(0, true) !== 0x00004550) {
    report("PE_NOT_AN_IMAGE", "no PE signature", lfanew);
    return undefined;
  }
  const machine = v.getUint16(4, true);
  let nSections = v.getUint16(6, true);
  const timestamp = v.getUint32(8, true);
  const sizeOfOptional = v.getUint16(20, true);
  const characteristics = v.getUint16(22, true);
  const magic = v.getUint16(24, true);
  const is64 = magic === 0x20b;
  if (magic !== 0x10b && magic !== 0x20b) {
    report("PE_BAD_OPTIONAL_HEADER", `optional header magic 0x${magic.toString(16)}`, lfanew + 24);
    return undefined;
  }
  const o = 24;
  const minOptional = is64 ? 112 : 96;
  if (got < o + minOptional || sizeOfOptional < minOptional) {
    report("PE_HEADER_TRUNCATED", "optional header is truncated", lfanew + 24);
    return undefined;
  }
  const entryPoint = v.getUint32(o + 16, true);
  const imageBase = is64 ? addressFromParts(v.getUint32(o + 24, true), v.getUint32(o + 28, true)) : v.getUint32(o + 28, true);
  const sizeOfImage = v.getUint32(o + 56, true);
  const sizeOfHeaders = v.getUint32(o + 60, true);
  const checksum = v.getUint32(o + 64, true);
  if (sizeOfImage === 0 || sizeOfHeaders > sizeOfImage) {
    report("PE_BAD_OPTIONAL_HEADER", `SizeOfImage 0x${sizeOfImage.toString(16)} / SizeOfHeaders 0x${sizeOfHeaders.toString(16)} are inconsistent`, lfanew + 24);
    return undefined;
  }
  let nDirs = v.getUint32(o + (is64 ? 108 : 92), true);
  const dirsAt = o + (is64 ? 112 : 96);
  const fitDirs = Math.floor((Math.min(got, o + sizeOfOptional) - dirsAt) / 8);
  if (nDirs > 16 || nDirs > fitDirs) nDirs = Math.max(0, Math.min(16, fitDirs));
  const dataDirectories: DataDirectory[] = [];
  for (let i = 0; i < nDirs; i++) {
    dataDirectories.push({ rva: v.getUint32(dirsAt + i * 8, true), size: v.getUint32(dirsAt + i * 8 + 4, true) });
  }
  if (nSections > MAX_SECTIONS) {
    report("PE_COUNT_LIMIT", `${nSections} sections; reading ${MAX_SECTIONS}`, lfanew + 6);
    nSections = MAX_SECTIONS;
  }
  const secAt = lfanew + 24 + sizeOfOptional;
  const secBytes = new Uint8Array(nSections * 40);
  const secGot = bytes.read(secAt, secBytes, secBytes.length);
  if (secGot < secBytes.length) {
    report("PE_HEADER_TRUNCATED", `section table: ${Math.floor(secGot / 40)} of ${nSections} headers readable`, secAt);
    nSections = Math.floor(secGot / 40);
  }
  const sv = new DataView(secBytes.buffer);
  const sections: PeSection[] = [];
  for (let i = 0; i < nSections; i++) {
    const s = i * 40;
    let end = 0;
    while (end < 8 && secBytes[s + end] !== 0) end++;
    sections.push({
      name: Buffer.from(secBytes.buffer, s, end).toString("latin1"),
      virtualSize: sv.getUint32(s + 8, true),
      virtualAddress: sv.getUint32(s + 12, true),
      sizeOfRawData: sv.getUint32(s + 16, true),
      pointerToRawData: sv.getUint32(s + 20, true),
      characteristics: sv.getUint32(s + 36, true),
    });
  }
  if (bytes instanceof FileBytes) {
    bytes.sections = sections;
    bytes.sizeOfHeaders = sizeOfHeaders;
  }
  return PeImage.create({
    bytes,
    base: bytes.layout === "loaded" ? base : imageBase,
    machine,
    is64,
    timestamp,
    characteristics,
    imageBase,
    sizeOfImage,
    sizeOfHeaders,
    checksum,
    entryPoint,
    sections,
    dataDirectories,
    diagnostics,
    label,
  });
}
