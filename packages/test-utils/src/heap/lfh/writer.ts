/**
 * Synthetic NT front-end (LFH) heaps as plain bytes at addresses, for walker tests. No
 * @leakscope/core import: offsets are written from shared/docs/heap-internals.md §5 and §7.2.
 *
 * Two steps, so the LFH sits inside an NT heap written by the NT writer:
 * 1. `lfhUserBlocksBytes(spec, i)` gives the bytes each subsegment's user blocks need; the NT
 *    writer wraps that many bytes as a busy backend block with header flag 0x08 (`lfhHost`).
 * 2. `writeLfhHeap(spec)` with every subsegment's `userBlocks` set to its host's user address
 *    writes the `_LFH_HEAP`, its zones and subsegments (at `spec.lfhHeap`) and the user blocks.
 *    `overlayPieces` copies the user blocks into the NT heap's pieces.
 */

export type LfhWriterVersion = "win7" | "win8" | "win8.1" | "win10" | "win11";
export const LFH_WRITER_VERSIONS: readonly LfhWriterVersion[] = ["win7", "win8", "win8.1", "win10", "win11"];

/** The NT writer layout (and so `_HEAP` offsets) matching each LFH version. */
export const LFH_NT_LAYOUT: Readonly<Record<LfhWriterVersion, "win7" | "win8" | "win10-1709" | "win11">> = {
  win7: "win7",
  win8: "win8",
  "win8.1": "win8",
  win10: "win10-1709",
  win11: "win11",
};

export interface LfhPiece {
  address: number;
  bytes: Uint8Array;
}

export interface LfhBlockSpec {
  /** Requested bytes of a busy block (ignored for free blocks). */
  size: number;
  free?: boolean;
  /** +ust stack-trace pointer: UnusedBytes 0xC2, [header][pointer granule][extended header][data]. */
  trace?: number;
  /** Fill byte of the user data (default derived from the index). */
  fill?: number;
}

export interface LfhSubsegmentSpec {
  /** Block size in bytes, header included; a multiple of the granule (8 x86, 16 x64). */
  blockSize: number;
  blocks: LfhBlockSpec[];
  /** Address of the user blocks (the host block's user address). Required by writeLfhHeap. */
  userBlocks?: number;
  sizeIndex?: number;
  /** Make BlockCount - Depth disagree with the headers (for cross-check tests). */
  wrongDepth?: boolean;
}

export interface LfhHeapSpec {
  version: LfhWriterVersion;
  bitness: 32 | 64;
  /** The NT heap (`_HEAP`) address: part of every header's encoding. */
  heap: number;
  /** Where the `_LFH_HEAP` is written; the zones follow it. */
  lfhHeap: number;
  /** RtlpLFHKey (default 0x5a3c96e1: non-zero in every byte). */
  key?: number;
  subsegments: LfhSubsegmentSpec[];
  /** Subsegments per zone (default 4), so several zones are written. */
  perZone?: number;
  /** Retired subsegment slots (UserBlocks null) appended to the last zone. */
  emptySlots?: number;
  /**
   * The Windows build to write for (default: the version's). Only 9200 changes the bytes of a
   * `win8` heap: its `_LFH_BLOCK_ZONE` holds FreePointer/Limit, not NextIndex ([SS]
   * ntdll.dll-6.2.9200.16384-{x64,x86}.h; NextIndex from 6.3.9600.16384).
   */
  build?: number;
}

export interface ExpectedLfhBlock {
  blockAddress: number;
  userAddress: number;
  /** Requested size (0 for free blocks). */
  requestedSize: number;
  blockSize: number;
  busy: boolean;
  /** +ust pointer or 0. */
  trace: number;
  subsegment: number;
  userBlocks: number;
}

export interface WrittenLfhHeap {
  pieces: LfhPiece[];
  expected: ExpectedLfhBlock[];
  key: number;
  /** Subsegment addresses in zone order. */
  subsegments: number[];
  zones: number[];
}

