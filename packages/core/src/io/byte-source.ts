import * as fs from "node:fs";
import { InputError } from "../errors.js";

/**
 * Tells whether the memory behind a {@link ByteWindow} still holds the bytes it was filled with.
 * A {@link FileSource} reuses the memory of evicted cache blocks for new reads (fresh memory per
 * block costs a page fault per 4 KiB and garbage collection: more than the read itself), and
 * marks the evicted block's lease `stale` when it does.
 */
export interface WindowLease {
  readonly stale: boolean;
}

/** The lease of memory that is never reused (in-memory sources). */
export const PERMANENT_LEASE: WindowLease = Object.freeze({ stale: false });

/**
 * A window into a source's bytes, filled in place by {@link ByteSource.window} so that hot paths
 * allocate nothing. `bytes[index]` is the byte at the requested offset; `length` bytes are
 * available from there without crossing a cache block or the end of the file.
 *
 * The bytes stay valid while `lease.stale` is false. A {@link FileSource} recycles a block only
 * after at least 2 (by default 16) other blocks have been read from the file, so a window used
 * right away (a loop over the bytes, with a few reads nearby) is always safe; anything kept longer
 * must check the lease and read again when it is stale ({@link AddressSpace} does).
 */
export interface ByteWindow {
  bytes: Uint8Array;
  view: DataView;
  index: number;
  length: number;
  lease: WindowLease;
}

export function emptyWindow(): ByteWindow {
  const bytes = new Uint8Array(0);
  return { bytes, view: new DataView(bytes.buffer), index: 0, length: 0, lease: PERMANENT_LEASE };
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
   * Copy up to `length` bytes at `offset` into `dst` from its start without loading them into a
   * cache (signature scans: they would otherwise evict what the walkers are about to use).
   * Returns how many were copied. Optional: callers fall back to {@link readInto}.
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
    out.lease = PERMANENT_LEASE;
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
  /** Cache block size in bytes, a power of two. Default 128 KiB (a block stays in the CPU's L2 cache while it is walked). */
  blockSize?: number;
  /**
   * Blocks cached in all. Default 256 (32 MiB): a small first-in first-out part (1/16, at least
   * 2 blocks) that every block enters, and a least-recently-used part for blocks read again after
   * leaving it. See {@link FileSource}.
   */
  cacheBlocks?: number;
}

/** One cached block; it is the lease of the windows into it. */
class Block implements WindowLease {
  /** The bytes read (shorter than the block size only at the end of the file). */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** The slot whose memory holds `bytes`. */
  readonly slot: number;
  stale: boolean;

  constructor(bytes: Uint8Array, slot: number) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.slot = slot;
    // Stored twice so that V8 treats `stale` as a mutable field from the first block: left
    // constant until the first eviction, its change there threw away the block loops' optimized
    // code compiled before it (a "FieldConstnessDependency" abort in every first walk).
    this.stale = true;
    this.stale = false;
  }
}

/**
 * `length` bytes of zeroed memory that starts on a page boundary, or undefined. A WebAssembly
 * memory is page-aligned by construction (and its pages are touched only when written), whereas
 * `Buffer.allocUnsafeSlow` memory starts 16 bytes into a page: the kernel then copies file pages
 * into cache blocks with unaligned stores, about 3x slower on the machines measured [bench: 986 MB
 * read in 128 KiB reads into 16 rotating blocks, 1.4 GB/s unaligned, 4.6-5.1 GB/s aligned].
 */
function pageAlignedBuffer(length: number): ArrayBuffer | undefined {
  const pages = Math.ceil(length / 65536);
  if (!(pages > 0 && pages <= 16384)) return undefined;
  try {
    // (the ES lib this package compiles against declares no WebAssembly values)
    const wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum: number }) => { buffer: ArrayBuffer } } }).WebAssembly;
    return new wasm.Memory({ initial: pages, maximum: pages }).buffer;
  } catch {
    // no address space for another memory: plain buffers read slower but just as well
    return undefined;
  }
}

function fileIdentity(st: fs.Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
}

/** Keys of blocks that left the first-in first-out part, remembered per cached block. */
const GHOSTS_PER_BLOCK = 4;

