import { type Address, AllocFlags, type AddressSpace, type HeapRecord, type Run, type Span, at, emptySpan, formatAddress } from "@leakscope/core";
import { segmentCodes } from "./codes.js";
import {
  LFH_BUCKET_BLOCK_SIZES,
  SEGMENT_HEAP_SIGNATURE,
  type SegmentHeapLayout,
  VS_SUBSEGMENT_CHECK,
  isLfhBucketBlockSize,
  lfhBucketBlockSize,
  probeCandidates,
  segmentLayoutForBuild,
} from "./layouts.js";

const SOURCE = "heap-segment";
type Code = keyof typeof segmentCodes;

const PAGE = 0x1000;
const TWO32 = 4294967296;
const MAX_SEGMENTS = 4096;
const MAX_VS_SUBSEGMENTS = 1 << 16;
const MAX_LARGE = 1 << 18;
const MAX_LFH_KEY_SAMPLES = 64;
/** Subsegments of each kind a layout's proof looks at, and page segments it peeks. */
const PROOF_SAMPLES = 8;
const PROOF_SEGMENTS = 16;
const MAX_TRACE_SCAN = 4096;
const CONST_LO = 0xa2e64ead;
const CONST_HI_64 = 0xa2e64ead;

/** What the walker learned about one segment heap (`heap.data.segment`). */
export interface SegmentHeapState {
  /** Offset table used (`1709`, `1803`, `rs5-insider`, `2004`, `win11`, `newest`); `probed` when it is not the build's own. */
  layout: string;
  probed: boolean;
  /** Recovered HeapKey as hex, or null. */
  heapKey: string | null;
  /** Which page-segment constant fitted: `a2e64ead` (before 24H2) or `zero` (24H2). */
  heapKeyConstant: "a2e64ead" | "zero" | null;
  lfhKey: number | null;
  /** Which LfhKey shift fitted (trap 2): `(u32)addr >> 12` or `(u32)(addr >> 12)`. */
  lfhKeyShift: "u32-then-shift" | "shift-then-u32" | null;
  pageSegments: Address[];
  vsSubsegments: Address[];
  lfhSubsegments: Address[];
  /** VS subsegments found through VsContext.SubsegmentList (cross-check). */
  vsListLength: number;
  largeBlocks: number;
}

declare module "@leakscope/core" {
  interface HeapData {
    segment?: SegmentHeapState;
  }
}

const lo32 = (a: number) => a >>> 0;
const hi32 = (a: number) => Math.floor(a / TWO32) >>> 0;
const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;

interface Resolved {
  layout: SegmentHeapLayout;
  /** The build's own table (undefined when the build has none); `layout` differs from it when probed. */
  own: SegmentHeapLayout | undefined;
  segContexts: Address;
  vsContext: Address;
  lfhContext: Address;
  large: Address;
}

/** Why a candidate layout was rejected (for the diagnostic when none fits). */
type Rejection = "SegContexts" | "_HEAP_VS_SUBSEGMENT" | "_HEAP_LFH_SUBSEGMENT";

/** One segment heap walk; the walker object is reused across heaps (no state between them). */
class HeapWalk {
  readonly space: AddressSpace;
  readonly x64: boolean;
  readonly ps: 4 | 8;
  readonly unit: number;
  readonly base: Address;
  keyLo = 0;
  keyHi = 0;
  /** The layout the heap's bytes proved (set by walkAll before any subsegment is read). */
  L!: SegmentHeapLayout;
  lfhKey = 0;
  lfhShiftVariant = 0;
  lfhKeyKnown = false;
  host = -1;
  state: SegmentHeapState;
  reservedBytes = 0;
  committedBytes = 0;
  counts = { backend: 0, freeRanges: 0, vsChunks: 0, lfhBlocks: 0 };

  constructor(
    readonly heap: HeapRecord,
    readonly run: Run,
  ) {
    this.space = heap.view.space;
    this.x64 = heap.bitness === 64;
    this.ps = this.x64 ? 8 : 4;
    this.unit = this.x64 ? 16 : 8;
    this.base = heap.address;
    this.state = {
      layout: "",
      probed: false,
      heapKey: null,
      heapKeyConstant: null,
      lfhKey: null,
      lfhKeyShift: null,
      pageSegments: [],
      vsSubsegments: [],
      lfhSubsegments: [],
      vsListLength: 0,
      largeBlocks: 0,
    };
  }

  report(code: Code, message: string, where: Address): void {
    if (segmentCodes[code].severity !== "info") this.heap.incomplete = true;
    this.run.diagnostics.report(SOURCE, code, segmentCodes[code].severity, `${this.heapName()}: ${message}`, at(where));
  }

  heapName(): string {
    return `segment heap ${formatAddress(this.base)}`;
  }

  add(user: Address, block: Address, requested: number, size: number, flags: number, trace: number): number {
    return this.run.allocations.add(this.heap.index, user, block, requested, size, flags | (trace ? AllocFlags.HAS_TRACE : 0), trace, this.host);
  }

  // ---- layout ---------------------------------------------------------------------------------

  ctxValid(layout: SegmentHeapLayout, ctx: Address): boolean {
    const s = this.space;
    const c = layout.ctx;
    const size = layout.heap.segContextSize;
    return (
      s.u8(ctx + c.unitShift) === 12 &&
      // x64 uses 16 (64 KiB units) for the second context; x86 is not verified, so accept 13..20
      s.u8(ctx + size + c.unitShift) >= 13 &&
      s.u8(ctx + size + c.unitShift) <= 20 &&
      s.ptr(ctx + c.heap) === this.base &&
      s.ptr(ctx + size + c.heap) === this.base
    );
  }

