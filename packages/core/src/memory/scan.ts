import type { Address } from "../address.js";
import { type ByteSource, emptyWindow } from "../io/byte-source.js";
import type { AddressSpace, Translation } from "./address-space.js";

/** Address ranges as two sorted arrays: the [starts[i], ends[i]) do not overlap. */
export interface AddressRanges {
  readonly starts: Float64Array;
  readonly ends: Float64Array;
}

const EMPTY = new Float64Array(0);

/** Ranges given as [start, end) pairs (`pairs[2i]`, `pairs[2i+1]`), sorted by start and merged where they overlap or touch. */
export function mergeRanges(pairs: readonly number[]): AddressRanges {
  const n = pairs.length >>> 1;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => pairs[2 * a]! - pairs[2 * b]!);
  const starts: number[] = [];
  const ends: number[] = [];
  for (const i of order) {
    const s = pairs[2 * i]!;
    const e = pairs[2 * i + 1]!;
    if (ends.length > 0 && s <= ends[ends.length - 1]!) ends[ends.length - 1] = Math.max(ends[ends.length - 1]!, e);
    else {
      starts.push(s);
      ends.push(e);
    }
  }
  return { starts: Float64Array.from(starts), ends: Float64Array.from(ends) };
}

/** What {@link scanAligned} did. */
export interface ScanResult {
  /** Aligned addresses visited. */
  visited: number;
  /** True when the scan stopped at `maxCandidates` (or because the visitor returned false). */
  stopped: boolean;
  /** When it stopped at `maxCandidates`: the first aligned address it did not visit (report it). */
  resumeAt?: Address;
}

export interface ScanOptions {
  /** Alignment of the visited addresses, a power of two (0x1000 for pages, 0x10000 for allocation granules). */
  step: number;
  /** Bytes the visitor reads at each address (from `index` on); addresses with fewer captured bytes are skipped. */
  probe: number;
  /** Stop after this many addresses (a bound for huge dumps). */
  maxCandidates: number;
  /**
   * Memory not to visit (nor read), e.g. {@link Run.claimedMemory}: sorted, non-overlapping
   * [starts[i], ends[i]) ranges.
   */
  skip?: AddressRanges;
}

/** Steps at least this large are probed with one small read each; smaller ones read the memory in bulk. */
const SPARSE_STEP = 0x10000;
/**
 * A sparse probe is slow when it takes longer than reading its whole step sequentially at this
 * speed (bytes per millisecond: 1 GB/s, 66 us for 64 KiB): the bytes come from a disk, not from
 * memory (a probe of the page cache takes 1 to 5 us).
 */
const BULK_BYTES_PER_MS = 1e6;
/** Sparse probing turns into a sequential pass once this many of the last 16 probes were slow. */
const SLOW_PROBES = 14;
/** How far that pass goes before probing (and timing) resumes: 16 MiB, 16 ms at 1 GB/s. */
const BULK_STRETCH = 16 << 20;

/**
 * Visit every `step`-aligned address of the captured memory of `space` that has at least `probe`
 * captured bytes, in address order: `visit(va, view, index)` reads them as
 * `view.getUint32(index + k, true)` (valid during the call only). Return false from `visit` to
 * stop.
 *
 * This is the signature-scan primitive. Sparse steps (64 KiB and more) cost one small read per
 * candidate that bypasses the source's block cache; smaller steps read the memory in place
 * through the cache in one sequential pass, since one read per 4 KiB page costs several times a
 * bulk read of the same memory
 * [bench: 480k page probes of a 1 GB dump, 1.1 s as single reads]. Sparse probes are timed: when
 * 14 of the last 16 took longer than reading their whole step would in bulk (the dump is read
 * from a disk, and each probe waits for it), the next 16 MiB are read sequentially instead, which
 * also leaves them in the page cache for the walks that follow, and then probing resumes; a
 * dump on disk is so read almost entirely in sequence, while a few pages the page cache had
 * dropped cost one stretch [bench: cold page cache, 3,800 probes of a 248 MB dump at 93 us each,
 * 0.35 s]. The visits are the same either way. Nothing is allocated per candidate.
 */
