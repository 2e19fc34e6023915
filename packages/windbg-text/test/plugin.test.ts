import { readFileSync } from "node:fs";
import {
  AllocFlags,
  BufferSource,
  Engine,
  type OpenRun,
  type Run,
  isUserAllocation,
  validateReport,
} from "@leakscope/core";
import { sharedFile } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { type HeapListingBlock, type HeapStatBlock, blocksOfKind, claimsWindbgText, poolRowsOf, windbgText } from "../src/index.js";

const seed000 = sharedFile("seeds/000_34eaf19305ece164.txt");
const seed003 = sharedFile("seeds/003_b2032f33e9a1bbb6.txt");

async function open(bytes: Uint8Array, name: string, command = "heaps"): Promise<OpenRun> {
  const engine = new Engine({ plugins: [windbgText()] });
  return engine.openSource(new BufferSource(bytes, name), { command, depth: "walk" });
}

/** Allocation indices of one heap. */
function allocationsOf(run: Run, heapIndex: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < run.allocations.count; i++) if (run.allocations.heap(i) === heapIndex) out.push(i);
  return out;
}

function heapAt(run: Run, address: number, bitness: 32 | 64) {
  const h = run.heaps.find((x) => x.address === address && x.bitness === bitness);
  if (!h) throw new Error(`heap ${address.toString(16)}/${bitness} not found`);
  return h;
}