  /**
   * The layout whose offsets the heap's own bytes agree with: the build's table first, then the
   * others. A candidate must have both SegContexts pointing back at the heap, and, among the
   * first subsegments of its page segments, a VS subsegment passing its signature check (when
   * there are VS subsegments) and an LFH subsegment whose owner or bucket is consistent (when
   * there are LFH subsegments). `rejected` collects why each failed.
   */
  resolveLayout(build: number, rejected: Map<string, Rejection>): Resolved | undefined {
    const s = this.space;
    const own = segmentLayoutForBuild(build, this.heap.bitness);
    for (const cand of probeCandidates(build, this.heap.bitness)) {
      const ctx = this.base + cand.heap.segContexts;
      if (!this.ctxValid(cand, ctx)) {
        rejected.set(cand.name, "SegContexts");
        continue;
      }
      const why = this.subsegmentsContradict(cand, ctx);
      if (why !== undefined) {
        rejected.set(cand.name, why);
        continue;
      }
      const vs = s.ptr(ctx + cand.ctx.vsContext);
      const lfh = s.ptr(ctx + cand.ctx.lfhContext);
      return {
        layout: cand,
        own,
        segContexts: ctx,
        vsContext: vs === vs && vs !== 0 ? vs : this.base + cand.heap.vsContext,
        lfhContext: lfh === lfh && lfh !== 0 ? lfh : this.base + cand.heap.lfhContext,
        // LargeAllocMetadata has its own place in each table; it does not move with SegContexts (D3)
        large: this.base + cand.heap.largeAllocMetadata,
      };
    }
    return undefined;
  }

  /**
   * Which subsegment structure of layout `L` the heap's first subsegments contradict, if any:
   * none of the first VS subsegments passes `(Signature ^ Size ^ 0x2BED) & 0x7FFF == 0`, or none
   * of the first LFH subsegments is consistent (see {@link lfhConsistent}).
   */
  subsegmentsContradict(L: SegmentHeapLayout, ctx0: Address): Rejection | undefined {
    const s = this.space;
    const vs: { a: Address; bytes: number }[] = [];
    const lfh: { a: Address; bytes: number }[] = [];
    for (const ctx of [ctx0, ctx0 + L.heap.segContextSize]) {
      const unitShift = s.u8(ctx + L.ctx.unitShift);
      if (!(unitShift >= 12 && unitShift <= 20)) continue;
      let fdi = s.u8(ctx + L.ctx.firstDescriptorIndex);
      if (!(fdi >= 1 && fdi <= 16)) fdi = this.x64 ? 2 : 1;
      const head = ctx + L.ctx.segmentListHead;
      let cur = s.peekPtr(head);
      for (let i = 0; i < PROOF_SEGMENTS && cur === cur && cur !== head && cur !== 0 && cur % 0x100000 === 0; i++) {
        this.eachRangeQuiet(cur, unitShift, fdi, (addr, bytes, flags) => {
          if (flags === 0x0f && vs.length < PROOF_SAMPLES) vs.push({ a: addr, bytes });
          else if (flags === 0x0b && lfh.length < PROOF_SAMPLES) lfh.push({ a: addr, bytes });
        });
        cur = s.peekPtr(cur);
      }
    }
    if (vs.length > 0 && !vs.some((v) => this.vsSignatureFits(L, v.a, v.bytes))) return "_HEAP_VS_SUBSEGMENT";
    if (lfh.length > 0 && !lfh.some((l) => this.lfhConsistent(L, l.a, l.bytes))) return "_HEAP_LFH_SUBSEGMENT";
    return undefined;
  }

  vsSignatureFits(L: SegmentHeapLayout, V: Address, bytes: number): boolean {
    const size = this.space.u16(V + L.vs.size);
    const sig = this.space.u16(V + L.vs.signature);
    return size > 0 && sig >= 0 && ((sig ^ size ^ VS_SUBSEGMENT_CHECK) & 0x7fff) === 0 && size * this.unit <= bytes;
  }

  /**
   * An LFH subsegment agrees with layout `L`: BlockCount > 0, FreeCount <= BlockCount, and its
   * blocks fit behind the bitmap with the block size of its owner's bucket (layouts with an Owner
   * pointer) or of some bucket (the newest layout, whose owner is a reference, not a pointer).
   */
  lfhConsistent(L: SegmentHeapLayout, a: Address, bytes: number): boolean {
    const s = this.space;
    const bc = s.u16(a + L.lfh.blockCount);
    const fc = s.u16(a + L.lfh.freeCount);
    if (!(bc > 0) || fc < 0 || fc > bc) return false;
    const minFirst = L.lfh.blockBitmap + this.bitmapBytes(bc);
    if (L.lfh.owner >= 0) {
      const bs = this.ownerBlockSizeOf(L, a);
      return bs > 0 && minFirst + bc * bs <= bytes;
    }
    return minFirst + bc * 16 <= bytes;
  }

  // ---- page segments --------------------------------------------------------------------------

  /**
   * The page segments of one context's SegmentListHead, cycle-safe and bounded. The links (one
   * per MiB) and signatures are peeked, not cached: cached, each would load a 128 KiB block that
   * the walk reads again much later, after other heaps' blocks have evicted it.
   */
  segmentsOf(ctx: Address, layout: SegmentHeapLayout): Address[] {
    const s = this.space;
    const head = ctx + layout.ctx.segmentListHead;
    const out: Address[] = [];
    const seen = new Set<number>();
    let prev = head;
    let cur = s.peekPtr(head);
    for (let i = 0; i <= MAX_SEGMENTS; i++) {
      if (!(cur === cur)) {
        this.report("SEGMENT_HEAP_NOT_CAPTURED", `page segment list link at ${formatAddress(prev)} is not in the dump`, prev);
        return out;
      }
      if (cur === head) return out;
      if (i === MAX_SEGMENTS || seen.has(cur)) {
        this.report("SEGMENT_LIST_BROKEN", `page segment list from ${formatAddress(head)} loops or exceeds ${MAX_SEGMENTS} entries`, cur);
        return out;
      }
      seen.add(cur);
      const back = s.peekPtr(cur + this.ps);
      if (!(back === back)) {
        this.report("SEGMENT_HEAP_NOT_CAPTURED", `page segment ${formatAddress(cur)} is not in the dump`, cur);
        return out;
      }
      if (back !== prev) {
        this.report("SEGMENT_LIST_BROKEN", `page segment ${formatAddress(cur)} Blink ${formatAddress(back)} should be ${formatAddress(prev)}`, cur + this.ps);
        return out;
      }
      out.push(cur);
      prev = cur;
      cur = s.peekPtr(cur);
    }
    return out;
  }

