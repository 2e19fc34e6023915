import { type Address, type AddressSpace, AllocFlags, type HeapRecord, type Run, type Span, at, emptySpan, formatAddress } from "@leakscope/core";
import type { NtHeapState } from "@leakscope/heap-nt";
import { type LfhCode, lfhCodes } from "./codes.js";
import { type LfhFamily, type LfhLayout, USERDATA_SIGNATURE, familyForNtLayout, lfhLayout } from "./layouts.js";
import type { LfhBucket, LfhHeapState } from "./state.js";

const SOURCE = "heap-lfh";
/** hostClaimed values besides 0 (unclaimed). */
const WALKED = 2;
const CLAIMED = 1;
/** Bounds on hostile input: zones per heap, subsegments per zone, blocks per subsegment. */
const MAX_ZONES = 4096;
const MAX_ZONE_SLOTS = 65536;
const MAX_BLOCKS = 65535;
const MAX_SUBSEGMENTS = 1 << 20;
/** How far past the bitmap a Win8+ FirstAllocationOffset may lie (bytes). */
const FIRST_OFFSET_SLACK = 0x400;
/** Candidate keys looked at when recovering RtlpLFHKey from a subsegment's first headers. */
const KEY_VOTES = 8;

export interface LfhWalkOptions {
  /** Check every block header against the subsegment (SubSegmentCode decode). */
  checkHeaders: boolean;
}

const u32 = (v: number): number => v >>> 0;
/** (u32)(address >> shift) for any non-negative address below 2^53. */
const shifted = (a: Address, shift: number): number => Math.floor(a / (1 << shift)) >>> 0;

/** Subsegment slots in use of a FreePointer/Limit zone whose array starts at `first`, -1 if the pointers contradict it (or either is unread, NaN). */
function slotsInUse(first: Address, fp: Address, limit: Address, ssSize: number): number {
  const span = fp - first;
  if (!(span >= 0) || !(fp <= limit) || span % ssSize !== 0 || span / ssSize > MAX_ZONE_SLOTS) return -1;
  return span / ssSize;
}

/**
 * Walks the NT front end (LFH) of one heap: zones -> subsegments -> user blocks, appending every
 * LFH block to `run.allocations` with its host. One instance per plugin; `walk` resets all state.
 * Nothing is allocated per block.
 */
export class LfhWalker {
  private run!: Run;
  private heap!: HeapRecord;
  private space!: AddressSpace;
  private L!: LfhLayout;
  private nt!: NtHeapState;
  private options: LfhWalkOptions;
  private state!: LfhHeapState;
  private buckets = new Map<number, LfhBucket>();
  // hosts sorted by block address
  private hostStart = new Float64Array(0);
  private hostEnd = new Float64Array(0);
  private hostIndex = new Int32Array(0);
  /** Per sorted host: 0 unclaimed, WALKED (walked as heap-nt found it), CLAIMED (named by a zone subsegment). */
  private hostClaimed = new Uint8Array(0);
  /** Heap whose hosts hostFound is walking (its zone pass has not run yet). */
  private streamHeap: HeapRecord | undefined;
  /** Subsegment each host walked by hostFound was walked through, by host allocation index. */
  private readonly streamedSs = new Map<number, Address>();
  private key: number | null = null;
  /** Key candidates (reused). */
  private votes = new Float64Array(KEY_VOTES);
  /** Zone slots visited in the current heap. */
  private slots = 0;
  private readonly span: Span = emptySpan();
  /** Scratch copy of one subsegment's busy bitmap (Win8 layout). */
  private bitmap = new Uint8Array(128);

  constructor(options: LfhWalkOptions) {
    this.options = options;
  }

