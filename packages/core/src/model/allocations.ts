import type { Address } from "../address.js";
import { PrefaultQueue } from "../parallel/prefault.js";
import type { ProcessView } from "./target.js";

/**
 * State and kind bits of one allocation ({@link AllocationSet.flags}).
 * A user allocation is `BUSY` and neither `HOST` nor `INTERNAL`.
 */
export const AllocFlags = {
  /** Allocated (live). */
  BUSY: 0x0001,
  /** Free block (backend free list / free LFH slot). */
  FREE: 0x0002,
  /** A front-end block: NT LFH or segment-heap LFH. */
  LFH: 0x0004,
  /** A VirtualAlloc'd / large block. */
  VIRTUAL: 0x0008,
  /** A backend block that hosts front-end blocks (LFH user blocks): not itself a user allocation. */
  HOST: 0x0010,
  /** Allocator bookkeeping (UCR descriptors, zone blocks...), busy but not a user allocation. */
  INTERNAL: 0x0020,
  /** The requested size could not be recovered exactly; `requestedSize` is the usable size. */
  SIZE_INEXACT: 0x0040,
  /** The block's header failed a check; its figures may be wrong. */
  CORRUPT: 0x0080,
  /** A page-heap (DPH) block. */
  PAGE_HEAP: 0x0100,
  /** A segment-heap VS block. */
  VS: 0x0200,
  /** A segment-heap backend block. */
  BACKEND: 0x0400,
  /** `tracePointer` holds a stack-trace reference (pointer or +ust database index). */
  HAS_TRACE: 0x0800,
  /** `tracePointer` is a legacy back-trace index, not a pointer. */
  TRACE_INDEX: 0x1000,
} as const;

/** Flags that exclude a busy block from the user-allocation figures. */
export const NOT_USER = AllocFlags.HOST | AllocFlags.INTERNAL;

/** True when flags describe a live user allocation. */
export function isUserAllocation(flags: number): boolean {
  return (flags & AllocFlags.BUSY) !== 0 && (flags & NOT_USER) === 0;
}

const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;
const MASK = CHUNK - 1;

/** One chunk of {@link AllocationSet} columns; `count` entries are used in the last chunk. */
export interface AllocationChunk {
  /** Address returned to the program (user pointer). */
  readonly userAddress: Float64Array;
  /** Address of the allocator's header for the block (== userAddress when headerless). */
  readonly blockAddress: Float64Array;
  /** Requested size in bytes (what the program asked for). */
  readonly requestedSize: Float64Array;
  /** Bytes the block occupies, header included. */
  readonly blockSize: Float64Array;
  /**
   * Stack-trace pointer or index (see {@link AllocFlags.HAS_TRACE}), else 0. Allocated on the
   * first trace written into the chunk (most dumps have none): until then it is an empty array,
   * so read it through {@link AllocationSet.tracePointer} or check its length.
   */
  readonly tracePointer: Float64Array;
  /** Index of the heap in {@link AllocationSet.heaps}. */
  readonly heap: Uint16Array;
  readonly flags: Uint16Array;
  /** Index of the hosting block in this set, or -1. */
  readonly host: Int32Array;
}

const NO_TRACES = new Float64Array(0);

/**
 * Blocks as flat columns ({@link AllocationSet.chunkColumns}, {@link AllocationSet.appendColumns}):
 * the same fields as an {@link AllocationChunk}, `count` rows used (`tracePointer` is empty when
 * no row has a trace).
 */
export interface AllocationColumns {
  count: number;
  userAddress: Float64Array;
  blockAddress: Float64Array;
  requestedSize: Float64Array;
  blockSize: Float64Array;
  tracePointer: Float64Array;
  heap: Uint16Array;
  flags: Uint16Array;
  host: Int32Array;
  /** False when every `host` is -1 (set by {@link AllocationSet.chunkColumns}; spares a pass over them). */
  hosted?: boolean;
  /** The index row 0 had in the set the columns come from (`host` values count from there); default 0. */
  first?: number;
}

