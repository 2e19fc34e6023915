/**
 * Synthetic dumps at benchmark scale (1 to 16+ million heap blocks) for `npm run bench`.
 *
 * A dump is produced heap by heap: each heap (at most {@link BENCH_BLOCKS_PER_HEAP} blocks) is
 * laid out by the NT heap writer, its memory pieces go to a {@link MinidumpBuilder} and the
 * per-block bookkeeping of the writer is dropped before the next heap is laid out, so the
 * generator's JavaScript heap stays bounded by one heap's worth of blocks. The heap bytes are kept
 * once (as the builder's ranges) and streamed to the file by `writeTo`; nothing is concatenated.
 *
 * Block sizes are drawn from a seeded generator ({@link Rng}), so a scenario and a block count
 * always give the same file.
 */
import { MinidumpBuilder } from "./minidump/builder.js";
import { NT_LAYOUT_BUILD, type NtBlockSpec, type NtSegmentSpec, type NtVirtualBlockSpec, type NtWriterLayout, writeNtHeap, writePeb } from "./heap/nt/writer.js";
import { Rng } from "./fuzz.js";
import { SEGMENT_LAYOUT_BUILD, type SegmentAllocSpec, writeSegmentHeap } from "./heap/segment/writer.js";
import { type LfhHeapSpec, type LfhSubsegmentSpec, lfhUserBlocksBytes, writeLfhInNtHeap } from "./heap/lfh/writer.js";

export type BenchScenarioName = "nt" | "wow64" | "lfh" | "segment";

export interface BenchScenario {
  /** What the dump holds, one sentence. */
  description: string;
  /** Pointer size of the walked heaps. */
  bitness: 32 | 64;
  /** NT heap layout family written (and the OS build put in SystemInfo). */
  layout: NtWriterLayout;
  /** Largest block count the scenario supports (address-space limit of 32-bit heaps). */
  maxBlocks: number;
}

/** The scenarios {@link writeBenchDump} can write. */
export const benchScenarios: Readonly<Record<BenchScenarioName, BenchScenario>> = {
  nt: {
    description:
      "x64 process (Windows 10 19041 layout): NT heaps of up to 1M blocks each, 32768 blocks per segment with an uncommitted tail, ~10% free blocks, sizes 8 B to 8 KiB, a VirtualAlloc'd block per 250k blocks",
    bitness: 64,
    layout: "win10-1709",
    maxBlocks: 64_000_000,
  },
  wow64: {
    description:
      "WoW64 process in a 64-bit dump (both PEBs, Windows 10 19041 layout): 32-bit NT heaps of up to 1M blocks each, same size mix as nt",
    bitness: 32,
    layout: "win10-1709",
    maxBlocks: 12_000_000,
  },
  lfh: {
    description:
      "x64 process (Windows 10 19041 layout): NT heaps whose blocks are almost all LFH blocks, 512 per subsegment in 7 buckets (0x20-0x100 bytes), ~10% free, up to 1M blocks per heap",
    bitness: 64,
    layout: "win10-1709",
    maxBlocks: 16_000_000,
  },
  segment: {
    description:
      "x64 process (Windows 10 21H2 layout) with segment heaps of up to 1M blocks each: 1 MiB page segments of 2000 VS blocks (16-256 B) and 3000 LFH blocks (8-128 B), ~10% free, a large block per heap",
    bitness: 64,
    layout: "win10-1709",
    maxBlocks: 64_000_000,
  },
};

/** Blocks per heap: heaps are written one at a time, so this bounds the generator's memory. */
export const BENCH_BLOCKS_PER_HEAP = 1_000_000;
const BLOCKS_PER_SEGMENT = 32768;
const BLOCKS_PER_VIRTUAL = 250_000;
const TAIL_PAGES = 4;

export interface BenchDumpInfo {
  scenario: BenchScenarioName;
  /** Blocks written: segment blocks (busy and free) plus virtual blocks. */
  blocks: number;
  /** Busy user allocations among them (what the engine counts as live). */
  busyBlocks: number;
  freeBlocks: number;
  virtualBlocks: number;
  heaps: number;
  segments: number;
  /** Captured memory bytes in the dump. */
  memoryBytes: number;
  /** Sum of the requested sizes of the busy blocks (segment and virtual). */
  busyRequestedBytes: number;
  file: string;
}

