import {
  type Address,
  type AddressSpace,
  AllocFlags,
  AllocationSet,
  DiagnosticRecorder,
  type HeapRecord,
  PARALLEL_MIN_BYTES,
  type Run,
  type Span,
  type SyncWorker,
  at,
  emptySpan,
  formatAddress,
  replayDiagnostics,
  sliceSpace,
} from "@leakscope/core";
import { ntCodes } from "./codes.js";
import {
  ENCODE_FLAG,
  HEAP_CAPTURE_STACK_BACKTRACES,
  HEAP_SIGNATURE,
  type NtHeapLayout,
  NT_LAYOUT_NAMES,
  type NtLayoutName,
  SEGMENT_SIGNATURE,
  layoutForBuild,
  ntLayout,
} from "./layouts.js";
import { scannedSegments } from "./discover.js";
import { type NtSegmentTask, type NtSegmentTaskResult, type PreparedSegment, ntWorkers, planSegmentLanes } from "./parallel.js";
import type { NtHeapState, NtSegmentWalk } from "./state.js";

const SOURCE = "heap-nt";
const PAGE = 0x1000;
/** How walkEntries ended. */
const WALK_END = 0;
const WALK_STOPPED = 1;
const WALK_BOUND = 2;
/** Bounds for hostile input. */
const MAX_SEGMENTS = 4096;
const MAX_UCRS = 65536;
const MAX_VIRTUAL_BLOCKS = 1 << 20;
const USERDATA_SIGNATURE = 0xf0e0d0c0;
/** AllocFlags.INTERNAL as a module constant: reading it needs no type feedback (see addBlockAtPos). */
const INTERNAL: number = AllocFlags.INTERNAL;

export interface LayoutChoice {
  layout: NtHeapLayout;
  /** True when the layout is not the build's own table (or the build has none). */
  probed: boolean;
  /**
   * What the heap's bytes say of the front end with this layout: `lfh` FrontEndHeapType 2 and
   * an `_LFH_HEAP` whose Heap field points back; `none` type 0 and no front end; `unproven` no
   * layout fits (the backend is walked, the front end is not trusted).
   */
  frontEnd: "lfh" | "none" | "unproven";
}

/** Front-end verdict of `layout` for the heap at `base` (see {@link LayoutChoice.frontEnd}). */
export function frontEndProof(space: AddressSpace, base: Address, layout: NtHeapLayout): "lfh" | "none" | "contradicted" | "no-back-pointer" | "unreadable" {
  const type = space.u8(base + layout.frontEndHeapType);
  const feh = space.ptr(base + layout.frontEndHeap);
  if (type < 0 || !(feh === feh)) return "unreadable";
  if (type === 0 && feh === 0) return "none";
  if (type !== 2 || feh === 0 || feh % layout.ptr !== 0) return "contradicted";
  const back = space.ptr(feh + layout.lfhHeapBackPointer);
  if (!(back === back)) return "unreadable";
  return back === base ? "lfh" : "no-back-pointer";
}

/** The layouts whose `_HEAP.Signature` offset holds the heap signature, for one bitness. */
function signatureFits(space: AddressSpace, base: Address, bitness: 32 | 64): NtLayoutName[] {
  return NT_LAYOUT_NAMES.filter((n) => space.u32(base + ntLayout(n, bitness).signature) === HEAP_SIGNATURE);
}

/**
 * Pick the layout for a heap by proof: the build's own table when the heap's bytes agree with it
 * (Signature where it puts it; FrontEndHeapType 0 with no front end, or 2 with an `_LFH_HEAP`
 * pointing back), else the other tables in turn (HEAP_LAYOUT_PROBED names the one taken). When
 * no table fits the front end, the backend (whose offsets the signature proves) is still walked,
 * the front end is not, and the heap is marked incomplete (NT_HEAP_LAYOUT_NONE).
 */
export function chooseLayout(run: Run, space: AddressSpace, base: Address, bitness: 32 | 64): LayoutChoice {
  const build = run.target.os.build;
  const table = layoutForBuild(build);
  const fits = signatureFits(space, base, bitness);
  const own = table !== undefined && (fits.includes(table) || fits.length === 0) ? table : undefined;
  const ownProof = own === undefined ? "contradicted" : frontEndProof(space, base, ntLayout(own, bitness));
  if (own !== undefined && ownProof === "lfh") return { layout: ntLayout(own, bitness), probed: false, frontEnd: "lfh" };
  // The front end is not in the dump: nothing contradicts the build's table; the walk reports
  // what is missing when it meets it (hosts are still recognised by their user-data signature).
  if (own !== undefined && ownProof === "unreadable") {
    const L = ntLayout(own, bitness);
    return { layout: L, probed: false, frontEnd: space.u8(base + L.frontEndHeapType) === 2 ? "lfh" : "none" };
  }
  // The others, nearest build first; a proven LFH beats an empty front end (a heap without LFH
  // reads zeros at most offsets, so "none" proves little).
  const others = fits.filter((n) => n !== own).sort((x, y) => Math.abs(NT_LAYOUT_NAMES.indexOf(x) - NT_LAYOUT_NAMES.indexOf(table ?? x)) - Math.abs(NT_LAYOUT_NAMES.indexOf(y) - NT_LAYOUT_NAMES.indexOf(table ?? y)));
  let none: NtLayoutName | undefined;
  for (const n of others) {
    const proof = frontEndProof(space, base, ntLayout(n, bitness));
    if (proof === "lfh") return probedChoice(run, base, build, table, n, bitness, "lfh");
    if (proof === "none") none ??= n;
  }
  if (own !== undefined && ownProof === "none") return { layout: ntLayout(own, bitness), probed: false, frontEnd: "none" };
  // An empty front end elsewhere does not outweigh the build's own table naming an LFH (type 2
  // and a pointer) whose Heap field does not point back: that is a damaged or unknown front end.
  if (none !== undefined && ownProof !== "no-back-pointer") return probedChoice(run, base, build, table, none, bitness, "none");
  // Nothing proves the front end: walk the backend with the nearest table whose signature fits.
  const fallback = own ?? others[0] ?? fits[0] ?? table ?? "win10-1809";
  run.diagnostics.report(
    SOURCE,
    "NT_HEAP_LAYOUT_NONE",
    ntCodes.NT_HEAP_LAYOUT_NONE.severity,
    `heap ${formatAddress(base)}: no _HEAP layout known for build ${build} fits its front end (_HEAP.FrontEndHeap/FrontEndHeapType with an _LFH_HEAP pointing back); its backend is walked, its LFH blocks are not`,
    at(base),
  );
  return { layout: ntLayout(fallback, bitness), probed: fallback !== table, frontEnd: "unproven" };
}