  /**
   * heap-nt appended LFH host block `index` of `heap` (see HeapNtApi.onHostBlock): walk its
   * subsegment now, while the backend walk has its bytes in the file cache, so every byte of an
   * LFH heap is read once [bench: lfh 4M blocks, 930 MB read for a 468 MB dump when the
   * subsegments were walked after the backend walk]. Only a host whose user-data header and
   * subsegment agree is walked here; everything else is left to {@link walk}, which checks the
   * zones, reports hosts no zone names, and walks what was not walked here.
   */
  hostFound(heap: HeapRecord, run: Run, index: number): void {
    const nt = heap.data.nt;
    if (!nt || nt.frontEndHeapType !== 2 || nt.frontEnd === "unproven") return;
    if (this.streamHeap !== heap) this.begin(heap, run, nt);
    const { space, L } = this;
    const a = run.allocations;
    const u = a.userAddress(index);
    const ss = space.ptr(u);
    if (!(ss === ss) || ss === 0 || ss % L.ptr !== 0) return;
    if (space.ptr(ss + L.ssUserBlocks) !== u) return;
    if (space.u32(u + L.udSignature) !== USERDATA_SIGNATURE) return;
    const blockSizeG = space.u16(ss + L.ssBlockSize);
    const declared = space.u16(ss + L.ssBlockCount);
    const depth = space.u16(ss + L.ssAggregate);
    if (!(blockSizeG > 0 && declared > 0 && depth >= 0)) return;
    this.streamedSs.set(index, ss);
    this.walkSubsegment(ss, u, blockSizeG, declared, depth, index, a.blockAddress(index) + a.blockSize(index));
  }

  /** Reset the per-heap state for `heap`. */
  private begin(heap: HeapRecord, run: Run, nt: NtHeapState): void {
    this.run = run;
    this.heap = heap;
    this.nt = nt;
    this.space = heap.view.space;
    const family: LfhFamily = familyForNtLayout(nt.layout, run.target.os.build);
    this.L = lfhLayout(family, heap.bitness);
    this.key = null;
    this.slots = 0;
    this.buckets.clear();
    this.streamedSs.clear();
    this.streamHeap = heap;
    this.state = {
      family,
      lfhHeap: nt.frontEndHeap,
      key: null,
      zones: 0,
      subsegments: 0,
      emptySlots: 0,
      staleSubsegments: 0,
      unclaimedHosts: 0,
      busy: 0,
      free: 0,
      busyBytes: 0,
      corrupt: 0,
      traced: 0,
      buckets: [],
    };
    heap.data.lfh = this.state;
  }

  walk(heap: HeapRecord, run: Run): void {
    const nt = heap.data.nt;
    if (!nt) {
      if (heap.incomplete) return;
      run.diagnostics.report(
        SOURCE,
        "LFH_NO_BACKEND_STATE",
        lfhCodes.LFH_NO_BACKEND_STATE.severity,
        `heap ${formatAddress(heap.address)}: no NT backend state; LFH blocks not listed`,
        at(heap.address)
      );
      return;
    }
    // a front end no layout proves (heap-nt reported NT_HEAP_LAYOUT_NONE) is not walked
    if (nt.frontEndHeapType !== 2 || nt.frontEnd === "unproven") return;
    // subsegments walked while heap-nt walked this heap are kept
    if (this.streamHeap !== heap) this.begin(heap, run, nt);
    this.streamHeap = undefined;
    this.loadHosts();
    if (nt.frontEndHeap === nt.frontEndHeap && nt.frontEndHeap !== 0) this.walkZones(nt.frontEndHeap);
    else this.report("LFH_NOT_CAPTURED", "FrontEndHeapType is 2 but FrontEndHeap is null or unreadable", heap.address);
    // Host blocks no zone subsegment claimed: walk them from their own user-data header (those
    // walked as heap-nt found them are only reported).
    for (let k = 0; k < this.hostIndex.length; k++) {
      if (this.hostClaimed[k] === CLAIMED) continue;
      this.state.unclaimedHosts++;
      this.report(
        "LFH_HOST_UNCLAIMED",
        `host block at ${formatAddress(this.hostStart[k]!)} is not referenced by the zone list`,
        this.hostStart[k]!
      );
      if (this.hostClaimed[k] === WALKED) continue;
      const ss = this.space.ptr(this.hostUser(k));
      if (ss === ss && ss !== 0) this.subsegment(ss, true);
    }
    this.finish();
  }

  private report(code: LfhCode, message: string, address: Address): void {
    this.run.diagnostics.report(SOURCE, code, lfhCodes[code].severity, `heap ${formatAddress(this.heap.address)}: ${message}`, at(address));
  }