  /** The signature's key candidate (signature ^ segment ^ context), constant not applied. */
  rawKey(seg: Address, ctx: Address): [number, number] | undefined {
    const s = this.space;
    const off = this.x64 ? 0x10 : 0x08;
    const n = this.x64 ? 8 : 4;
    // one peek for both halves: a direct read each on a cache miss
    if (s.peekInto(seg + off, this.linkBytes, n) !== n) return undefined;
    const lo = this.linkView.getUint32(0, true);
    const hi = this.x64 ? this.linkView.getUint32(4, true) : 0;
    return [(lo ^ lo32(seg) ^ lo32(ctx)) >>> 0, this.x64 ? (hi ^ hi32(seg) ^ hi32(ctx)) >>> 0 : 0];
  }

  // ---- VS -------------------------------------------------------------------------------------

  /** Decode a VS chunk header: [sizeUnits, prevUnits, allocated] into `out`; false if unreadable. */
  decodeChunk(c: Address, keyLo: number, keyHi: number, out: Int32Array): boolean {
    const s = this.space;
    if (this.x64) {
      const a = s.u32(c);
      const b = s.u32(c + 4);
      if (a < 0 || b < 0) return false;
      const lo = (a ^ lo32(c) ^ keyLo) >>> 0;
      const hi = (b ^ hi32(c) ^ keyHi) >>> 0;
      out[0] = lo >>> 16;
      out[1] = hi & 0xffff;
      out[2] = (hi >>> 16) & 0xff;
      out[3] = lo & 0xffff;
    } else {
      const a = s.u32(c);
      if (a < 0) return false;
      const v = (a ^ lo32(c) ^ keyLo) >>> 0;
      out[0] = (v >>> 1) & 0x7fff;
      out[1] = (v >>> 16) & 0x7fff;
      out[2] = v >>> 31;
      out[3] = v & 1;
    }
    return true;
  }

  vsFirstChunk(): number {
    return alignUp(this.x64 ? 0x28 : 0x18, this.unit);
  }

  /** True when the first chunk of VS subsegment V decodes sensibly with the key. */
  keyFitsVs(V: Address, keyLo: number, keyHi: number): boolean {
    const s = this.space;
    const sizeUnits = s.u16(V + this.L.vs.size);
    if (sizeUnits <= 0) return false;
    const c = V + this.vsFirstChunk();
    const d = this.scratch;
    if (!this.decodeChunk(c, keyLo, keyHi, d)) return false;
    return d[0]! > 0 && c + d[0]! * this.unit <= V + sizeUnits * this.unit && d[1] === 0 && d[2]! <= 1;
  }

  readonly scratch = new Int32Array(4);
  /** The LFH busy bitmap of the subsegment being walked (copied once per subsegment). */
  bitmap = new Uint8Array(64);
  /** Window of the block loops (see walkLfh). */
  readonly span: Span = emptySpan();

  walkVs(V: Address, bytes: number): void {
    const s = this.space;
    const unit = this.unit;
    const sizeUnits = s.u16(V + this.L.vs.size);
    const sig = s.u16(V + this.L.vs.signature);
    if (sizeUnits < 0 || sig < 0) {
      this.report("SEGMENT_HEAP_NOT_CAPTURED", `VS subsegment ${formatAddress(V)} is not in the dump`, V);
      return;
    }
    if (((sig ^ sizeUnits ^ VS_SUBSEGMENT_CHECK) & 0x7fff) !== 0 || sizeUnits * unit > bytes || sizeUnits === 0) {
      this.report("SEGMENT_VS_SUBSEGMENT_BAD", `VS subsegment ${formatAddress(V)} fails its check (Size 0x${sizeUnits.toString(16)}, Signature 0x${sig.toString(16)}, range 0x${bytes.toString(16)} bytes)`, V);
      return;
    }
    const end = V + sizeUnits * unit;
    let c = V + this.vsFirstChunk();
    let prev = 0;
    const x64 = this.x64;
    const pageField = x64 ? 8 : 4;
    // Chunk headers (the encoded header and the page-offset word) and trailers are read in place
    // from a span, and busy and free chunks meet at one inlined append: the loop calls nothing
    // that takes an address, which V8 would box [bench: segment 1M blocks, 39 MB of garbage per
    // walk in this loop with per-chunk reads and calls]. The span offset, the chunk's low address
    // word and its offset from V advance by the chunk size, and the header words stay int32: no
    // float address is split into words or turned into an offset per chunk [bench: segment 4M
    // blocks, the VS loop alone 0.72-1.06 of its former time, median 0.91: medians of 10 runs of
    // each alternating in one process, 6 processes].
    const hdr = pageField + 4;
    const keyLo = this.keyLo | 0;
    const keyHi = this.keyHi | 0;
    const allocations = this.run.allocations;
    const heapIndex = this.heap.index;
    const host = this.host;
    const span = this.span;
    // the chunks' high address word, when it is the same for all of them (a subsegment lies in
    // one page segment, so always but in a corrupted one)
    const hiV = hi32(V) | 0;
    const oneHi = (hi32(end - 1) | 0) === hiV;
    // the page offset from the chunk's offset in V, when V starts a page (it always does)
    const vAligned = V % PAGE === 0 && end - V < 0x40000000;
    let cLo = lo32(c) | 0;
    let rel = c - V;
    let o = 0;
    let oEnd = -1;
    let view = span.view;
    let lease = span.lease;
    while (c < end) {
      if (!(o + hdr <= oEnd) || lease.stale) {
        if (s.span(c, span) && span.length >= hdr) {
          o = span.index;
          oEnd = o + span.length;
          view = span.view;
          lease = span.lease;
        } else {
          o = 0;
          oEnd = -1;
        }
      }
      let a: number;
      let b = 0;
      let w: number;
      let wOk = true;
      const inSpan = o + hdr <= oEnd;
      if (inSpan) {
        a = view.getInt32(o, true);
        if (x64) b = view.getInt32(o + 4, true);
        w = view.getInt32(o + pageField, true);
      } else {
        a = s.u32(c);
        if (x64) b = s.u32(c + 4);
        w = s.u32(c + pageField);
        if (a < 0 || b < 0) {
          this.report("SEGMENT_HEAP_NOT_CAPTURED", `VS chunk ${formatAddress(c)} is not in the dump`, c);
          return;
        }
        wOk = w >= 0;
        a |= 0;
        b |= 0;
        w |= 0;
      }
      // decodeChunk, written out: size and previous size in units, the allocated byte
      const kc = cLo ^ keyLo;
      let sizeUnitsC: number;
      let prevUnits: number;
      let allocated: number;
      if (x64) {
        const hi = b ^ (oneHi ? hiV : hi32(c) | 0) ^ keyHi;
        sizeUnitsC = (a ^ kc) >>> 16;
        prevUnits = hi & 0xffff;
        allocated = (hi >>> 16) & 0xff;
      } else {
        const v = a ^ kc;
        sizeUnitsC = (v >>> 1) & 0x7fff;
        prevUnits = (v >>> 16) & 0x7fff;
        allocated = v >>> 31;
      }
      const size = sizeUnitsC * unit;
      if (size === 0 || c + size > end || allocated > 1) {
        this.report("SEGMENT_VS_CHUNK_BAD", `VS chunk ${formatAddress(c)} decodes to size 0x${size.toString(16)}, allocated ${allocated} inside subsegment ending ${formatAddress(end)}`, c);
        return;
      }
      let corrupt = 0;
      if (prevUnits * unit !== prev) {
        this.report("SEGMENT_VS_CHUNK_BAD", `VS chunk ${formatAddress(c)} previous size 0x${(prevUnits * unit).toString(16)} should be 0x${prev.toString(16)}`, c);
        corrupt = AllocFlags.CORRUPT;
      }
      const pageOffset = (w ^ kc) & 0xff;
      if (!wOk || pageOffset !== (vAligned ? rel >>> 12 : (Math.floor(c / PAGE) * PAGE - V) / PAGE)) {
        if (wOk) this.report("SEGMENT_VS_CHUNK_BAD", `VS chunk ${formatAddress(c)} page offset ${pageOffset} disagrees with its position`, c + pageField);
        corrupt = AllocFlags.CORRUPT;
      }
      const user = c + unit;
      const area = size - unit;
      this.counts.vsChunks++;
      let f: number = AllocFlags.FREE | AllocFlags.VS | corrupt;
      let requested = 0;
      let trace = 0;
      if (allocated === 1) {
        let unused = 0;
        let extra = false;
        if (wOk && (w & 0x100) !== 0) {
          const t = inSpan && o + size <= oEnd && !lease.stale ? view.getUint16(o + size - 2, true) : s.u16(c + size - 2);
          if (t < 0) unused = 0;
          else if (t & 0x8000) unused = 1;
          else {
            unused = t & 0x1fff;
            extra = (t & 0x4000) !== 0;
          }
        }
        // busy(), written out
        f = AllocFlags.BUSY | AllocFlags.VS | corrupt;
        requested = area - unused;
        if (unused > area) {
          this.unusedBad(user, unused, area);
          f |= AllocFlags.CORRUPT | AllocFlags.SIZE_INEXACT;
          requested = area;
        }
        if (extra) {
          trace = this.scanTrace(user + requested, user + area);
          if (trace !== 0) f |= AllocFlags.HAS_TRACE;
        }
      }
      allocations.add(heapIndex, user, c, requested, size, f, trace, host);
      prev = size;
      c += size;
      o += size;
      rel += size;
      cLo = (cLo + size) | 0;
    }
  }

