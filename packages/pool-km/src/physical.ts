import { type ByteSource, type ByteWindow, type Diagnostics, emptyWindow, readBytes } from "@leakscope/core";
import { DumpType, type KernelDumpHeader } from "./header.js";

export const PAGE_SIZE = 0x1000;
const SOURCE = "pool-km";

/** A stretch of consecutive physical pages stored consecutively in the file. */
export interface PhysicalSegment {
  basePage: number;
  pageCount: number;
  fileOffset: number;
}

/** Which layout stores the pages. */
export type PhysicalLayout = "runs" | "bitmap" | "rdmp" | "none";

/**
 * Physical memory of a kernel dump: page frame -> file offset. Built once from the runs, the
 * bitmap or the RDMP ranges; lookups are a binary search over segments with a last-hit cache and
 * allocate nothing. Pages the file does not hold (truncated dumps) are simply absent.
 */
export class PhysicalMemory {
  readonly layout: PhysicalLayout;
  readonly source: ByteSource;
  private readonly bases: Float64Array;
  private readonly counts: Float64Array;
  private readonly offsets: Float64Array;
  private last = 0;
  /** Pages present (and inside the file). */
  readonly presentPages: number;

  constructor(source: ByteSource, layout: PhysicalLayout, segments: readonly PhysicalSegment[]) {
    this.source = source;
    this.layout = layout;
    const sorted = segments.filter((s) => s.pageCount > 0).sort((a, b) => a.basePage - b.basePage);
    this.bases = new Float64Array(sorted.length);
    this.counts = new Float64Array(sorted.length);
    this.offsets = new Float64Array(sorted.length);
    let n = 0;
    let prevEnd = -1;
    let total = 0;
    for (const s of sorted) {
      if (s.basePage < prevEnd) continue; // overlapping run: the first wins
      this.bases[n] = s.basePage;
      this.counts[n] = s.pageCount;
      this.offsets[n] = s.fileOffset;
      prevEnd = s.basePage + s.pageCount;
      total += s.pageCount;
      n++;
    }
    this.segmentCount = n;
    this.presentPages = total;
  }

  readonly segmentCount: number;

  /** The segments in page order. */
  segments(): PhysicalSegment[] {
    const out: PhysicalSegment[] = [];
    for (let i = 0; i < this.segmentCount; i++) out.push({ basePage: this.bases[i]!, pageCount: this.counts[i]!, fileOffset: this.offsets[i]! });
    return out;
  }

  private find(pfn: number): number {
    const i0 = this.last;
    if (i0 < this.segmentCount && pfn >= this.bases[i0]! && pfn < this.bases[i0]! + this.counts[i0]!) return i0;
    let lo = 0;
    let hi = this.segmentCount - 1;
    let i = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.bases[mid]! <= pfn) {
        i = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (i < 0 || pfn >= this.bases[i]! + this.counts[i]!) return -1;
    this.last = i;
    return i;
  }

  /** File offset of physical address `pa`, or -1 when the page is not in the dump. */
  fileOffset(pa: number): number {
    if (!(pa >= 0)) return -1;
    const pfn = Math.floor(pa / PAGE_SIZE);
    const i = this.find(pfn);
    if (i < 0) return -1;
    return this.offsets[i]! + (pfn - this.bases[i]!) * PAGE_SIZE + (pa - pfn * PAGE_SIZE);
  }

  /** Bytes readable contiguously in the file from `pa` (to the end of its segment), 0 if absent. */
  contiguous(pa: number): number {
    const pfn = Math.floor(pa / PAGE_SIZE);
    const i = this.find(pfn);
    if (i < 0) return 0;
    return (this.bases[i]! + this.counts[i]!) * PAGE_SIZE - pa;
  }

  private readonly win: ByteWindow = emptyWindow();

  /** Little-endian u32 at a physical address; -1 when absent. Allocation-free. */
  u32(pa: number): number {
    const off = this.fileOffset(pa);
    if (off < 0 || !this.source.window(off, this.win) || this.win.length < 4) return -1;
    return this.win.view.getUint32(this.win.index, true);
  }

  /** Read the 8 bytes at `pa` as lo/hi halves into `out`; false when absent. Allocation-free. */
  u64Parts(pa: number, out: { lo: number; hi: number }): boolean {
    const off = this.fileOffset(pa);
    if (off < 0 || !this.source.window(off, this.win) || this.win.length < 8) return false;
    out.lo = this.win.view.getUint32(this.win.index, true);
    out.hi = this.win.view.getUint32(this.win.index + 4, true);
    return true;
  }
}

/**
 * Build the physical memory map of a full, bitmap or RDMP dump. Inconsistencies are reported to
 * `diagnostics` and clamped to the file: nothing here allocates in proportion to a claimed count.
 */
