/**
 * Synthetic NT heaps as plain bytes (no @leakscope/core import): lays out `_HEAP`, segments,
 * encoded `_HEAP_ENTRY` headers, uncommitted ranges, free lists, VirtualAlloc'd blocks, +ust
 * extended headers and stored unused counts for every layout family x bitness, and returns the
 * memory pieces plus the exact allocation list a correct walker must find.
 *
 * Offsets follow shared/docs/heap-internals.md §3-§4 and are written here independently of the
 * walker's table, so a typo on either side shows up as a failing round trip.
 */

export type NtWriterLayout = "win7" | "win8" | "win10-1507" | "win10-1709" | "win11" | "win11-24h2";

export const NT_WRITER_LAYOUTS: readonly NtWriterLayout[] = ["win7", "win8", "win10-1507", "win10-1709", "win11", "win11-24h2"];

/**
 * The builds whose `_HEAP` layouts differ (or stand for a release), for per-build tests: pass one
 * as `build` to {@link writeNtHeap}. The tail moves at 9200, 14393 and 17763 (PDB listings:
 * AndreyBazhan/SymStore ntdll headers, ntdiff/headers 1709; shared/docs/layout-evidence.md D1-D2).
 */
export const NT_WRITER_BUILDS: readonly number[] = [7601, 9200, 9600, 10240, 10586, 14393, 15063, 16299, 17134, 17763, 19041, 22000, 26100];

/** An OS build number of each layout family (for `target.os.build`). */
export const NT_LAYOUT_BUILD: Readonly<Record<NtWriterLayout, number>> = {
  win7: 7601,
  win8: 9600,
  "win10-1507": 14393,
  "win10-1709": 19041,
  win11: 22631,
  "win11-24h2": 26100,
};

export interface MemoryPiece {
  address: number;
  bytes: Uint8Array;
}

export interface NtBlockSpec {
  /** Requested bytes (busy) or payload bytes (free). */
  size: number;
  free?: boolean;
  /** Fill byte of the user data (default derived from the index). */
  fill?: number;
  /** +ust trace pointer: layout [header][pointer granule][extended header][user data]. */
  trace?: number;
  /** Legacy back-trace index in a trailing `_HEAP_ENTRY_EXTRA` (header flag EXTRA_PRESENT). */
  traceIndex?: number;
  /** Unused count kept in an extended header ([header][extended header][user data]). */
  extended?: boolean;
  /** Extra unused granules; with 0x3F or more unused bytes the count is stored out of line. */
  slack?: number;
  /** An LFH user-blocks host (header flag 0x08, `_HEAP_USERDATA_HEADER` signature). */
  lfhHost?: boolean;
}

export interface NtSegmentSpec {
  blocks: NtBlockSpec[];
  /** Uncommitted ranges of `pages` pages inserted after block index `after` (-1 = before the first). */
  uncommitted?: { after: number; pages: number }[];
  /** Uncommitted pages at the end of the segment. */
  tailUncommittedPages?: number;
  /** Base of a secondary segment (ignored for the first segment, which is the heap). */
  base?: number;
}

export interface NtVirtualBlockSpec {
  size: number;
  fill?: number;
  /** +ust trace pointer (the heap must have `ust: true`). */
  trace?: number;
}

export interface NtHeapSpec {
  layout: NtWriterLayout;
  /**
   * The Windows build whose `_HEAP` offsets to write (default: {@link NT_LAYOUT_BUILD} of the
   * layout). Builds before 9200 write the Win7 header (PointerKey).
   */
  build?: number;
  bitness: 32 | 64;
  base: number;
  segments: NtSegmentSpec[];
  virtualBlocks?: NtVirtualBlockSpec[];
  /** Where VirtualAlloc'd blocks go (default: after the last segment, 64 KiB aligned). */
  virtualBase?: number;
  /** 8 key bytes (default: non-zero in every byte). */
  encoding?: Uint8Array;
  /** Store headers unencoded (EncodeFlagMask 0). */
  unencoded?: boolean;
  /** `_HEAP.Flags` (default 0x2 GROWABLE); `ust` adds CAPTURE_STACK_BACKTRACES. */
  flags?: number;
  ust?: boolean;
  /** `_HEAP.FrontEndHeapType`; 2 without `frontEndHeap` writes a minimal `_LFH_HEAP` (see writeNtHeap). */
  frontEndHeapType?: number;
  frontEndHeap?: number;
  /** 24H2 x64: `_HEAP.UserContext` (+0x188), the first heap descriptor (see {@link writeHeapDescriptors}). */
  userContext?: number;
}