function probedChoice(run: Run, base: Address, build: number, table: NtLayoutName | undefined, taken: NtLayoutName, bitness: 32 | 64, frontEnd: "lfh" | "none"): LayoutChoice {
  if (table === undefined) {
    run.diagnostics.report(
      SOURCE,
      "NT_HEAP_LAYOUT_UNKNOWN",
      ntCodes.NT_HEAP_LAYOUT_UNKNOWN.severity,
      `heap ${formatAddress(base)}: OS build ${build} is not in the NT heap layout table; its bytes fit the ${taken} layout, which was used`,
      at(base),
    );
    return { layout: ntLayout(taken, bitness), probed: true, frontEnd };
  }
  run.diagnostics.report(
    SOURCE,
    "HEAP_LAYOUT_PROBED",
    ntCodes.HEAP_LAYOUT_PROBED.severity,
    `heap ${formatAddress(base)}: build ${build} implies the ${table} _HEAP layout, which its bytes contradict; the ${taken} layout fits (${frontEnd === "lfh" ? "FrontEndHeap points to an _LFH_HEAP that points back" : "no front end"}) and was used`,
    at(base),
  );
  return { layout: ntLayout(taken, bitness), probed: true, frontEnd };
}

/** Growable Float64Array, reused across heaps (amortised growth, nothing per element). */
class NumList {
  data = new Float64Array(256);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) this.grow();
    this.data[this.length++] = v;
  }
  /** Double the capacity. */
  grow(): void {
    const next = new Float64Array(this.data.length * 2);
    next.set(this.data);
    this.data = next;
  }
  clear(): void {
    this.length = 0;
  }
  sorted(): Float64Array {
    return this.data.subarray(0, this.length).sort();
  }
}

type ListEnd = "ok" | "cycle" | "missing" | "bad" | "bound";

/** `(heap, run, index)`: the NT walk appended LFH host block `index` of `heap` (see {@link HeapNtApi.onHostBlock}). */
export type HostBlockListener = (heap: HeapRecord, run: Run, index: number) => void;

/** Services of the `heap-nt` plugin for other plugins (`engine.api<HeapNtApi>("heap-nt")`). */
export interface HeapNtApi {
  /**
   * Be called for every LFH host block (a busy backend block holding LFH user blocks) the moment
   * the backend walk appends it, with its allocation index, while its bytes are still in the
   * file cache: a front-end walker that reads the host then, instead of after the backend walk,
   * reads each byte of the heap once. The host is already on `heap.data.nt.hostBlocks`.
   */
  onHostBlock(listener: HostBlockListener): void;
}

/**
 * Walks one NT heap. One instance per plugin; state is reset per heap. The block loop reads
 * headers through {@link AddressSpace.span} and allocates nothing per block.
 */
export class NtHeapWalker {
  private readonly span: Span = emptySpan();
  /*
   * The block loop passes addresses through fields, not arguments: V8 boxes a double passed to a
   * call it does not inline (a heap number per call), and addresses above 2^31 are doubles. Double
   * fields are updated in place. [bench: nt 4M blocks, 138 MB of garbage per walk before.]
   */
  /** Address of the entry being read (readHeaderAtPos, addBlockAtPos). */
  private pos = Number.NaN;
  /** walkEntries met a bad entry in the current segment. */
  private segmentBroken = false;
  /** Where the entry at `pos` had to end (the next uncommitted range, or LastValidEntry). */
  private limit = Number.NaN;
  /** The header window: [winLo, winHi) is readable at winView[winIndex + (va - winLo)]. */
  private winLo = Number.NaN;
  private winHi = Number.NaN;
  private winView: DataView = this.span.view;
  private winIndex = 0;
  // decoded header of the last readHeader()
  private lo = Number.NaN;
  private hi = Number.NaN;
  /**
   * Free blocks of the segment walks as pairs (block address, Flink): the Flink is read while the
   * walk passes the block, and the free-list check finds both in one cache line.
   */
  private readonly walkFree = new NumList();
  private readonly listFree = new NumList();
  /** walkFree sorted by address, with the matching Flinks: the general free-list check reads links from here. */
  private freeSortedAt = new Float64Array(0);
  private freeSortedFlink = new Float64Array(0);
  /** Open-addressing table of the free-list fast path ((address, Flink) slots), reused across heaps. */
  private freeTable = new Float64Array(0);
  private readonly ucrDescriptors = new NumList();

  /** Called for each LFH host block as it is appended (see {@link HeapNtApi.onHostBlock}). */
  readonly hostListeners: HostBlockListener[] = [];
  /** Worker threads a big heap's segments may be walked on (option `workers`); 0 walks on this thread only. */
  workers = 0;
  /** Smallest heap (bytes of segments) walked on several threads (option `parallelMinBytes`). */
  parallelMinBytes = PARALLEL_MIN_BYTES;

  // per-heap state
  private run!: Run;
  private heap!: HeapRecord;
  private space!: AddressSpace;
  private L!: NtHeapLayout;
  private encoded = false;
  private encLo = 0;
  private encHi = 0;
  private ust = false;
  private lfh = false;
  private frontEndHeap: Address = Number.NaN;
  private state!: NtHeapState;

  private report(code: keyof typeof ntCodes, message: string, address: Address): void {
    this.run.diagnostics.report(SOURCE, code, ntCodes[code].severity, `heap ${formatAddress(this.heap.address)}: ${message}`, at(address));
  }

  private missing(what: string, address: Address, length: number): void {
    const gap = this.space.firstMissing(address, length) ?? address;
    this.report("NT_HEAP_NOT_CAPTURED", `${what} at ${formatAddress(address)} is not in the dump (missing from ${formatAddress(gap)})`, gap);
    this.heap.incomplete = true;
  }

  /** Read and decode the 8 header bytes of the entry at `h`; -1 missing, 0 bad checksum, 1 ok. */
  private readHeader(h: Address): number {
    this.pos = h;
    return this.readHeaderAtPos();
  }

  /** {@link readHeader} of the entry at `this.pos`. */
  private readHeaderAtPos(): number {
    const a = this.pos + this.L.entryData;
    let lo: number;
    let hi: number;
    const s = this.span;
    // (checks written out, not called: see `pos`)
    if (a >= this.winLo && a + 8 <= this.winHi && !s.lease.stale) {
      const o = this.winIndex + (a - this.winLo);
      lo = this.winView.getInt32(o, true);
      hi = this.winView.getInt32(o + 4, true);
    } else if (this.space.span(a, s) && s.length >= 8) {
      this.winLo = a;
      this.winHi = a + s.length;
      this.winView = s.view;
      this.winIndex = s.index;
      lo = s.view.getInt32(s.index, true);
      hi = s.view.getInt32(s.index + 4, true);
    } else {
      lo = this.space.u32(a);
      hi = this.space.u32(a + 4);
      if (lo < 0 || hi < 0) return -1;
      lo |= 0;
      hi |= 0;
    }
    // (lo and hi as int32, the key and the decoded words too, read with bit operations only:
    // a uint32 above 2^31 met by an operation that had only seen small integers deoptimized
    // it, "lost precision", at the first header or key that had its top bit set)
    // SmallTagIndex (byte 3) is the XOR of bytes 0..2, written out as well: with a checksum
    // function here the block loop leaves 9 more bytes of garbage per block [bench: nt 1M blocks,
    // 12-14 MB instead of 5 MB]
    if (this.encoded) {
      const dlo = lo ^ this.encLo;
      if (((dlo ^ (dlo >>> 8) ^ (dlo >>> 16)) & 0xff) === dlo >>> 24) {
        this.lo = dlo;
        this.hi = hi ^ this.encHi;
        return 1;
      }
      // ntdll decodes per header; an entry stored unencoded is valid too
      if (((lo ^ (lo >>> 8) ^ (lo >>> 16)) & 0xff) === lo >>> 24) {
        this.lo = lo;
        this.hi = hi;
        return 1;
      }
      this.lo = dlo;
      this.hi = hi ^ this.encHi;
      return 0;
    }
    this.lo = lo;
    this.hi = hi;
    return ((lo ^ (lo >>> 8) ^ (lo >>> 16)) & 0xff) === lo >>> 24 ? 1 : 0;
  }