export function loadPhysicalMemory(source: ByteSource, header: KernelDumpHeader, diagnostics: Diagnostics): PhysicalMemory {
  const t = header.dumpType;
  if (t === DumpType.Full) return fromRuns(source, header, diagnostics);
  if (t === DumpType.BitmapFull || t === DumpType.BitmapKernel) return fromBitmap(source, header, diagnostics);
  if (t === DumpType.RdmpKernel || t === DumpType.RdmpKernelUser || t === DumpType.RdmpComplete) return fromRdmp(source, header, diagnostics);
  return new PhysicalMemory(source, "none", []);
}

function clip(source: ByteSource, segs: PhysicalSegment[], diagnostics: Diagnostics, what: string): PhysicalSegment[] {
  const out: PhysicalSegment[] = [];
  let reported = false;
  for (const s of segs) {
    const avail = Math.floor(Math.max(0, source.size - s.fileOffset) / PAGE_SIZE);
    if (avail < s.pageCount && !reported) {
      reported = true;
      diagnostics.report(SOURCE, "KDUMP_TRUNCATED", "warning", `${what}: pages from PFN 0x${(s.basePage + avail).toString(16)} on lie past the end of the file (0x${source.size.toString(16)} bytes); they are not captured`, {
        file: source.name,
        fileOffset: s.fileOffset + avail * PAGE_SIZE,
      });
    }
    if (avail > 0) out.push({ basePage: s.basePage, pageCount: Math.min(avail, s.pageCount), fileOffset: s.fileOffset });
  }
  return out;
}

function fromRuns(source: ByteSource, h: KernelDumpHeader, diagnostics: Diagnostics): PhysicalMemory {
  const maxRuns = h.headerBits === 64 ? 43 : 246;
  if (h.runsAreFill || h.numberOfRuns > maxRuns) {
    diagnostics.report(SOURCE, "KDUMP_BAD_RUNS", "warning", `NumberOfRuns 0x${h.numberOfRuns.toString(16)} does not fit the descriptor (at most ${maxRuns}); using ${h.runs.length} runs`, {
      file: source.name,
      fileOffset: h.headerBits === 64 ? 0x88 : 0x64,
    });
  }
  const segs: PhysicalSegment[] = [];
  let offset = h.headerSize;
  let sum = 0;
  for (const r of h.runs) {
    if (!(r.pageCount > 0) || r.pageCount > 2 ** 40 || r.basePage > 2 ** 40) {
      diagnostics.report(SOURCE, "KDUMP_BAD_RUNS", "warning", `run at PFN 0x${r.basePage.toString(16)} with 0x${r.pageCount.toString(16)} pages is impossible; it and the runs after it are not used`, {
        file: source.name,
        fileOffset: h.headerBits === 64 ? 0x98 : 0x6c,
      });
      break;
    }
    segs.push({ basePage: r.basePage, pageCount: r.pageCount, fileOffset: offset });
    offset += r.pageCount * PAGE_SIZE;
    sum += r.pageCount;
  }
  if (!h.runsAreFill && sum !== h.numberOfPages) {
    diagnostics.report(SOURCE, "KDUMP_BAD_RUNS", "warning", `runs add up to 0x${sum.toString(16)} pages, NumberOfPages says 0x${h.numberOfPages.toString(16)}`, {
      file: source.name,
      fileOffset: h.headerBits === 64 ? 0x90 : 0x68,
    });
  }
  return new PhysicalMemory(source, "runs", clip(source, segs, diagnostics, "full dump"));
}