/** Deterministic size mix: mostly small, a tail of larger blocks, ~10% free (never two in a row). */
function drawBlock(rng: Rng, prevFree: boolean): NtBlockSpec {
  const r = rng.below(1000);
  if (!prevFree && r < 100) return { size: 16 + (rng.below(32) << 4), free: true };
  const s = rng.below(1000);
  let size: number;
  if (s < 600) size = 8 + rng.below(57);
  else if (s < 850) size = 65 + rng.below(192);
  else if (s < 985) size = 257 + rng.below(768);
  else size = 1025 + rng.below(7168);
  return { size };
}

function heapPlan(rng: Rng, blocks: number, perVirtual: number): { segments: NtSegmentSpec[]; virtualBlocks: NtVirtualBlockSpec[]; estimate: number } {
  const segments: NtSegmentSpec[] = [];
  const virtualBlocks: NtVirtualBlockSpec[] = [];
  let left = blocks;
  let estimate = 0x20000;
  let prevFree = false;
  let sinceVirtual = 0;
  let current: NtBlockSpec[] = [];
  while (left > 0) {
    if (sinceVirtual >= perVirtual - 1) {
      const size = 0x40000 + rng.below(0xc0000);
      virtualBlocks.push({ size });
      estimate += size + 0x21000;
      sinceVirtual = 0;
      left--;
      continue;
    }
    const b = drawBlock(rng, prevFree);
    prevFree = b.free === true;
    current.push(b);
    estimate += b.size + 32;
    sinceVirtual++;
    left--;
    if (current.length === BLOCKS_PER_SEGMENT) {
      segments.push({ blocks: current, tailUncommittedPages: TAIL_PAGES });
      estimate += 0x20000 + TAIL_PAGES * 0x1000;
      current = [];
      prevFree = false;
    }
  }
  if (current.length > 0 || segments.length === 0) {
    segments.push({ blocks: current, tailUncommittedPages: TAIL_PAGES });
    estimate += 0x20000 + TAIL_PAGES * 0x1000;
  }
  return { segments, virtualBlocks, estimate };
}

/** One segment heap of `blocks` blocks at `base`; counts go to `info`. */
function segmentHeapPlan(rng: Rng, blocks: number, base: number, info: BenchDumpInfo) {
  const allocations: SegmentAllocSpec[] = [];
  const VS = 2000;
  const LFH = 3000;
  let left = blocks;
  let segment = 0;
  // one large block per heap (counted among the blocks)
  allocations.push({ kind: "large", size: 0x40000 + rng.below(0x40000) });
  info.busyBlocks++;
  info.busyRequestedBytes += allocations[0]!.size;
  info.virtualBlocks++;
  left--;
  while (left > 0) {
    for (let i = 0; i < VS + LFH && left > 0; i++, left--) {
      const free = rng.below(10) === 0;
      const a: SegmentAllocSpec =
        i < VS ? { kind: "vs", size: 16 + rng.below(241), segment } : { kind: "lfh", size: 8 + rng.below(121), segment };
      if (free) a.free = true;
      else {
        info.busyBlocks++;
        info.busyRequestedBytes += a.size;
      }
      if (free) info.freeBlocks++;
      allocations.push(a);
    }
    segment++;
  }
  info.segments += segment;
  return writeSegmentHeap({ layout: "21H2", bitness: 64, base, allocations, collectExpected: false });
}

/**
 * One LFH-heavy NT heap of `blocks` blocks at `base`: 512-block subsegments in 7 buckets, their
 * user blocks hosted by backend blocks, the LFH structures 2 GiB above the heap. Returns the
 * memory pieces; counts go to `info`.
 */
