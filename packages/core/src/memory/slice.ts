import type { Address } from "../address.js";
import { InputError } from "../errors.js";
import { FileSource, type FileSourceOptions } from "../io/byte-source.js";
import { AddressSpace, type MemoryRange, type Translation } from "./address-space.js";
import { mergeRanges } from "./scan.js";

/**
 * A piece of a target's memory described so that another thread can read it on its own: the dump
 * file and where each mapped range of the piece lies in it. Structured-cloneable (plain numbers and
 * one Float64Array); made by {@link sliceSpace}, opened by {@link SliceSpace.open}.
 */
export interface SpaceSlice {
  /** Path of the dump file. */
  file: string;
  /** {@link FileSource.identity} of the file the slice was made from (another file at the path is refused). */
  fileIdentity: string;
  pointerSize: 4 | 8;
  /** Mapped pieces as (address, size, fileOffset) triples, sorted by address, not overlapping. */
  ranges: Float64Array;
}

/** Most pieces a slice holds (a kernel dump's memory is mapped page by page). */
const MAX_SLICE_PIECES = 1 << 20;

const whole = new WeakMap<AddressSpace, SpaceSlice | null>();

/**
 * Describe the memory of `space` in the address intervals `pairs` ([start, end) pairs, in any
 * order, overlaps allowed; all of it by default) for another thread, or undefined when it cannot
 * be shared that way: the bytes are not all in one dump file opened by path (an in-memory
 * source), or they are split into more than a million pieces. Unmapped parts are left out (the
 * slice reads them as missing, as `space` does). The slice of a whole space is computed once.
 */
export function sliceSpace(space: AddressSpace, pairs?: readonly number[]): SpaceSlice | undefined {
  if (pairs === undefined) {
    let s = whole.get(space);
    if (s === undefined) {
      s = sliceSpace(space, [0, 2 ** 64]) ?? null;
      whole.set(space, s);
    }
    return s ?? undefined;
  }
  const wanted = mergeRanges(pairs);
  const ranges = space.ranges();
  const tr: Translation = { source: undefined as unknown as FileSource, fileOffset: 0, contiguous: 0 };
  const out: number[] = [];
  let file: FileSource | undefined;
  for (let w = 0; w < wanted.starts.length; w++) {
    const va = wanted.starts[w]!;
    const end = wanted.ends[w]!;
    // first range that ends after va
    let lo = 0;
    let hi = ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const r = ranges[mid]!;
      if (r.address + r.size <= va) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < ranges.length; i++) {
      const r = ranges[i]!;
      if (r.address >= end) break;
      let cur = Math.max(va, r.address);
      const stop = Math.min(end, r.address + r.size);
      while (cur < stop) {
        if (!space.translate(cur, tr) || tr.contiguous <= 0) break;
        const src = tr.source;
        if (!(src instanceof FileSource) || (file !== undefined && src !== file)) return undefined;
        file = src;
        const n = Math.min(tr.contiguous, stop - cur);
        const k = out.length;
        // continue the previous piece when both the address and the file offset continue
        if (k >= 3 && out[k - 3]! + out[k - 2]! === cur && out[k - 1]! + out[k - 2]! === tr.fileOffset) out[k - 2] = out[k - 2]! + n;
        else {
          if (k >= MAX_SLICE_PIECES * 3) return undefined;
          out.push(cur, n, tr.fileOffset);
        }
        cur += n;
      }
    }
  }
  if (file === undefined) return undefined;
  return { file: file.name, fileIdentity: file.identity, pointerSize: space.pointerSize, ranges: Float64Array.from(out) };
}

/**
 * The memory of a {@link SpaceSlice}, read from the dump file through its own {@link FileSource}
 * (a worker thread's view of the part of a target it was given). Addresses outside the slice are
 * missing.
 */
export class SliceSpace extends AddressSpace {
  /** The dump file this slice reads. */
  readonly fileSource: FileSource;
  private readonly starts: Float64Array;
  private readonly sizes: Float64Array;
  private readonly offsets: Float64Array;
  private last = 0;
  /** Called on every translation (a window load, once per cache block at most in a pass): a worker's heartbeat. */
  onTranslate: (() => void) | undefined;

  private constructor(pointerSize: 4 | 8, source: FileSource, starts: Float64Array, sizes: Float64Array, offsets: Float64Array) {
    super(pointerSize, source);
    this.fileSource = source;
    this.starts = starts;
    this.sizes = sizes;
    this.offsets = offsets;
  }

  /**
   * Open the slice's file. Throws {@link InputError}: `INPUT_NOT_FOUND` / `INPUT_UNREADABLE` as
   * {@link FileSource.open} does, and `INPUT_UNREADABLE` when the path now holds another file
   * (the dump was replaced or modified since the slice was made).
   */
  static open(slice: SpaceSlice, options: FileSourceOptions = {}): SliceSpace {
    const source = FileSource.open(slice.file, options);
    if (source.identity !== slice.fileIdentity) {
      source.close();
      throw new InputError("INPUT_UNREADABLE", `${slice.file} changed while it was read (it is not the file the walk started on); run the command again`, {
        file: slice.file,
      });
    }
    return SliceSpace.over(slice, source);
  }

  /** The slice read through `source`, the slice's file (checked by {@link open}). */
  private static over(slice: SpaceSlice, source: FileSource): SliceSpace {
    const n = Math.floor(slice.ranges.length / 3);
    const starts = new Float64Array(n);
    const sizes = new Float64Array(n);
    const offsets = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      starts[i] = slice.ranges[3 * i]!;
      sizes[i] = slice.ranges[3 * i + 1]!;
      offsets[i] = slice.ranges[3 * i + 2]!;
    }
    return new SliceSpace(slice.pointerSize, source, starts, sizes, offsets);
  }

  translate(va: Address, out: Translation): boolean {
    if (this.onTranslate !== undefined) this.onTranslate();
    const starts = this.starts;
    let i = this.last;
    if (!(i < starts.length && va >= starts[i]! && va < starts[i]! + this.sizes[i]!)) {
      let lo = 0;
      let hi = starts.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (starts[mid]! + this.sizes[mid]! <= va) lo = mid + 1;
        else hi = mid;
      }
      if (lo >= starts.length || !(va >= starts[lo]!)) return false;
      i = lo;
      this.last = i;
    }
    const delta = va - starts[i]!;
    out.source = this.fileSource;
    out.fileOffset = this.offsets[i]! + delta;
    out.contiguous = this.sizes[i]! - delta;
    return true;
  }

  ranges(): readonly MemoryRange[] {
    const out: MemoryRange[] = [];
    for (let i = 0; i < this.starts.length; i++) out.push({ address: this.starts[i]!, size: this.sizes[i]! });
    return out;
  }

  withPointerSize(pointerSize: 4 | 8): AddressSpace {
    return pointerSize === this.pointerSize ? this : new SliceSpace(pointerSize, this.fileSource, this.starts, this.sizes, this.offsets);
  }

  /** Close the file (the views made by {@link withPointerSize} share it). */
  close(): void {
    this.fileSource.close();
  }
}