interface Off {
  ptr: 4 | 8;
  g: 8 | 16;
  e: 0 | 8;
  entry: 8 | 16;
  shift: number;
  win7: boolean;
  lfhZones: number;
  zoneArray: number;
  zoneFreePointer: number;
  zoneLimit: number;
  zoneNextIndex: number;
  ssUserBlocks: number;
  ssAggregate: number;
  ssBlockSize: number;
  ssBlockCount: number;
  ssSizeIndex: number;
  ssSize: number;
  udSizeIndex: number;
  udSignature: number;
  udFirstBlock: number;
  udEncodedOffsets: number;
  udBitmapSize: number;
  udBitmapBuffer: number;
  udBitmapData: number;
}

function offsets(version: LfhWriterVersion, bitness: 32 | 64, build?: number): Off {
  const x = bitness === 64;
  const rtm8 = version !== "win7" && build !== undefined && build >= 9200 && build < 9600;
  const common = { ptr: x ? 8 : 4, g: x ? 16 : 8, e: x ? 8 : 0, entry: x ? 16 : 8, shift: x ? 4 : 3 } as const;
  if (version === "win7") {
    return {
      ...common,
      win7: true,
      lfhZones: x ? 0x28 : 0x18,
      zoneArray: x ? 0x20 : 0x10,
      zoneFreePointer: x ? 0x10 : 0x08,
      zoneLimit: x ? 0x18 : 0x0c,
      zoneNextIndex: -1,
      ssUserBlocks: x ? 8 : 4,
      ssAggregate: x ? 0x10 : 0x08,
      ssBlockSize: x ? 0x18 : 0x10,
      ssBlockCount: x ? 0x1c : 0x14,
      ssSizeIndex: x ? 0x1e : 0x16,
      ssSize: x ? 0x30 : 0x20,
      udSizeIndex: x ? 0x10 : 0x08,
      udSignature: x ? 0x18 : 0x0c,
      udFirstBlock: x ? 0x20 : 0x10,
      udEncodedOffsets: -1,
      udBitmapSize: -1,
      udBitmapBuffer: -1,
      udBitmapData: -1,
    };
  }
  return {
    ...common,
    win7: false,
    lfhZones: x ? 0x08 : 0x04,
    zoneArray: x ? 0x20 : 0x10,
    zoneFreePointer: rtm8 ? (x ? 0x10 : 0x08) : -1,
    zoneLimit: rtm8 ? (x ? 0x18 : 0x0c) : -1,
    zoneNextIndex: rtm8 ? -1 : x ? 0x10 : 0x08,
    ssUserBlocks: x ? 8 : 4,
    ssAggregate: x ? 0x20 : 0x10,
    ssBlockSize: x ? 0x24 : 0x14,
    ssBlockCount: x ? 0x28 : 0x18,
    ssSizeIndex: x ? 0x2a : 0x1a,
    ssSize: x ? 0x40 : 0x28,
    udSizeIndex: x ? 0x10 : 0x08,
    udSignature: x ? 0x14 : 0x0c,
    udFirstBlock: -1,
    udEncodedOffsets: x ? 0x18 : 0x10,
    udBitmapSize: x ? 0x20 : 0x14,
    udBitmapBuffer: x ? 0x28 : 0x18,
    udBitmapData: x ? 0x30 : 0x1c,
  };
}

const DEFAULT_KEY = 0x5a3c96e1;
const u32 = (v: number) => v >>> 0;
const shifted = (a: number, s: number) => Math.floor(a / 2 ** s) >>> 0;

/** Offset of the first block from the user blocks. */
function firstOffset(o: Off, count: number): number {
  if (o.win7) return o.udFirstBlock;
  const bitmapBytes = Math.ceil(count / (o.ptr * 8)) * o.ptr;
  return Math.ceil((o.udBitmapData + bitmapBytes) / o.g) * o.g;
}

/** Bytes the user blocks of subsegment `i` need (header, bitmap, blocks, one spare granule). */
export function lfhUserBlocksBytes(spec: LfhHeapSpec, i: number): number {
  const o = offsets(spec.version, spec.bitness, spec.build);
  const s = spec.subsegments[i]!;
  return firstOffset(o, s.blocks.length) + s.blocks.length * s.blockSize + o.g;
}