export type ExpectedKind = "user" | "free" | "internal" | "host" | "virtual";

export interface ExpectedNtBlock {
  userAddress: number;
  blockAddress: number;
  requestedSize: number;
  blockSize: number;
  kind: ExpectedKind;
  /** Trace pointer or index, 0 when none. */
  trace: number;
  traceIndex: boolean;
}

export interface WrittenSegment {
  base: number;
  firstEntry: number;
  lastValidEntry: number;
  ucrBytes: number;
  /** Header address of every block in the segment, in order (for corruption tests). */
  blockAddresses: number[];
}

export interface WrittenNtHeap {
  address: number;
  bitness: 32 | 64;
  layout: NtWriterLayout;
  /** The build whose offsets were written. */
  build: number;
  pieces: MemoryPiece[];
  expected: ExpectedNtBlock[];
  segments: WrittenSegment[];
  virtualBlocks: number[];
  encoding: Uint8Array;
  /** Header addresses of the free blocks, in free-list order. */
  freeList: number[];
  /** Field offsets used (for tests that corrupt a heap). */
  offsets: NtWriterOffsets;
}

export interface NtWriterOffsets {
  granule: 8 | 16;
  ptr: 4 | 8;
  entryData: 0 | 8;
  signature: number;
  encoding: number;
  segmentList: number;
  virtualAllocdBlocks: number;
  freeLists: number;
  ucrList: number;
  segListEntry: number;
  freeLink: number;
  frontEndHeap: number;
  frontEndHeapType: number;
}

const DEFAULT_KEY = Uint8Array.from([0x5a, 0xc3, 0x96, 0x3c, 0x71, 0xe8, 0x2d, 0xb4]);
const HEAP_HEADER = { 32: 0x588, 64: 0xa80 } as const;
const PAGE = 0x1000;

/**
 * `_HEAP.FrontEndHeap` by build (x64 / x86), written from the PDB listings independently of the
 * walker: 0x170/0xd0 for 9200-10586 ([SS] 9200, 9600, 10240, 10586), 0x178/0xd4 for
 * 14393-17134 ([SS] 14393 .. 17134, [ND] 1709 x64), 0x198/0xe4 from 17763 ([SS] 17763 .. 22000).
 */
function frontEndHeapAt(build: number, x64: boolean): number {
  if (build < 9200) return x64 ? 0x178 : 0xd4;
  if (build < 14393) return x64 ? 0x170 : 0xd0;
  if (build < 17763) return x64 ? 0x178 : 0xd4;
  return x64 ? 0x198 : 0xe4;
}