  /** Where the last list walk failed (missing or bad link). */
  private listFail: Address = Number.NaN;

  /**
   * Follow a LIST_ENTRY list from `head` (Flink at +0), calling `visit(link)` once for each
   * distinct entry link, at most `max`. Pass 1 finds the list's end, or its loop with Brent's
   * algorithm (then the loop's start, so no entry is visited twice); pass 2 visits. Nothing is
   * allocated.
   */
  private walkList(head: Address, max: number, visit: (link: Address) => boolean, read?: (link: Address) => number): ListEnd {
    const space = this.space;
    const ptr = this.L.ptr;
    const next = (x: Address): Address => {
      const v = read === undefined ? space.ptr(x) : read(x);
      return v === v && v !== 0 && v % ptr === 0 ? v : Number.NaN;
    };
    // A failed step from `from`: the link is unreadable (missing) or null/misaligned (bad).
    const fail = (from: Address): ListEnd => {
      const raw = space.ptr(from);
      this.listFail = raw === raw ? from : (space.firstMissing(from, ptr) ?? from);
      return raw === raw ? "bad" : "missing";
    };
    let end: ListEnd = "ok";
    let total = 0;
    let link = next(head);
    if (!(link === link)) return fail(head);
    let tortoise = head;
    let power = 1;
    let lam = 1;
    while (link !== head) {
      if (link === tortoise) {
        end = "cycle";
        break;
      }
      if (total >= max) {
        end = "bound";
        break;
      }
      total++;
      if (power === lam) {
        tortoise = link;
        power *= 2;
        lam = 0;
      }
      const prev = link;
      link = next(link);
      if (!(link === link)) {
        end = fail(prev);
        break;
      }
      lam++;
    }
    if (end === "cycle") {
      // lam = loop length; find the loop start (mu) to count distinct entries.
      let p = next(head);
      let q = p;
      for (let i = 0; i < lam; i++) q = next(q);
      let mu = 0;
      while (p !== q && mu <= max) {
        p = next(p);
        q = next(q);
        mu++;
      }
      total = Math.min(mu + lam, max);
    }
    let cur = next(head);
    for (let i = 0; i < total && cur === cur; i++) {
      if (!visit(cur)) break;
      cur = next(cur);
    }
    return end;
  }

  private listProblem(end: ListEnd, what: string, head: Address): void {
    if (end === "ok") return;
    if (end === "missing") this.missing(`an entry of the ${what}`, this.listFail, this.L.ptr);
    else if (end === "bad") this.report("NT_HEAP_POINTER_OUT_OF_RANGE", `the ${what} (head ${formatAddress(head)}) holds a null or misaligned link at ${formatAddress(this.listFail)}`, this.listFail);
    else this.report("NT_HEAP_LIST_CYCLE", `the ${what} (head ${formatAddress(head)}) ${end === "cycle" ? "loops" : "is longer than its bound"}`, head);
  }

  /** Walk one NT heap into `run.allocations` and leave its state on `heap.data.nt`. */
  walk(heap: HeapRecord, run: Run): void {
    this.run = run;
    this.heap = heap;
    const space = heap.view.space;
    this.space = space;
    this.winLo = Number.NaN;
    this.winHi = Number.NaN;
    const base = heap.address;
    const bitness = heap.bitness;
    const probeBytes = bitness === 64 ? 0x200 : 0x100;
    if (space.u32(base + (bitness === 64 ? 0x10 : 0x08)) !== SEGMENT_SIGNATURE) {
      if (!space.isMapped(base, probeBytes)) this.missing("the heap header", base, probeBytes);
      else this.report("NT_HEAP_BAD_SIGNATURE", "no NT heap segment signature at the heap base", base);
      heap.incomplete = true;
      return;
    }
    const { layout, probed, frontEnd } = chooseLayout(run, space, base, bitness);
    if (frontEnd === "unproven") heap.incomplete = true;
    const L = layout;
    this.L = L;
    const efm = space.u32(base + L.encodeFlagMask);
    this.encoded = efm >= 0 && (efm & ENCODE_FLAG) !== 0;
    // int32, same bits (see readHeaderAtPos)
    this.encLo = space.u32(base + L.encoding) | 0;
    this.encHi = space.u32(base + L.encoding + 4) | 0;
    const encoding = space.read(base + L.encoding, 8) ?? new Uint8Array(8);
    const flags = space.u32(base + L.flags);
    const forceFlags = space.u32(base + L.forceFlags);
    this.ust = flags >= 0 && (flags & HEAP_CAPTURE_STACK_BACKTRACES) !== 0;
    const fehType = space.u8(base + L.frontEndHeapType);
    const feh = space.ptr(base + L.frontEndHeap);
    this.frontEndHeap = feh === 0 ? Number.NaN : feh;
    this.lfh = frontEnd === "lfh";
    const state: NtHeapState = {
      layout: L.name,
      probed,
      granularity: L.granule,
      encoded: this.encoded,
      encoding,
      flags: flags < 0 ? 0 : flags,
      forceFlags: forceFlags < 0 ? 0 : forceFlags,
      frontEndHeapType: fehType < 0 ? 0 : fehType,
      frontEndHeap: this.frontEndHeap,
      frontEnd,
      segments: [],
      hostBlocks: [],
      ustEnabled: this.ust,
      internalBlocks: [],
      segmentWalks: [],
      walkedInWorkers: 0,
      freeListLength: Number.NaN,
      freeListAgrees: false,
      checksumFailures: 0,
      virtualBlocks: 0,
    };
    this.state = state;
    heap.data.nt = state;
    if (heap.flags === undefined && flags >= 0) heap.flags = flags;

    // The heap's own entry validates the Encoding.
    if (this.readHeader(base) === 0) {
      state.checksumFailures++;
      this.report("NT_HEAP_ENTRY_CHECKSUM", "the heap's own _HEAP.Entry fails its checksum: the Encoding or the layout is wrong", base);
    }

    // UCR descriptors of the heap (to recognise the busy blocks that hold them as INTERNAL).
    this.ucrDescriptors.clear();
    const ucrEnd = this.walkList(base + L.ucrList, MAX_UCRS, (link) => {
      this.ucrDescriptors.push(link);
      return true;
    });
    this.listProblem(ucrEnd, "uncommitted-range list", base + L.ucrList);

    // Segments
    const segments: Address[] = [];
    const segEnd = this.walkList(base + L.segmentList, MAX_SEGMENTS, (link) => {
      segments.push(link - L.segListEntry);
      return true;
    });
    this.listProblem(segEnd, "segment list", base + L.segmentList);
    const segmentsKnown = segEnd === "ok";
    if (!segments.includes(base)) segments.unshift(base);

    this.walkFree.clear();
    // Segment headers and uncommitted-range lists first (a few reads each); then the block loops,
    // which see every UCR descriptor of the heap and may run on worker threads.
    const prepared: PreparedSegment[] = [];
    for (const seg of segments) {
      run.checkAborted();
      const p = this.prepareSegment(seg);
      if (p) prepared.push(p);
    }
    const walks = this.walkSegments(prepared, this.ucrDescriptors.sorted());
    let reserved = 0;
    let committed = 0;
    let ucrs = 0;
    let ucrBytes = 0;
    for (let k = 0; k < prepared.length; k++) {
      const seg = prepared[k]!.seg;
      const w = walks[k]!;
      state.segments.push(seg);
      state.segmentWalks.push(w);
      ucrs += w.ucrs;
      ucrBytes += w.ucrBytes;
      const pages = space.u32(seg + L.segNumberOfPages);
      const ucPages = space.u32(seg + L.segUncommittedPages);
      if (pages > 0) {
        reserved += pages * PAGE;
        committed += (pages - (ucPages >= 0 && ucPages <= pages ? ucPages : 0)) * PAGE;
      }
    }

    // VirtualAlloc'd blocks
    let vaReserved = 0;
    let vaCommitted = 0;
    const vaHead = base + L.virtualAllocdBlocks;
    const vaEnd = this.walkList(vaHead, MAX_VIRTUAL_BLOCKS, (entry) => {
      const r = this.virtualBlock(entry);
      if (r > 0) {
        vaCommitted += r;
        const res = this.sizeT(entry + L.vaReserveSize);
        vaReserved += res >= r ? res : r;
      }
      return true;
    });
    this.listProblem(vaEnd, "virtual-block list", vaHead);

    this.checkFreeList(base + L.freeLists);

    for (const s of segmentsKnown ? (scannedSegments.get(heap) ?? []) : []) {
      if (!state.segments.includes(s)) {
        this.report("NT_HEAP_ORPHAN_SEGMENT", `segment ${formatAddress(s)} names this heap but is not on its SegmentList`, s);
      }
    }

    heap.stats.reserved = reserved + vaReserved;
    heap.stats.committed = committed + vaCommitted;
    let freeBytes = 0;
    for (const w of state.segmentWalks) freeBytes += w.freeBytes;
    heap.summary = {
      ...heap.summary,
      layout: L.name,
      layoutProbed: probed,
      bitness,
      flags: "0x" + state.flags.toString(16),
      encoded: this.encoded,
      segments: state.segments.length,
      reservedK: Math.round(heap.stats.reserved / 1024),
      committedK: Math.round(heap.stats.committed / 1024),
      freeK: Math.round(freeBytes / 1024),
      freeBlocks: this.walkFree.length / 2,
      freeListLength: Number.isNaN(state.freeListLength) ? null : state.freeListLength,
      freeListAgrees: state.freeListAgrees,
      ucrs,
      ucrBytes,
      virtualBlocks: state.virtualBlocks,
      virtualBytes: vaCommitted,
      lfh: this.lfh,
      hostBlocks: state.hostBlocks.length,
      checksumFailures: state.checksumFailures,
      ust: this.ust,
    };
  }