  unusedBad(user: Address, unused: number, area: number): void {
    this.report("SEGMENT_UNUSED_BYTES_BAD", `block ${formatAddress(user)} claims ${unused} unused bytes of ${area}`, user);
  }

  /** Add a busy block whose usable area is `area` bytes from `user`, `unused` of them unused. */
  busy(user: Address, block: Address, area: number, size: number, unused: number, extra: boolean, flags: number): void {
    let f = AllocFlags.BUSY | flags;
    let requested = area - unused;
    if (unused > area) {
      this.unusedBad(user, unused, area);
      f |= AllocFlags.CORRUPT | AllocFlags.SIZE_INEXACT;
      requested = area;
    }
    const trace = extra ? this.scanTrace(user + requested, user + area) : 0;
    this.add(user, block, requested, size, f, trace);
  }

  /** The `+ust` pointer after the `01 01 00..` marker in [from, to), or 0. */
  scanTrace(from: Address, to: Address): number {
    const s = this.space;
    const ps = this.ps;
    const start = alignUp(from, ps);
    const stop = Math.min(to, start + MAX_TRACE_SCAN);
    for (let a = start; a + 3 * ps <= stop; a += ps) {
      if (s.u16(a) !== 0x0101) continue;
      if (s.u16(a + 2) !== 0 || s.u32(a + 4) !== 0) continue;
      if (ps === 8 && (s.u32(a + 8) !== 0 || s.u32(a + 12) !== 0)) continue;
      const p = s.ptr(a + 2 * ps);
      return p === p ? p : 0;
    }
    return 0;
  }

  // ---- LFH ------------------------------------------------------------------------------------

  lfhShift(L: Address, variant: number): number {
    return variant === 0 ? lo32(L) >>> 12 : Math.floor(L / PAGE) >>> 0;
  }

  bitmapBytes(blockCount: number): number {
    return Math.ceil((2 * blockCount) / (this.ps * 8)) * this.ps;
  }

  lfhHeader(): number {
    return this.L.lfh.blockBitmap;
  }

  /** Bucket block size from subsegment `a`'s owner under layout `L`, 0 if unreadable, invalid or not a pointer. */
  ownerBlockSizeOf(L: SegmentHeapLayout, a: Address): number {
    if (L.lfh.owner < 0) return 0;
    const owner = this.space.ptr(a + L.lfh.owner);
    if (!(owner === owner) || owner === 0 || owner % this.ps !== 0) return 0;
    return lfhBucketBlockSize(this.space.u8(owner + 1));
  }

  /** Bucket block size from the subsegment's owner, 0 if unreadable or invalid. */
  ownerBlockSize(L: Address): number {
    return this.ownerBlockSizeOf(this.L, L);
  }