function fam(layout: NtWriterLayout, bitness: 32 | 64, build: number) {
  const w7 = build < 9200;
  const x64 = bitness === 64;
  const feh = frontEndHeapAt(build, x64);
  const d = x64 ? (w7 ? 8 : 0) : w7 ? 4 : 0;
  return {
    x64,
    g: (x64 ? 16 : 8) as 8 | 16,
    p: (x64 ? 8 : 4) as 4 | 8,
    e: (x64 ? 8 : 0) as 0 | 8,
    segSig: x64 ? 0x10 : 0x08,
    flags: x64 ? 0x70 : 0x40,
    force: x64 ? 0x74 : 0x44,
    efm: x64 ? 0x7c : 0x4c,
    enc: x64 ? 0x88 : 0x50,
    pointerKey: w7 ? (x64 ? 0x90 : 0x58) : -1,
    sig: (x64 ? 0x98 : 0x60) + d,
    phli: (x64 ? 0xd0 : 0x7c) + d,
    ucrList: (x64 ? 0xf0 : 0x8c) + d,
    va: (x64 ? 0x110 : 0x9c) + d,
    segList: (x64 ? 0x120 : 0xa4) + d,
    freeLists: (x64 ? 0x150 : 0xc0) + d,
    feh,
    fehType: feh + (x64 ? 0x0a : 0x06),
    segListEntry: x64 ? 0x18 : 0x10,
    segHeap: x64 ? 0x28 : 0x18,
    segBase: x64 ? 0x30 : 0x1c,
    segPages: x64 ? 0x38 : 0x20,
    segFirst: x64 ? 0x40 : 0x24,
    segLast: x64 ? 0x48 : 0x28,
    segUcPages: x64 ? 0x50 : 0x2c,
    segUcRanges: x64 ? 0x54 : 0x30,
    segUcrList: x64 ? 0x60 : 0x38,
    segHeader: x64 ? 0x70 : 0x40,
    ucrSegEntry: x64 ? 0x10 : 0x08,
    ucrAddr: x64 ? 0x20 : 0x10,
    ucrSize: x64 ? 0x28 : 0x14,
    ucrDesc: x64 ? 0x30 : 0x18,
    vaCommit: x64 ? 0x20 : 0x10,
    vaReserve: x64 ? 0x28 : 0x14,
    vaBusy: x64 ? 0x30 : 0x18,
    vaUser: x64 ? 0x40 : 0x20,
    vaUstUser: x64 ? 0x60 : 0x30,
    freeLink: x64 ? 0x10 : 0x08,
    userdataSig: x64 ? (w7 ? 0x18 : 0x14) : 0x0c,
  };
}
type Fam = ReturnType<typeof fam>;

/** A growable set of byte pieces addressed by virtual address. */
class Mem {
  readonly pieces: { address: number; bytes: Uint8Array; view: DataView }[] = [];
  alloc(address: number, size: number): void {
    const bytes = new Uint8Array(size);
    this.pieces.push({ address, bytes, view: new DataView(bytes.buffer) });
  }
  private last: { address: number; bytes: Uint8Array; view: DataView } | undefined;
  private find(a: number, n: number) {
    const c = this.last;
    if (c && a >= c.address && a + n <= c.address + c.bytes.length) return c;
    const ps = this.pieces;
    for (let i = ps.length - 1; i >= 0; i--) {
      const p = ps[i]!;
      if (a >= p.address && a + n <= p.address + p.bytes.length) {
        this.last = p;
        return p;
      }
    }
    throw new Error(`synthetic heap writer: no piece holds 0x${a.toString(16)}+${n}`);
  }
  u8(a: number, v: number): void {
    const p = this.find(a, 1);
    p.bytes[a - p.address] = v & 0xff;
  }
  u16(a: number, v: number): void {
    const p = this.find(a, 2);
    p.view.setUint16(a - p.address, v & 0xffff, true);
  }
  u32(a: number, v: number): void {
    const p = this.find(a, 4);
    p.view.setUint32(a - p.address, v >>> 0, true);
  }
  u64(a: number, v: number): void {
    const p = this.find(a, 8);
    p.view.setUint32(a - p.address, v % 4294967296 >>> 0, true);
    p.view.setUint32(a - p.address + 4, Math.floor(v / 4294967296) >>> 0, true);
  }
  ptr(a: number, v: number, size: 4 | 8): void {
    if (size === 8) this.u64(a, v);
    else this.u32(a, v);
  }
  fill(a: number, n: number, v: number): void {
    if (n <= 0) return;
    const p = this.find(a, n);
    p.bytes.fill(v & 0xff, a - p.address, a - p.address + n);
  }
  /** Pieces with the uncommitted holes cut out (subarrays, no copy). */
  output(holes: { address: number; size: number }[]): MemoryPiece[] {
    const out: MemoryPiece[] = [];
    const sorted = holes.slice().sort((x, y) => x.address - y.address);
    for (const p of this.pieces) {
      let cur = p.address;
      const end = p.address + p.bytes.length;
      for (const h of sorted) {
        if (h.address + h.size <= cur || h.address >= end) continue;
        if (h.address > cur) out.push({ address: cur, bytes: p.bytes.subarray(cur - p.address, h.address - p.address) });
        cur = Math.max(cur, h.address + h.size);
      }
      if (cur < end) out.push({ address: cur, bytes: p.bytes.subarray(cur - p.address) });
    }
    return out;
  }
}