  private sizeT(va: Address): number {
    return this.L.ptr === 8 ? this.space.u64(va) : this.space.u32(va);
  }

  /**
   * Walk the prepared segments in order. When the heap is big enough and the dump is read from a
   * file, the list is cut into contiguous lanes of about equal bytes: this thread walks the first
   * lane while worker threads walk the others, and their blocks are then appended in segment order
   * (host listeners and diagnostics interleaved as a sequential walk would have them), so the
   * result is the same whatever the number of workers.
   */
  private walkSegments(prepared: PreparedSegment[], desc: Float64Array): NtSegmentWalk[] {
    // lane j is [bounds[j], bounds[j + 1]); lane 0 is this thread's
    const bounds = planSegmentLanes(prepared, this.workers, this.parallelMinBytes);
    const tasks: { worker: SyncWorker; ticket: number; from: number; to: number }[] = [];
    if (bounds.length > 2) {
      const workers = ntWorkers(bounds.length - 2);
      for (let j = 1; j + 1 < bounds.length && j - 1 < workers.length; j++) {
        const from = bounds[j]!;
        const to = bounds[j + 1]!;
        const task = this.segmentTask(prepared, from, to, desc);
        if (!task) break;
        const worker = workers[j - 1]!;
        tasks.push({ worker, ticket: worker.submit(task), from, to });
      }
    }
    const walks: NtSegmentWalk[] = [];
    let waited = 0;
    try {
      const own = tasks.length > 0 ? tasks[0]!.from : prepared.length;
      for (let k = 0; k < own; k++) {
        this.run.checkAborted();
        walks.push(this.walkPrepared(prepared[k]!, desc));
        this.run.walked(segmentSpan(prepared, k, k + 1));
      }
      // the lanes are contiguous: each task starts where the previous one ended
      for (const t of tasks) {
        const outcome = t.worker.wait(t.ticket);
        waited++;
        this.run.checkAborted();
        if (outcome.ok) {
          for (const w of this.mergeTask(outcome.value as NtSegmentTaskResult)) walks.push(w);
          this.state.walkedInWorkers += t.to - t.from;
          this.run.walked(segmentSpan(prepared, t.from, t.to));
          continue;
        }
        this.report(
          "NT_HEAP_WORKER_FAILED",
          `a worker thread could not walk segments ${formatAddress(prepared[t.from]!.seg)}..${formatAddress(prepared[t.to - 1]!.seg)} (${outcome.reason.split("\n")[0]}); they were walked on the main thread`,
          prepared[t.from]!.seg,
        );
        for (let k = t.from; k < t.to; k++) walks.push(this.walkPrepared(prepared[k]!, desc));
        this.run.walked(segmentSpan(prepared, t.from, t.to));
      }
      const done = tasks.length > 0 ? tasks[tasks.length - 1]!.to : own;
      for (let k = done; k < prepared.length; k++) {
        walks.push(this.walkPrepared(prepared[k]!, desc));
        this.run.walked(segmentSpan(prepared, k, k + 1));
      }
    } finally {
      // an aborted run leaves results nobody will take
      for (let i = waited; i < tasks.length; i++) tasks[i]!.worker.forget(tasks[i]!.ticket);
    }
    return walks;
  }

  /** The worker task for prepared segments [from, to), or undefined when the dump's memory cannot be shared. */
  private segmentTask(prepared: PreparedSegment[], from: number, to: number, desc: Float64Array): NtSegmentTask | undefined {
    // the whole address space (described once per space): a worker reads what this thread would
    const slice = sliceSpace(this.space);
    if (!slice) return undefined;
    return {
      slice,
      heapIndex: this.heap.index,
      heapAddress: this.heap.address,
      layout: this.L,
      encoded: this.encoded,
      encLo: this.encLo,
      encHi: this.encHi,
      lfh: this.lfh,
      frontEndHeap: this.frontEndHeap,
      desc,
      segments: prepared.slice(from, to),
    };
  }