function lfhHeapPieces(rng: Rng, blocks: number, base: number, info: BenchDumpInfo, hostsPerSegment = 4095) {
  const BUCKETS = [0x20, 0x30, 0x40, 0x60, 0x80, 0xc0, 0x100];
  const PER_SUBSEGMENT = 512;
  const subsegments: LfhSubsegmentSpec[] = [];
  for (let left = blocks, k = 0; left > 0; k++) {
    const blockSize = BUCKETS[k % BUCKETS.length]!;
    const n = Math.min(PER_SUBSEGMENT, left);
    left -= n;
    const list = [];
    for (let i = 0; i < n; i++) list.push(rng.below(10) === 0 ? { size: 0, free: true } : { size: blockSize - 16 - rng.below(16) });
    subsegments.push({ blockSize, blocks: list });
  }
  const lfhHeap = base + 0x80000000;
  const spec: LfhHeapSpec = { version: "win10", bitness: 64, heap: base, lfhHeap, subsegments, perZone: 64 };
  const ntBlocks: NtBlockSpec[] = [{ size: 0x50 }];
  const segments: NtSegmentSpec[] = [];
  subsegments.forEach((_, i) => {
    ntBlocks.push({ size: lfhUserBlocksBytes(spec, i), lfhHost: true });
    if (ntBlocks.length >= hostsPerSegment + 1) segments.push({ blocks: ntBlocks.splice(0), tailUncommittedPages: TAIL_PAGES });
  });
  if (ntBlocks.length > 0 || segments.length === 0) segments.push({ blocks: ntBlocks, tailUncommittedPages: TAIL_PAGES });
  const nt = writeNtHeap({ layout: "win10-1709", bitness: 64, base, frontEndHeapType: 2, frontEndHeap: lfhHeap, segments });
  const { lfh, structures } = writeLfhInNtHeap(nt, spec);
  for (const b of lfh.expected) {
    if (b.busy) {
      info.busyBlocks++;
      info.busyRequestedBytes += b.requestedSize;
    } else info.freeBlocks++;
  }
  for (const e of nt.expected) {
    if (e.kind === "user") {
      info.busyBlocks++;
      info.busyRequestedBytes += e.requestedSize;
    } else if (e.kind === "free") info.freeBlocks++;
  }
  info.segments += nt.segments.length;
  return [...nt.pieces, ...structures];
}

const MB = 0x100000;
const alignUp = (v: number, a: number): number => Math.ceil(v / a) * a;

/**
 * Write a benchmark dump of `blocks` heap blocks for `scenario` to `file` (streamed with
 * `MinidumpBuilder.writeTo`). Deterministic for a given (scenario, blocks).
 */
export interface BenchDumpOptions {
  /** Blocks per heap (default {@link BENCH_BLOCKS_PER_HEAP}); smaller values make small test dumps with several heaps. */
  blocksPerHeap?: number;
  /** One VirtualAlloc'd block per this many blocks (default 250000). */
  blocksPerVirtual?: number;
  /** LFH scenario: host blocks per backend segment (default 4095, one segment per 2M blocks); small values make multi-segment LFH heaps. */
  lfhHostsPerSegment?: number;
}