  /** Recover LfhKey from subsegment samples (heap-internals §10.2, trap 2). */
  recoverLfhKey(samples: { L: Address; bytes: number }[], build: number): void {
    const s = this.space;
    const align = this.x64 ? 16 : 8;
    let best: { key: number; count: number; variant: number } | undefined;
    const order = build >= 26100 ? [1, 0] : [0, 1];
    const lo = this.L.lfh;
    for (const variant of order) {
      const votes = new Map<number, number>();
      for (const { L, bytes } of samples) {
        const bc = s.u16(L + lo.blockCount);
        const enc = s.u32(L + lo.blockOffsets);
        if (bc <= 0 || enc < 0) continue;
        const shift = this.lfhShift(L, variant);
        const minF = alignUp(this.lfhHeader() + this.bitmapBytes(bc), align);
        const mine = new Set<number>();
        // the owner's bucket gives the block size; the newest layout has no owner pointer, so
        // every bucket size whose blocks fit is a candidate (the true key is the one all share)
        const owned = this.ownerBlockSize(L);
        const sizes = lo.owner >= 0 ? (owned > 0 ? [owned] : []) : LFH_BUCKET_BLOCK_SIZES.filter((bs) => minF + bc * bs <= bytes);
        for (const bs of sizes) {
          const low = (enc ^ shift ^ bs) & 0xffff;
          const maxF = Math.min(bytes - bc * bs, lo.owner >= 0 ? minF + 0xffff : minF + 0x100);
          for (let f = minF; f <= maxF; f += align) {
            const high = ((enc >>> 16) ^ (shift >>> 16) ^ f) & 0xffff;
            const key = ((high << 16) | low) >>> 0;
            if (mine.has(key)) continue;
            mine.add(key);
            votes.set(key, (votes.get(key) ?? 0) + 1);
          }
        }
      }
      for (const [key, count] of votes) {
        if (!best || count > best.count) best = { key, count, variant };
      }
    }
    if (best) {
      this.lfhKey = best.key;
      this.lfhShiftVariant = best.variant;
      this.lfhKeyKnown = true;
    }
  }

  walkLfh(L: Address, bytes: number): void {
    const s = this.space;
    const lo = this.L.lfh;
    const bc = s.u16(L + lo.blockCount);
    const enc = s.u32(L + lo.blockOffsets);
    if (bc < 0 || enc < 0) {
      this.report("SEGMENT_HEAP_NOT_CAPTURED", `LFH subsegment ${formatAddress(L)} is not in the dump`, L);
      return;
    }
    const decoded = (enc ^ this.lfhKey ^ this.lfhShift(L, this.lfhShiftVariant)) >>> 0;
    // the owner's bucket size; the newest layout has no owner pointer: the decoded size, when it is a bucket's
    const bs = lo.owner >= 0 ? this.ownerBlockSize(L) : isLfhBucketBlockSize(decoded & 0xffff) ? decoded & 0xffff : 0;
    if (bs === 0) {
      this.report("SEGMENT_LFH_SUBSEGMENT_BAD", `LFH subsegment ${formatAddress(L)} has no valid bucket ${lo.owner >= 0 ? "owner" : "size"}`, L + (lo.owner >= 0 ? lo.owner : lo.blockOffsets));
      return;
    }
    const dbs = decoded & 0xffff;
    const first = decoded >>> 16;
    if (dbs !== bs || first < this.lfhHeader() + this.bitmapBytes(bc) || first + bc * bs > bytes) {
      this.report("SEGMENT_LFH_SUBSEGMENT_BAD", `LFH subsegment ${formatAddress(L)} BlockOffsets decode to size 0x${dbs.toString(16)} first 0x${first.toString(16)} (bucket size 0x${bs.toString(16)}, ${bc} blocks)`, L);
      return;
    }
    const bitmap = L + this.lfhHeader();
    // The block loop calls nothing that takes an address: V8 boxes a double argument of a call it
    // does not inline. The bitmap (2 bits per block) is copied once, block trailers are read in
    // place from a span, and busy and free blocks meet at one inlined append [bench: segment 1M
    // blocks, 39 MB of garbage per walk in this loop with per-block reads and calls].
    const bmBytes = (bc + 3) >>> 2;
    if (this.bitmap.length < bmBytes) this.bitmap = new Uint8Array(bmBytes);
    const bm = this.bitmap;
    const bmRead = s.readInto(bitmap, bm, 0, bmBytes);
    const allocations = this.run.allocations;
    const heapIndex = this.heap.index;
    const host = this.host;
    const span = this.span;
    let spanLo = Number.NaN;
    let spanHi = Number.NaN;
    let spanIndex = 0;
    for (let i = 0; i < bc; i++) {
      if (i >> 2 >= bmRead) {
        this.report("SEGMENT_HEAP_NOT_CAPTURED", `LFH bitmap of ${formatAddress(L)} is not in the dump`, bitmap + (i >> 2));
        return;
      }
      const bits = (bm[i >> 2]! >>> ((2 * i) & 7)) & 3;
      const blk = L + first + i * bs;
      this.counts.lfhBlocks++;
      let f: number = AllocFlags.FREE | AllocFlags.LFH;
      let requested = 0;
      let trace = 0;
      if ((bits & 1) !== 0) {
        let unused = 0;
        let extra = false;
        if (bits & 2) {
          // the u16 at the block's end: unused bytes (0x8000: one byte; 0x4000: a +ust record)
          const ta = blk + bs - 2;
          if (!(ta >= spanLo && ta + 2 <= spanHi && !span.lease.stale) && s.span(ta, span) && span.length >= 2) {
            spanLo = ta;
            spanHi = ta + span.length;
            spanIndex = span.index;
          }
          const t = ta >= spanLo && ta + 2 <= spanHi && !span.lease.stale ? span.view.getUint16(spanIndex + (ta - spanLo), true) : s.u16(ta);
          if (t >= 0) {
            if (t & 0x8000) unused = 1;
            else {
              unused = t & 0x3fff;
              extra = (t & 0x4000) !== 0;
            }
          }
        }
        f = AllocFlags.BUSY | AllocFlags.LFH;
        requested = bs - unused;
        if (unused > bs) {
          this.unusedBad(blk, unused, bs);
          f |= AllocFlags.CORRUPT | AllocFlags.SIZE_INEXACT;
          requested = bs;
        }
        if (extra) {
          trace = this.scanTrace(blk + requested, blk + bs);
          if (trace !== 0) f |= AllocFlags.HAS_TRACE;
        }
      }
      allocations.add(heapIndex, blk, blk, requested, bs, f, trace, host);
    }
  }

  // ---- descriptors ----------------------------------------------------------------------------