/** Bytes of one chunk's columns but the trace column (4 x 8 + 2 x 2 + 4 per row). */
const CHUNK_BYTES = CHUNK * 40;
/** Chunks a set fills before it asks for paged-in memory (small dumps never start the thread). */
const PREFAULT_AFTER = 3;

/**
 * The columns of one chunk. Every chunk is one of these, whatever its memory (fresh, paged in
 * ahead, recycled), so V8 sees a single object layout whose fields always hold the same typed
 * arrays: chunks built by separate object literals made it generalize those fields when the
 * second chunk was built, which threw away the block loops' optimized code compiled before it.
 */
class Chunk implements AllocationChunk {
  tracePointer: Float64Array = NO_TRACES;

  constructor(
    readonly userAddress: Float64Array,
    readonly blockAddress: Float64Array,
    readonly requestedSize: Float64Array,
    readonly blockSize: Float64Array,
    readonly heap: Uint16Array,
    readonly flags: Uint16Array,
    readonly host: Int32Array
  ) {}
}

/** A chunk's columns (but the trace column) laid out in `buf`, {@link CHUNK_BYTES} long. */
function chunkIn(buf: ArrayBuffer | SharedArrayBuffer): AllocationChunk {
  return new Chunk(
    new Float64Array(buf, 0, CHUNK),
    new Float64Array(buf, CHUNK * 8, CHUNK),
    new Float64Array(buf, CHUNK * 16, CHUNK),
    new Float64Array(buf, CHUNK * 24, CHUNK),
    new Uint16Array(buf, CHUNK * 32, CHUNK),
    new Uint16Array(buf, CHUNK * 34, CHUNK),
    new Int32Array(buf, CHUNK * 36, CHUNK)
  );
}

function newChunk(): AllocationChunk {
  return chunkIn(new ArrayBuffer(CHUNK_BYTES));
}

/** The chunk's trace column, allocated on first use. */
function traceColumn(c: AllocationChunk): Float64Array {
  if (c.tracePointer.length === 0) (c as { tracePointer: Float64Array }).tracePointer = new Float64Array(CHUNK);
  return c.tracePointer;
}

/**
 * Every block found by the allocator walkers, stored column-wise in fixed chunks of 65,536
 * entries (40 bytes per block, 48 once a chunk holds a stack-trace reference; growth never copies). Walkers append with {@link add}, which
 * takes only numbers and allocates nothing except a new chunk every 65,536 blocks.
 *
 * Read single values with the accessors, or iterate chunk by chunk for speed:
 *
 * ```ts
 * set.forEachChunk((c, n, base) => { for (let i = 0; i < n; i++) total += c.requestedSize[i]; });
 * ```
 */
export class AllocationSet {
  private readonly chunks: AllocationChunk[] = [];
  /** The chunk `add` writes to (the last one). */
  private tail: AllocationChunk | undefined;
  private n = 0;
  /** Indices in block-address order, valid while its length is `n` (nothing moves a block). */
  private sortedByBlock: Uint32Array | undefined;
  /** Column memory given by {@link recycle}, used before allocating new chunks. */
  private readonly spare: AllocationChunk[] = [];
  private prefault: PrefaultQueue | undefined;

  /** Whether this thread ran {@link trainChunkSwitch}. */
  private static trained = false;

  constructor() {
    if (!AllocationSet.trained) {
      AllocationSet.trained = true;
      AllocationSet.trainChunkSwitch();
    }
  }

