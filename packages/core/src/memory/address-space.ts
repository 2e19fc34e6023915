import { type Address, INVALID_ADDRESS, addressFromParts } from "../address.js";
import { BufferSource, type ByteSource, type ByteWindow, type WindowLease, emptyWindow } from "../io/byte-source.js";

/**
 * Where a virtual address lives in the input: filled in place by
 * {@link AddressSpace.translate} so translation allocates nothing.
 */
export interface Translation {
  source: ByteSource;
  /** File offset of the requested address. */
  fileOffset: number;
  /** Bytes contiguous in the file from there (to the end of the range or page). */
  contiguous: number;
}

/**
 * A contiguous piece of memory for tight loops (heap walkers): `bytes[index]` is the byte at
 * `address`, `length` bytes are readable from there. Filled in place by {@link AddressSpace.span}.
 * Use it right away: its bytes stay valid while `lease.stale` is false (see {@link ByteWindow}).
 */
export interface Span {
  address: Address;
  bytes: Uint8Array;
  view: DataView;
  index: number;
  length: number;
  lease: WindowLease;
}

export function emptySpan(): Span {
  const w = emptyWindow();
  return { address: 0, bytes: w.bytes, view: w.view, index: 0, length: 0, lease: w.lease };
}

/** A mapped virtual range (one entry of a minidump memory list, one run of pages). */
export interface MemoryRange {
  address: Address;
  size: number;
}

/**
 * Virtual memory of a target. Subclasses provide {@link translate}; everything else is built on
 * it with a two-window cache, so sequential scalar reads cost a bounds check and a DataView read,
 * and a walker that alternates between two places (a bitmap and the blocks it describes, a list
 * and its entries) does not reload a window on every read. A window is dropped when its source
 * reuses the memory behind it (its lease turns stale).
 *
 * Scalar readers return `-1` (integers) or `NaN` (pointers, u64) when any byte is missing;
 * use {@link firstMissing} to name the missing address in a diagnostic. Nothing here throws
 * for unmapped memory.
 *
 * The same memory can be seen through two spaces of different {@link pointerSize}: the native
 * 64-bit view and the 32-bit (WoW64) view of one process share ranges and translation.
 */
export abstract class AddressSpace {
  /** Pointer size used by {@link ptr}: 4 for 32-bit views, 8 for 64-bit ones. */
  readonly pointerSize: 4 | 8;

  private win: ByteWindow = emptyWindow();
  /** Virtual address of win.bytes[win.index], and the end of what the window covers. */
  private winStart = 0;
  private winEnd = 0;
  /** The window used before `win`. */
  private alt: ByteWindow = emptyWindow();
  private altStart = 0;
  private altEnd = 0;
  private readonly tr: Translation;
  private readonly scratch = new Uint8Array(8);
  private readonly scratchView = new DataView(this.scratch.buffer);

  protected constructor(pointerSize: 4 | 8, probe: ByteSource) {
    this.pointerSize = pointerSize;
    this.tr = { source: probe, fileOffset: 0, contiguous: 0 };
  }

  /** Map `va` to the input. False when the byte at `va` is not in the dump. */
  abstract translate(va: Address, out: Translation): boolean;

  /** The mapped ranges, sorted by address (may be computed lazily and be large for kernel spaces). */
  abstract ranges(): readonly MemoryRange[];

  /** A view of the same memory with another pointer size (the WoW64 32-bit view, or back). */
  abstract withPointerSize(pointerSize: 4 | 8): AddressSpace;

  /** True when the current window holds [va, va+n) and its memory still holds what was read. */
  private covers(va: Address, n: number): boolean {
    return va >= this.winStart && va + n <= this.winEnd && !this.win.lease.stale;
  }

  /** Make the window that contains `va` current (the other one, or a new read); false if unmapped. */
  private load(va: Address): boolean {
    const w = this.alt;
    const start = this.altStart;
    const end = this.altEnd;
    this.alt = this.win;
    this.altStart = this.winStart;
    this.altEnd = this.winEnd;
    this.win = w;
    this.winStart = start;
    this.winEnd = end;
    if (va >= start && va < end && !w.lease.stale) return true;
    this.winStart = 0;
    this.winEnd = 0;
    if (!(va === va) || !this.translate(va, this.tr)) return false;
    if (!this.tr.source.window(this.tr.fileOffset, w)) return false;
    const n = Math.min(w.length, this.tr.contiguous);
    if (n <= 0) return false;
    w.length = n;
    this.winStart = va;
    this.winEnd = va + n;
    return true;
  }

  /** True when every byte of [va, va+length) is in the dump. */
  isMapped(va: Address, length = 1): boolean {
    return this.firstMissing(va, length) === undefined;
  }

  /** The first address in [va, va+length) that the dump lacks, or undefined if all present. */
  firstMissing(va: Address, length: number): Address | undefined {
    if (!(va === va)) return va;
    let cur = va;
    const end = va + length;
    while (cur < end) {
      if (!this.translate(cur, this.tr) || this.tr.contiguous <= 0) return cur;
      cur += this.tr.contiguous;
    }
    return undefined;
  }