class Writer {
  readonly pieces: LfhPiece[] = [];
  private views: DataView[] = [];
  add(address: number, size: number): void {
    const bytes = new Uint8Array(size);
    this.pieces.push({ address, bytes });
    this.views.push(new DataView(bytes.buffer));
  }
  at(a: number, n: number): [DataView, number] {
    for (let i = this.pieces.length - 1; i >= 0; i--) {
      const p = this.pieces[i]!;
      if (a >= p.address && a + n <= p.address + p.bytes.length) return [this.views[i]!, a - p.address];
    }
    throw new Error(`synthetic LFH writer: no piece holds 0x${a.toString(16)}+${n}`);
  }
  u8(a: number, v: number): void {
    const [d, o] = this.at(a, 1);
    d.setUint8(o, v & 0xff);
  }
  u16(a: number, v: number): void {
    const [d, o] = this.at(a, 2);
    d.setUint16(o, v & 0xffff, true);
  }
  u32(a: number, v: number): void {
    const [d, o] = this.at(a, 4);
    d.setUint32(o, v >>> 0, true);
  }
  ptr(a: number, v: number, size: 4 | 8): void {
    const [d, o] = this.at(a, size);
    d.setUint32(o, v % 4294967296 >>> 0, true);
    if (size === 8) d.setUint32(o + 4, Math.floor(v / 4294967296) >>> 0, true);
  }
  fill(a: number, n: number, v: number): void {
    if (n <= 0) return;
    const [d, o] = this.at(a, n);
    new Uint8Array(d.buffer, d.byteOffset + o, n).fill(v & 0xff);
  }
}

/**
 * Write the LFH heap: `_LFH_HEAP` at `spec.lfhHeap` followed by its zones (one piece), and one
 * piece per subsegment's user blocks at its `userBlocks` address.
 */