  /**
   * Worker side: walk the task's segments over `space` (the task's slice) into a fresh allocation
   * table, recording what the main thread must replay.
   */
  walkTask(task: NtSegmentTask, space: AddressSpace, beat: () => void): NtSegmentTaskResult {
    const allocations = new AllocationSet();
    const recorder = new DiagnosticRecorder(() => allocations.count);
    this.run = { allocations, diagnostics: recorder, checkAborted() {}, walked() {} } as unknown as Run;
    this.heap = { index: task.heapIndex, address: task.heapAddress, incomplete: false } as unknown as HeapRecord;
    this.space = space;
    this.L = task.layout;
    this.encoded = task.encoded;
    this.encLo = task.encLo | 0;
    this.encHi = task.encHi | 0;
    this.lfh = task.lfh;
    this.frontEndHeap = task.frontEndHeap;
    this.state = { hostBlocks: [], internalBlocks: [], checksumFailures: 0 } as unknown as NtHeapState;
    this.winLo = Number.NaN;
    this.winHi = Number.NaN;
    this.walkFree.clear();
    const walks: NtSegmentWalk[] = [];
    for (const p of task.segments) {
      beat();
      walks.push(this.walkPrepared(p, task.desc));
    }
    return {
      pieces: allocations.chunkColumns(),
      walks,
      free: this.walkFree.data.slice(0, this.walkFree.length),
      hosts: Int32Array.from(this.state.hostBlocks),
      internals: Int32Array.from(this.state.internalBlocks),
      diagnostics: recorder.list,
      incomplete: this.heap.incomplete === true,
      checksumFailures: this.state.checksumFailures,
    };
  }

  /** Append a worker's result as if this thread had walked its segments; returns their walks. */
  private mergeTask(r: NtSegmentTaskResult): NtSegmentWalk[] {
    const { allocations, diagnostics } = this.run;
    const pieces = r.pieces;
    const diags = r.diagnostics;
    const internals = r.internals;
    const state = this.state;
    let total = 0;
    for (const p of pieces) total += p.count;
    // the next row to append, as (piece, row in piece) and as a row of the whole result
    let pi = 0;
    let pr = 0;
    let from = 0;
    let d = 0;
    let ii = 0;
    // rows [from, to), each diagnostic replayed when as many rows precede it as did in the worker
    const appendTo = (to: number): void => {
      while (from < to) {
        d = replayDiagnostics(diagnostics, SOURCE, diags, d, from);
        const at = d < diags.length ? diags[d]!.at : Number.POSITIVE_INFINITY;
        const piece = pieces[pi]!;
        const n = Math.min(to, at, from + piece.count - pr) - from;
        const base = allocations.appendColumns(piece, pr, pr + n);
        while (ii < internals.length && internals[ii]! < from + n) state.internalBlocks.push(base + internals[ii++]! - from);
        from += n;
        pr += n;
        if (pr === piece.count) {
          // its rows are in: its memory serves as a later chunk (already paged in)
          allocations.recycle(piece);
          pi++;
          pr = 0;
        }
      }
    };
    const listeners = this.hostListeners;
    for (const h of r.hosts) {
      appendTo(h + 1);
      const i = allocations.count - 1;
      state.hostBlocks.push(i);
      for (let k = 0; k < listeners.length; k++) listeners[k]!(this.heap, this.run, i);
    }
    appendTo(total);
    replayDiagnostics(diagnostics, SOURCE, diags, d);
    const wf = this.walkFree;
    while (wf.length + r.free.length > wf.data.length) wf.grow();
    wf.data.set(r.free, wf.length);
    wf.length += r.free.length;
    if (r.incomplete) this.heap.incomplete = true;
    state.checksumFailures += r.checksumFailures;
    return r.walks;
  }

  /** Read one segment's header and uncommitted-range list; undefined when the header is unusable. */
  private prepareSegment(seg: Address): PreparedSegment | undefined {
    const { space, L } = this;
    const g = L.granule;
    if (space.u32(seg + L.segmentSignature) !== SEGMENT_SIGNATURE) {
      if (!space.isMapped(seg + L.segmentSignature, 4)) this.missing("the segment header", seg, L.segUcrList + 2 * L.ptr);
      else this.report("NT_HEAP_SEGMENT_BAD", `segment ${formatAddress(seg)} has no segment signature`, seg);
      return undefined;
    }
    const first = space.ptr(seg + L.segFirstEntry);
    const last = space.ptr(seg + L.segLastValidEntry);
    const pages = space.u32(seg + L.segNumberOfPages);
    if (
      !(first === first && last === last) ||
      first < seg ||
      last <= first ||
      first % g !== 0 ||
      (pages > 0 && last > seg + pages * PAGE) ||
      last - first > 0x100000000
    ) {
      if (!(first === first && last === last)) this.missing("the segment header", seg, L.segUcrList + 2 * L.ptr);
      else this.report("NT_HEAP_SEGMENT_BAD", `segment ${formatAddress(seg)} has FirstEntry ${formatAddress(first)} / LastValidEntry ${formatAddress(last)} out of order or out of range`, seg);
      return undefined;
    }
    // Uncommitted ranges of this segment, sorted.
    const starts: number[] = [];
    const sizes: number[] = [];
    const ucrHead = seg + L.segUcrList;
    const end = this.walkList(ucrHead, MAX_UCRS, (link) => {
      const d = link - L.ucrSegmentEntry;
      const a = space.ptr(d + L.ucrAddress);
      const sz = this.sizeT(d + L.ucrSize);
      if (sz === 0) {
        // an empty descriptor (seen at a segment's end on Win7): nothing to skip, but its holder is ntdll's
        this.ucrDescriptors.push(d);
      } else if (a === a && sz > 0 && a >= first && a + sz <= last) {
        starts.push(a);
        sizes.push(sz);
        this.ucrDescriptors.push(d);
      } else if (!(a === a) || sz < 0) {
        this.missing("an uncommitted-range descriptor", d, L.ucrDescriptorSize);
      } else {
        this.report("NT_HEAP_POINTER_OUT_OF_RANGE", `uncommitted range ${formatAddress(a)} (+${sz.toString(16)}) lies outside segment ${formatAddress(seg)}`, d);
      }
      return true;
    });
    this.listProblem(end, "segment's uncommitted-range list", ucrHead);
    const order = starts.map((_, i) => i).sort((a, b) => starts[a]! - starts[b]!);
    // `last` as a sentinel after the sorted starts: the loop's limit is always an element
    const ucrStart = new Float64Array([...order.map((i) => starts[i]!), last]);
    const ucrSize = new Float64Array(order.map((i) => sizes[i]!));
    // PreviousSize of the first block is the size of the segment's own header entry.
    const prevSize = this.readHeader(seg) === 1 && seg + (this.lo & 0xffff) * g === first ? this.lo & 0xffff : -1;
    return { seg, first, last, ucrStart, ucrSize, prevSize };
  }

