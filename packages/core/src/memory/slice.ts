import type { Address } from "../address.js";
import { InputError } from "../errors.js";
import { FileSource, type FileSourceOptions } from "../io/byte-source.js";
import { type AddressSpace, type FileRange, RangeAddressSpace, type Translation } from "./address-space.js";
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
 * (a worker thread's view of the part of a target it was given): a {@link RangeAddressSpace} over
 * the slice's pieces. Addresses outside the slice are missing.
 */
export class SliceSpace extends RangeAddressSpace {
  /** The dump file this slice reads. */
  readonly fileSource: FileSource;
  /** Called on every translation (a window load, once per cache block at most in a pass): a worker's heartbeat. */
  onTranslate: (() => void) | undefined;

  private constructor(source: FileSource, ranges: readonly FileRange[], pointerSize: 4 | 8) {
    super(source, ranges, pointerSize);
    this.fileSource = source;
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
    const ranges: FileRange[] = [];
    for (let i = 0; i + 2 < slice.ranges.length; i += 3) {
      ranges.push({ address: slice.ranges[i]!, size: slice.ranges[i + 1]!, fileOffset: slice.ranges[i + 2]! });
    }
    return new SliceSpace(source, ranges, slice.pointerSize);
  }

  override translate(va: Address, out: Translation): boolean {
    if (this.onTranslate !== undefined) this.onTranslate();
    return super.translate(va, out);
  }

  /** The other bitness' view, reading the same file (closed with this one). */
  override withPointerSize(pointerSize: 4 | 8): SliceSpace {
    return pointerSize === this.pointerSize ? this : new SliceSpace(this.fileSource, this.ranges(), pointerSize);
  }

  /** Close the file (the views made by {@link withPointerSize} share it). */
  close(): void {
    this.fileSource.close();
  }
}