  /**
   * Fill `out` with the longest contiguous readable piece at `va` (at most to the end of a cache
   * block, range or page). False when `va` is unmapped. No copy is made.
   */
  span(va: Address, out: Span): boolean {
    if (!this.covers(va, 1) && !this.load(va)) return false;
    const w = this.win;
    const delta = va - this.winStart;
    out.address = va;
    out.bytes = w.bytes;
    out.view = w.view;
    out.index = w.index + delta;
    out.length = w.length - delta;
    out.lease = w.lease;
    return true;
  }

  /**
   * Copy [va, va+length) into `dst`. Returns the number of bytes copied before the first
   * missing byte (so `length` means complete).
   */
  readInto(va: Address, dst: Uint8Array, dstOffset: number, length: number): number {
    let done = 0;
    while (done < length) {
      const cur = va + done;
      if (!this.covers(cur, 1) && !this.load(cur)) break;
      const w = this.win;
      const delta = cur - this.winStart;
      const n = Math.min(length - done, w.length - delta);
      const from = w.index + delta;
      dst.set(w.bytes.subarray(from, from + n), dstOffset + done);
      done += n;
    }
    return done;
  }

  /** A fresh copy of [va, va+length), or undefined if any byte is missing. */
  read(va: Address, length: number): Uint8Array | undefined {
    if (!(length >= 0) || length > 0x7fffffff) return undefined;
    const out = new Uint8Array(length);
    return this.readInto(va, out, 0, length) === length ? out : undefined;
  }

  /** Bytes at va when all `n` are in one window; else copy into a scratch view. -1 if missing. */
  private at(va: Address, n: number): number {
    if (this.covers(va, n)) return this.win.index + (va - this.winStart);
    if (this.load(va) && va + n <= this.winEnd) return this.win.index + (va - this.winStart);
    return -1;
  }

  private scratchRead(va: Address, n: number): boolean {
    return this.readInto(va, this.scratch, 0, n) === n;
  }

  u8(va: Address): number {
    const i = this.at(va, 1);
    return i < 0 ? -1 : this.win.bytes[i]!;
  }

  u16(va: Address): number {
    const i = this.at(va, 2);
    if (i >= 0) return this.win.view.getUint16(i, true);
    return this.scratchRead(va, 2) ? this.scratchView.getUint16(0, true) : -1;
  }

  u32(va: Address): number {
    const i = this.at(va, 4);
    if (i >= 0) return this.win.view.getUint32(i, true);
    return this.scratchRead(va, 4) ? this.scratchView.getUint32(0, true) : -1;
  }

  /**
   * A u32 read for sparse probes (signature scans): served from the current window when it
   * covers `va`, else read directly from the input without loading a cache block. -1 if missing.
   */
  peekU32(va: Address): number {
    return this.peekInto(va, this.scratch, 4) === 4 ? this.scratchView.getUint32(0, true) : -1;
  }

  /**
   * Copy [va, va+length) into `dst` from its start for sparse reads (a list link per page segment,
   * a header per subsegment): served from the current window or a cached block when they hold it,
   * else read directly from the input without loading a cache block, so a walk over lists spread
   * across gigabytes does not evict the blocks a block walk is about to use. Returns the bytes
   * copied (`length` when complete).
   */
  peekInto(va: Address, dst: Uint8Array, length: number): number {
    if (this.covers(va, length)) {
      const from = this.win.index + (va - this.winStart);
      dst.set(this.win.bytes.subarray(from, from + length));
      return length;
    }
    if (!(va === va) || !this.translate(va, this.tr) || this.tr.contiguous < length || this.tr.source.peek === undefined) {
      return this.readInto(va, dst, 0, length);
    }
    return this.tr.source.peek(this.tr.fileOffset, dst, length);
  }

  /** A pointer of this space's size read like {@link peekInto}; NaN when missing or not exact. */
  peekPtr(va: Address): Address {
    const n = this.pointerSize;
    if (this.peekInto(va, this.scratch, n) !== n) return INVALID_ADDRESS;
    const lo = this.scratchView.getUint32(0, true);
    return n === 8 ? addressFromParts(lo, this.scratchView.getUint32(4, true)) : lo;
  }

  i32(va: Address): number {
    const v = this.u32(va);
    return v < 0 ? Number.NaN : v | 0;
  }

  /**
   * A u64 as a number: exact below 2^53, otherwise rounded. `NaN` if missing. For pointers use
   * {@link ptr}, which also maps the kernel half exactly.
   */
  u64(va: Address): number {
    const i = this.at(va, 8);
    let lo: number;
    let hi: number;
    if (i >= 0) {
      lo = this.win.view.getUint32(i, true);
      hi = this.win.view.getUint32(i + 4, true);
    } else if (this.scratchRead(va, 8)) {
      lo = this.scratchView.getUint32(0, true);
      hi = this.scratchView.getUint32(4, true);
    } else return Number.NaN;
    return hi * 4294967296 + lo;
  }