const ceil = (n: number, g: number) => Math.ceil(n / g);

/** Write an encoded `_HEAP_ENTRY`: size in granules, flags, previous size, segment offset, unused byte. */
function writeEntry(m: Mem, f: Fam, key: Uint8Array | undefined, h: number, size: number, flags: number, prev: number, unused: number): void {
  const b0 = size & 0xff;
  const b1 = (size >>> 8) & 0xff;
  const b2 = flags & 0xff;
  const bytes = [b0, b1, b2, b0 ^ b1 ^ b2, prev & 0xff, (prev >>> 8) & 0xff, 0, unused & 0xff];
  const a = h + f.e;
  for (let i = 0; i < 8; i++) m.u8(a + i, key ? bytes[i]! ^ key[i]! : bytes[i]!);
}

interface Link {
  head: number;
  entries: number[];
}

function writeList(m: Mem, l: Link, p: 4 | 8): void {
  const all = [l.head, ...l.entries];
  for (let i = 0; i < all.length; i++) {
    const cur = all[i]!;
    m.ptr(cur, all[(i + 1) % all.length]!, p);
    m.ptr(cur + p, all[(i - 1 + all.length) % all.length]!, p);
  }
}

/** Lay out one NT heap. */
export function writeNtHeap(spec: NtHeapSpec): WrittenNtHeap {
  const build = spec.build ?? NT_LAYOUT_BUILD[spec.layout];
  const f = fam(spec.layout, spec.bitness, build);
  const { g, p } = f;
  const key = spec.unencoded ? undefined : (spec.encoding ?? DEFAULT_KEY);
  const encPrevWord = key ? key[4]! | (key[5]! << 8) : 0;
  const m = new Mem();
  const expected: ExpectedNtBlock[] = [];
  const holes: { address: number; size: number }[] = [];
  const base = spec.base;
  const heapFlags = (spec.flags ?? 0x2) | (spec.ust ? 0x08000000 : 0);
  const freeBlocks: { h: number; size: number }[] = [];
  const segLinks: Link = { head: base + f.segList, entries: [] };
  const ucrLinks: Link = { head: base + f.ucrList, entries: [] };
  const segmentsOut: WrittenSegment[] = [];
  const deferred: (() => void)[] = [];
  let nextSegBase = base;

  spec.segments.forEach((seg, si) => {
    const sb = si === 0 ? base : (seg.base ?? nextSegBase);
    const first = sb + (si === 0 ? HEAP_HEADER[spec.bitness] : f.segHeader);
    // Pass 1: positions
    type Item =
      | { t: "block"; spec: NtBlockSpec; h: number; granules: number; idx: number }
      | { t: "ucr"; h: number; granules: number; size: number }
      | { t: "free-fill"; h: number; granules: number }
      | { t: "holder"; h: number; granules: number };
    const items: Item[] = [];
    let cur = first;
    const ucrAfter = new Map<number, number>();
    for (const u of seg.uncommitted ?? []) ucrAfter.set(u.after, (ucrAfter.get(u.after) ?? 0) + u.pages);
    const addUcr = (pages: number) => {
      // holder block up to a page boundary, holding the descriptor
      let end = Math.ceil((cur + g + f.ucrDesc) / PAGE) * PAGE;
      if (end - cur < g + f.ucrDesc) end += PAGE;
      items.push({ t: "holder", h: cur, granules: (end - cur) / g });
      cur = end;
      items.push({ t: "ucr", h: cur, granules: 0, size: pages * PAGE });
      cur += pages * PAGE;
    };
    if (ucrAfter.has(-1)) addUcr(ucrAfter.get(-1)!);
    seg.blocks.forEach((b, idx) => {
      let granules: number;
      if (b.free) granules = Math.max(2, ceil(g + b.size, g));
      else if (b.trace !== undefined) granules = 3 + ceil(b.size, g);
      else if (b.extended) granules = 2 + ceil(b.size, g);
      else if (b.traceIndex !== undefined) granules = 2 + ceil(b.size, g);
      else granules = Math.max(1, ceil(g + b.size, g));
      granules += b.slack ?? 0;
      if (granules > 0xffff) throw new Error("block too large for a segment; use a virtual block");
      items.push({ t: "block", spec: b, h: cur, granules, idx });
      cur += granules * g;
      if (ucrAfter.has(idx)) addUcr(ucrAfter.get(idx)!);
    });
    // Tail: a holder + trailing UCR, or a free filler to the page boundary.
    if (seg.tailUncommittedPages && seg.tailUncommittedPages > 0) addUcr(seg.tailUncommittedPages);
    else {
      let end = Math.ceil(cur / PAGE) * PAGE;
      if (end - cur < 2 * g) end += PAGE;
      items.push({ t: "free-fill", h: cur, granules: (end - cur) / g });
      cur = end;
    }
    const last = cur;
    const total = last - sb;
    m.alloc(sb, total);
    nextSegBase = Math.ceil((last + 0x10000) / 0x10000) * 0x10000;

    // Segment header (the heap's, for segment 0)
    const headerGranules = (first - sb) / g;
    writeEntry(m, f, key, sb, headerGranules, 0x01, 0, 0x01);
    m.u32(sb + f.segSig, 0xffeeffee);
    m.ptr(sb + f.segHeap, base, p);
    m.ptr(sb + f.segBase, sb, p);
    m.u32(sb + f.segPages, total / PAGE);
    m.ptr(sb + f.segFirst, first, p);
    m.ptr(sb + f.segLast, last, p);
    segLinks.entries.push(sb + f.segListEntry);
    const segUcr: Link = { head: sb + f.segUcrList, entries: [] };
    let ucrPages = 0;
    let ucrBytes = 0;
    const blockAddresses: number[] = [];
    let prev = headerGranules;
    for (let k = 0; k < items.length; k++) {
      const it = items[k]!;
      if (it.t === "ucr") {
        holes.push({ address: it.h, size: it.size });
        ucrPages += it.size / PAGE;
        ucrBytes += it.size;
        prev = 0;
        continue;
      }
      const h = it.h;
      const bytes = it.granules * g;
      blockAddresses.push(h);
      if (it.t === "free-fill") {
        writeEntry(m, f, key, h, it.granules, 0, prev, 0);
        freeBlocks.push({ h, size: it.granules });
        expected.push({ userAddress: h + g, blockAddress: h, requestedSize: 0, blockSize: bytes, kind: "free", trace: 0, traceIndex: false });
      } else if (it.t === "holder") {
        writeEntry(m, f, key, h, it.granules, 0x01, prev, 0x03);
        const d = h + g;
        const ucr = items[k + 1] as { h: number; size: number };
        m.ptr(d + f.ucrAddr, ucr.h, p);
        m.ptr(d + f.ucrSize, ucr.size, p);
        ucrLinks.entries.push(d);
        segUcr.entries.push(d + f.ucrSegEntry);
        expected.push({ userAddress: h + g, blockAddress: h, requestedSize: bytes - 3, blockSize: bytes, kind: "internal", trace: 0, traceIndex: false });
      } else {
        const b = it.spec;
        const fill = b.fill ?? 0x41 + (it.idx % 26);
        if (b.free) {
          writeEntry(m, f, key, h, it.granules, 0, prev, 0);
          freeBlocks.push({ h, size: it.granules });
          expected.push({ userAddress: h + g, blockAddress: h, requestedSize: 0, blockSize: bytes, kind: "free", trace: 0, traceIndex: false });
        } else {
          let user = h + g;
          let unusedByte: number;
          let flags = 0x01;
          let trace = 0;
          let traceIndex = false;
          const unused = bytes - b.size;
          if (b.trace !== undefined || b.extended) {
            const off = b.trace !== undefined ? 2 : 1;
            const ext = h + off * g + f.e;
            unusedByte = 0x40 | off;
            m.u32(ext, 1);
            m.u16(ext + 4, unused ^ encPrevWord);
            m.u8(ext + 6, off);
            m.u8(ext + 7, 5);
            if (b.trace !== undefined) {
              m.ptr(h + g, b.trace, p);
              trace = b.trace;
            }
            user = h + (off + 1) * g;
          } else if (unused >= 0x3f) {
            unusedByte = 0x3f;
            const at = f.x64 ? h + bytes : h + bytes - 4;
            deferred.push(() => (f.x64 ? m.u64(at, unused) : m.u32(at, unused)));
          } else unusedByte = unused;
          if (b.traceIndex !== undefined) {
            flags |= 0x02;
            m.u16(h + bytes - g, b.traceIndex);
            trace = b.traceIndex;
            traceIndex = b.traceIndex > 0;
            if (!traceIndex) trace = 0;
          }
          if (b.lfhHost) {
            flags |= 0x08;
          }
          writeEntry(m, f, key, h, it.granules, flags, prev, unusedByte);
          const userEnd = h + bytes - (b.traceIndex !== undefined ? g : 0);
          m.fill(user, Math.min(b.size, userEnd - user), fill);
          if (b.lfhHost) m.u32(user + f.userdataSig, 0xf0e0d0c0);
          expected.push({
            userAddress: user,
            blockAddress: h,
            requestedSize: b.size,
            blockSize: bytes,
            kind: b.lfhHost ? "host" : "user",
            trace,
            traceIndex,
          });
        }
      }
      prev = it.granules;
    }
    m.u32(sb + f.segUcPages, ucrPages);
    m.u32(sb + f.segUcRanges, segUcr.entries.length);
    deferred.push(() => writeList(m, segUcr, p));
    segmentsOut.push({ base: sb, firstEntry: first, lastValidEntry: last, ucrBytes, blockAddresses });
  });

  // VirtualAlloc'd blocks
  const vaLinks: Link = { head: base + f.va, entries: [] };
  let va = spec.virtualBase ?? nextSegBase;
  const vaOut: number[] = [];
  for (const [i, v] of (spec.virtualBlocks ?? []).entries()) {
    const ust = spec.ust === true && v.trace !== undefined;
    const userOff = ust ? f.vaUstUser : f.vaUser;
    const commit = Math.ceil((userOff + v.size) / PAGE) * PAGE;
    m.alloc(va, commit);
    m.ptr(va + f.vaCommit, commit, p);
    m.ptr(va + f.vaReserve, commit, p);
    const unused = commit - v.size;
    // BusyBlock: Size holds the unused byte count, UnusedBytes 4.
    writeEntry(m, f, key, va + f.vaBusy, unused & 0xffff, 0x01, 0, 0x04);
    if (unused > 0xffff) throw new Error("virtual block unused count does not fit a u16");
    let trace = 0;
    if (ust) {
      m.ptr(va + f.vaUser, v.trace!, p);
      const ext = va + f.vaUstUser - g + f.e;
      m.u32(ext, 1);
      m.u16(ext + 4, 0);
      m.u8(ext + 6, 2);
      m.u8(ext + 7, 5);
      trace = v.trace!;
    }
    m.fill(va + userOff, v.size, v.fill ?? 0x61 + (i % 26));
    vaLinks.entries.push(va);
    vaOut.push(va);
    expected.push({ userAddress: va + userOff, blockAddress: va, requestedSize: v.size, blockSize: commit, kind: "virtual", trace, traceIndex: false });
    va = Math.ceil((va + commit + 0x10000) / 0x10000) * 0x10000;
  }

  // _HEAP fields
  m.u32(base + f.flags, heapFlags);
  m.u32(base + f.force, heapFlags & 0x6001007d);
  m.u32(base + f.efm, key ? 0x100000 : 0);
  if (key) {
    for (let i = 0; i < 8; i++) m.u8(base + f.enc + i, key[i]!);
    if (f.x64) for (let i = 0; i < 8; i++) m.u8(base + 0x80 + i, key[7 - i]! ^ 0xa5);
  }
  if (f.pointerKey >= 0) m.ptr(base + f.pointerKey, f.x64 ? 0x1234567890ab : 0x9e3779b9, p);
  m.u32(base + f.sig, 0xeeffeeff);
  m.u8(base + f.fehType, spec.frontEndHeapType ?? 0);
  let frontEndHeap = spec.frontEndHeap ?? 0;
  if (spec.frontEndHeapType === 2 && spec.frontEndHeap === undefined) {
    // A minimal _LFH_HEAP in the header's slack: an empty zone list and the Heap back-pointer
    // that proves FrontEndHeap (Win7 {_HEAP_LOCK; LIST_ENTRY SubSegmentZones; ZoneBlockSize;
    // Heap}: 0x18/0x24, 0x28/0x40; Win8+ {SRWLOCK; LIST_ENTRY SubSegmentZones; Heap}: 0x04/0x0c, 0x08/0x18).
    frontEndHeap = base + HEAP_HEADER[spec.bitness] - 0x60;
    const zones = frontEndHeap + (f.pointerKey >= 0 ? (f.x64 ? 0x28 : 0x18) : p);
    m.ptr(zones, zones, p);
    m.ptr(zones + p, zones, p);
    m.ptr(zones + 2 * p + (f.pointerKey >= 0 ? p : 0), base, p);
  }
  m.ptr(base + f.feh, frontEndHeap, p);
  if (spec.userContext !== undefined) {
    if (!(f.x64 && build >= 26100)) throw new Error("userContext exists on win11-24h2 (26100+) x64 only");
    m.ptr(base + 0x188, spec.userContext, p);
  }
  writeList(m, segLinks, p);
  writeList(m, ucrLinks, p);
  writeList(m, vaLinks, p);
  freeBlocks.sort((x, y) => x.size - y.size || x.h - y.h);
  writeList(m, { head: base + f.freeLists, entries: freeBlocks.map((b) => b.h + f.freeLink) }, p);
  for (const d of deferred) d();

  return {
    address: base,
    bitness: spec.bitness,
    layout: spec.layout,
    build,
    pieces: m.output(holes),
    expected,
    segments: segmentsOut,
    virtualBlocks: vaOut,
    encoding: key ? key.slice() : new Uint8Array(8),
    freeList: freeBlocks.map((b) => b.h),
    offsets: {
      granule: g,
      ptr: p,
      entryData: f.e,
      signature: f.sig,
      encoding: f.enc,
      segmentList: f.segList,
      virtualAllocdBlocks: f.va,
      freeLists: f.freeLists,
      ucrList: f.ucrList,
      segListEntry: f.segListEntry,
      freeLink: f.freeLink,
      frontEndHeap: f.feh,
      frontEndHeapType: f.fehType,
    },
  };
}