  /** The block loop of a prepared segment; `desc` holds the heap's UCR descriptor addresses, sorted. */
  private walkPrepared(p: PreparedSegment, desc: Float64Array): NtSegmentWalk {
    const { seg, first, last } = p;
    const w: NtSegmentWalk = {
      base: seg,
      firstEntry: first,
      lastValidEntry: last,
      blockBytes: 0,
      busyBytes: 0,
      freeBytes: 0,
      ucrs: 0,
      ucrBytes: 0,
      blocks: 0,
      endedAtEnd: false,
    };
    this.segmentBroken = false;
    const how = this.walkEntries(first, last, p.ucrStart, p.ucrSize, desc, p.prevSize, w);
    w.endedAtEnd = how === WALK_END && this.pos === last;
    if (!w.endedAtEnd && !this.segmentBroken) {
      this.report(
        "NT_HEAP_SEGMENT_OVERRUN",
        `the walk of segment ${formatAddress(seg)} ended at ${formatAddress(this.pos)}, not at LastValidEntry ${formatAddress(last)}`,
        this.pos,
      );
    }
    return w;
  }

  /**
   * The block loop of one segment, from `first` to `last`, skipping its uncommitted ranges.
   * Returns WALK_END with `this.pos` where the walk ended, WALK_STOPPED at a bad entry with no
   * uncommitted range after it (the problem is reported and `segmentBroken` set), or WALK_BOUND
   * when the step bound is hit (`this.pos` is the entry it stopped at).
   *
   * Shaped for V8: the cursor is the field `this.pos`, not a local. TurboFan boxes a float64 loop
   * variable on every step when the loop holds a nested loop over it or several back edges (the
   * uncommitted-range skip, the resume after a bad entry), and no reshaping of the loop avoided
   * that; a double field is updated in place [bench: nt 1M blocks, 35 MB of garbage per walk
   * with a local cursor, none with the field].
   */
  private walkEntries(
    first: Address,
    last: Address,
    ucrStart: Float64Array,
    ucrSize: Float64Array,
    desc: Float64Array,
    prevSizeAtFirst: number,
    w: NtSegmentWalk,
  ): number {
    const g = this.L.granule;
    const allocations = this.run.allocations;
    const heapIndex = this.heap.index;
    let prevSize = prevSizeAtFirst;
    let ui = 0;
    let di = 0;
    // ucrStart ends with `last` as a sentinel: `ucrs` real ranges precede it
    const ucrs = ucrStart.length - 1;
    this.pos = first;
    const maxSteps = (last - first) / g + 1;
    let steps = 0;
    while (this.pos < last) {
      if (steps++ >= maxSteps) return WALK_BOUND;
      while (ui < ucrs && ucrStart[ui]! < this.pos) ui++;
      if (ui < ucrs && ucrStart[ui] === this.pos) {
        const sz = ucrSize[ui]!;
        w.ucrs++;
        w.ucrBytes += sz;
        this.pos += sz;
        ui++;
        prevSize = -1;
        continue;
      }
      // (an element, never the `last` argument: a merge with it would box the element)
      const limit = ucrStart[ui]!;
      const r = this.readHeaderAtPos();
      const size = this.lo & 0xffff;
      const bytes = size * g;
      if (r !== 1 || size === 0 || this.pos + bytes > limit) {
        this.limit = limit;
        this.entryProblem(r);
        this.segmentBroken = true;
        this.heap.incomplete = true;
        // Resume after the next uncommitted range: its bounds come from the heap's bookkeeping.
        if (ui < ucrs) {
          this.pos = ucrStart[ui]!;
          continue;
        }
        return WALK_STOPPED;
      }
      const prev = this.hi & 0xffff;
      if (prevSize >= 0 && prev !== prevSize) this.previousSizeMismatch(prev, prevSize);
      while (di < desc.length && desc[di]! < this.pos) di++;
      const holdsDescriptor = di < desc.length && desc[di]! < this.pos + bytes;
      this.addBlockAtPos(bytes, holdsDescriptor, allocations, heapIndex, w);
      w.blocks++;
      w.blockBytes += bytes;
      prevSize = size;
      this.pos += bytes;
    }
    return WALK_END;
  }

  /** Report why the entry at `this.pos` (header read result `r`) ends the walk of its piece of segment. */
  private entryProblem(r: number): void {
    const cur = this.pos;
    const limit = this.limit;
    const entry = this.L.entrySize;
    const bytes = (this.lo & 0xffff) * this.L.granule;
    if (r < 0) this.missing("a heap entry", cur, entry);
    else if (r === 0) {
      this.state.checksumFailures++;
      this.report("NT_HEAP_ENTRY_CHECKSUM", `entry at ${formatAddress(cur)} fails its checksum after decoding`, cur);
    } else if (bytes === 0) this.report("NT_HEAP_ENTRY_SIZE_ZERO", `entry at ${formatAddress(cur)} has size 0`, cur);
    else this.report("NT_HEAP_SEGMENT_OVERRUN", `entry at ${formatAddress(cur)} (size ${bytes.toString(16)}) runs past ${formatAddress(limit)}`, cur);
  }

  private previousSizeMismatch(prev: number, prevSize: number): void {
    const cur = this.pos;
    this.report(
      "NT_HEAP_PREVIOUS_SIZE_MISMATCH",
      `entry at ${formatAddress(cur)} has PreviousSize ${prev.toString(16)} but the block before it has size ${prevSize.toString(16)}`,
      cur,
    );
  }