  private loadHosts(): void {
    const a = this.run.allocations;
    const list = this.nt.hostBlocks;
    const n = list.length;
    const order = list.slice().sort((x, y) => a.blockAddress(x) - a.blockAddress(y));
    this.hostStart = new Float64Array(n);
    this.hostEnd = new Float64Array(n);
    this.hostIndex = new Int32Array(n);
    this.hostClaimed = new Uint8Array(n);
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      this.hostIndex[k] = i;
      this.hostStart[k] = a.blockAddress(i);
      this.hostEnd[k] = a.blockAddress(i) + a.blockSize(i);
      if (this.streamedSs.has(i)) this.hostClaimed[k] = WALKED;
    }
  }

  private hostUser(k: number): Address {
    return this.run.allocations.userAddress(this.hostIndex[k]!);
  }

  /** Position in the sorted host arrays of the host containing `va`, or -1. */
  private findHost(va: Address): number {
    let lo = 0;
    let hi = this.hostStart.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.hostStart[mid]! <= va) {
        if (va < this.hostEnd[mid]!) return mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return -1;
  }

  private walkZones(lfh: Address): void {
    const { space, L } = this;
    const head = lfh + L.lfhZones;
    let link = space.ptr(head);
    const seen = new Set<number>();
    let n = 0;
    while (link !== head) {
      if (link !== link) {
        this.report("LFH_NOT_CAPTURED", `the zone list link at ${formatAddress(head)} is not in the dump`, head);
        return;
      }
      if (link === 0 || link % L.ptr !== 0 || seen.has(link) || n >= MAX_ZONES) {
        const why = link === 0 ? "a null link" : seen.has(link) ? "a cycle" : n >= MAX_ZONES ? "too many zones" : "a misaligned link";
        this.report(
          "LFH_ZONE_LIST_BROKEN",
          `the SubSegmentZones list (head ${formatAddress(head)}) has ${why} at ${formatAddress(link)}`,
          link
        );
        return;
      }
      seen.add(link);
      if (n === 0) this.proveZoneForm(link);
      n++;
      this.state.zones++;
      this.zone(link);
      const next = space.ptr(link);
      if (next !== next) {
        this.report("LFH_NOT_CAPTURED", `zone ${formatAddress(link)} is not in the dump`, link);
        return;
      }
      link = next;
    }
  }

  /** Slot count of zone `z` in the FreePointer/Limit form (layout `P`), -1 if the zone contradicts it. */
  private zoneSlotsByPointers(z: Address, P: LfhLayout): number {
    return slotsInUse(z + P.zoneArray, this.space.ptr(z + P.zoneFreePointer), this.space.ptr(z + P.zoneLimit), P.ssSize);
  }

  /**
   * Win8+: which `_LFH_BLOCK_ZONE` form the heap uses, proven from its first zone (9200 holds
   * FreePointer/Limit, 9600+ NextIndex; layout-evidence.md D6). When the build's form is
   * contradicted and the other fits, the other is used and LFH_LAYOUT_PROBED names it.
   */
  private proveZoneForm(z: Address): void {
    const L = this.L;
    if (L.family === "win7") return;
    const idx = this.space.u32(z + lfhLayout("win8", L.bitness).zoneNextIndex);
    if (idx < 0) return;
    const byPointers = this.zoneSlotsByPointers(z, lfhLayout("win8-rtm", L.bitness));
    const indexFits = idx <= MAX_ZONE_SLOTS && byPointers < 0;
    const pointersFit = byPointers >= 0;
    const ownFits = L.zoneNextIndex >= 0 ? indexFits : pointersFit;
    if (ownFits) return;
    const other: LfhFamily | undefined = L.zoneNextIndex >= 0 ? (pointersFit ? "win8-rtm" : undefined) : indexFits ? "win8" : undefined;
    if (other === undefined) return;
    this.report(
      "LFH_LAYOUT_PROBED",
      `build ${this.run.target.os.build} implies the ${L.family} _LFH_BLOCK_ZONE (${L.zoneNextIndex >= 0 ? "NextIndex" : "FreePointer/Limit"}) but zone ${formatAddress(z)} fits the ${other} form (${other === "win8" ? "NextIndex" : "FreePointer/Limit"}); using ${other}`,
      z,
    );
    this.L = lfhLayout(other, this.heap.bitness);
    this.state.family = other;
  }

  private zone(z: Address): void {
    const { space, L } = this;
    const first = z + L.zoneArray;
    let count: number;
    if (L.zoneNextIndex < 0) {
      const fp = space.ptr(z + L.zoneFreePointer);
      const limit = space.ptr(z + L.zoneLimit);
      if (fp !== fp || limit !== limit) {
        this.report("LFH_NOT_CAPTURED", `zone ${formatAddress(z)} header is not in the dump`, z);
        return;
      }
      count = slotsInUse(first, fp, limit, L.ssSize);
      if (count < 0) {
        this.report("LFH_ZONE_BAD", `zone ${formatAddress(z)} has FreePointer ${formatAddress(fp)} / Limit ${formatAddress(limit)}`, z);
        return;
      }
    } else {
      count = space.u32(z + L.zoneNextIndex);
      if (count < 0) {
        this.report("LFH_NOT_CAPTURED", `zone ${formatAddress(z)} header is not in the dump`, z);
        return;
      }
      if (count > MAX_ZONE_SLOTS) {
        this.report("LFH_ZONE_BAD", `zone ${formatAddress(z)} has NextIndex ${count}`, z);
        return;
      }
    }
    if (!space.isMapped(first, count * L.ssSize)) {
      this.report("LFH_NOT_CAPTURED", `zone ${formatAddress(z)}: its ${count} subsegments are not all in the dump`, first);
      return;
    }
    if (this.slots + count > MAX_SUBSEGMENTS) {
      this.report("LFH_ZONE_BAD", `zone ${formatAddress(z)}: more than ${MAX_SUBSEGMENTS} subsegment slots in the heap`, z);
      return;
    }
    this.slots += count;
    for (let k = 0; k < count; k++) this.subsegment(first + k * L.ssSize, false);
  }

  /** One `_HEAP_SUBSEGMENT`. `fromHost`: reached through an unclaimed host's back-pointer. */
  private subsegment(ss: Address, fromHost: boolean): void {
    const { space, L } = this;
    const ub = space.ptr(ss + L.ssUserBlocks);
    const blockSizeG = space.u16(ss + L.ssBlockSize);
    const declared = space.u16(ss + L.ssBlockCount);
    const depth = space.u16(ss + L.ssAggregate);
    if (ub !== ub || blockSizeG < 0 || declared < 0 || depth < 0) {
      this.report("LFH_NOT_CAPTURED", `subsegment ${formatAddress(ss)} is not in the dump`, ss);
      return;
    }
    if (ub === 0) {
      this.state.emptySlots++;
      return;
    }
    if (!fromHost) {
      // a host walked as heap-nt found it, through this very subsegment: nothing to read again
      const kw = this.findHost(ub);
      if (kw >= 0 && this.hostClaimed[kw] === WALKED && this.hostUser(kw) === ub && this.streamedSs.get(this.hostIndex[kw]!) === ss) {
        this.hostClaimed[kw] = CLAIMED;
        return;
      }
    }
    const back = space.ptr(ub);
    const sig = space.u32(ub + L.udSignature);
    const k = this.findHost(ub);
    if (back !== ss) {
      // Retired subsegment whose user blocks were released or now belong to another subsegment.
      if (fromHost)
        this.report("LFH_USERDATA_BAD", `user blocks ${formatAddress(ub)} do not point back to subsegment ${formatAddress(ss)}`, ub);
      this.state.staleSubsegments++;
      return;
    }
    if (k < 0 && !fromHost) {
      if (sig !== USERDATA_SIGNATURE) {
        // Points back to this subsegment but lost its signature (and so its host flag).
        this.report(
          "LFH_USERDATA_BAD",
          `user blocks ${formatAddress(ub)} of subsegment ${formatAddress(ss)} lack the 0xF0E0D0C0 signature`,
          ub + L.udSignature
        );
        return;
      }
      this.report("LFH_HOST_MISSING", `subsegment ${formatAddress(ss)}: user blocks ${formatAddress(ub)} lie in no host block`, ub);
    }
    if (k >= 0) {
      if (this.hostClaimed[k] !== 0) {
        this.report("LFH_SUBSEGMENT_DUPLICATE", `subsegment ${formatAddress(ss)}: user blocks ${formatAddress(ub)} already claimed`, ss);
        return;
      }
      this.hostClaimed[k] = CLAIMED;
    }
    if (sig !== USERDATA_SIGNATURE) {
      this.report(
        "LFH_USERDATA_BAD",
        `user blocks ${formatAddress(ub)} of subsegment ${formatAddress(ss)} lack the 0xF0E0D0C0 signature`,
        ub + L.udSignature
      );
      return;
    }
    if (blockSizeG === 0 || declared === 0) {
      this.report("LFH_SUBSEGMENT_BAD", `subsegment ${formatAddress(ss)} has block size ${blockSizeG} and block count ${declared}`, ss);
      return;
    }
    this.walkSubsegment(ss, ub, blockSizeG, declared, depth, k >= 0 ? this.hostIndex[k]! : -1, k >= 0 ? this.hostEnd[k]! : Number.NaN);
  }

  /**
   * Walk the blocks of subsegment `ss` (user blocks `ub`, block size and count checked non-zero)
   * in host block `hostIdx` ending at `hostEnd` (-1 and NaN: in no host block).
   */
  private walkSubsegment(ss: Address, ub: Address, blockSizeG: number, declared: number, depth: number, hostIdx: number, hostEnd: number): void {
    const { space, L } = this;
    const stride = blockSizeG * L.granule;
    let first: number;
    let keyForSs: number | null = this.key;
    if (L.family === "win7") {
      first = L.udFirstBlock;
    } else {
      const r = this.decodeOffsets(ss, ub, stride, declared);
      if (r < 0) {
        this.report(
          "LFH_USERDATA_BAD",
          `subsegment ${formatAddress(ss)}: EncodedOffsets at ${formatAddress(
            ub + L.udEncodedOffsets
          )} do not decode to block size ${formatAddress(stride)}`,
          ub + L.udEncodedOffsets
        );
        return;
      }
      first = r;
      keyForSs = this.ssKey;
    }
    const end = hostIdx >= 0 ? hostEnd : ub + first + declared * stride;
    let count = Math.min(declared, MAX_BLOCKS);
    if (ub + first + count * stride > end) {
      count = Math.max(0, Math.floor((end - ub - first) / stride));
      this.report(
        "LFH_SUBSEGMENT_BAD",
        `subsegment ${formatAddress(ss)}: ${declared} blocks of ${formatAddress(stride)} bytes do not fit in the host block (${count} do)`,
        ss
      );
    }
    if (L.family === "win7") keyForSs = this.win7Key(ss, ub + first, stride, count);
    this.state.subsegments++;
    this.walkBlocks(ss, ub, first, stride, count, declared, depth, keyForSs, hostIdx, space.u8(ss + L.ssSizeIndex));
  }

  /** Key found for the current Win8+ subsegment by {@link decodeOffsets}. */
  private ssKey: number | null = null;

  /**
   * Win8+: FirstAllocationOffset from EncodedOffsets (raw on Win8, encoded on 8.1+), recovering
   * RtlpLFHKey when it is not known yet. Returns -1 when nothing decodes.
   */
  private decodeOffsets(ss: Address, ub: Address, stride: number, count: number): number {
    const { space, L } = this;
    const enc = space.u32(ub + L.udEncodedOffsets);
    if (enc < 0) return -1;
    const P = u32(this.heap.address);
    const F = u32(this.state.lfhHeap);
    const U = u32(ub);
    const minFirst = L.udBitmapData;
    const maxFirst = L.udBitmapData + Math.ceil(count / 8) + FIRST_OFFSET_SLACK;
    const plausible = (first: number) => first >= minFirst && first <= maxFirst && first % L.granule === 0;
    this.ssKey = this.key;
    if (this.key !== null) {
      for (const base of [F, P]) {
        const d = u32(enc ^ U ^ base ^ this.key);
        if (d >>> 16 === stride && plausible(d & 0xffff)) return d & 0xffff;
      }
    }
    // Win8: offsets stored unencoded.
    if (enc >>> 16 === stride && plausible(enc & 0xffff)) {
      if (this.key === null) this.ssKey = this.recoverFromHeader(ub, enc & 0xffff);
      if (this.key === null && this.ssKey !== null) this.key = this.ssKey;
      return enc & 0xffff;
    }
    // Recover the key: for each plausible first offset, the first header gives a candidate key
    // that must also decode EncodedOffsets to (first | stride << 16).
    for (let first = minFirst + ((L.granule - (minFirst % L.granule)) % L.granule); first <= maxFirst; first += L.granule) {
      const cand = this.recoverFromHeader(ub, first);
      if (cand === null) continue;
      const want = u32(first | (stride << 16));
      for (const base of [F, P]) {
        if (u32(enc ^ U ^ base ^ cand) === want) {
          if (this.key !== null && cand !== this.key) {
            this.report(
              "LFH_KEY_MISMATCH",
              `subsegment ${formatAddress(ss)} decodes with key 0x${cand.toString(16)}, the heap with 0x${this.key.toString(16)}`,
              ss
            );
          }
          if (this.key === null) this.key = cand;
          this.ssKey = cand;
          return first;
        }
      }
    }
    return -1;
  }

  /** Win8+ key candidate from the header at ub + first (block 0 of the subsegment). */
  private recoverFromHeader(ub: Address, first: number): number | null {
    const { space, L } = this;
    const h = ub + first;
    const code = space.u32(h + L.entryData);
    if (code < 0) return null;
    return u32(code ^ u32(this.heap.address) ^ shifted(h, L.shift) ^ ((first / L.granule) << 16));
  }

  /** Win7: the key most of the first headers agree on (header = ss ^ heap ^ (h >> shift) ^ key). */
  private win7Key(ss: Address, firstBlock: Address, stride: number, count: number): number | null {
    const { space, L } = this;
    const base = u32(u32(this.heap.address) ^ u32(ss));
    if (this.key !== null) {
      // Known key: keep it unless no header of this subsegment agrees with it.
      let agree = 0;
      let n = 0;
      for (let i = 0; i < count && n < KEY_VOTES; i++, n++) {
        const h = firstBlock + i * stride;
        const code = space.u32(h + L.entryData);
        if (code >= 0 && u32(code ^ base ^ shifted(h, L.shift)) === this.key) agree++;
      }
      if (agree > 0 || n === 0) return this.key;
    }
    const votes = this.votes;
    let n = 0;
    for (let i = 0; i < count && n < KEY_VOTES; i++) {
      const h = firstBlock + i * stride;
      const code = space.u32(h + L.entryData);
      if (code < 0) continue;
      votes[n++] = u32(code ^ base ^ shifted(h, L.shift));
    }
    let best: number | null = null;
    let bestCount = 0;
    for (let i = 0; i < n; i++) {
      let c = 0;
      for (let j = 0; j < n; j++) if (votes[j] === votes[i]) c++;
      if (c > bestCount) {
        bestCount = c;
        best = votes[i]!;
      }
    }
    if (best === null || (n >= 3 && bestCount < 2)) {
      this.report("LFH_KEY_NOT_FOUND", `subsegment ${formatAddress(ss)}: no key agreed by its block headers`, ss);
      return null;
    }
    if (this.key !== null && best !== this.key) {
      this.report(
        "LFH_KEY_MISMATCH",
        `subsegment ${formatAddress(ss)} decodes with key 0x${best.toString(16)}, the heap with 0x${this.key.toString(16)}`,
        ss
      );
    }
    if (this.key === null) this.key = best;
    return best;
  }

  private walkBlocks(
    ss: Address,
    ub: Address,
    first: number,
    stride: number,
    count: number,
    declared: number,
    depth: number,
    key: number | null,
    hostIdx: number,
    sizeIndex: number
  ): void {
    const { space, L } = this;
    const allocations = this.run.allocations;
    const heapIndex = this.heap.index;
    const g = L.granule;
    const entry = L.entry;
    const win8 = L.family !== "win7";
    const checkHeaders = this.options.checkHeaders && key !== null;
    const P = u32(this.heap.address);
    const ssLow = u32(ss);
    // The SubSegmentCode check in integers: (h >> shift) and, Win8+, (h - ub) / granule advance by
    // a constant per block when the blocks are aligned to both (real heaps always are), instead of
    // a division per block; otherwise they are computed per block.
    const unit = 1 << L.shift;
    const stepped = stride % unit === 0 && (ub + first) % unit === 0 && stride % g === 0 && first % g === 0;
    const hs0 = stepped ? shifted(ub + first, L.shift) : 0;
    const hsStep = stride / unit;
    const og0 = first / g;
    const ogStep = stride / g;
    // Win8 busy bitmap, copied once: read in place it would alternate the address space's window
    // between the bitmap and each block whenever the subsegment spans two cache blocks.
    let bitmapBytes = 0;
    if (win8) {
      const buf = space.ptr(ub + L.udBitmapBuffer);
      const bitmap = buf === buf && buf >= ub && buf + Math.ceil(count / 8) <= ub + first ? buf : ub + L.udBitmapData;
      const want = Math.ceil(count / 8);
      if (this.bitmap.length < want) this.bitmap = new Uint8Array(want);
      bitmapBytes = space.readInto(bitmap, this.bitmap, 0, want);
    }
    const bits = this.bitmap;
    let busy = 0;
    let free = 0;
    let busyBytes = 0;
    let badHeaders = 0;
    let firstBad = Number.NaN;
    let mismatch = 0;
    let firstMismatch = Number.NaN;
    let missing = Number.NaN;
    // Headers are read in place from a span over the user blocks, at an offset that advances by
    // the stride (refreshed when a header lies past the span or its memory was reused); the scalar
    // readers are the fallback for headers that straddle two pieces. The header word, the key and
    // the SubSegmentCode terms stay int32 and advance by a constant per block: a float address
    // per block turned into an integer offset, and the code decoded in doubles, cost about 9% of
    // this loop [bench: lfh 4M blocks, the loop alone 213-305 to 196-277 ms, medians of 10 runs
    // of each alternating in one process, 3 processes].
    const span = this.span;
    const entryData = L.entryData;
    const stepChecks = checkHeaders && stepped;
    const pk = stepChecks ? (P ^ key!) | 0 : 0;
    const ssI = ssLow | 0;
    const hsStepI = stepChecks ? hsStep | 0 : 0;
    const ogStepI = ogStep | 0;
    let hsI = stepChecks ? hs0 | 0 : 0;
    let ogI = og0 | 0;
    let o = 0;
    let oEnd = -1;
    let view = span.view;
    let bytes = span.bytes;
    let lease = span.lease;
    let h = ub + first;
    for (let i = 0; i < count; i++, h += stride, o += stride, hsI = (hsI + hsStepI) | 0, ogI = (ogI + ogStepI) | 0) {
      let code: number;
      let u: number;
      if (!(o + 8 <= oEnd) || lease.stale) {
        if (space.span(h + entryData, span) && span.length >= 8) {
          o = span.index;
          oEnd = o + span.length;
          view = span.view;
          bytes = span.bytes;
          lease = span.lease;
        } else {
          o = 0;
          oEnd = -1;
        }
      }
      if (o + 8 <= oEnd) {
        code = view.getInt32(o, true);
        u = bytes[o + 7]!;
      } else {
        const a = h + entryData;
        code = space.u32(a);
        u = space.u8(a + 7);
        if (code < 0 || u < 0) {
          if (missing !== missing) missing = h;
          continue;
        }
        code |= 0;
      }
      let corrupt = false;
      if (stepChecks) {
        // decoded = code ^ heap ^ (h >> shift) ^ key must be (offset in granules << 16) on Win8+,
        // the subsegment's low 32 bits on Win7
        if ((code ^ pk ^ hsI ^ (win8 ? ogI << 16 : ssI)) !== 0) corrupt = true;
      } else if (checkHeaders) {
        const d = u32(code ^ P ^ shifted(h, L.shift) ^ key!);
        const want = win8 ? u32(((h - ub) / g) << 16) : ssLow;
        if (d !== want) corrupt = true;
      }
      if ((u & 0x80) === 0) corrupt = true;
      const headerBusy = (u & 0x3f) !== 0;
      let isBusy = headerBusy;
      if (win8 && i >>> 3 < bitmapBytes) {
        isBusy = ((bits[i >>> 3]! >>> (i & 7)) & 1) === 1;
        if (isBusy !== headerBusy) {
          if (mismatch === 0) firstMismatch = h;
          mismatch++;
        }
      }
      if (corrupt) {
        if (badHeaders === 0) firstBad = h;
        badHeaders++;
      }
      let flags: number = AllocFlags.LFH | (corrupt ? AllocFlags.CORRUPT : 0);
      let user = h + entry;
      let requested = 0;
      let trace = 0;
      // free and busy blocks meet at one append: V8 inlines only a hot call site, and one it does
      // not inline boxes the addresses [bench: lfh 1M blocks, 29 MB of garbage per walk before]
      if (!isBusy) {
        free++;
        flags |= AllocFlags.FREE;
      } else {
        flags |= AllocFlags.BUSY;
        busy++;
        const low = u & 0x3f;
        if ((u & 0x40) !== 0 && low > 0 && (low + 1) * g <= stride) {
          const ext = h + low * g + L.entryData;
          const len = space.u16(ext + 4);
          user = h + (low + 1) * g;
          requested = len < 0 ? -1 : stride - len;
          if (space.u8(ext + 7) !== 5) requested = -1;
          if (low >= 2) {
            const p = space.ptr(h + g);
            if (p === p && p !== 0) {
              trace = p;
              flags |= AllocFlags.HAS_TRACE;
              this.state.traced++;
            }
          }
        } else if (low === 0x3f) {
          const unused = L.ptr === 8 ? space.u64(h + stride) : space.u32(h + stride - 4);
          requested = unused >= 0 ? stride - unused : -1;
        } else {
          requested = stride - low;
        }
        if (!(requested >= 0 && requested <= stride - (user - h))) {
          flags |= AllocFlags.SIZE_INEXACT;
          requested = stride - (user - h);
        }
        busyBytes += requested;
      }
      allocations.add(heapIndex, user, h, requested, stride, flags, trace, hostIdx);
    }
    this.state.busy += busy;
    this.state.free += free;
    this.state.busyBytes += busyBytes;
    this.state.corrupt += badHeaders;
    if (missing === missing)
      this.report(
        "LFH_NOT_CAPTURED",
        `subsegment ${formatAddress(ss)}: block header at ${formatAddress(missing)} is not in the dump`,
        missing
      );
    if (badHeaders > 0) {
      this.report(
        "LFH_BLOCK_HEADER_BAD",
        `subsegment ${formatAddress(ss)}: ${badHeaders} block headers do not decode to their subsegment (first ${formatAddress(firstBad)})`,
        firstBad
      );
    }
    if (mismatch > 0) {
      this.report(
        "LFH_BITMAP_MISMATCH",
        `subsegment ${formatAddress(ss)}: ${mismatch} blocks where the busy bitmap and the header disagree (first ${formatAddress(
          firstMismatch
        )})`,
        firstMismatch
      );
    }
    if (count === declared && missing !== missing && busy !== declared - depth) {
      this.report(
        "LFH_BUSY_COUNT_MISMATCH",
        `subsegment ${formatAddress(ss)}: ${busy} busy blocks, bookkeeping says ${declared} - ${depth}`,
        ss
      );
    }
    if (!win8 && count === declared) this.checkWin7FreeList(ss, ub, first, stride, count, depth);
    let b = this.buckets.get(stride);
    if (!b) {
      b = { blockSize: stride, sizeIndex, subsegments: 0, totalBlocks: 0, busyBlocks: 0, freeBlocks: 0, busyBytes: 0 };
      this.buckets.set(stride, b);
    }
    b.subsegments++;
    b.totalBlocks += count;
    b.busyBlocks += busy;
    b.freeBlocks += free;
    b.busyBytes += busyBytes;
  }

  /**
   * Win7: follow AggregateExchg.FreeEntryOffset (granules from the user blocks to a free block's
   * header) through the u16 stored in each free block's data, until 0xFFFF; every entry must be
   * a block boundary whose header says free, and the chain must hold Depth entries.
   */
  private checkWin7FreeList(ss: Address, ub: Address, first: number, stride: number, count: number, depth: number): void {
    const { space, L } = this;
    let off = space.u16(ss + L.ssAggregate + 2);
    let n = 0;
    let problem = "";
    let where: Address = ss;
    while (off !== 0xffff) {
      if (off < 0) {
        problem = "an unreadable link";
        break;
      }
      const h = ub + off * L.granule;
      const rel = h - ub - first;
      if (rel < 0 || rel % stride !== 0 || rel / stride >= count) {
        problem = `an entry outside the blocks (${formatAddress(h)})`;
        where = h;
        break;
      }
      if (n >= count) {
        problem = "a cycle";
        where = h;
        break;
      }
      const u = space.u8(h + L.entryData + 7);
      if (u < 0 || (u & 0x3f) !== 0) {
        problem = `a busy block (${formatAddress(h)})`;
        where = h;
        break;
      }
      n++;
      off = space.u16(h + L.entry);
    }
    if (problem === "" && n !== depth) {
      problem = `${n} entries where Depth is ${depth}`;
    }
    if (problem !== "") this.report("LFH_FREE_LIST_BAD", `subsegment ${formatAddress(ss)}: the free list has ${problem}`, where);
  }

  private finish(): void {
    const s = this.state;
    s.key = this.key;
    s.buckets = [...this.buckets.values()].sort((a, b) => a.blockSize - b.blockSize);
    const summary = this.heap.summary;
    summary.lfh = true;
    summary.lfhKey = this.key === null ? null : `0x${this.key.toString(16).padStart(8, "0")}`;
    summary.lfhZones = s.zones;
    summary.lfhBuckets = s.buckets.length;
    summary.lfhSubsegments = s.subsegments;
    summary.lfhBusy = s.busy;
    summary.lfhFree = s.free;
    summary.lfhBusyBytes = s.busyBytes;
    if (s.corrupt > 0) summary.lfhCorrupt = s.corrupt;
    if (s.traced > 0) summary.lfhTraced = s.traced;
  }
}