describe("seed 003 through the engine (WoW64 x86 + x64 session, kernel !poolused)", () => {
  it.skipIf(!seed003.present)("opens as a WoW64 windbg-log target with one view per bitness", async () => {
    const o = await open(readFileSync(seed003.path), "003.txt");
    try {
      const t = o.run.target;
      expect(t.kind).toBe("text");
      expect(t.format).toBe("windbg-log");
      expect(t.arch).toBe("x64");
      expect(t.wow64).toBe(true);
      expect(t.views.map((v) => [v.bitness, v.role, v.space.pointerSize])).toEqual([
        [64, "native", 8],
        [32, "wow64", 4],
      ]);
      expect(t.data.windbg?.blocks.length).toBeGreaterThan(10);
      expect(validateReport(o.report)).toEqual({ valid: true, errors: [] });
    } finally {
      o.close();
    }
  });

  it.skipIf(!seed003.present)("finds heaps 0x7a0000 (32-bit) and 0x2049b870000 (64-bit) with the !heap -s figures", async () => {
    const o = await open(readFileSync(seed003.path), "003.txt");
    try {
      const { run } = o;
      expect(run.heaps.map((h) => [h.address, h.bitness, h.kind, h.walker, h.foundBy])).toEqual([
        [0x7a0000, 32, "nt", "windbg-text", ["log"]],
        [0x2049b870000, 64, "nt", "windbg-text", ["log"]],
      ]);
      const h = run.heaps[0]!;
      expect(h.view.bitness).toBe(32);
      expect(h.summary).toMatchObject({ reservedK: 4296, committedK: 3892, virtualK: 4084, freeK: 392, freeListLength: 57, ucrs: 3, lfh: true });
      expect(h.stats.reserved).toBe(4296 * 1024);
      expect(h.stats.committed).toBe(3892 * 1024);
    } finally {
      o.close();
    }
  });

  it.skipIf(!seed003.present)("walks the 0x7a0000 !heap -h listing: 195 busy 0x3fff blocks, stats equal the listing", async () => {
    const bytes = readFileSync(seed003.path);
    const o = await open(bytes, "003.txt");
    try {
      const { run } = o;
      const h = heapAt(run, 0x7a0000, 32);
      const idx = allocationsOf(run, h.index);
      const a = run.allocations;
      const big = idx.filter((i) => isUserAllocation(a.flags(i)) && a.requestedSize(i) === 0x3fff);
      expect(big).toHaveLength(195);
      // Every 0x3fff block is 0x4018 bytes (0x803 granules of 8) with a header 8 bytes before the user pointer.
      expect(big.every((i) => a.blockSize(i) === 0x4018 && a.userAddress(i) === a.blockAddress(i) + 8)).toBe(true);

      // The stats equal what the listing itself says (counted from the parsed listing, independently).
      const listing = blocksOfKind(run.target.data.windbg!, "heapListing")
        .flatMap((b: HeapListingBlock) => b.heaps)
        .filter((l) => l.address === 0x7a0000);
      const entries = listing.flatMap((l) => l.entries);
      const busy = entries.filter((e) => e.state === "busy" || e.state === "virtualalloc");
      const free = entries.filter((e) => e.state === "free");
      expect(h.stats.busy.count).toBe(busy.length);
      expect(h.stats.busy.bytes).toBe(busy.reduce((n, e) => n + (e.requestedSize ?? 0), 0));
      expect(h.stats.free.count).toBe(57);
      expect(h.stats.free.bytes).toBe(0xc44b * 8);
      // Internal rows are kept, flagged INTERNAL, and not counted as user allocations.
      const internal = entries.filter((e) => e.state === "internal").length;
      expect(idx.filter((i) => (a.flags(i) & AllocFlags.INTERNAL) !== 0)).toHaveLength(internal);
      // Each block once: the -flt r, -x and -p -a rows of this heap are all in the listing.
      expect(idx).toHaveLength(busy.length + free.length + internal);
      expect(new Set(idx.map((i) => a.blockAddress(i))).size).toBe(idx.length);
    } finally {
      o.close();
    }
  });

  it.skipIf(!seed003.present)("counts the x64 -flt r rows once (135 blocks; the listing is printed twice)", async () => {
    const o = await open(readFileSync(seed003.path), "003.txt");
    try {
      const { run } = o;
      const h = heapAt(run, 0x2049b870000, 64);
      const idx = allocationsOf(run, h.index);
      const a = run.allocations;
      expect(idx).toHaveLength(135);
      expect(idx.every((i) => a.requestedSize(i) === 0x3fff && a.blockSize(i) === 0x403 * 16 && a.flags(i) === AllocFlags.BUSY)).toBe(true);
      expect(h.stats.busy).toEqual({ count: 135, bytes: 135 * 0x3fff });
    } finally {
      o.close();
    }
  });

  it.skipIf(!seed003.present)("attaches the 7-frame !heap -p -a stack to block 0x2049bf29290", async () => {
    const o = await open(readFileSync(seed003.path), "003.txt");
    try {
      const { run } = o;
      const traces = run.data.traces!;
      expect(traces.status).toBe("present");
      expect(traces.ust).toBe(true);
      expect(traces.stackOf).toHaveLength(run.allocations.count);
      const i = run.allocations.findContaining(0x2049bf29290);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(run.allocations.userAddress(i)).toBe(0x2049bf29290);
      const s = traces.stacks[traces.stackOf[i]!]!;
      expect(s.frames).toHaveLength(7);
      expect(s.frames[3]).toBe(0x7ff73d131119);
      expect(s.text?.[3]).toEqual({ text: "ConsoleApplication4!main+0x69", module: "ConsoleApplication4", symbol: "main", offset: 0x69 });
      expect(s.text?.map((f) => f.text)).toEqual(["ntdll!RtlpCallInterceptRoutine+0x2ac", "ntdll!RtlpAllocateNTHeapInternal+0x525", "ntdll!RtlAllocateHeap+0xad4", "ConsoleApplication4!main+0x69", "ConsoleApplication4!__scrt_common_main_seh+0x10c", "kernel32!BaseThreadInitThunk+0x17", "ntdll!RtlUserThreadStart+0x2c"]);
      // Only that block has a stack.
      expect(Array.from(traces.stackOf).filter((x) => x >= 0)).toHaveLength(1);
    } finally {
      o.close();
    }
  });

  it.skipIf(!seed003.present)("exposes the !poolused rows through poolRowsOf (last snapshot by default)", async () => {
    const o = await open(readFileSync(seed003.path), "003.txt");
    try {
      const t = o.run.target;
      expect(t.data.windbgPool?.snapshots.map((s) => s.command)).toEqual(["!poolused 2", "!poolused 2"]);
      const rows = poolRowsOf(t);
      expect(rows).toHaveLength(8);
      expect(rows[0]).toEqual({ tag: "Proc", nonPagedAllocs: 156248, nonPagedFrees: 0, nonPagedBytes: 579970176, pagedAllocs: 0, pagedFrees: 0, pagedBytes: 0, description: "Process objects", binary: "nt!ps" });
      expect(rows.map((r) => r.tag)).toEqual(["Proc", "AleS", "AleE", "MiP2", "Even", "AleP", "MFE0", "_LFK"]);
      expect(t.data.windbgPool?.snapshots[1]?.rows[0]).toMatchObject({ description: "Process objects", binary: "nt!ps" });
    } finally {
      o.close();
    }
  });
});