  /**
   * Visit the range heads of a page segment: `visit(address, bytes, flags, descriptor)`.
   * Returns the bytes of busy ranges (for the committed figure).
   */
  eachRange(seg: Address, unitShift: number, fdi: number, visit: (addr: Address, bytes: number, flags: number, desc: Address) => void): void {
    const s = this.space;
    const descSize = this.x64 ? 0x20 : 0x10;
    const flagsAt = this.x64 ? 0x18 : 0x0c;
    const sizeAt = this.x64 ? 0x1f : 0x0f;
    const unitBytes = 2 ** unitShift;
    let i = fdi;
    for (let n = 0; i < 256 && n < 256; n++) {
      const d = seg + i * descSize;
      const rf = s.u8(d + flagsAt);
      const size = s.u8(d + sizeAt);
      if (rf < 0 || size < 0) {
        this.report("SEGMENT_HEAP_NOT_CAPTURED", `range descriptor ${i} of page segment ${formatAddress(seg)} is not in the dump`, d);
        return;
      }
      const flags = this.x64 ? rf : rf & 0x1f;
      if ((flags & 0x02) === 0 || size === 0 || i + size > 256) {
        this.report("SEGMENT_DESCRIPTOR_BAD", `range descriptor ${i} of page segment ${formatAddress(seg)} (flags 0x${flags.toString(16)}, units ${size}) is not a valid range head`, d);
        return;
      }
      visit(seg + i * unitBytes, size * unitBytes, flags, d);
      i += size;
    }
  }

  // ---- large blocks ---------------------------------------------------------------------------

  walkLarge(tree: Address): void {
    const s = this.space;
    const ps = this.ps;
    const root = s.ptr(tree);
    if (!(root === root)) {
      this.report("SEGMENT_HEAP_NOT_CAPTURED", `LargeAllocMetadata at ${formatAddress(tree)} is not in the dump`, tree);
      return;
    }
    if (root === 0) return;
    const seen = new Set<number>();
    const stack: number[] = [];
    let node = root;
    let parent = 0;
    let visited = 0;
    while (node !== 0 || stack.length > 0) {
      while (node !== 0) {
        if (seen.has(node)) {
          this.report("SEGMENT_LARGE_TREE_BAD", `large-block tree node ${formatAddress(node)} is reached twice (cycle)`, node);
          node = 0;
          break;
        }
        if (seen.size >= MAX_LARGE) {
          this.report("SEGMENT_LARGE_TREE_BAD", `large-block tree has more than ${MAX_LARGE} nodes`, tree);
          return;
        }
        seen.add(node);
        const pv = s.ptr(node + 2 * ps);
        if (pv === pv && pv - (pv % 4) !== parent) {
          this.report("SEGMENT_LARGE_TREE_BAD", `large-block tree node ${formatAddress(node)} parent ${formatAddress(pv - (pv % 4))} should be ${formatAddress(parent)}`, node + 2 * ps);
        }
        stack.push(node);
        const left = s.ptr(node);
        if (!(left === left)) {
          this.report("SEGMENT_HEAP_NOT_CAPTURED", `large-block tree node ${formatAddress(node)} is not in the dump`, node);
          node = 0;
          break;
        }
        parent = node;
        node = left;
      }
      const n = stack.pop();
      if (n === undefined) break;
      if (++visited > MAX_LARGE) return;
      this.largeNode(n);
      const right = s.ptr(n + ps);
      node = right === right ? right : 0;
      parent = n;
    }
  }

  largeNode(n: Address): void {
    const s = this.space;
    const ps = this.ps;
    const va = s.ptr(n + 3 * ps);
    let pages: number;
    let extra: boolean;
    if (this.x64) {
      const lo = s.u32(n + 0x20);
      const hi = s.u32(n + 0x24);
      if (lo < 0 || hi < 0) pages = -1;
      else pages = (lo >>> 12) + hi * 0x100000;
      extra = (lo & 1) === 1;
    } else {
      const v = s.u32(n + 0x10);
      pages = v < 0 ? -1 : v >>> 12;
      extra = (v & 1) === 1;
    }
    if (!(va === va) || pages < 0) {
      this.report("SEGMENT_HEAP_NOT_CAPTURED", `large-block node ${formatAddress(n)} is not in the dump`, n);
      return;
    }
    const unused = va % 0x10000;
    const block = va - unused;
    const size = pages * PAGE;
    if (block === 0 || pages === 0 || pages > 0x10000000) {
      this.report("SEGMENT_LARGE_TREE_BAD", `large-block node ${formatAddress(n)} describes block ${formatAddress(block)} of ${pages} pages`, n);
      return;
    }
    this.state.largeBlocks++;
    this.reservedBytes += size;
    this.committedBytes += size;
    this.busy(block, block, size, size, unused, extra, AllocFlags.VIRTUAL);
  }

  // ---- the walk -------------------------------------------------------------------------------