  /**
   * Once per thread, before the first real set: append rows to a throwaway set across three
   * chunk boundaries (new and recycled memory), one row with a trace. V8 compiles a walker's
   * block loop, `add` inlined, after
   * a few thousand blocks, long before the walk reaches the first boundary at 65,536 rows; a
   * branch that never ran while V8 recorded feedback for `add` is compiled as "throw this code
   * away", so each boundary a compilation had not seen deoptimized the loop, which then ran
   * unoptimized until it was compiled again, every compilation started before a boundary
   * meeting it again [bench: first walk in a process, lfh 1M blocks 203 to 159 ms, lfh 4M 412 to
   * 385 ms, medians of 5]. The rows land in chunks nothing reads; the chunks' memory is never
   * touched but for a page per column.
   */
  private static trainChunkSwitch(): void {
    const s = new AllocationSet();
    // 16 rows before each boundary (V8 records feedback for a function only once it ran a
    // while); boundaries 1 and 2 take new memory, boundary 3 recycled memory (from 3 on a real
    // set would ask the page-touching helper, which must not start for this)
    for (let boundary = 1; boundary <= 3; boundary++) {
      for (let r = 0; r < 16; r++) s.add(0, 0, 0, 0, 0, 0, r === 8 ? 1 : 0, -1);
      s.n = boundary * CHUNK;
    }
    s.spare.push(newChunk());
    s.add(0, 0, 0, 0, 0, 0, 0, -1);
  }

  get count(): number {
    return this.n;
  }

  /**
   * Append one block; returns its index. `host` is the index of the hosting block (-1 none).
   * Addresses are core {@link Address} numbers.
   */
  add(
    heap: number,
    userAddress: Address,
    blockAddress: Address,
    requestedSize: number,
    blockSize: number,
    flags: number,
    tracePointer = 0,
    host = -1,
  ): number {
    const i = this.n;
    const k = i & MASK;
    const c = this.nextChunk();
    c.userAddress[k] = userAddress;
    c.blockAddress[k] = blockAddress;
    c.requestedSize[k] = requestedSize;
    c.blockSize[k] = blockSize;
    if (tracePointer !== 0) traceColumn(c)[k] = tracePointer;
    c.heap[k] = heap;
    c.flags[k] = flags;
    c.host[k] = host;
    this.n = i + 1;
    return i;
  }

  /** The chunk row `count` goes to: the tail, or a new one (recycled memory first) every 65,536 rows. */
  private nextChunk(): AllocationChunk {
    if ((this.n & MASK) === 0) {
      this.tail = this.spare.pop() ?? this.freshChunk();
      this.chunks.push(this.tail);
    }
    return this.tail!;
  }

  /**
   * A new chunk: from the fourth on, memory a helper thread paged in ahead when it runs
   * ({@link PrefaultQueue}), else a plain allocation.
   */
  private freshChunk(): AllocationChunk {
    if (this.chunks.length >= PREFAULT_AFTER) {
      this.prefault ??= new PrefaultQueue(CHUNK_BYTES);
      const sab = this.prefault.take();
      if (sab !== undefined) return chunkIn(sab);
    }
    return newChunk();
  }

  private chunk(i: number): AllocationChunk {
    if (!(i >= 0 && i < this.n)) throw new RangeError(`allocation index ${i} out of range (count ${this.n})`);
    return this.chunks[i >>> CHUNK_BITS]!;
  }

  userAddress(i: number): Address {
    return this.chunk(i).userAddress[i & MASK]!;
  }
  blockAddress(i: number): Address {
    return this.chunk(i).blockAddress[i & MASK]!;
  }
  requestedSize(i: number): number {
    return this.chunk(i).requestedSize[i & MASK]!;
  }
  blockSize(i: number): number {
    return this.chunk(i).blockSize[i & MASK]!;
  }
  tracePointer(i: number): number {
    return this.chunk(i).tracePointer[i & MASK] ?? 0;
  }
  heap(i: number): number {
    return this.chunk(i).heap[i & MASK]!;
  }
  flags(i: number): number {
    return this.chunk(i).flags[i & MASK]!;
  }
  host(i: number): number {
    return this.chunk(i).host[i & MASK]!;
  }

  setFlags(i: number, flags: number): void {
    this.chunk(i).flags[i & MASK] = flags;
  }
  setTracePointer(i: number, value: number): void {
    const c = this.chunk(i);
    traceColumn(c)[i & MASK] = value;
    c.flags[i & MASK] = c.flags[i & MASK]! | AllocFlags.HAS_TRACE;
  }
  setRequestedSize(i: number, value: number): void {
    this.chunk(i).requestedSize[i & MASK] = value;
  }