export function scanAligned(
  space: AddressSpace,
  options: ScanOptions,
  visit: (va: Address, view: DataView, index: number) => boolean | void,
): ScanResult {
  const { step, probe, maxCandidates } = options;
  if (!(step > 0) || (step & (step - 1)) !== 0) throw new RangeError("scanAligned: step must be a power of two");
  if (!(probe > 0 && probe <= step)) throw new RangeError("scanAligned: probe must be between 1 and step");
  const sparseStep = step >= SPARSE_STEP;
  const slowMs = step / BULK_BYTES_PER_MS;
  // one bit per recent sparse probe, 1 = slow; below `bulkUntil` a sparse step reads in bulk
  let slowBits = 0;
  let bulkUntil = Number.NEGATIVE_INFINITY;
  const scratch = new Uint8Array(probe);
  const scratchView = new DataView(scratch.buffer);
  const win = emptyWindow();
  const tr: Translation = { source: undefined as unknown as ByteSource, fileOffset: 0, contiguous: 0 };
  let visited = 0;
  const skipStarts = options.skip?.starts ?? EMPTY;
  const skipEnds = options.skip?.ends ?? EMPTY;
  let k = 0;
  for (const r of space.ranges()) {
    const end = r.address + r.size;
    let a = Math.ceil(r.address / step) * step;
    while (a + probe <= end) {
      // skipped memory: jump past it without reading
      while (k < skipStarts.length && skipEnds[k]! <= a) k++;
      if (k < skipStarts.length && skipStarts[k]! <= a) {
        a = Math.ceil(skipEnds[k]! / step) * step;
        continue;
      }
      const stopAt = k < skipStarts.length ? Math.min(end, skipStarts[k]!) : end;
      if (!space.translate(a, tr) || tr.contiguous < probe) {
        a += step;
        continue;
      }
      // Bytes readable at `a` in one piece of the file, within this range, before skipped memory.
      const avail = Math.min(tr.contiguous, end - a, stopAt - a + probe - 1);
      const sparse = sparseStep && a >= bulkUntil;
      if (sparse || !tr.source.window(tr.fileOffset, win) || win.length < probe) {
        // one candidate, copied out
        const t0 = sparse ? performance.now() : 0;
        const got = copyOut(tr.source, tr.fileOffset, scratch, probe);
        if (sparse) {
          slowBits = ((slowBits << 1) | (performance.now() - t0 > slowMs ? 1 : 0)) & 0xffff;
          if (bitCount16(slowBits) >= SLOW_PROBES) {
            bulkUntil = a + step + BULK_STRETCH;
            slowBits = 0;
          }
        }
        if (got === probe) {
          if (++visited > maxCandidates) return { visited: maxCandidates, stopped: true, resumeAt: a };
          if (visit(a, scratchView, 0) === false) return { visited, stopped: true };
        }
        a += step;
        continue;
      }
      // Candidates a, a+step, ... whose probe bytes lie within the window, read in place (at
      // least `a`: both the window and `avail` hold `probe` bytes from it).
      const inWindow = Math.min(win.length, avail);
      const view = win.view;
      const base = win.index;
      // a sparse step reads in bulk only up to `bulkUntil`
      const until = sparseStep ? Math.min(a + inWindow - probe, bulkUntil - 1) : a + inWindow - probe;
      let c = a;
      for (; c <= until; c += step) {
        if (++visited > maxCandidates) return { visited: maxCandidates, stopped: true, resumeAt: c };
        if (visit(c, view, base + (c - a)) === false) return { visited, stopped: true };
      }
      a = c;
    }
  }
  return { visited, stopped: false };
}

function bitCount16(x: number): number {
  let n = 0;
  for (let v = x; v !== 0; v &= v - 1) n++;
  return n;
}

/** Copy `length` bytes at `offset` into `dst` without going through the source's cache when it has one. */
function copyOut(source: ByteSource, offset: number, dst: Uint8Array, length: number): number {
  if (source.peek !== undefined) return source.peek(offset, dst, length);
  return source.readInto(offset, dst, 0, length);
}