  walkAll(build: number): void {
    const s = this.space;
    const heap = this.heap;
    const B = this.base;
    const sigOff = this.x64 ? 0x10 : 0x08;
    const sig = s.u32(B + sigOff);
    if (sig < 0) {
      this.report("SEGMENT_HEAP_NOT_CAPTURED", "the heap header is not in the dump", s.firstMissing(B, sigOff + 4) ?? B);
      heap.incomplete = true;
      heap.summary = { captured: false };
      return;
    }
    if (sig !== SEGMENT_HEAP_SIGNATURE) {
      this.report("SEGMENT_LAYOUT_UNKNOWN", `signature 0x${sig.toString(16)} at +0x${sigOff.toString(16)} is not 0xddeeddee`, B + sigOff);
      heap.incomplete = true;
      return;
    }
    const rejected = new Map<string, Rejection>();
    const r = this.resolveLayout(build, rejected);
    if (!r) {
      const gap = s.firstMissing(B, this.x64 ? 0xa00 : 0x580);
      if (gap !== undefined) this.report("SEGMENT_HEAP_NOT_CAPTURED", `the heap header is captured only up to ${formatAddress(gap)}`, gap);
      else {
        const why = [...rejected].map(([name, what]) => `${name}: ${what}`).join(", ");
        this.report("SEGMENT_LAYOUT_UNKNOWN", `no segment-heap layout fits build ${build} (${why || "no table for this bitness"}); the heap is not walked`, B);
      }
      heap.incomplete = true;
      heap.summary = { captured: gap === undefined, layout: null };
      return;
    }
    const own = r.own;
    if (r.layout !== own) {
      this.report(
        "SEGMENT_LAYOUT_PROBED",
        `build ${build} ${own ? `implies the ${own.name} layout, which the heap contradicts (${rejected.get(own.name) ?? "?"})` : "has no segment-heap table"}; its bytes fit the ${r.layout.name} layout (SegContexts at +0x${(r.segContexts - B).toString(16)}), which was used`,
        r.segContexts,
      );
    }
    this.L = r.layout;
    this.state.layout = r.layout.name;
    this.state.probed = r.layout !== own;
    const L = r.layout;
    const ctxs = [r.segContexts, r.segContexts + L.heap.segContextSize];

    // page segments and HeapKey
    const segs: { seg: Address; ctx: Address; unitShift: number; fdi: number; key: [number, number] | undefined }[] = [];
    for (const ctx of ctxs) {
      const unitShift = s.u8(ctx + L.ctx.unitShift);
      let fdi = s.u8(ctx + L.ctx.firstDescriptorIndex);
      if (!(fdi >= 1 && fdi <= 16)) fdi = this.x64 ? 2 : 1;
      for (const seg of this.segmentsOf(ctx, L)) {
        const span = 2 ** (unitShift + 8);
        if (seg % 0x100000 !== 0) {
          this.report("SEGMENT_PAGE_SEGMENT_BAD", `page segment ${formatAddress(seg)} is not 1 MiB aligned`, seg);
          continue;
        }
        segs.push({ seg, ctx, unitShift, fdi, key: this.rawKey(seg, ctx) });
        this.reservedBytes += span;
      }
    }
    const votes = new Map<string, { lo: number; hi: number; n: number }>();
    for (const g of segs) {
      if (!g.key) continue;
      const id = `${g.key[0]}:${g.key[1]}`;
      const v = votes.get(id);
      if (v) v.n++;
      else votes.set(id, { lo: g.key[0], hi: g.key[1], n: 1 });
    }
    let raw: { lo: number; hi: number; n: number } | undefined;
    for (const v of votes.values()) if (!raw || v.n > raw.n) raw = v;
    const good = segs.filter((g) => {
      if (!g.key) {
        this.report("SEGMENT_HEAP_NOT_CAPTURED", `page segment ${formatAddress(g.seg)} is not in the dump`, g.seg);
        return false;
      }
      if (raw && (g.key[0] !== raw.lo || g.key[1] !== raw.hi)) {
        this.report("SEGMENT_PAGE_SEGMENT_BAD", `page segment ${formatAddress(g.seg)} signature disagrees with the heap key of the other ${raw.n} segment(s)`, g.seg + (this.x64 ? 0x10 : 0x08));
        return false;
      }
      return true;
    });
    this.state.pageSegments = good.map((g) => g.seg);

    // One pass over the first segments' descriptors finds the first VS subsegment, which confirms
    // the key, and the LFH subsegments that recover the LfhKey below. (The VsContext list is
    // checked after the walk, from the links the walk read with each subsegment: followed now, it
    // would read a page per subsegment out of order, which from a disk is a seek each
    // [bench: segment 4M blocks from a cold page cache, 0.30 s of a 1.77 s walk].)
    let probe: Address | undefined;
    const lfhSamples: { L: Address; bytes: number }[] = [];
    for (const g of good) {
      if (probe !== undefined && lfhSamples.length >= MAX_LFH_KEY_SAMPLES) break;
      this.eachRangeQuiet(g.seg, g.unitShift, g.fdi, (addr, bytes, flags) => {
        if (flags === 0x0f) probe ??= addr;
        else if (flags === 0x0b && lfhSamples.length < MAX_LFH_KEY_SAMPLES) lfhSamples.push({ L: addr, bytes });
      });
    }
    if (raw) {
      const pre = build < 26100;
      const a: [number, number, "a2e64ead" | "zero"] = [(raw.lo ^ CONST_LO) >>> 0, this.x64 ? (raw.hi ^ CONST_HI_64) >>> 0 : 0, "a2e64ead"];
      const z: [number, number, "a2e64ead" | "zero"] = [raw.lo, raw.hi, "zero"];
      const [first, second] = pre ? [a, z] : [z, a];
      let chosen = first;
      if (probe !== undefined && !this.keyFitsVs(probe, first[0], first[1])) {
        if (this.keyFitsVs(probe, second[0], second[1])) {
          chosen = second;
          this.report("SEGMENT_KEY_CONSTANT_MISMATCH", `the page-segment constant ${second[2]} fits, not ${first[2]} as expected for build ${build}`, probe);
        } else {
          this.report("SEGMENT_HEAP_KEY_UNVERIFIED", `the recovered HeapKey does not decode VS subsegment ${formatAddress(probe)}`, probe);
        }
      }
      this.keyLo = chosen[0];
      this.keyHi = chosen[1];
      this.state.heapKeyConstant = chosen[2];
      this.state.heapKey = `0x${(this.x64 ? this.keyHi.toString(16).padStart(8, "0") : "") + this.keyLo.toString(16).padStart(8, "0")}`;
    }

    // LfhKey from the LFH subsegments
    if (lfhSamples.length > 0) {
      this.recoverLfhKey(lfhSamples, build);
      if (this.lfhKeyKnown) {
        this.state.lfhKey = this.lfhKey;
        this.state.lfhKeyShift = this.lfhShiftVariant === 0 ? "u32-then-shift" : "shift-then-u32";
      } else {
        this.report("SEGMENT_LFH_KEY_UNRECOVERED", `no LfhKey fits the ${lfhSamples.length} LFH subsegment(s)`, lfhSamples[0]!.L);
      }
    }

    // the walk proper
    const vsSeen = new Set<Address>();
    const vsLinks = new Map<Address, [Address, Address]>();
    let reported = this.committedBytes;
    for (const g of good) {
      // progress: the page segment walked before this one
      if (this.committedBytes > reported) {
        this.run.walked(this.committedBytes - reported);
        reported = this.committedBytes;
      }
      this.committedBytes += g.fdi * 2 ** g.unitShift;
      this.eachRange(g.seg, g.unitShift, g.fdi, (addr, bytes, flags, d) => {
        this.host = -1;
        if (flags === 0x02) {
          this.counts.freeRanges++;
          this.add(addr, addr, 0, bytes, AllocFlags.FREE | AllocFlags.BACKEND, 0);
          return;
        }
        this.committedBytes += bytes;
        if (flags === 0x03) {
          this.counts.backend++;
          const unused = s.u32(d + 4);
          const extra = (s.u32(d + 8) & 1) === 1;
          this.busy(addr, addr, bytes, bytes, unused < 0 ? 0 : unused, extra, AllocFlags.BACKEND);
          return;
        }
        if (flags === 0x0f || flags === 0x0b) {
          const hostIndex = this.add(addr, addr, 0, bytes, AllocFlags.BUSY | AllocFlags.HOST | AllocFlags.BACKEND, 0);
          this.host = hostIndex;
          if (flags === 0x0f) {
            vsSeen.add(addr);
            // its SubsegmentList links, from the block the VS walk reads anyway
            vsLinks.set(addr, [this.vsLink(addr, 0, false), this.vsLink(addr, this.ps, false)]);
            this.state.vsSubsegments.push(addr);
            this.walkVs(addr, bytes);
          } else {
            this.state.lfhSubsegments.push(addr);
            if (this.lfhKeyKnown) this.walkLfh(addr, bytes);
          }
          this.host = -1;
          return;
        }
        this.report("SEGMENT_DESCRIPTOR_BAD", `range ${formatAddress(addr)} has unknown flags 0x${flags.toString(16)}; skipped`, d);
      });
    }
    this.host = -1;
    // the newest layout's VS context has no SubsegmentList: nothing to cross-check
    if (this.L.vs.subsegmentList >= 0) {
      const vsList = this.vsListOf(r.vsContext, vsLinks);
      this.state.vsListLength = vsList.length;
      if (vsList.length !== vsSeen.size || vsList.some((v) => !vsSeen.has(v))) {
        this.report("SEGMENT_VS_LIST_MISMATCH", `VsContext lists ${vsList.length} subsegment(s), the range descriptors ${vsSeen.size}`, r.vsContext);
      }
    }

    this.walkLarge(r.large);

    heap.stats.reserved = this.reservedBytes;
    heap.stats.committed = this.committedBytes;
    heap.summary = {
      layout: this.state.layout,
      probed: this.state.probed,
      pageSegments: good.length,
      vsSubsegments: this.state.vsSubsegments.length,
      lfhSubsegments: this.state.lfhSubsegments.length,
      backendBlocks: this.counts.backend,
      freeRanges: this.counts.freeRanges,
      largeBlocks: this.state.largeBlocks,
      heapKeyRecovered: this.state.heapKey !== null,
      lfhKeyRecovered: this.state.lfhKey !== null,
      lfhKeyShift: this.state.lfhKeyShift,
    };
    heap.data.segment = this.state;
  }