/**
 * A file read with positional `readSync` through a block cache. The file is never read whole; one
 * handle is held until {@link close}.
 *
 * The cache is scan-resistant (the 2Q policy): a block read for the first time enters a small
 * first-in first-out queue; only a block read again soon after it left that queue (its key is
 * remembered) moves to the least-recently-used part. A sequential pass over gigabytes of heap
 * therefore cycles through the few blocks of the queue, whose memory stays in the CPU caches,
 * and never evicts the blocks that walkers come back to (heap headers, lists, trace databases)
 * [bench: 128 KiB reads into page-aligned blocks, 4.6-5.1 GB/s rotating through 2 MiB of them,
 * 3.3-3.9 GB/s through 32 MiB].
 *
 * Memory is a fixed set of slots of `blockSize` bytes: an evicted block's slot is reused for the
 * next miss (its lease turns stale), so nothing is allocated after warm-up. (Reading ahead on a
 * second core was tried: waking the worker and moving its bytes between cores cost more than the
 * copy it saved [bench: a sequential pass at 1.3-1.6 GB/s with a worker, 3.9-6.4 GB/s without].)
 */
export class FileSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  private fd: number | undefined;
  private readonly blockSize: number;
  /** Blocks read once, oldest first. */
  private readonly fifo = new Map<number, Block>();
  private readonly fifoBlocks: number;
  /** Blocks read again after leaving the queue; Map order is use order, least recent first. */
  private readonly lru = new Map<number, Block>();
  private readonly lruBlocks: number;
  /** Keys that left the queue recently (no memory held), oldest first. */
  private readonly ghosts = new Set<number>();
  private readonly ghostKeys: number;
  private lastKey = -1;
  private lastBlock: Block | undefined;
  /** Slot memory, created on first use; views into `arena` where it has room. */
  private readonly slotMemory: (Uint8Array | undefined)[];
  private arena: ArrayBuffer | undefined;
  private readonly freeSlots: number[] = [];
  /** Bytes read from the file, for benchmarks. */
  bytesRead = 0;

  /**
   * Which file this is (device, inode, modification time at open): two sources with the same
   * identity read the same bytes. Another thread reopening {@link name} compares it.
   */
  readonly identity: string;

  private constructor(path: string, fd: number, size: number, identity: string, options: FileSourceOptions) {
    this.name = path;
    this.identity = identity;
    this.fd = fd;
    this.size = size;
    const blockSize = options.blockSize ?? 1 << 17;
    if (blockSize < 512 || (blockSize & (blockSize - 1)) !== 0) {
      throw new RangeError("blockSize must be a power of two >= 512");
    }
    this.blockSize = blockSize;
    const total = Math.max(4, Math.floor(options.cacheBlocks ?? 256));
    this.fifoBlocks = Math.max(2, total >>> 4);
    this.lruBlocks = total - this.fifoBlocks;
    this.ghostKeys = total * GHOSTS_PER_BLOCK;
    const slots = Math.max(1, Math.min(total, Math.ceil(size / blockSize)));
    this.slotMemory = new Array<Uint8Array | undefined>(slots).fill(undefined);
    this.arena = pageAlignedBuffer(slots * blockSize);
    for (let i = slots - 1; i >= 0; i--) this.freeSlots.push(i);
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
      return new FileSource(path, fd, st.size, fileIdentity(st), options);
    } catch (e) {
      fs.closeSync(fd);
      if (e instanceof InputError) throw e;
      throw openError(path, e);
    }
  }

  /** Blocks held in each part of the cache (for tests and benchmarks). */
  get cacheState(): { queued: number; kept: number; remembered: number } {
    return { queued: this.fifo.size, kept: this.lru.size, remembered: this.ghosts.size };
  }

  private cached(key: number): Block | undefined {
    return this.fifo.get(key) ?? this.lru.get(key);
  }

  private block(key: number): Block {
    if (key === this.lastKey && this.lastBlock) return this.lastBlock;
    let b = this.lru.get(key);
    if (b) {
      this.lru.delete(key);
      this.lru.set(key, b);
    } else {
      b = this.fifo.get(key) ?? this.miss(key);
    }
    this.lastKey = key;
    this.lastBlock = b;
    return b;
  }

  private memory(slot: number): Uint8Array {
    let m = this.slotMemory[slot];
    if (m === undefined) {
      if (this.arena !== undefined && (slot + 1) * this.blockSize <= this.arena.byteLength) {
        m = new Uint8Array(this.arena, slot * this.blockSize, this.blockSize);
      } else {
        // Not zero-filled: only the bytes read into it are ever exposed.
        const slow = Buffer.allocUnsafeSlow(this.blockSize);
        m = new Uint8Array(slow.buffer, slow.byteOffset, this.blockSize);
      }
      this.slotMemory[slot] = m;
    }
    return m;
  }

  private makeBlock(slot: number, length: number): Block {
    const memory = this.memory(slot);
    const bytes = length === memory.length ? memory : memory.subarray(0, length);
    return new Block(bytes, slot);
  }

  /** Drop `b` from the cache: its lease turns stale and its slot is free again. */
  private drop(b: Block): void {
    b.stale = true;
    if (b === this.lastBlock) {
      this.lastBlock = undefined;
      this.lastKey = -1;
    }
    this.freeSlots.push(b.slot);
  }

  /** Remove the oldest block of a cache part and drop it; returns its key. */
  private dropOldest(part: Map<number, Block>): number {
    const oldest = part.keys().next().value as number;
    const b = part.get(oldest)!;
    part.delete(oldest);
    this.drop(b);
    return oldest;
  }

  /** Shrink the queue to `limit` blocks: the oldest leave, and their keys are remembered. */
  private trimQueue(limit: number): void {
    while (this.fifo.size > limit) {
      this.ghosts.add(this.dropOldest(this.fifo));
      if (this.ghosts.size > this.ghostKeys) this.ghosts.delete(this.ghosts.values().next().value as number);
    }
  }

  private trimKept(limit: number): void {
    while (this.lru.size > limit) this.dropOldest(this.lru);
  }

  /** A slot to read into: a free one, else one taken from the cache part the block goes to. */
  private takeSlot(kept: boolean): number {
    let free = this.freeSlots.pop();
    if (free !== undefined) return free;
    if (kept && this.lru.size > 0) this.trimKept(this.lru.size - 1);
    else if (this.fifo.size > 0) this.trimQueue(this.fifo.size - 1);
    else this.trimKept(this.lru.size - 1);
    free = this.freeSlots.pop();
    if (free !== undefined) return free;
    // unreachable while the parts hold every slot; stay correct anyway
    this.slotMemory.push(undefined);
    return this.slotMemory.length - 1;
  }

  private miss(key: number): Block {
    if (this.fd === undefined) throw new Error(`${this.name} is closed`);
    const kept = this.ghosts.delete(key);
    const b = this.load(key, kept);
    if (kept) {
      this.lru.set(key, b);
      this.trimKept(this.lruBlocks);
    } else {
      this.fifo.set(key, b);
      this.trimQueue(this.fifoBlocks);
    }
    return b;
  }

  private load(key: number, kept: boolean): Block {
    const start = key * this.blockSize;
    const len = Math.min(this.blockSize, this.size - start);
    const slot = this.takeSlot(kept);
    // Reused, never fresh per block: reading into fresh memory cost more than the read itself
    // in page faults and garbage collection [bench: nt 4M blocks, 1.0 s of 2.1 s in readSync].
    const bytes = this.memory(slot);
    let done = 0;
    while (done < len) {
      let n: number;
      try {
        n = fs.readSync(this.fd!, bytes, done, len - done, start + done);
      } catch (e) {
        this.freeSlots.push(slot);
        throw new InputError("INPUT_UNREADABLE", `cannot read ${this.name} at offset 0x${(start + done).toString(16)}: ${(e as Error).message}`, {
          file: this.name,
          fileOffset: start + done,
          cause: e,
        });
      }
      if (n === 0) break; // file shrank under us: the block ends at what was read
      done += n;
      this.bytesRead += n;
    }
    return this.makeBlock(slot, done);
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
    out.lease = b;
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
    const cached = key === this.lastKey ? this.lastBlock : this.cached(key);
    const index = offset - key * this.blockSize;
    if (cached && index + n <= cached.bytes.length) {
      dst.set(cached.bytes.subarray(index, index + n));
      return n;
    }
    if (this.fd === undefined) throw new Error(`${this.name} is closed`);
    try {
      let done = 0;
      while (done < n) {
        const got = fs.readSync(this.fd, dst, done, n - done, offset + done);
        if (got === 0) break;
        done += got;
        this.bytesRead += got;
      }
      return done;
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
      for (const b of this.fifo.values()) b.stale = true;
      for (const b of this.lru.values()) b.stale = true;
      this.fifo.clear();
      this.lru.clear();
      this.ghosts.clear();
      this.lastBlock = undefined;
      this.lastKey = -1;
      // the cache memory goes with the handle
      this.slotMemory.fill(undefined);
      this.arena = undefined;
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
