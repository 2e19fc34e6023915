/**
 * Module images for the accuracy benchmark's processes: a mapped PE image with a header (and an
 * export directory for DLLs), code (functions with prologues, calls and returns, so call sites
 * are real return addresses), read-only data (vtables with MSVC RTTI: complete object locators,
 * type descriptors) and writable data (globals the program keeps heap pointers in). Plain bytes.
 */
import { minidumpPeHeader } from "../minidump/builder.js";

/** Where each part of an image lives (offsets from the image base). */
export const IMAGE_LAYOUT = {
  /** Export directory (DLLs) inside the header page. */
  exports: 0x400,
  code: 0x1000,
  codeSize: 0x6000,
  rdata: 0x7000,
  rdataSize: 0x3000,
  data: 0xa000,
  dataSize: 0x4000,
  size: 0xe000,
} as const;

export interface ImageClass {
  /** Decorated name as MSVC stores it (`.?AVSession@net@@`). */
  decorated: string;
  /** Virtual functions in the vtable (at least 1). */
  methods: number;
}

export interface EvalModuleImage {
  base: number;
  bytes: Uint8Array;
  /** Vtable address of each class, in the order given. */
  vtables: number[];
  /** Address of the first global slot (pointer-sized slots follow). */
  globals: number;
  /** Number of global pointer slots. */
  globalSlots: number;
  /** Entry addresses of the exported functions (DLLs), in the order given. */
  exports: number[];
}

/** A little-endian pointer of `ps` bytes. */
export function putPtr(dv: DataView, at: number, v: number, ps: 4 | 8): void {
  dv.setUint32(at, v % 4294967296 >>> 0, true);
  if (ps === 8) dv.setUint32(at + 4, Math.floor(v / 4294967296) >>> 0, true);
}

/**
 * A mapped image of `bitness` at `base`: code with one function per 0x40 bytes (push rbp / mov
 * rbp,rsp / sub rsp / a call / leave / ret, padded with int3), vtables pointing into the code, RTTI
 * for `classes` (x86: absolute pointers, signature 0; x64: image-relative, signature 1, pSelf),
 * and, for a DLL, an export directory naming `exportNames` (functions at the start of the code).
 */
export function buildModuleImage(spec: {
  bitness: 32 | 64;
  base: number;
  name: string;
  classes?: ImageClass[];
  exportNames?: string[];
}): EvalModuleImage {
  const L = IMAGE_LAYOUT;
  const ps: 4 | 8 = spec.bitness === 64 ? 8 : 4;
  const bytes = new Uint8Array(L.size);
  const dv = new DataView(bytes.buffer);
  bytes.set(minidumpPeHeader(spec.bitness, 0x1000, { base: spec.base, sizeOfImage: L.size }));
  // code: one small function every 0x40 bytes
  const fn = spec.bitness === 64
    ? [0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x20, 0xe8, 0, 0, 0, 0, 0x48, 0x89, 0xc3, 0x48, 0x83, 0xc4, 0x20, 0x5d, 0xc3]
    : [0x55, 0x8b, 0xec, 0x83, 0xec, 0x10, 0xe8, 0, 0, 0, 0, 0x8b, 0xd8, 0x8b, 0xe5, 0x5d, 0xc3];
  for (let at = L.code; at + 0x40 <= L.code + L.codeSize; at += 0x40) {
    bytes.fill(0xcc, at, at + 0x40);
    bytes.set(fn, at);
    dv.setInt32(at + (spec.bitness === 64 ? 9 : 7), -((at + 0x40) % 0x400), true); // a call to a nearby function
  }
  // rdata: RTTI and vtables
  const vtables: number[] = [];
  let r = L.rdata;
  for (const c of spec.classes ?? []) {
    const td = r; // type descriptor: pVFTable, spare, name
    putPtr(dv, td, spec.base + L.rdata + 0x2ff0, ps); // type_info's vtable (any pointer into the image)
    const name = new TextEncoder().encode(`${c.decorated}\0`);
    bytes.set(name, td + 2 * ps);
    r = Math.ceil((td + 2 * ps + name.length) / 8) * 8;
    const col = r;
    if (ps === 8) {
      dv.setUint32(col, 1, true); // signature 1: image-relative
      dv.setUint32(col + 0x0c, td, true);
      dv.setUint32(col + 0x10, 0, true);
      dv.setUint32(col + 0x14, col, true); // pSelf
      r = col + 0x18;
    } else {
      dv.setUint32(col, 0, true);
      dv.setUint32(col + 0x0c, spec.base + td, true);
      r = col + 0x14;
    }
    r = Math.ceil(r / ps) * ps;
    putPtr(dv, r, spec.base + col, ps); // vtable[-1] = complete object locator
    r += ps;
    vtables.push(spec.base + r);
    for (let k = 0; k < Math.max(1, c.methods); k++) {
      putPtr(dv, r, spec.base + L.code + ((vtables.length * 7 + k) % (L.codeSize / 0x40)) * 0x40, ps);
      r += ps;
    }
    if (r > L.rdata + L.rdataSize - 0x100) throw new Error(`eval image ${spec.name}: too many classes for the rdata area`);
  }
  // exports (DLLs): directory, address table, name pointers, ordinals, names
  const exports: number[] = [];
  const names = spec.exportNames ?? [];
  if (names.length > 0) {
    const d = L.exports;
    const eat = d + 0x28;
    const enpt = eat + names.length * 4;
    const eot = enpt + names.length * 4;
    let s = eot + names.length * 2;
    const dllName = s;
    bytes.set(new TextEncoder().encode(`${spec.name}\0`), s);
    s += spec.name.length + 1;
    // names sorted (the loader binary-searches them)
    const sorted = names.map((n, i) => ({ n, i })).sort((a, b) => (a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
    names.forEach((_, i) => {
      const rva = L.code + i * 0x40;
      dv.setUint32(eat + i * 4, rva, true);
      exports.push(spec.base + rva);
    });
    sorted.forEach(({ n, i }, k) => {
      dv.setUint32(enpt + k * 4, s, true);
      dv.setUint16(eot + k * 2, i, true);
      bytes.set(new TextEncoder().encode(`${n}\0`), s);
      s += n.length + 1;
    });
    if (s > 0x1000) throw new Error(`eval image ${spec.name}: export names do not fit the header page`);
    dv.setUint32(d + 0x0c, dllName, true);
    dv.setUint32(d + 0x10, 1, true); // ordinal base
    dv.setUint32(d + 0x14, names.length, true);
    dv.setUint32(d + 0x18, names.length, true);
    dv.setUint32(d + 0x1c, eat, true);
    dv.setUint32(d + 0x20, enpt, true);
    dv.setUint32(d + 0x24, eot, true);
    // DataDirectory[0] of the optional header (at 0x98): +112 (PE32+) / +96 (PE32)
    const dirAt = 0x98 + (spec.bitness === 64 ? 112 : 96);
    dv.setUint32(dirAt, d, true);
    dv.setUint32(dirAt + 4, s - d, true);
    dv.setUint16(0x96, dv.getUint16(0x96, true) | 0x2000, true); // IMAGE_FILE_DLL
  }
  return { base: spec.base, bytes, vtables, globals: spec.base + L.data, globalSlots: L.dataSize / ps, exports };
}

/** The address of function `k` in an image's code (a call site is a return address inside it). */
export function codeAddress(base: number, k: number, offset = 0x0d): number {
  return base + IMAGE_LAYOUT.code + (k % (IMAGE_LAYOUT.codeSize / 0x40)) * 0x40 + offset;
}