export function writeLfhHeap(spec: LfhHeapSpec): WrittenLfhHeap {
  const o = offsets(spec.version, spec.bitness, spec.build);
  const key = u32(spec.key ?? DEFAULT_KEY);
  const P = u32(spec.heap);
  const lfh = spec.lfhHeap;
  const perZone = Math.max(1, spec.perZone ?? 4);
  const nss = spec.subsegments.length;
  const empty = spec.emptySlots ?? 0;
  const zoneCount = Math.max(1, Math.ceil((nss + empty) / perZone));
  const zoneBytes = o.zoneArray + perZone * o.ssSize + empty * o.ssSize;
  const lfhBytes = 0x100;
  const w = new Writer();
  w.add(lfh, lfhBytes + zoneCount * zoneBytes);
  const zones: number[] = [];
  const subsegments: number[] = [];
  for (let z = 0; z < zoneCount; z++) zones.push(lfh + lfhBytes + z * zoneBytes);
  // Zone list: head in the _LFH_HEAP, circular.
  const head = lfh + o.lfhZones;
  const ring = [head, ...zones];
  ring.forEach((a, i) => {
    w.ptr(a, ring[(i + 1) % ring.length]!, o.ptr);
    w.ptr(a + o.ptr, ring[(i - 1 + ring.length) % ring.length]!, o.ptr);
  });
  // _LFH_HEAP.Heap, the back-pointer that proves FrontEndHeap: Win7 after the zone list and
  // ZoneBlockSize (0x24 / 0x40); Win8+ {SRWLOCK Lock; LIST_ENTRY SubSegmentZones; PVOID Heap}
  // (0x0c / 0x18; [VL] x64 _LFH_HEAP Heap 0x18)
  w.ptr(lfh + o.lfhZones + 2 * o.ptr + (o.win7 ? (o.ptr === 8 ? 8 : 4) : 0), spec.heap, o.ptr);
  const expected: ExpectedLfhBlock[] = [];
  let slot = 0;
  const slotsIn = new Array<number>(zoneCount).fill(0);
  const slotAddress = () => {
    const z = Math.min(Math.floor(slot / perZone), zoneCount - 1);
    const a = zones[z]! + o.zoneArray + slotsIn[z]! * o.ssSize;
    slotsIn[z]!++;
    slot++;
    return a;
  };
  spec.subsegments.forEach((s, si) => {
    const ss = slotAddress();
    subsegments.push(ss);
    const U = s.userBlocks;
    if (U === undefined) throw new Error("synthetic LFH writer: subsegment without userBlocks");
    if (s.blockSize % o.g !== 0) throw new Error(`synthetic LFH writer: block size ${s.blockSize} is not a multiple of ${o.g}`);
    const count = s.blocks.length;
    const first = firstOffset(o, count);
    w.add(U, lfhUserBlocksBytes(spec, si));
    const freeCount = s.blocks.filter((b) => b.free).length;
    // Subsegment.
    w.ptr(ss, lfh + 0x80, o.ptr); // LocalInfo (cosmetic)
    w.ptr(ss + o.ssUserBlocks, U, o.ptr);
    w.u16(ss + o.ssAggregate, s.wrongDepth ? freeCount + 1 : freeCount);
    w.u16(ss + o.ssBlockSize, s.blockSize / o.g);
    w.u16(ss + o.ssBlockCount, count);
    w.u8(ss + o.ssSizeIndex, s.sizeIndex ?? s.blockSize / o.g);
    // User-data header.
    w.ptr(U, ss, o.ptr);
    w.u8(U + o.udSizeIndex, s.sizeIndex ?? s.blockSize / o.g);
    w.u32(U + o.udSignature, 0xf0e0d0c0);
    if (!o.win7) {
      const plain = u32(first | (s.blockSize << 16));
      w.u32(U + o.udEncodedOffsets, spec.version === "win8" ? plain : u32(plain ^ u32(U) ^ u32(lfh) ^ key));
      w.ptr(U + o.udBitmapSize, count, o.ptr);
      w.ptr(U + o.udBitmapBuffer, U + o.udBitmapData, o.ptr);
    }
    let prevFree = -1;
    s.blocks.forEach((b, bi) => {
      const h = U + first + bi * s.blockSize;
      const code = o.win7 ? u32(u32(ss) ^ P ^ shifted(h, o.shift) ^ key) : u32((((h - U) / o.g) << 16) ^ P ^ shifted(h, o.shift) ^ key);
      w.u32(h + o.e, code);
      w.u16(h + o.e + 4, 0x5a5a ^ bi);
      w.u8(h + o.e + 6, 0);
      if (b.free) {
        w.u8(h + o.e + 7, 0x80);
        w.fill(h + o.entry, s.blockSize - o.entry, 0);
        if (o.win7) {
          // Free list in address order: FreeEntryOffset -> first, each block's data -> next.
          const off = (h - U) / o.g;
          if (prevFree < 0) w.u16(ss + o.ssAggregate + 2, off);
          else w.u16(prevFree + o.entry, off);
          w.u16(h + o.entry, 0xffff);
          prevFree = h;
        }
        expected.push({
          blockAddress: h,
          userAddress: h + o.entry,
          requestedSize: 0,
          blockSize: s.blockSize,
          busy: false,
          trace: 0,
          subsegment: ss,
          userBlocks: U,
        });
        return;
      }
      const fill = b.fill ?? 0x41 + (bi % 26);
      if (!o.win7) {
        const bm = U + o.udBitmapData + (bi >>> 3);
        const [d, off] = w.at(bm, 1);
        d.setUint8(off, d.getUint8(off) | (1 << (bi & 7)));
      }
      if (b.trace !== undefined) {
        const user = h + 3 * o.g;
        if (b.size > s.blockSize - 3 * o.g)
          throw new Error(`synthetic LFH writer: ${b.size} bytes with a trace do not fit in ${s.blockSize}`);
        w.u8(h + o.e + 7, 0xc2);
        w.ptr(h + o.g, b.trace, o.ptr);
        const ext = h + 2 * o.g + o.e;
        w.u32(ext, 1);
        w.u16(ext + 4, s.blockSize - b.size);
        w.u8(ext + 6, 2);
        w.u8(ext + 7, 5);
        w.fill(user, b.size, fill);
        expected.push({
          blockAddress: h,
          userAddress: user,
          requestedSize: b.size,
          blockSize: s.blockSize,
          busy: true,
          trace: b.trace,
          subsegment: ss,
          userBlocks: U,
        });
        return;
      }
      const unused = s.blockSize - b.size;
      if (unused < o.entry) throw new Error(`synthetic LFH writer: ${b.size} bytes do not fit in ${s.blockSize}`);
      if (unused >= 0x3f) {
        w.u8(h + o.e + 7, 0xbf);
        if (o.ptr === 8) w.ptr(h + s.blockSize, unused, 8);
        else w.u32(h + s.blockSize - 4, unused);
      } else w.u8(h + o.e + 7, 0x80 | unused);
      w.fill(h + o.entry, b.size, fill);
      expected.push({
        blockAddress: h,
        userAddress: h + o.entry,
        requestedSize: b.size,
        blockSize: s.blockSize,
        busy: true,
        trace: 0,
        subsegment: ss,
        userBlocks: U,
      });
    });
    if (o.win7 && prevFree < 0) w.u16(ss + o.ssAggregate + 2, 0xffff);
  });
  for (let k = 0; k < empty; k++) slotAddress(); // retired slots: UserBlocks stays null
  // Zone counts.
  zones.forEach((z, i) => {
    const n = slotsIn[i]!;
    if (o.zoneFreePointer >= 0) {
      w.ptr(z + o.zoneFreePointer, z + o.zoneArray + n * o.ssSize, o.ptr);
      w.ptr(z + o.zoneLimit, z + zoneBytes, o.ptr);
    } else w.u32(z + o.zoneNextIndex, n);
  });
  return { pieces: w.pieces, expected, key, subsegments, zones };
}