export function writeBenchDump(scenario: BenchScenarioName, blocks: number, file: string, options: BenchDumpOptions = {}): BenchDumpInfo {
  const perHeap = Math.max(1, Math.floor(options.blocksPerHeap ?? BENCH_BLOCKS_PER_HEAP));
  const perVirtual = Math.max(2, Math.floor(options.blocksPerVirtual ?? BLOCKS_PER_VIRTUAL));
  const sc = benchScenarios[scenario];
  if (sc === undefined) throw new Error(`unknown bench scenario ${String(scenario)}`);
  if (!Number.isInteger(blocks) || blocks < 1 || blocks > sc.maxBlocks) {
    throw new Error(`bench scenario ${scenario}: blocks must be an integer in 1..${sc.maxBlocks}`);
  }
  const build = scenario === "segment" ? SEGMENT_LAYOUT_BUILD["21H2"] : NT_LAYOUT_BUILD[sc.layout];
  const builder = new MinidumpBuilder({ flags: 0x1826 });
  builder.systemInfo({ arch: "x64", major: 10, minor: 0, build });
  let pebBytes: Uint8Array;
  let peb: number;
  let peb64: { bytes: Uint8Array; address: number } | undefined;
  if (scenario === "wow64") {
    const l = builder.wow64Process({ pebSize: 0x1000, systemInfo: false });
    pebBytes = l.peb32Bytes;
    peb = l.peb32;
    peb64 = { bytes: l.peb64Bytes, address: l.peb64 };
  } else {
    const l = builder.nativeProcess({ bitness: 64, pebSize: 0x1000, systemInfo: false });
    pebBytes = l.pebBytes;
    peb = l.peb;
  }
  const rng = new Rng(0x5eed0000 ^ blocks);
  const info: BenchDumpInfo = {
    scenario,
    blocks: 0,
    busyBlocks: 0,
    freeBlocks: 0,
    virtualBlocks: 0,
    heaps: 0,
    segments: 0,
    memoryBytes: 0,
    busyRequestedBytes: 0,
    file,
  };
  const heapBases: number[] = [];
  // 64-bit heaps 4 GiB apart from 0x200_0000_0000; 32-bit heaps packed from 16 MiB, skipping the
  // PEB/TEB area near 0x7e000000.
  let next = sc.bitness === 64 ? 0x20000000000 : 0x01000000;
  for (let left = blocks; left > 0; ) {
    const n = Math.min(left, perHeap);
    left -= n;
    if (scenario === "lfh") {
      const base = next;
      for (const p of lfhHeapPieces(rng, n, base, info, Math.max(1, Math.floor(options.lfhHostsPerSegment ?? 4095)))) {
        builder.memory(p.address, p.bytes);
        info.memoryBytes += p.bytes.length;
      }
      info.blocks += n;
      info.heaps++;
      heapBases.push(base);
      next = base + 0x100000000;
      continue;
    }
    if (scenario === "segment") {
      const base = next;
      const written = segmentHeapPlan(rng, n, base, info);
      let end = base;
      for (const p of written.pieces) {
        builder.memory(p.address, p.bytes);
        info.memoryBytes += p.bytes.length;
        end = Math.max(end, p.address + p.bytes.length);
      }
      info.blocks += n;
      info.heaps++;
      heapBases.push(base);
      next = base + 0x100000000;
      continue;
    }
    const plan = heapPlan(rng, n, perVirtual);
    let base = next;
    if (sc.bitness === 32) {
      if (base < 0x7f000000 && base + plan.estimate > 0x7d000000) base = 0x80000000;
      if (base + plan.estimate > 0xfff00000) throw new Error(`bench scenario ${scenario}: ${blocks} blocks do not fit a 32-bit address space`);
    }
    const heap = writeNtHeap({ layout: sc.layout, bitness: sc.bitness, base, segments: plan.segments, virtualBlocks: plan.virtualBlocks });
    let end = base;
    for (const p of heap.pieces) {
      builder.memory(p.address, p.bytes);
      info.memoryBytes += p.bytes.length;
      end = Math.max(end, p.address + p.bytes.length);
    }
    for (const e of heap.expected) {
      if (e.kind === "user" || e.kind === "virtual") {
        info.busyBlocks++;
        info.busyRequestedBytes += e.requestedSize;
        if (e.kind === "virtual") info.virtualBlocks++;
      } else if (e.kind === "free") info.freeBlocks++;
    }
    info.blocks += n;
    info.segments += heap.segments.length;
    info.heaps++;
    heapBases.push(base);
    next = sc.bitness === 64 ? base + 0x100000000 : alignUp(end, MB) + MB;
  }
  const pebPage = writePeb({ bitness: sc.bitness, address: peb, heaps: heapBases, maximumNumberOfHeaps: Math.max(16, heapBases.length) });
  pebBytes.set(pebPage.bytes.subarray(0, Math.min(pebPage.bytes.length, pebBytes.length)));
  if (peb64) {
    const page = writePeb({ bitness: 64, address: peb64.address, heaps: [] });
    peb64.bytes.set(page.bytes.subarray(0, Math.min(page.bytes.length, peb64.bytes.length)));
  }
  builder.writeTo(file);
  return info;
}
