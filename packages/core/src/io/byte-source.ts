import * as fs from "node:fs";
import { InputError } from "../errors.js";

/**
 * A window into a source's bytes, filled in place by {@link ByteSource.window} so that hot paths
 * allocate nothing. `bytes[index]` is the byte at the requested offset; `length` bytes are
 * available from there without crossing a cache block or the end of the file. The buffer stays
 * valid after later reads (evicted blocks are dropped, never recycled).
 */
export interface ByteWindow {
  bytes: Uint8Array;
  view: DataView;
  index: number;
  length: number;
}

export function emptyWindow(): ByteWindow {
  const bytes = new Uint8Array(0);
  return { bytes, view: new DataView(bytes.buffer), index: 0, length: 0 };
}

/**
 * Random access to the bytes of an input. Offsets are plain numbers: exact for files up to
 * 2^53 bytes, so files larger than 4 GiB work.
 */
export interface ByteSource {
  /** File path or a label for in-memory sources. */
  readonly name: string;
  readonly size: number;
  /** Fill `out` with the bytes at `offset`; false at or past the end. */
  window(offset: number, out: ByteWindow): boolean;
  /** Copy up to `length` bytes at `offset` into `dst`; returns how many were copied (short at EOF). */
  readInto(offset: number, dst: Uint8Array, dstOffset: number, length: number): number;
  /**
   * Copy a few bytes without loading them into a cache (for sparse probes such as signature
   * scans, which would otherwise pull every cache block through memory once more). Optional:
   * callers fall back to {@link readInto}.
   */
  peek?(offset: number, dst: Uint8Array, length: number): number;
  /** Release the file handle. Further reads throw. Safe to call twice. */
  close(): void;
}

/** Copying read: a fresh array of exactly the bytes present (shorter at EOF). */
export function readBytes(source: ByteSource, offset: number, length: number): Uint8Array {
  const n = Math.max(0, Math.min(length, source.size - offset));
  const out = new Uint8Array(n);
  if (n > 0) source.readInto(offset, out, 0, n);
  return out;
}

/** An in-memory source (synthetic dumps in tests, text inputs). */
export class BufferSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(bytes: Uint8Array, name = "<memory>") {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.name = name;
    this.size = bytes.byteLength;
  }

  window(offset: number, out: ByteWindow): boolean {
    if (!(offset >= 0 && offset < this.size)) return false;
    out.bytes = this.bytes;
    out.view = this.view;
    out.index = offset;
    out.length = this.size - offset;
    return true;
  }

  readInto(offset: number, dst: Uint8Array, dstOffset: number, length: number): number {
    if (!(offset >= 0) || offset >= this.size) return 0;
    const n = Math.min(length, this.size - offset);
    dst.set(this.bytes.subarray(offset, offset + n), dstOffset);
    return n;
  }

  close(): void {}
}

export interface FileSourceOptions {
  /** Cache block size in bytes, a power of two. Default 1 MiB. */
  blockSize?: number;
  /** Blocks kept in the LRU cache. Default 48. */
  cacheBlocks?: number;
}

interface Block {
  bytes: Uint8Array;
  view: DataView;
}

/**
 * A file read with positional `readSync` through an LRU block cache. The file is never read
 * whole; one handle is held until {@link close}. Memory use is bounded by
 * `blockSize * cacheBlocks` plus blocks still referenced by callers' windows.
 */