export interface NtPebSpec {
  bitness: 32 | 64;
  address: number;
  /** Heap bases in ProcessHeaps order (the first is ProcessHeap). */
  heaps: number[];
  /** ReadOnlySharedMemoryBase (CSRSS shared heap), default 0. */
  csrSharedHeap?: number;
  maximumNumberOfHeaps?: number;
  /** Override NumberOfHeaps (to write an inconsistent PEB). */
  numberOfHeaps?: number;
}

/** A PEB page with ProcessHeap, the ProcessHeaps array (at PEB + 0x800) and ReadOnlySharedMemoryBase. */
export function writePeb(spec: NtPebSpec): MemoryPiece {
  const x64 = spec.bitness === 64;
  const p: 4 | 8 = x64 ? 8 : 4;
  const m = new Mem();
  m.alloc(spec.address, PAGE);
  const a = spec.address;
  const array = a + 0x800;
  m.ptr(a + (x64 ? 0x30 : 0x18), spec.heaps[0] ?? 0, p);
  m.ptr(a + (x64 ? 0x88 : 0x4c), spec.csrSharedHeap ?? 0, p);
  m.u32(a + (x64 ? 0xe8 : 0x88), spec.numberOfHeaps ?? spec.heaps.length);
  m.u32(a + (x64 ? 0xec : 0x8c), spec.maximumNumberOfHeaps ?? 16);
  m.ptr(a + (x64 ? 0xf0 : 0x90), array, p);
  spec.heaps.forEach((h, i) => m.ptr(array + i * p, h, p));
  return { address: a, bytes: m.pieces[0]!.bytes };
}

