/** Little-endian byte helpers for the writers (test-utils does not import @leakscope/core). */

/** A 64-bit value: a number (negative = sign-extended kernel address) or a bigint. */
export type U64 = number | bigint;

const TWO_32 = 4294967296;

/** Write a u64 at `at`. Negative numbers are written sign-extended (two's complement). */
export function setU64(view: DataView, at: number, value: U64): void {
  if (typeof value === "bigint") {
    view.setBigUint64(at, BigInt.asUintN(64, value), true);
    return;
  }
  const hi = Math.floor(value / TWO_32);
  const lo = value - hi * TWO_32;
  view.setUint32(at, lo >>> 0, true);
  view.setUint32(at + 4, hi >>> 0, true);
}


/** UTF-16LE bytes of a string (no terminator). */
export function utf16(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "utf16le"));
}

/** Bytes of a string in an 8-bit encoding plus a NUL. */
export function cstring(text: string, encoding: "utf8" | "latin1" = "utf8"): Uint8Array {
  const b = Buffer.from(text, encoding);
  const out = new Uint8Array(b.length + 1);
  out.set(b, 0);
  return out;
}

/**
 * An append-only buffer that hands out file offsets (RVAs): the metadata area of a minidump.
 */
export class MinidumpBlob {
  readonly chunks: Uint8Array[] = [];
  size: number;

  constructor(start: number) {
    this.size = start;
  }

  /** Pad to a multiple of `align` bytes. */
  align(align: number): void {
    const pad = (align - (this.size % align)) % align;
    if (pad > 0) this.push(new Uint8Array(pad));
  }

  /** Append bytes (aligned to `align`); returns their RVA. */
  add(bytes: Uint8Array, align = 4): number {
    this.align(align);
    const rva = this.size;
    this.push(bytes);
    return rva;
  }

  /** Append `size` zero bytes and return a view to fill plus the RVA. */
  reserve(size: number, align = 4): { rva: number; view: DataView; bytes: Uint8Array } {
    const bytes = new Uint8Array(size);
    const rva = this.add(bytes, align);
    return { rva, bytes, view: new DataView(bytes.buffer) };
  }

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }
}