  /** Visit the columns chunk by chunk: `fn(chunk, usedInChunk, indexOfFirst)`. */
  forEachChunk(fn: (chunk: AllocationChunk, count: number, base: number) => void): void {
    for (let c = 0; c < this.chunks.length; c++) {
      const base = c * CHUNK;
      const used = Math.min(CHUNK, this.n - base);
      if (used <= 0) break;
      fn(this.chunks[c]!, used, base);
    }
  }

  /**
   * The blocks as the set holds them: one {@link AllocationColumns} per chunk of 65,536 rows
   * (the last one shorter), views of the set's own memory, not copies. For handing a finished
   * set to another thread (transfer the columns' buffers named by `transferList`: chunks in
   * shared memory are shared instead); the set must not be used afterwards.
   */
  chunkColumns(): AllocationColumns[] {
    const out: AllocationColumns[] = [];
    this.forEachChunk((c, count, first) => {
      let hosted = false;
      for (let j = 0; j < count && !hosted; j++) if (c.host[j]! >= 0) hosted = true;
      // (a fresh empty trace column per piece: transferring the shared empty one would detach it
      // under every chunk that still uses it)
      out.push({
        count,
        userAddress: c.userAddress,
        blockAddress: c.blockAddress,
        requestedSize: c.requestedSize,
        blockSize: c.blockSize,
        tracePointer: c.tracePointer.length > 0 ? c.tracePointer : new Float64Array(0),
        heap: c.heap,
        flags: c.flags,
        host: c.host,
        hosted,
        first,
      });
    });
    return out;
  }

  /**
   * Give the set the memory of `cols` for its next chunk, once its rows were appended: columns a
   * worker transferred are already paged in, and a fresh chunk costs a page fault per 4 KiB
   * [bench: nt 4M blocks, merging a worker's 500k blocks took 25-35 ms with fresh chunks]. Ignored
   * unless every column holds exactly one chunk (65,536 rows). The caller must not use `cols` again.
   */
  recycle(cols: AllocationColumns): void {
    const full =
      cols.userAddress.length === CHUNK &&
      cols.blockAddress.length === CHUNK &&
      cols.requestedSize.length === CHUNK &&
      cols.blockSize.length === CHUNK &&
      cols.heap.length === CHUNK &&
      cols.flags.length === CHUNK &&
      cols.host.length === CHUNK;
    if (!full || this.spare.length >= 2) return;
    // (never the old trace column: rows without a trace do not write it)
    this.spare.push(new Chunk(cols.userAddress, cols.blockAddress, cols.requestedSize, cols.blockSize, cols.heap, cols.flags, cols.host));
  }

  /**
   * Append rows [from, to) of `cols` (all of them by default); returns the index the first one
   * got. A row's `host` names a row of `cols` (counting from `cols.first`): an earlier row of
   * the same call is rebased to its new index, any other host becomes -1 (so a host in another
   * piece of {@link chunkColumns} is lost). Copies column slices; nothing is allocated per row.
   */
  appendColumns(cols: AllocationColumns, from = 0, to = cols.count): number {
    const first = this.n;
    const lo = Math.max(0, Math.min(from, cols.count));
    const hi = Math.max(lo, Math.min(to, cols.count));
    let r = lo;
    while (r < hi) {
      const i = this.n;
      const k = i & MASK;
      const c = this.nextChunk();
      const n = Math.min(CHUNK - k, hi - r);
      c.userAddress.set(cols.userAddress.subarray(r, r + n), k);
      c.blockAddress.set(cols.blockAddress.subarray(r, r + n), k);
      c.requestedSize.set(cols.requestedSize.subarray(r, r + n), k);
      c.blockSize.set(cols.blockSize.subarray(r, r + n), k);
      if (cols.tracePointer.length > 0) {
        const t = cols.tracePointer.subarray(r, r + n);
        if (t.some((v) => v !== 0)) traceColumn(c).set(t, k);
      }
      c.heap.set(cols.heap.subarray(r, r + n), k);
      c.flags.set(cols.flags.subarray(r, r + n), k);
      if (cols.hosted === false) c.host.fill(-1, k, k + n);
      else {
        const shift = first - lo;
        const origin = cols.first ?? 0;
        for (let j = 0; j < n; j++) {
          const h = cols.host[r + j]! - origin;
          c.host[k + j] = h >= lo && h < r + j ? h + shift : -1;
        }
      }
      this.n = i + n;
      r += n;
    }
    return first;
  }

