import { type ByteSource, type DiagnosticLocation, Diagnostics } from "@leakscope/core";
import { symbolsCodes } from "./codes.js";

/**
 * The MSF 7.0 container ("Microsoft C/C++ MSF 7.00") that holds a PDB's streams. Streams are
 * lists of fixed-size blocks anywhere in the file; the stream directory (itself in blocks listed
 * by the block-map block) gives each stream's size and blocks. The free-block map is ignored.
 * Nothing is read whole: streams are read on demand through the ByteSource.
 */

const MAGIC = "Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0";
/** Largest stream directory accepted (the directory of a 1 GB PDB is a few MB). */
export const MAX_DIRECTORY_BYTES = 64 << 20;
/** Most streams accepted (real PDBs have a few thousand: one per compiland). */
export const MAX_STREAMS = 1 << 20;
const NIL_STREAM = 0xffffffff;

export type Report = (code: keyof typeof symbolsCodes, message: string, location?: DiagnosticLocation) => void;

export function reporter(diagnostics: Diagnostics, label: string): Report {
  return (code, message, location) =>
    diagnostics.report("symbols", code, symbolsCodes[code].severity, `${label}: ${message}`, location);
}

export class MsfFile {
  readonly blockSize: number;
  readonly numBlocks: number;
  readonly source: ByteSource;
  readonly report: Report;
  /** Stream sizes (nil streams are 0). */
  private readonly sizes: Uint32Array;
  /** Block indices of all streams, concatenated; `firstBlock[i]` indexes stream i's first. */
  private readonly blocks: Uint32Array;
  private readonly firstBlock: Uint32Array;

  private constructor(source: ByteSource, report: Report, blockSize: number, numBlocks: number, sizes: Uint32Array, blocks: Uint32Array, firstBlock: Uint32Array) {
    this.source = source;
    this.report = report;
    this.blockSize = blockSize;
    this.numBlocks = numBlocks;
    this.sizes = sizes;
    this.blocks = blocks;
    this.firstBlock = firstBlock;
  }

  get streamCount(): number {
    return this.sizes.length;
  }

  /**
   * Open the container. Undefined (with a diagnostic) when the superblock or directory is
   * unusable. `report` receives every problem.
   */
  static open(source: ByteSource, report: Report): MsfFile | undefined {
    const file = source.name;
    const sb = new Uint8Array(56);
    if (source.readInto(0, sb, 0, 56) < 56 || Buffer.from(sb.buffer, 0, 32).toString("latin1") !== MAGIC) {
      report("PDB_NOT_MSF", "no MSF 7.00 superblock (not a PDB 7.0 file)", { file, fileOffset: 0 });
      return undefined;
    }
    const v = new DataView(sb.buffer);
    const blockSize = v.getUint32(32, true);
    const numBlocks = v.getUint32(40, true);
    const dirBytes = v.getUint32(44, true);
    const blockMapAddr = v.getUint32(52, true);
    if (![512, 1024, 2048, 4096, 8192, 16384, 32768].includes(blockSize)) {
      report("PDB_NOT_MSF", `block size ${blockSize} is not a power of two between 512 and 32768`, { file, fileOffset: 32 });
      return undefined;
    }
    const fileBlocks = Math.ceil(source.size / blockSize);
    if (numBlocks * blockSize > source.size) {
      report("PDB_TRUNCATED", `superblock claims ${numBlocks} blocks of ${blockSize} bytes, the file has ${source.size} bytes`, { file, fileOffset: 40 });
    }
    const usable = Math.min(numBlocks, fileBlocks);
    if (dirBytes < 4 || dirBytes > MAX_DIRECTORY_BYTES || dirBytes > usable * blockSize) {
      report("PDB_BAD_DIRECTORY", `stream directory size ${dirBytes} is implausible`, { file, fileOffset: 44 });
      return undefined;
    }
    if (blockMapAddr >= usable) {
      report("PDB_BAD_DIRECTORY", `block map address ${blockMapAddr} is past the end`, { file, fileOffset: 52 });
      return undefined;
    }
    const dirBlockCount = Math.ceil(dirBytes / blockSize);
    const mapBytes = new Uint8Array(dirBlockCount * 4);
    if (source.readInto(blockMapAddr * blockSize, mapBytes, 0, mapBytes.length) < mapBytes.length) {
      report("PDB_TRUNCATED", "the directory block map is cut off", { file, fileOffset: blockMapAddr * blockSize });
      return undefined;
    }
    const mv = new DataView(mapBytes.buffer);
    const dir = new Uint8Array(dirBlockCount * blockSize);
    for (let i = 0; i < dirBlockCount; i++) {
      const b = mv.getUint32(i * 4, true);
      if (b >= usable || b === 0) {
        report("PDB_BAD_DIRECTORY", `directory block ${i} points at block ${b}, outside the file`, { file, fileOffset: blockMapAddr * blockSize + i * 4 });
        return undefined;
      }
      if (source.readInto(b * blockSize, dir, i * blockSize, blockSize) < Math.min(blockSize, dirBytes - i * blockSize)) {
        report("PDB_TRUNCATED", `directory block ${b} is cut off`, { file, fileOffset: b * blockSize });
        return undefined;
      }
    }
    const dv = new DataView(dir.buffer, 0, dirBytes);
    const nStreams = dv.getUint32(0, true);
    if (nStreams > MAX_STREAMS || 4 + nStreams * 4 > dirBytes) {
      report("PDB_BAD_DIRECTORY", `stream directory claims ${nStreams} streams in ${dirBytes} bytes`, { file, where: "stream directory" });
      return undefined;
    }
    const sizes = new Uint32Array(nStreams);
    const firstBlock = new Uint32Array(nStreams + 1);
    let total = 0;
    for (let i = 0; i < nStreams; i++) {
      const s = dv.getUint32(4 + i * 4, true);
      const size = s === NIL_STREAM ? 0 : s;
      sizes[i] = size;
      firstBlock[i] = total;
      total += Math.ceil(size / blockSize);
    }
    firstBlock[nStreams] = total;
    const listAt = 4 + nStreams * 4;
    if (listAt + total * 4 > dirBytes) {
      report("PDB_BAD_DIRECTORY", `stream sizes need ${total} blocks, the directory lists ${Math.floor((dirBytes - listAt) / 4)}`, { file, where: "stream directory" });
      return undefined;
    }
    const blocks = new Uint32Array(total);
    let bad = 0;
    for (let i = 0; i < total; i++) {
      const b = dv.getUint32(listAt + i * 4, true);
      if (b >= usable) {
        bad++;
        blocks[i] = 0xffffffff;
      } else blocks[i] = b;
    }
    if (bad > 0) report("PDB_TRUNCATED", `${bad} stream blocks lie past the end of the file; those parts read as missing`, { file, where: "stream directory" });
    return new MsfFile(source, report, blockSize, usable, sizes, blocks, firstBlock);
  }