/**
 * Copy `overlay` pieces into the `base` pieces that contain them (e.g. LFH user blocks into the
 * NT heap's host blocks); pieces no base piece contains are appended. Returns a new list; the
 * base pieces' bytes are modified in place.
 */
export function overlayPieces(base: readonly LfhPiece[], overlay: readonly LfhPiece[]): LfhPiece[] {
  const out = base.slice();
  for (const p of overlay) {
    const host = base.find((b) => p.address >= b.address && p.address + p.bytes.length <= b.address + b.bytes.length);
    if (host) host.bytes.set(p.bytes, p.address - host.address);
    else out.push(p);
  }
  return out;
}

/**
 * Put an LFH inside an NT heap that is already written: the heap's spec holds one `lfhHost`
 * block per subsegment, in subsegment order (size {@link lfhUserBlocksBytes}). Writes the LFH
 * with each subsegment's user blocks in its host, copies those user blocks into the heap's own
 * pieces (so a builder holding them sees the result) and returns the LFH structures (the
 * `_LFH_HEAP` and its zones) that still need to be placed in memory.
 */
export function writeLfhInNtHeap(
  nt: { expected: readonly { kind: string; userAddress: number }[]; pieces: LfhPiece[] },
  spec: LfhHeapSpec,
): { lfh: WrittenLfhHeap; structures: LfhPiece[] } {
  const hosts = nt.expected.filter((e) => e.kind === "host").map((e) => e.userAddress);
  if (hosts.length < spec.subsegments.length) {
    throw new Error(`writeLfhInNtHeap: ${spec.subsegments.length} subsegments but only ${hosts.length} lfhHost blocks in the heap`);
  }
  const lfh = writeLfhHeap({ ...spec, subsegments: spec.subsegments.map((s, i) => ({ ...s, userBlocks: hosts[i]! })) });
  const hostSet = new Set(hosts);
  overlayPieces(nt.pieces, lfh.pieces.filter((p) => hostSet.has(p.address)));
  return { lfh, structures: lfh.pieces.filter((p) => !hostSet.has(p.address)) };
}