/**
 * The Windows 11 24H2 process heap descriptor list (x64): `{Next, Prev, Heap}` records, 0x20
 * bytes apart from `address`, circular. Point the first heap's `userContext` at `address`.
 */
export function writeHeapDescriptors(address: number, heaps: number[]): MemoryPiece {
  const m = new Mem();
  m.alloc(address, Math.max(0x20, heaps.length * 0x20));
  heaps.forEach((h, i) => {
    const d = address + i * 0x20;
    m.u64(d, address + ((i + 1) % heaps.length) * 0x20);
    m.u64(d + 8, address + ((i - 1 + heaps.length) % heaps.length) * 0x20);
    m.u64(d + 0x10, h);
  });
  return { address, bytes: m.pieces[0]!.bytes };
}

/** A bare segment-heap header (signature 0xDDEEDDEE at +0x08 / +0x10), enough for discovery. */
export function writeSegmentHeapStub(address: number, bitness: 32 | 64): MemoryPiece {
  const m = new Mem();
  m.alloc(address, 0x1000);
  m.u32(address + (bitness === 64 ? 0x10 : 0x08), 0xddeeddee);
  return { address, bytes: m.pieces[0]!.bytes };
}

export interface NtProcessSide {
  /** PEB address of this bitness. */
  peb: number;
  /** Heaps in ProcessHeaps order (layout and bitness come from the process and side). */
  heaps: Omit<NtHeapSpec, "layout" | "bitness">[];
  csrSharedHeap?: number;
}