  /**
   * Classify the decoded block at `this.pos` and append it. Free and busy blocks meet at one
   * `allocations.add` call: V8 inlines only hot call sites, and a call it does not inline boxes
   * the address arguments (likewise the free pair is stored into the list's array directly)
   * [bench: nt 1M blocks, 15 MB of garbage per walk with a second call site for free blocks].
   */
  private addBlockAtPos(bytes: number, holdsDescriptor: boolean, allocations: Run["allocations"], heapIndex: number, w: NtSegmentWalk): void {
    const { space, L } = this;
    const h = this.pos;
    const g = L.granule;
    const entry = L.entrySize;
    const flags = (this.lo >>> 16) & 0xff;
    // HEAP_ENTRY_VIRTUAL_ALLOC (0x08), which ntdll also sets on LFH hosts and its own blocks:
    // tested here for every block, as a test first run on a rare path is compiled as "throw this
    // code away" (see INTERNAL)
    const virtualFlag = (flags & 0x08) !== 0;
    let user = h + entry;
    let requested = 0;
    let af: number = AllocFlags.FREE;
    let trace = 0;
    let host = false;
    const free = (flags & 1) === 0;
    if (free) {
      // the free list is in size order, i.e. scattered over the heap: keep its links from this
      // sequential pass so checking it needs no random reads [bench: 134k cache misses per 1M blocks]
      const fa = h + L.freeLink;
      let flink: Address;
      if (fa >= this.winLo && fa + L.ptr <= this.winHi && !this.span.lease.stale) {
        const o = this.winIndex + (fa - this.winLo);
        if (L.ptr === 4) flink = this.winView.getUint32(o, true);
        else {
          // addressFromParts, written out
          const flo = this.winView.getUint32(o, true);
          const fhi = this.winView.getUint32(o + 4, true);
          flink = fhi <= 0x001fffff ? fhi * 4294967296 + flo : fhi >= 0xffe00000 ? (fhi - 4294967296) * 4294967296 + flo : Number.NaN;
        }
      } else flink = space.ptr(fa);
      const wf = this.walkFree;
      if (wf.length + 2 > wf.data.length) wf.grow();
      wf.data[wf.length] = h;
      wf.data[wf.length + 1] = flink;
      wf.length += 2;
      w.freeBytes += bytes;
    } else {
      w.busyBytes += bytes;
      af = AllocFlags.BUSY;
      const u = this.hi >>> 24;
      let unused: number;
      const low = u & 0x3f;
      if ((u & 0x40) !== 0 && low > 0 && low * g + entry <= bytes) {
        // Extended header `low` granules after the real header; user data follows it.
        const ext = h + low * g + L.entryData;
        const sig = space.u8(ext + 7);
        const len = space.u16(ext + 4);
        unused = len < 0 ? -1 : this.encoded ? (len ^ (this.encHi & 0xffff)) & 0xffff : len;
        if (sig !== 5) af |= AllocFlags.SIZE_INEXACT;
        user = h + (low + 1) * g;
        if (low >= 2) {
          const p = space.ptr(h + g);
          if (p === p && p !== 0) {
            trace = p;
            af |= AllocFlags.HAS_TRACE;
          }
        }
      } else if (low === 0x3f) {
        unused = L.ptr === 8 ? space.u64(h + bytes) : space.u32(h + bytes - 4);
      } else {
        unused = low;
      }
      requested = bytes - unused;
      if (!(unused >= 0) || low === 0 || requested < 0 || requested > bytes) {
        af |= AllocFlags.SIZE_INEXACT;
        requested = Math.max(0, bytes - (user - h));
      }
      if ((flags & 0x02) !== 0 && (af & AllocFlags.HAS_TRACE) === 0) {
        const idx = space.u16(h + bytes - g);
        if (idx > 0) {
          trace = idx;
          af |= AllocFlags.HAS_TRACE | AllocFlags.TRACE_INDEX;
        }
      }
      // A user allocation's unused count includes its header (>= 8 bytes); smaller counts (1, 3) mark
      // ntdll's own blocks (list-lookup arrays, UCR descriptor holders) [dump: Win7].
      const ntdllOwned = (af & AllocFlags.SIZE_INEXACT) === 0 && (u & 0x40) === 0 && low < 8;
      const internal = holdsDescriptor || ntdllOwned || (this.frontEndHeap >= h && this.frontEndHeap < h + bytes);
      // (a choice of constants, not a branch that sets the flag: V8 compiles a branch that had
      // not run yet as "throw this code away", and ntdll's own blocks first come long after it
      // compiled the walk)
      af |= internal ? INTERNAL : 0;
      if (!internal && virtualFlag) {
        const sigAt = L.ptr === 8 ? user + 0x14 : user + 0x0c;
        host = this.lfh && (space.u32(sigAt) === USERDATA_SIGNATURE || (L.ptr === 8 && space.u32(user + 0x18) === USERDATA_SIGNATURE));
        af |= host ? AllocFlags.HOST : AllocFlags.INTERNAL;
      }
    }
    const i = allocations.add(heapIndex, user, h, requested, bytes, af, trace);
    if (host) {
      this.state.hostBlocks.push(i);
      const listeners = this.hostListeners;
      for (let k = 0; k < listeners.length; k++) listeners[k]!(this.heap, this.run, i);
    } else if (!free && virtualFlag && !holdsDescriptor) this.state.internalBlocks.push(i);
  }

  /** One `_HEAP_VIRTUAL_ALLOC_ENTRY`; returns its commit size (0 when unusable). */
  private virtualBlock(entry: Address): number {
    const { space, L } = this;
    const commit = this.sizeT(entry + L.vaCommitSize);
    const hdr = entry + L.vaBusyBlock;
    const r = this.readHeader(hdr);
    if (r < 0 || commit < 0) {
      this.missing("a virtual block header", entry, L.vaUser);
      return 0;
    }
    let af: number = AllocFlags.BUSY | AllocFlags.VIRTUAL;
    const unused = this.lo & 0xffff;
    if (r === 0) {
      this.state.checksumFailures++;
      af |= AllocFlags.CORRUPT | AllocFlags.SIZE_INEXACT;
      this.report("NT_HEAP_VIRTUAL_BLOCK_BAD", `virtual block at ${formatAddress(entry)}: header fails its checksum`, entry);
    }
    let requested = commit - unused;
    if (!(commit > 0) || requested < 0) {
      af |= AllocFlags.CORRUPT | AllocFlags.SIZE_INEXACT;
      this.report("NT_HEAP_VIRTUAL_BLOCK_BAD", `virtual block at ${formatAddress(entry)}: commit size ${commit} and unused bytes ${unused} do not fit`, entry);
      requested = Math.max(0, commit - L.vaUser);
    }
    let user = entry + L.vaUser;
    let trace = 0;
    if (this.ust && space.u8(entry + L.vaUstUser - 1) === 5) {
      user = entry + L.vaUstUser;
      const p = space.ptr(entry + L.vaUstPointer);
      if (p === p && p !== 0) {
        trace = p;
        af |= AllocFlags.HAS_TRACE;
      }
    }
    if (this.frontEndHeap >= entry && this.frontEndHeap < entry + Math.max(commit, 1)) af |= AllocFlags.INTERNAL;
    this.run.allocations.add(this.heap.index, user, entry, requested, commit > 0 ? commit : 0, af, trace);
    this.state.virtualBlocks++;
    return commit > 0 ? commit : 0;
  }

  /** Sort the walk's free blocks by address, carrying their Flinks along (arrays reused across heaps). */
  private sortFreeLinks(): void {
    const n = this.walkFree.length / 2;
    if (this.freeSortedAt.length < n) {
      this.freeSortedAt = new Float64Array(n);
      this.freeSortedFlink = new Float64Array(n);
    }
    const at = this.freeSortedAt;
    const fl = this.freeSortedFlink;
    const pairs = this.walkFree.data;
    // segment walks are in address order within a segment: check before sorting
    let ordered = true;
    for (let i = 1; i < n && ordered; i++) ordered = pairs[2 * i - 2]! <= pairs[2 * i]!;
    if (ordered) {
      for (let i = 0; i < n; i++) {
        at[i] = pairs[2 * i]!;
        fl[i] = pairs[2 * i + 1]!;
      }
      return;
    }
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((x, y) => pairs[2 * x]! - pairs[2 * y]!);
    for (let i = 0; i < n; i++) {
      at[i] = pairs[2 * order[i]!]!;
      fl[i] = pairs[2 * order[i]! + 1]!;
    }
  }

  /**
   * The common case in one pass: follow `_HEAP.FreeLists` from `head` through the Flinks read
   * during the segment walks, and succeed when the list returns to the head after visiting every
   * free block of the walk exactly once. The list is in size order, i.e. scattered over the heap,
   * so each step is a random read: an open-addressing table holds (block address, Flink) in one
   * slot, and a visit negates the address in place, so a step costs one cache miss [bench: nt 4M,
   * 180 ms with an index table, separate pairs and visit marks; 4 heaps of 91k free blocks]. Any
   * other outcome (a link outside the walk's free blocks, an entry seen twice, a short list)
   * returns false and the general check names the problem.
   */
  /** Successor index of each free block along the free list (-1: back to the head), reused across heaps. */
  private freeNext = new Int32Array(0);
  private freeSeen = new Uint8Array(0);