describe("seed 000 through the engine (x86 !heap -s, -stat, -flt s)", () => {
  it.skipIf(!seed000.present)("registers the 10 !heap -s heaps with their summary figures", async () => {
    const o = await open(readFileSync(seed000.path), "000.txt");
    try {
      const { run } = o;
      expect(run.target.arch).toBe("x86");
      expect(run.target.wow64).toBe(false);
      expect(run.target.views.map((v) => v.bitness)).toEqual([32]);
      expect(run.heaps.map((h) => h.address)).toEqual([0xd40000, 0xd10000, 0x28a0000, 0x4260000, 0x8ab0000, 0xdf60000, 0x20e30000, 0x258e0000, 0x22460000, 0x25490000]);
      expect(run.heaps.every((h) => h.bitness === 32 && h.kind === "nt")).toBe(true);
      const h = heapAt(run, 0x28a0000, 32);
      expect(h.summary).toMatchObject({ flags: "0x1002", reservedK: 750640, committedK: 749024, virtualK: 750428, freeK: 1574, freeListLength: 2353, ucrs: 249, virtualBlocks: 6, lockContention: 0x565c, lfh: true });
      expect(h.stats.reserved).toBe(750640 * 1024);
      expect(heapAt(run, 0x4260000, 32).summary.lfh).toBe(false);
      expect(validateReport(o.report).valid).toBe(true);
      const reported = o.report.heaps?.find((x) => x.address === "0x28a0000" || x.address === "0x028a0000");
      expect(reported).toBeDefined();
    } finally {
      o.close();
    }
  });

  it.skipIf(!seed000.present)("turns the !heap -stat -h 028a0000 table into 20 size groups with WinDbg's percentages", async () => {
    const o = await open(readFileSync(seed000.path), "000.txt");
    try {
      const { run } = o;
      const h = heapAt(run, 0x28a0000, 32);
      const groups = run.data.sizeGroups!;
      expect(groups).toHaveLength(20);
      expect(groups.every((g) => g.heap === h.index && /^!heap -stat -h 028a0000 at line \d+$/.test(g.source))).toBe(true);
      const [table] = blocksOfKind(run.target.data.windbg!, "heapStat") as [HeapStatBlock];
      expect(groups.map((g) => [g.size, g.count, g.bytes, g.percent])).toEqual(table.tables[0]!.groups.map((g) => [g.size, g.count, g.total, g.percent]));
      expect(groups.slice(0, 2).map((g) => [g.size, g.count, g.bytes, g.percent])).toEqual([
        [0x40000, 1, 0x40000, 18.15],
        [0x44, 0xa95, 0x2cf94, 12.75],
      ]);
    } finally {
      o.close();
    }
  });

  it.skipIf(!seed000.present)("adds the -flt s 40000 block to heap 028a0000", async () => {
    const o = await open(readFileSync(seed000.path), "000.txt");
    try {
      const { run } = o;
      expect(run.allocations.count).toBe(1);
      const a = run.allocations;
      expect([a.heap(0), a.blockAddress(0), a.userAddress(0), a.requestedSize(0), a.blockSize(0), a.flags(0)]).toEqual([
        heapAt(run, 0x28a0000, 32).index,
        0x029d1b78,
        0x029d1b80,
        0x40000,
        0x8001 * 8,
        AllocFlags.BUSY,
      ]);
      expect(run.data.traces?.status).toBe("unsupported");
      expect(run.data.traces?.note).toMatch(/!heap -p -a/);
    } finally {
      o.close();
    }
  });
});