export interface NtProcessSpec {
  layout: NtWriterLayout;
  /** The build whose `_HEAP` offsets to write (see {@link NtHeapSpec.build}). */
  build?: number;
  /** The native side: 64-bit for x64 and WoW64 dumps, 32-bit for x86 dumps. */
  native: NtProcessSide & { bitness: 32 | 64 };
  /** The 32-bit side of a WoW64 process (native must be 64-bit). */
  wow64?: NtProcessSide;
}

export interface WrittenNtProcess {
  memory: MemoryPiece[];
  /** Views for a target: native first, then the WoW64 view. */
  views: { bitness: 32 | 64; peb: number; role: "native" | "wow64" }[];
  heaps: WrittenNtHeap[];
  /** An OS build of the layout family. */
  build: number;
}

/** A whole process: heaps and PEB(s), for x86, x64 or a WoW64 pair (both PEBs). */
export function writeNtProcess(spec: NtProcessSpec): WrittenNtProcess {
  if (spec.wow64 && spec.native.bitness !== 64) throw new Error("a WoW64 process needs a 64-bit native side");
  const memory: MemoryPiece[] = [];
  const heaps: WrittenNtHeap[] = [];
  const views: WrittenNtProcess["views"] = [];
  const sides: [NtProcessSide, 32 | 64, "native" | "wow64"][] = [[spec.native, spec.native.bitness, "native"]];
  if (spec.wow64) sides.push([spec.wow64, 32, "wow64"]);
  for (const [side, bitness, role] of sides) {
    const written = side.heaps.map((h) => writeNtHeap({ ...h, layout: spec.layout, bitness, ...(spec.build !== undefined ? { build: spec.build } : {}) }));
    heaps.push(...written);
    for (const w of written) memory.push(...w.pieces);
    const peb: NtPebSpec = { bitness, address: side.peb, heaps: written.map((w) => w.address) };
    if (side.csrSharedHeap !== undefined) peb.csrSharedHeap = side.csrSharedHeap;
    memory.push(writePeb(peb));
    views.push({ bitness, peb: side.peb, role });
  }
  return { memory, views, heaps, build: spec.build ?? NT_LAYOUT_BUILD[spec.layout] };
}