function fromBitmap(source: ByteSource, h: KernelDumpHeader, diagnostics: Diagnostics): PhysicalMemory {
  const base = 0x2000;
  const hdr = readBytes(source, base, 0x38);
  if (hdr.length < 0x38) {
    diagnostics.report(SOURCE, "KDUMP_TRUNCATED", "warning", "the bitmap header lies past the end of the file", { file: source.name, fileOffset: base });
    return new PhysicalMemory(source, "bitmap", []);
  }
  const v = new DataView(hdr.buffer, hdr.byteOffset, hdr.byteLength);
  const sig = String.fromCharCode(...hdr.subarray(0, 4));
  const valid = String.fromCharCode(...hdr.subarray(4, 8));
  if ((sig !== "SDMP" && sig !== "FDMP") || valid !== "DUMP") {
    diagnostics.report(SOURCE, "KDUMP_BAD_BITMAP", "warning", `bitmap header signature is '${sig}${valid}', expected 'SDMPDUMP' or 'FDMPDUMP'`, { file: source.name, fileOffset: base });
  }
  const firstPage = v.getUint32(0x24, true) * 4294967296 + v.getUint32(0x20, true);
  const totalPresent = v.getUint32(0x2c, true) * 4294967296 + v.getUint32(0x28, true);
  let bits = v.getUint32(0x34, true) * 4294967296 + v.getUint32(0x30, true);
  const maxBits = Math.max(0, source.size - (base + 0x38)) * 8;
  if (bits > maxBits) {
    diagnostics.report(SOURCE, "KDUMP_BAD_BITMAP", "warning", `bitmap claims 0x${bits.toString(16)} bits, the file holds at most 0x${maxBits.toString(16)}`, { file: source.name, fileOffset: base + 0x30 });
    bits = maxBits;
  }
  const bitmap = readBytes(source, base + 0x38, Math.ceil(bits / 8));
  const segs: PhysicalSegment[] = [];
  let present = 0;
  let runStart = -1;
  const flush = (end: number): void => {
    if (runStart >= 0) {
      segs.push({ basePage: runStart, pageCount: end - runStart, fileOffset: firstPage + (present - (end - runStart)) * PAGE_SIZE });
      runStart = -1;
    }
  };
  for (let byte = 0; byte < bitmap.length; byte++) {
    const b = bitmap[byte]!;
    const pfn0 = byte * 8;
    if (b === 0) {
      flush(pfn0);
      continue;
    }
    if (b === 0xff && pfn0 + 8 <= bits) {
      if (runStart < 0) runStart = pfn0;
      present += 8;
      continue;
    }
    for (let k = 0; k < 8; k++) {
      const pfn = pfn0 + k;
      if (pfn >= bits) break;
      if ((b >> k) & 1) {
        if (runStart < 0) runStart = pfn;
        present++;
      } else flush(pfn);
    }
  }
  flush(bits);
  if (present !== totalPresent) {
    diagnostics.report(SOURCE, "KDUMP_BAD_BITMAP", "warning", `bitmap has ${present} set bits, TotalPresentPages says ${totalPresent}`, { file: source.name, fileOffset: base + 0x28 });
  }
  if (!(firstPage >= base + 0x38 + bitmap.length)) {
    diagnostics.report(SOURCE, "KDUMP_BAD_BITMAP", "warning", `FirstPage 0x${firstPage.toString(16)} overlaps the bitmap`, { file: source.name, fileOffset: base + 0x20 });
  }
  return new PhysicalMemory(source, "bitmap", clip(source, segs, diagnostics, "bitmap dump"));
}

function fromRdmp(source: ByteSource, h: KernelDumpHeader, diagnostics: Diagnostics): PhysicalMemory {
  const base = 0x2000;
  const hdr = readBytes(source, base, 0x30);
  if (hdr.length < 0x30) {
    diagnostics.report(SOURCE, "KDUMP_TRUNCATED", "warning", "the RDMP header lies past the end of the file", { file: source.name, fileOffset: base });
    return new PhysicalMemory(source, "rdmp", []);
  }
  const v = new DataView(hdr.buffer, hdr.byteOffset, hdr.byteLength);
  if (String.fromCharCode(...hdr.subarray(4, 8)) !== "RDMP") {
    diagnostics.report(SOURCE, "KDUMP_BAD_BITMAP", "warning", "RDMP header signature missing", { file: source.name, fileOffset: base + 4 });
  }
  const metadataSize = v.getUint32(0x14, true) * 4294967296 + v.getUint32(0x10, true);
  const firstPageOffset = v.getUint32(0x1c, true) * 4294967296 + v.getUint32(0x18, true);
  let maxRanges: number;
  if (h.dumpType === DumpType.RdmpComplete) maxRanges = v.getUint32(0x20, true);
  else maxRanges = Math.floor(metadataSize / 16);
  const fit = Math.floor(Math.max(0, Math.min(source.size, firstPageOffset) - 0x2030) / 16);
  if (maxRanges > fit) {
    diagnostics.report(SOURCE, "KDUMP_BAD_RUNS", "warning", `RDMP claims ${maxRanges} ranges, ${fit} fit before the first page`, { file: source.name, fileOffset: base + 0x10 });
    maxRanges = fit;
  }
  const table = readBytes(source, 0x2030, maxRanges * 16);
  const tv = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const segs: PhysicalSegment[] = [];
  let offset = firstPageOffset;
  for (let i = 0; i + 16 <= table.length; i += 16) {
    const pfn = tv.getUint32(i + 4, true) * 4294967296 + tv.getUint32(i, true);
    const count = tv.getUint32(i + 12, true) * 4294967296 + tv.getUint32(i + 8, true);
    if (pfn === 0 && h.dumpType !== DumpType.RdmpComplete) break;
    if (count > 2 ** 40) break;
    segs.push({ basePage: pfn, pageCount: count, fileOffset: offset });
    offset += count * PAGE_SIZE;
  }
  return new PhysicalMemory(source, "rdmp", clip(source, segs, diagnostics, "RDMP dump"));
}