  /** Like {@link eachRange} but without diagnostics (the real pass reports). */
  eachRangeQuiet(seg: Address, unitShift: number, fdi: number, visit: (addr: Address, bytes: number, flags: number) => void): void {
    const s = this.space;
    const descSize = this.x64 ? 0x20 : 0x10;
    const unitBytes = 2 ** unitShift;
    let i = fdi;
    for (let n = 0; i < 256 && n < 256; n++) {
      const d = seg + i * descSize;
      const rf = s.u8(d + (this.x64 ? 0x18 : 0x0c));
      const size = s.u8(d + (this.x64 ? 0x1f : 0x0f));
      if (rf < 0 || size <= 0 || (rf & 2) === 0 || i + size > 256) return;
      visit(seg + i * unitBytes, size * unitBytes, this.x64 ? rf : rf & 0x1f);
      i += size;
    }
  }

  /**
   * A VsContext.SubsegmentList link of `entry` (XOR-encoded with the entry's own address) at
   * `off`: read through the cache, or peeked (no cache block loaded). NaN when missing.
   */
  vsLink(entry: Address, off: number, peek: boolean): Address {
    const s = this.space;
    const n = this.x64 ? 8 : 4;
    const raw = this.linkBytes;
    if (peek ? s.peekInto(entry + off, raw, n) !== n : s.readInto(entry + off, raw, 0, n) !== n) return Number.NaN;
    const dv = this.linkView;
    if (this.x64) return ((dv.getUint32(0, true) ^ lo32(entry)) >>> 0) + ((dv.getUint32(4, true) ^ hi32(entry)) >>> 0) * TWO32;
    return (dv.getUint32(0, true) ^ lo32(entry)) >>> 0;
  }

  /** Scratch for one peeked link or signature ({@link vsLink}, {@link rawKey}). */
  private readonly linkBytes = new Uint8Array(8);
  private readonly linkView = new DataView(this.linkBytes.buffer);

  /**
   * VsContext.SubsegmentList, cycle-safe and bounded. `known` holds the links (Flink, Blink) the
   * walk read for the subsegments it visited; other entries are peeked like the page-segment links.
   */
  vsListOf(vsContext: Address, known: ReadonlyMap<Address, readonly [Address, Address]> = new Map()): Address[] {
    const head = vsContext + this.L.vs.subsegmentList;
    const out: Address[] = [];
    const seen = new Set<number>();
    const link = (entry: Address, off: number): Address => {
      const k = known.get(entry);
      if (k !== undefined) return off === 0 ? k[0] : k[1];
      return this.vsLink(entry, off, true);
    };
    let prev = head;
    let cur = link(head, 0);
    for (let i = 0; i <= MAX_VS_SUBSEGMENTS; i++) {
      if (!(cur === cur)) {
        this.report("SEGMENT_HEAP_NOT_CAPTURED", `VS subsegment list link at ${formatAddress(prev)} is not in the dump`, prev);
        return out;
      }
      if (cur === head) return out;
      if (i === MAX_VS_SUBSEGMENTS || seen.has(cur) || cur % PAGE !== 0) {
        this.report("SEGMENT_LIST_BROKEN", `VS subsegment list reaches ${formatAddress(cur)} again, or an unaligned or runaway entry`, prev);
        return out;
      }
      seen.add(cur);
      const back = link(cur, this.ps);
      if (back !== prev) {
        this.report("SEGMENT_LIST_BROKEN", `VS subsegment ${formatAddress(cur)} Blink decodes to ${formatAddress(back)}, should be ${formatAddress(prev)}`, cur + this.ps);
        return out;
      }
      out.push(cur);
      prev = cur;
      cur = link(cur, 0);
    }
    return out;
  }
}

/** Walks `kind: "segment"` heaps; one instance serves a whole run. */
export class SegmentHeapWalker {
  walk(heap: HeapRecord, run: Run): void {
    const w = new HeapWalk(heap, run);
    w.walkAll(run.target.os.build);
  }
}