  streamSize(index: number): number {
    return index >= 0 && index < this.sizes.length ? this.sizes[index]! : 0;
  }

  /** A stream, or undefined for an index out of range or the nil stream (0xffff in 16-bit fields). */
  stream(index: number): MsfStream | undefined {
    if (!(index >= 0 && index < this.sizes.length)) return undefined;
    return new MsfStream(this, index, this.sizes[index]!, this.blocks, this.firstBlock[index]!);
  }
}

/** One stream: random access by stream offset, reads bounded by the stream size. */
export class MsfStream {
  constructor(
    readonly msf: MsfFile,
    readonly index: number,
    readonly size: number,
    private readonly blocks: Uint32Array,
    private readonly first: number,
  ) {}

  /** File offset of a stream offset, or -1 when its block is missing. */
  fileOffset(offset: number): number {
    const bs = this.msf.blockSize;
    const b = this.blocks[this.first + Math.floor(offset / bs)];
    return b === undefined || b === 0xffffffff ? -1 : b * bs + (offset % bs);
  }

  /** Copy up to `length` bytes at `offset`; returns the count copied (short at the end or a missing block). */
  read(offset: number, dst: Uint8Array, dstOffset: number, length: number): number {
    if (!(offset >= 0) || offset >= this.size) return 0;
    const bs = this.msf.blockSize;
    let want = Math.min(length, this.size - offset, dst.length - dstOffset);
    let done = 0;
    while (want > 0) {
      const pos = offset + done;
      const fo = this.fileOffset(pos);
      if (fo < 0) break;
      const n = Math.min(want, bs - (pos % bs));
      const got = this.msf.source.readInto(fo, dst, dstOffset + done, n);
      done += got;
      want -= got;
      if (got < n) break;
    }
    return done;
  }

  /** A copy of exactly `length` bytes, or undefined. */
  bytes(offset: number, length: number): Uint8Array | undefined {
    if (!(length >= 0) || length > this.size) return undefined;
    const out = new Uint8Array(length);
    return this.read(offset, out, 0, length) === length ? out : undefined;
  }

  location(offset: number): DiagnosticLocation {
    const fo = this.fileOffset(offset);
    return fo >= 0
      ? { file: this.msf.source.name, fileOffset: fo, where: `stream ${this.index} offset 0x${offset.toString(16)}` }
      : { file: this.msf.source.name, where: `stream ${this.index} offset 0x${offset.toString(16)}` };
  }
}

/**
 * Sequential reader of variable-length records in a stream region, through one reusable chunk
 * buffer: no allocation per record. `at(offset, length)` returns the index in {@link buf} of
 * `length` bytes at `offset`, or -1 when they are not readable.
 */
export class ChunkReader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  private start = 0;
  private len = 0;

  constructor(
    private readonly stream: MsfStream,
    chunk = 1 << 20,
  ) {
    // A record is at most 0xffff + 2 bytes; small streams get a buffer of their own size.
    this.buf = new Uint8Array(Math.max(64, Math.min(Math.max(chunk, 0x10004), stream.size)));
    this.view = new DataView(this.buf.buffer);
  }

  at(offset: number, length: number): number {
    if (offset >= this.start && offset + length <= this.start + this.len) return offset - this.start;
    this.start = offset;
    this.len = this.stream.read(offset, this.buf, 0, this.buf.length);
    return length <= this.len ? 0 : -1;
  }

  /** NUL-terminated string inside the record at [index, limit) of {@link buf}. */
  cstr(index: number, limit: number): string {
    let end = index;
    while (end < limit && this.buf[end] !== 0) end++;
    return Buffer.from(this.buf.buffer, index, end - index).toString("utf8");
  }
}

export function newDiagnostics(d: Diagnostics | undefined): Diagnostics {
  return d ?? new Diagnostics();
}
