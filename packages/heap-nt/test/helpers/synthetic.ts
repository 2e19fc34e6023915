import { AllocFlags, type Run, memoryTarget, type Target } from "@leakscope/core";
import { type ExpectedNtBlock, type MemoryPiece, NT_LAYOUT_BUILD, type NtHeapSpec, type NtWriterLayout } from "@leakscope/test-utils";

/** The blocks the walker appended for one heap, in the writer's expected shape, sorted by block address. */
export function actualBlocks(run: Run, heapAddress: number, bitness: 32 | 64): ExpectedNtBlock[] {
  const heap = run.heaps.find((h) => h.address === heapAddress && h.bitness === bitness);
  if (!heap) throw new Error(`heap ${heapAddress.toString(16)} not found`);
  const out: ExpectedNtBlock[] = [];
  const a = run.allocations;
  for (let i = 0; i < a.count; i++) {
    if (a.heap(i) !== heap.index) continue;
    const f = a.flags(i);
    const kind =
      f & AllocFlags.FREE ? "free" : f & AllocFlags.VIRTUAL ? "virtual" : f & AllocFlags.HOST ? "host" : f & AllocFlags.INTERNAL ? "internal" : "user";
    out.push({
      userAddress: a.userAddress(i),
      blockAddress: a.blockAddress(i),
      requestedSize: a.requestedSize(i),
      blockSize: a.blockSize(i),
      kind,
      trace: f & AllocFlags.HAS_TRACE ? a.tracePointer(i) : 0,
      traceIndex: (f & AllocFlags.TRACE_INDEX) !== 0,
    });
  }
  return out.sort((x, y) => x.blockAddress - y.blockAddress);
}

export function sortExpected(e: ExpectedNtBlock[]): ExpectedNtBlock[] {
  return e.slice().sort((x, y) => x.blockAddress - y.blockAddress);
}

/** A target over synthetic pieces with the given views. */
export function syntheticTarget(
  layout: NtWriterLayout,
  memory: MemoryPiece[],
  views: { bitness: 32 | 64; peb?: number; role?: "native" | "wow64" }[],
): Target {
  const native = views[0]!.bitness;
  return memoryTarget({
    arch: native === 64 ? "x64" : "x86",
    os: { major: 10, minor: 0, build: NT_LAYOUT_BUILD[layout] },
    memory,
    views,
  });
}

/** A heap spec exercising every block kind the layout supports. */
export function richSpec(layout: NtWriterLayout, bitness: 32 | 64, base: number, seed = 0): NtHeapSpec {
  const blocks = [
    { size: 1 + seed },
    { size: 24 },
    { size: 100, free: true },
    { size: 0 },
    { size: 333, trace: (bitness === 64 ? 0x7ff6_0000_1230 : 0x7730_1230) + seed * 16 },
    { size: 77, extended: true },
    { size: 40, slack: 9 },
    { size: 500, free: true },
    { size: 19, traceIndex: 0x1234 },
    { size: 4000, lfhHost: true },
    { size: 9, slack: 1 },
    { size: 65 },
  ];
  return {
    layout,
    bitness,
    base,
    ust: true,
    frontEndHeapType: 2,
    segments: [
      { blocks, uncommitted: [{ after: 3, pages: 2 }], tailUncommittedPages: 3 },
      { base: base + 0x200000, blocks: [{ size: 8 }, { size: 1000, free: true }, { size: 4096 }, { size: 3 }] },
    ],
    virtualBlocks: [{ size: 0x12345 }, { size: 70000, trace: bitness === 64 ? 0x7ff6_0000_4560 : 0x7730_4560 }],
  };
}