  /**
   * Index of the block whose span [blockAddress, blockAddress + blockSize) contains `va`,
   * preferring front-end blocks over the backend block that hosts them; -1 if none.
   * The first call sorts an index (4 bytes per block); later calls are binary searches.
   */
  findContaining(va: Address): number {
    const order = this.blockOrder();
    let lo = 0;
    let hi = order.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.blockAddress(order[mid]!) <= va) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // Walk back over blocks starting at or before va; hosts start before their LFH blocks,
    // so the first containing hit scanning backwards is the most specific one.
    for (let j = best, steps = 0; j >= 0 && steps < 64; j--, steps++) {
      const i = order[j]!;
      const start = this.blockAddress(i);
      const end = start + Math.max(this.blockSize(i), 1);
      if (va >= start && va < end) return i;
    }
    return -1;
  }

  /** Indices sorted by block address (computed once per change). */
  blockOrder(): Uint32Array {
    if (this.sortedByBlock && this.sortedByBlock.length === this.n) return this.sortedByBlock;
    const order = new Uint32Array(this.n);
    for (let i = 0; i < this.n; i++) order[i] = i;
    const keys = new Float64Array(this.n);
    this.forEachChunk((c, used, base) => keys.set(c.blockAddress.subarray(0, used), base));
    order.sort((a, b) => keys[a]! - keys[b]! || a - b);
    this.sortedByBlock = order;
    return order;
  }

  /** Bytes held by the columns (for benchmarks' memory figures). */
  get byteSize(): number {
    let n = 0;
    for (const c of this.chunks) n += CHUNK * 40 + c.tracePointer.byteLength;
    return n;
  }
}

/** Totals used by reports: `count` blocks, `bytes` summed. */
export interface CountBytes {
  count: number;
  bytes: number;
}

/**
 * One heap (or other allocator instance) found in a target. Discovery plugins create it with
 * `run.addHeap(...)`; walkers fill {@link stats} and {@link summary}.
 */
export interface HeapRecord {
  /** Position in `run.heaps`; the `heap` column of {@link AllocationSet}. */
  readonly index: number;
  readonly address: Address;
  readonly bitness: 32 | 64;
  /** `nt`, `segment`, `page-heap`, ... */
  readonly kind: string;
  /** How it was found: `peb`, `peb32`, `descriptor-list`, `signature-scan`, `csr-shared`... (deduplicated). */
  readonly foundBy: string[];
  /** The process view it belongs to. */
  readonly view: ProcessView;
  /** Plugin that walks it. */
  walker?: string | undefined;
  /** Human label (`process heap`, `CSRSS shared heap`). */
  label?: string | undefined;
  /** Heap flags as the allocator stores them. */
  flags?: number | undefined;
  /** Live user allocations (LFH blocks included, hosts excluded) and their requested bytes. */
  stats: HeapStats;
  /** Allocator-specific figures shown by `leakscope heaps` (JSON-safe values only). */
  summary: Record<string, number | string | boolean | null>;
  /** True when the walk could not complete (false from `Run.addHeap` until then). */
  incomplete?: boolean;
  /** Plugin state, extended by module augmentation of {@link HeapData}. */
  data: HeapData;
}

export interface HeapStats {
  busy: CountBytes;
  free: CountBytes;
  /** Bytes reserved / committed by the heap's segments (as the allocator records them). */
  reserved: number;
  committed: number;
}

export function emptyHeapStats(): HeapStats {
  return { busy: { count: 0, bytes: 0 }, free: { count: 0, bytes: 0 }, reserved: 0, committed: 0 };
}

/** Typed per-heap plugin state (module augmentation, like {@link TargetData}). */
// biome-ignore lint: augmentation target
export interface HeapData {}