export class FileSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  private fd: number | undefined;
  private readonly blockSize: number;
  private readonly cacheBlocks: number;
  /** Map iteration order is insertion order: the first key is the least recently used. */
  private readonly cache = new Map<number, Block>();
  private lastKey = -1;
  private lastBlock: Block | undefined;
  /** Bytes read from disk, for benchmarks. */
  bytesRead = 0;

  private constructor(path: string, fd: number, size: number, options: FileSourceOptions) {
    this.name = path;
    this.fd = fd;
    this.size = size;
    const blockSize = options.blockSize ?? 1 << 20;
    if (blockSize < 512 || (blockSize & (blockSize - 1)) !== 0) {
      throw new RangeError("blockSize must be a power of two >= 512");
    }
    this.blockSize = blockSize;
    this.cacheBlocks = Math.max(2, options.cacheBlocks ?? 48);
  }

  /**
   * Open a file for reading. Throws {@link InputError} with code `INPUT_NOT_FOUND`,
   * `INPUT_IS_DIRECTORY` or `INPUT_UNREADABLE`.
   */
  static open(path: string, options: FileSourceOptions = {}): FileSource {
    let fd: number;
    try {
      fd = fs.openSync(path, "r");
    } catch (e) {
      throw openError(path, e);
    }
    try {
      const st = fs.fstatSync(fd);
      if (st.isDirectory()) {
        throw new InputError("INPUT_IS_DIRECTORY", `${path} is a directory; pass a dump or log file`, { file: path });
      }
      return new FileSource(path, fd, st.size, options);
    } catch (e) {
      fs.closeSync(fd);
      if (e instanceof InputError) throw e;
      throw openError(path, e);
    }
  }

  private block(key: number): Block {
    if (key === this.lastKey && this.lastBlock) return this.lastBlock;
    let b = this.cache.get(key);
    if (b) {
      this.cache.delete(key);
      this.cache.set(key, b);
    } else {
      b = this.load(key);
      this.cache.set(key, b);
      if (this.cache.size > this.cacheBlocks) {
        const oldest = this.cache.keys().next().value as number;
        this.cache.delete(oldest);
      }
    }
    this.lastKey = key;
    this.lastBlock = b;
    return b;
  }

  private load(key: number): Block {
    if (this.fd === undefined) throw new Error(`${this.name} is closed`);
    const start = key * this.blockSize;
    const len = Math.min(this.blockSize, this.size - start);
    // Not zero-filled: only the `done` bytes read below are ever exposed (saves a pass over
    // every block; bench: ~10% of a 4M-block walk).
    const slow = Buffer.allocUnsafeSlow(len);
    const bytes = new Uint8Array(slow.buffer, slow.byteOffset, len);
    let done = 0;
    while (done < len) {
      let n: number;
      try {
        n = fs.readSync(this.fd, bytes, done, len - done, start + done);
      } catch (e) {
        throw new InputError("INPUT_UNREADABLE", `cannot read ${this.name} at offset 0x${(start + done).toString(16)}: ${(e as Error).message}`, {
          file: this.name,
          fileOffset: start + done,
          cause: e,
        });
      }
      if (n === 0) break; // file shrank under us: the rest stays zero-length below
      done += n;
      this.bytesRead += n;
    }
    const exact = done === len ? bytes : bytes.subarray(0, done);
    return { bytes: exact, view: new DataView(exact.buffer, exact.byteOffset, exact.byteLength) };
  }

  window(offset: number, out: ByteWindow): boolean {
    if (!(offset >= 0 && offset < this.size)) return false;
    const key = Math.floor(offset / this.blockSize);
    const b = this.block(key);
    const index = offset - key * this.blockSize;
    if (index >= b.bytes.length) return false;
    out.bytes = b.bytes;
    out.view = b.view;
    out.index = index;
    out.length = b.bytes.length - index;
    return true;
  }

  readInto(offset: number, dst: Uint8Array, dstOffset: number, length: number): number {
    if (!(offset >= 0) || offset >= this.size) return 0;
    let copied = 0;
    let want = Math.min(length, this.size - offset);
    // Large reads bypass the cache so one big copy does not flush it.
    if (want >= this.blockSize * 4 && this.fd !== undefined) {
      while (copied < want) {
        const n = fs.readSync(this.fd, dst, dstOffset + copied, want - copied, offset + copied);
        if (n === 0) break;
        copied += n;
        this.bytesRead += n;
      }
      return copied;
    }
    while (want > 0) {
      const pos = offset + copied;
      const key = Math.floor(pos / this.blockSize);
      const b = this.block(key);
      const index = pos - key * this.blockSize;
      const n = Math.min(want, b.bytes.length - index);
      if (n <= 0) break;
      dst.set(b.bytes.subarray(index, index + n), dstOffset + copied);
      copied += n;
      want -= n;
    }
    return copied;
  }

  peek(offset: number, dst: Uint8Array, length: number): number {
    if (!(offset >= 0) || offset >= this.size) return 0;
    const n = Math.min(length, this.size - offset);
    const key = Math.floor(offset / this.blockSize);
    const cached = key === this.lastKey ? this.lastBlock : this.cache.get(key);
    const index = offset - key * this.blockSize;
    if (cached && index + n <= cached.bytes.length) {
      dst.set(cached.bytes.subarray(index, index + n));
      return n;
    }
    if (this.fd === undefined) throw new Error(`${this.name} is closed`);
    try {
      return fs.readSync(this.fd, dst, 0, n, offset);
    } catch (e) {
      throw new InputError("INPUT_UNREADABLE", `cannot read ${this.name} at offset 0x${offset.toString(16)}: ${(e as Error).message}`, {
        file: this.name,
        fileOffset: offset,
        cause: e,
      });
    }
  }

  close(): void {
    if (this.fd !== undefined) {
      const fd = this.fd;
      this.fd = undefined;
      this.cache.clear();
      this.lastBlock = undefined;
      this.lastKey = -1;
      fs.closeSync(fd);
    }
  }

  get isOpen(): boolean {
    return this.fd !== undefined;
  }
}

function openError(path: string, e: unknown): InputError {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === "ENOENT") {
    return new InputError("INPUT_NOT_FOUND", `${path} does not exist`, { file: path, cause: e });
  }
  if (code === "EISDIR") {
    return new InputError("INPUT_IS_DIRECTORY", `${path} is a directory; pass a dump or log file`, { file: path, cause: e });
  }
  return new InputError("INPUT_UNREADABLE", `cannot open ${path}: ${(e as Error)?.message ?? String(e)}`, { file: path, cause: e });
}

/** Run `fn` with an open file and close it on every path. */
export async function withFile<T>(path: string, fn: (src: FileSource) => Promise<T> | T, options?: FileSourceOptions): Promise<T> {
  const src = FileSource.open(path, options);
  try {
    return await fn(src);
  } finally {
    src.close();
  }
}