  /**
   * The fast check when the walk met the free blocks in address order (one pass per segment, the
   * segments in address order: the usual case): each Flink is found among the sorted addresses by
   * binary search, then the list is followed from the head over the successor indices, which stay
   * in the CPU caches; a hash table probed in list order missed the cache and the TLB on almost
   * every step [bench: nt 4M blocks, 364k free blocks, 137 ms with the table].
   */
  private freeListMatchesSorted(head: Address): boolean {
    const n = this.walkFree.length / 2;
    const pairs = this.walkFree.data;
    const freeLink = this.L.freeLink;
    if (this.freeNext.length < n) {
      this.freeNext = new Int32Array(n);
      this.freeSeen = new Uint8Array(n);
    }
    const next = this.freeNext;
    for (let i = 0; i < n; i++) {
      const f = pairs[2 * i + 1]!;
      if (f === head) {
        next[i] = -1;
        continue;
      }
      const h = f - freeLink;
      let lo = 0;
      let hi = n - 1;
      let found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = pairs[2 * mid]!;
        if (v === h) {
          found = mid;
          break;
        }
        if (v < h) lo = mid + 1;
        else hi = mid - 1;
      }
      // a Flink that leaves the walk's free blocks (or NaN): the list is not exactly them
      if (found < 0) return false;
      next[i] = found;
    }
    const first = this.space.ptr(head);
    if (first === head) return n === 0;
    if (!(first === first)) return false;
    // the same binary search as above, written out: as a function V8 did not inline it (a call per
    // free block in the CPU profile, whose address argument is boxed)
    const h0 = first - freeLink;
    let lo = 0;
    let hi = n - 1;
    let i = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = pairs[2 * mid]!;
      if (v === h0) {
        i = mid;
        break;
      }
      if (v < h0) lo = mid + 1;
      else hi = mid - 1;
    }
    if (i < 0) return false;
    const seen = this.freeSeen;
    seen.fill(0, 0, n);
    let count = 0;
    while (i >= 0) {
      // a block reached twice: the list loops
      if (seen[i] !== 0) return false;
      seen[i] = 1;
      count++;
      i = next[i]!;
    }
    return count === n;
  }

  private freeListMatchesWalk(head: Address): boolean {
    const n = this.walkFree.length / 2;
    const pairs = this.walkFree.data;
    let ascending = true;
    for (let i = 1; i < n && ascending; i++) if (!(pairs[2 * i]! > pairs[2 * i - 2]!)) ascending = false;
    if (ascending) return this.freeListMatchesSorted(head);
    const freeLink = this.L.freeLink;
    // at least 1.5 slots per block (16 bytes each): short probe runs, 24 to 48 bytes per free block
    let bits = 4;
    while (1 << bits < n + (n >>> 1)) bits++;
    const size = 1 << bits;
    if (this.freeTable.length < 2 * size) this.freeTable = new Float64Array(2 * size);
    // slot k: [2k] 0 empty, the block address, or its negation once the list visited it; [2k+1] its Flink
    const table = this.freeTable;
    table.fill(0, 0, 2 * size);
    const mask = size - 1;
    // Fibonacci hashing of the granule index, keeping the product's top bits (its low bits depend
    // only on the low bits of the index, which regular block spacing leaves alike)
    const shift = 32 - bits;
    const invG = 1 / this.L.granule;
    for (let i = 0; i < n; i++) {
      const h = pairs[2 * i]!;
      let k = Math.imul((h * invG) | 0, 0x9e3779b1) >>> shift;
      while (table[2 * k] !== 0) k = (k + 1) & mask;
      table[2 * k] = h;
      table[2 * k + 1] = pairs[2 * i + 1]!;
    }
    let link = this.space.ptr(head);
    let count = 0;
    while (link !== head) {
      if (!(link === link) || count >= n) return false;
      const h = link - freeLink;
      let k = Math.imul((h * invG) | 0, 0x9e3779b1) >>> shift;
      let t = table[2 * k]!;
      while (t !== h && t !== 0 && t !== -h) {
        k = (k + 1) & mask;
        t = table[2 * k]!;
      }
      // not a free block of the walk (0), or one the list reached before (-h)
      if (t !== h || h <= 0) return false;
      table[2 * k] = -h;
      count++;
      link = table[2 * k + 1]!;
    }
    return count === n;
  }

  /** Walk `_HEAP.FreeLists` and compare it with the free blocks of the segment walks. */
  private checkFreeList(head: Address): void {
    const walkFree = this.walkFree;
    const list = this.listFree;
    list.clear();
    const L = this.L;
    const n = walkFree.length / 2;
    const bound = n + 1024;
    if (this.freeListMatchesWalk(head)) {
      this.state.freeListLength = n;
      this.state.freeListAgrees = true;
      return;
    }
    this.sortFreeLinks();
    const at = this.freeSortedAt;
    const flinks = this.freeSortedFlink;
    const space = this.space;
    const freeLink = L.freeLink;
    // Same values as space.ptr(link): a free block's Flink as read during the segment walk, or
    // a read of memory for links that are not free blocks of the walk.
    const read = (link: Address): number => {
      const h = link - freeLink;
      let lo = 0;
      let hi = n - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = at[mid]!;
        if (v === h) return flinks[mid]!;
        if (v < h) lo = mid + 1;
        else hi = mid - 1;
      }
      return space.ptr(link);
    };
    const end = this.walkList(
      head,
      bound,
      (link) => {
        list.push(link - L.freeLink);
        return true;
      },
      read,
    );
    this.listProblem(end, "free list", head);
    if (end !== "ok") {
      this.state.freeListLength = end === "missing" ? Number.NaN : list.length;
      this.state.freeListAgrees = false;
      return;
    }
    this.state.freeListLength = list.length;
    const a = this.freeSortedAt.subarray(0, n);
    const b = list.sorted();
    let i = 0;
    let j = 0;
    let onlyWalk = 0;
    let onlyList = 0;
    let firstBad = Number.NaN;
    while (i < a.length || j < b.length) {
      if (j >= b.length || (i < a.length && a[i]! < b[j]!)) {
        if (onlyWalk + onlyList === 0) firstBad = a[i]!;
        onlyWalk++;
        i++;
      } else if (i >= a.length || b[j]! < a[i]!) {
        if (onlyWalk + onlyList === 0) firstBad = b[j]!;
        onlyList++;
        j++;
      } else {
        i++;
        j++;
      }
    }
    this.state.freeListAgrees = onlyWalk === 0 && onlyList === 0;
    if (!this.state.freeListAgrees) {
      this.report(
        "NT_HEAP_FREE_LIST_MISMATCH",
        `free list and segment walk disagree: ${onlyWalk} free blocks not on the list, ${onlyList} list entries not free blocks of the walk (first ${formatAddress(firstBad)})`,
        firstBad,
      );
    }
  }
}

/** Bytes spanned by prepared segments [from, to): what the progress counts as walked. */
function segmentSpan(prepared: readonly PreparedSegment[], from: number, to: number): number {
  let bytes = 0;
  for (let k = from; k < to; k++) {
    const p = prepared[k]!;
    if (p.last > p.first) bytes += p.last - p.first;
  }
  return bytes;
}