  /** A 64-bit pointer as an {@link Address}; NaN when missing or not exact. */
  ptr64(va: Address): Address {
    const i = this.at(va, 8);
    if (i >= 0) return addressFromParts(this.win.view.getUint32(i, true), this.win.view.getUint32(i + 4, true));
    if (this.scratchRead(va, 8)) return addressFromParts(this.scratchView.getUint32(0, true), this.scratchView.getUint32(4, true));
    return INVALID_ADDRESS;
  }

  /** A 32-bit pointer; NaN when missing. */
  ptr32(va: Address): Address {
    const v = this.u32(va);
    return v < 0 ? INVALID_ADDRESS : v;
  }

  /** A pointer of this space's {@link pointerSize}; NaN when missing or not exact. */
  ptr(va: Address): Address {
    return this.pointerSize === 8 ? this.ptr64(va) : this.ptr32(va);
  }

  /** A NUL-terminated string (ASCII/Latin-1 or UTF-16LE), at most `maxChars`; undefined if unmapped at start. */
  cString(va: Address, maxChars = 1024, utf16 = false): string | undefined {
    const unit = utf16 ? 2 : 1;
    const buf = new Uint8Array(maxChars * unit);
    const n = this.readInto(va, buf, 0, buf.length);
    if (n === 0) return undefined;
    let end = 0;
    if (utf16) {
      while (end + 1 < n && (buf[end] !== 0 || buf[end + 1] !== 0)) end += 2;
      return Buffer.from(buf.buffer, 0, end).toString("utf16le");
    }
    while (end < n && buf[end] !== 0) end++;
    return Buffer.from(buf.buffer, 0, end).toString("latin1");
  }
}

/** One mapped range of a {@link RangeAddressSpace}: virtual range -> file offset. */
export interface FileRange extends MemoryRange {
  fileOffset: number;
}

/**
 * Address space of a user-mode dump: a sorted list of ranges, each backed by a file region
 * (minidump MemoryList / Memory64List). Lookup is a binary search with a last-hit cache.
 * Ranges that overlap an earlier one are trimmed (the first wins); callers report that.
 */
export class RangeAddressSpace extends AddressSpace {
  private readonly source: ByteSource;
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  private readonly offsets: Float64Array;
  private readonly list: readonly FileRange[];
  private last = 0;

  constructor(source: ByteSource, ranges: readonly FileRange[], pointerSize: 4 | 8) {
    super(pointerSize, source);
    this.source = source;
    const sorted = ranges
      .filter((r) => r.size > 0 && r.address === r.address)
      .slice()
      .sort((a, b) => a.address - b.address);
    const kept: FileRange[] = [];
    let prevEnd = -Infinity;
    for (const r of sorted) {
      let { address, size, fileOffset } = r;
      if (address < prevEnd) {
        const cut = prevEnd - address;
        if (cut >= size) continue;
        address += cut;
        size -= cut;
        fileOffset += cut;
      }
      kept.push({ address, size, fileOffset });
      prevEnd = address + size;
    }
    this.list = kept;
    this.starts = new Float64Array(kept.map((r) => r.address));
    this.ends = new Float64Array(kept.map((r) => r.address + r.size));
    this.offsets = new Float64Array(kept.map((r) => r.fileOffset));
  }

  translate(va: Address, out: Translation): boolean {
    const starts = this.starts;
    const ends = this.ends;
    let i = this.last;
    if (!(i < starts.length && va >= starts[i]! && va < ends[i]!)) {
      let lo = 0;
      let hi = starts.length - 1;
      i = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (starts[mid]! <= va) {
          i = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (i < 0 || !(va < ends[i]!)) return false;
      this.last = i;
    }
    out.source = this.source;
    out.fileOffset = this.offsets[i]! + (va - starts[i]!);
    out.contiguous = ends[i]! - va;
    return true;
  }

  ranges(): readonly FileRange[] {
    return this.list;
  }

  withPointerSize(pointerSize: 4 | 8): RangeAddressSpace {
    return new RangeAddressSpace(this.source, this.list, pointerSize);
  }
}

/**
 * An address space over bytes placed at addresses, for tests and for synthetic inputs:
 * `new BytesAddressSpace([{ address: 0x1000, bytes }], 8)`.
 */
export class BytesAddressSpace extends RangeAddressSpace {
  constructor(pieces: readonly { address: Address; bytes: Uint8Array }[], pointerSize: 4 | 8) {
    const total = pieces.reduce((n, p) => n + p.bytes.length, 0);
    const all = new Uint8Array(total);
    const ranges: FileRange[] = [];
    let off = 0;
    for (const p of pieces) {
      all.set(p.bytes, off);
      ranges.push({ address: p.address, size: p.bytes.length, fileOffset: off });
      off += p.bytes.length;
    }
    super(new BufferSource(all, "<bytes>"), ranges, pointerSize);
  }
}
