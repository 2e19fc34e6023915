import { AllocFlags, BufferSource, Engine, type InputReader, type ModuleInfo, STAGE_BACKEND, memoryTarget } from "@leakscope/core";
import { stackTraces } from "@leakscope/stacks";
import { describe, expect, it } from "vitest";
import { DPH, STAMP, pageHeap } from "../src/index.js";

function w(dv: DataView, off: number, v: number, size: 4 | 8): void {
  if (size === 4) dv.setUint32(off, v >>> 0, true);
  else {
    dv.setUint32(off, v % 2 ** 32, true);
    dv.setUint32(off + 4, Math.floor(v / 2 ** 32), true);
  }
}

async function scenario(bitness: 32 | 64, flag: number) {
  const ps = bitness === 64 ? 8 : 4;
  const L = DPH[bitness];
  const root = bitness === 64 ? 0x2a0001000 : 0x1a01000;
  const region = bitness === 64 ? 0x2a0100000 : 0x1b00000;
  const mem = new Uint8Array(0x10000);
  const dv = new DataView(mem.buffer);
  const trace = region + 0xf000;
  const app = bitness === 64 ? 0x7ff700001119 : 0x401119;
  // one trace entry using Depth (page-heap traces)
  const depthOff = bitness === 64 ? 0x0e : 0x0a;
  const framesOff = bitness === 64 ? 0x10 : 0x0c;
  dv.setUint16(0xf000 + depthOff, 2, true);
  w(dv, 0xf000 + framesOff, app, ps);
  w(dv, 0xf000 + framesOff + ps, app + 0x40, ps);
  // full page heap: user data ends at a page boundary, header right before it
  const blocks = [
    { requested: 0x3fff, start: STAMP.FULL_BUSY, end: STAMP.FULL_END },
    { requested: 0x10, start: STAMP.FULL_BUSY, end: STAMP.FULL_END },
    { requested: 0x80, start: STAMP.FULL_FREED, end: STAMP.FULL_FREED_END },
  ];
  const expected: { user: number; requested: number; busy: boolean }[] = [];
  let page = 0x1000;
  for (const b of blocks) {
    const actual = Math.ceil(b.requested / 16) * 16;
    const pagesNeeded = Math.ceil((actual + L.size) / 0x1000);
    const userEnd = page + pagesNeeded * 0x1000;
    const user = userEnd - actual;
    const h = user - L.size;
    dv.setUint32(h, b.start, true);
    w(dv, h + L.heap, root, ps);
    w(dv, h + L.requested, b.requested, ps);
    w(dv, h + L.actual, actual, ps);
    w(dv, h + L.stack, trace, ps);
    dv.setUint32(h + L.end, b.end, true);
    expected.push({ user: region + user, requested: b.requested, busy: b.start === STAMP.FULL_BUSY });
    page = userEnd + 0x1000; // guard page
  }
  // a header whose end stamp is wrong: skipped with a diagnostic
  dv.setUint32(0xe000, STAMP.FULL_BUSY, true);
  const peb = new Uint8Array(0x300);
  new DataView(peb.buffer).setUint32(bitness === 64 ? 0xbc : 0x68, flag, true);
  const pebAt = bitness === 64 ? 0x7ffdf000 : 0x7ffde000;
  const modules: ModuleInfo[] = [{ path: "app.exe", name: "app.exe", base: app - 0x1119, size: 0x10000, timestamp: 0, checksum: 0, bitness }];
  const reader: InputReader = {
    name: "t",
    open: () =>
      memoryTarget({
        arch: bitness === 64 ? "x64" : "x86",
        os: { major: 10, minor: 0, build: 19045 },
        memory: [
          { address: region, bytes: mem },
          { address: pebAt, bytes: peb },
        ],
        views: [{ bitness, peb: pebAt, modules }],
      }),
  };
  const engine = new Engine({ plugins: [pageHeap(), stackTraces()] });
  engine.hooks.resolveReader.tap("t", () => reader);
  const open = await engine.openSource(new BufferSource(new Uint8Array([1])), { command: "heaps", depth: "walk" });
  open.close();
  return { ...open, expected, root, app };
}

describe("page heap (+hpa)", () => {
  for (const bitness of [64, 32] as const) {
    it(`finds every page-heap block with its exact requested size and stack (${bitness}-bit)`, async () => {
      const { run, report, expected, root, app } = await scenario(bitness, 0x02000000);
      expect(report.heaps).toHaveLength(1);
      expect(report.heaps![0]).toMatchObject({ kind: "page-heap", address: `0x${root.toString(16)}`, foundBy: ["stamp-scan"] });
      const got = [];
      for (let i = 0; i < run.allocations.count; i++) {
        got.push({ user: run.allocations.userAddress(i), requested: run.allocations.requestedSize(i), busy: (run.allocations.flags(i) & AllocFlags.BUSY) !== 0 });
      }
      expect(got).toEqual(expected);
      expect(report.heaps![0]!.busy).toEqual({ count: 2, bytes: 0x3fff + 0x10 });
      expect(report.diagnostics.map((d) => d.code)).toContain("PAGE_HEAP_HEADER_INVALID");
      const t = run.data.traces!;
      expect(t.hpa).toBe(true);
      expect(t.stacks[0]!.frames).toEqual([app, app + 0x40]);
      expect(t.stackOf[0]).toBe(0);
    });
  }

  it("does not scan processes without +hpa", async () => {
    const { report } = await scenario(64, 0);
    expect(report.heaps).toEqual([]);
  });

  it("moves light page-heap sizes onto the NT block that holds them", async () => {
    const L = DPH[32];
    const mem = new Uint8Array(0x1000);
    const dv = new DataView(mem.buffer);
    const ntBlock = 0x500100; // NT block user data starts with the DPH header
    const h = ntBlock - 0x500000;
    dv.setUint32(h, STAMP.LIGHT_BUSY, true);
    dv.setUint32(h + L.heap, 0x1a01000, true);
    dv.setUint32(h + L.requested, 0x24, true);
    dv.setUint32(h + L.actual, 0x28, true);
    dv.setUint32(h + L.end, STAMP.LIGHT_END, true);
    const reader: InputReader = {
      name: "t",
      open: () => memoryTarget({ arch: "x86", os: { major: 6, minor: 1, build: 7601 }, memory: [{ address: 0x500000, bytes: mem }], views: [{ bitness: 32 }] }),
    };
    const engine = new Engine({ plugins: [pageHeap({ always: true })] });
    engine.hooks.resolveReader.tap("t", () => reader);
    engine.hooks.discoverHeaps.tapPromise("nt", async (run) => {
      run.addHeap({ address: 0x400000, bitness: 32, kind: "nt", foundBy: "peb", view: run.target.views[0]! });
    });
    engine.hooks.walkHeap.tapPromise({ name: "nt", stage: STAGE_BACKEND }, async (heap, run) => {
      if (heap.kind === "nt") run.allocations.add(heap.index, ntBlock, ntBlock - 8, 0x48, 0x50, AllocFlags.BUSY);
    });
    const open = await engine.openSource(new BufferSource(new Uint8Array([1])), { command: "heaps", depth: "walk" });
    open.close();
    expect(open.run.allocations.count).toBe(1);
    expect(open.run.allocations.requestedSize(0)).toBe(0x24);
    expect(open.run.allocations.flags(0) & AllocFlags.PAGE_HEAP).toBeTruthy();
  });
});
