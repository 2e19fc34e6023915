import {
  AllocFlags,
  BufferSource,
  Engine,
  type InputReader,
  type ModuleInfo,
  STAGE_BACKEND,
  memoryTarget,
  validateReport,
} from "@leakscope/core";
import { describe, expect, it } from "vitest";
import { FLG_USER_STACK_TRACE_DB, PEB_NTGLOBALFLAG, TRACE_ENTRY, groupByStack, stackTraces } from "../src/index.js";

function mod(name: string, base: number, size: number, bitness: 32 | 64): ModuleInfo {
  return { path: `C:\\Windows\\System32\\${name}`, name, base, size, timestamp: 0, checksum: 0, bitness };
}

interface Case {
  bitness: 32 | 64;
  globalFlag: number;
  /** stacks: frames, innermost first */
  stacks: number[][];
  /** blocks: [requested size, stack index or -1 (no trace), pointer override] */
  blocks: [number, number, number?][];
  wow64?: boolean;
}

async function runCase(c: Case) {
  const ps = c.bitness === 64 ? 8 : 4;
  const peb = c.bitness === 64 ? 0x7efdf000 : 0x7efde000;
  const pebBytes = new Uint8Array(0x400);
  new DataView(pebBytes.buffer).setUint32(PEB_NTGLOBALFLAG[c.bitness], c.globalFlag, true);
  const db = 0x01000000;
  const dbBytes = new Uint8Array(0x10000);
  const dv = new DataView(dbBytes.buffer);
  const layout = TRACE_ENTRY[c.bitness];
  const entrySize = c.bitness === 64 ? 0x110 : 0x8c;
  c.stacks.forEach((frames, s) => {
    const at = s * entrySize;
    dv.setUint16(at + layout.index, frames.length, true);
    frames.forEach((f, k) => {
      if (ps === 8) {
        dv.setUint32(at + layout.frames + k * 8, f % 2 ** 32, true);
        dv.setUint32(at + layout.frames + k * 8 + 4, Math.floor(f / 2 ** 32), true);
      } else dv.setUint32(at + layout.frames + k * 4, f, true);
    });
  });
  const modules =
    c.bitness === 64
      ? [mod("ntdll.dll", 0x7ffe77e00000, 0x200000, 64), mod("app.exe", 0x7ff73d130000, 0x10000, 64)]
      : [mod("ntdll.dll", 0x77c00000, 0x180000, 32), mod("app.exe", 0x400000, 0x10000, 32)];
  const reader: InputReader = {
    name: "t",
    open: () =>
      memoryTarget({
        arch: c.wow64 || c.bitness === 64 ? "x64" : "x86",
        os: { major: 10, minor: 0, build: 19045 },
        memory: [
          { address: peb, bytes: pebBytes },
          { address: db, bytes: dbBytes },
        ],
        views: c.wow64
          ? [{ bitness: 64, peb: 0x7efdf000 }, { bitness: 32, peb, modules }]
          : [{ bitness: c.bitness, peb, modules }],
        modules,
      }),
  };
  const engine = new Engine({ plugins: [stackTraces()] });
  engine.hooks.resolveReader.tap("t", () => reader);
  engine.hooks.discoverHeaps.tapPromise("t", async (run) => {
    const view = run.target.views.find((v) => v.bitness === c.bitness)!;
    run.addHeap({ address: 0x500000, bitness: c.bitness, kind: "nt", foundBy: "peb", view });
  });
  engine.hooks.walkHeap.tapPromise({ name: "t", stage: STAGE_BACKEND }, async (heap, run) => {
    c.blocks.forEach(([size, s, ptr], i) => {
      const trace = ptr ?? (s >= 0 ? db + s * entrySize : 0);
      const flags = AllocFlags.BUSY | (trace ? AllocFlags.HAS_TRACE : 0);
      run.allocations.add(heap.index, 0x510000 + i * 0x100, 0x50fff0 + i * 0x100, size, size + 0x20, flags, trace);
    });
  });
  const open = await engine.openSource(new BufferSource(new Uint8Array([1])), { command: "stacks", depth: "walk" });
  open.close();
  return open;
}

describe("allocation stacks (+ust)", () => {
  for (const bitness of [64, 32] as const) {
    it(`decodes and groups the exact frames written (${bitness}-bit)`, async () => {
      const app = bitness === 64 ? 0x7ff73d131119 : 0x401119;
      const ntdll = bitness === 64 ? 0x7ffe77e7cca4 : 0x77c3cca4;
      const { run } = await runCase({
        bitness,
        globalFlag: FLG_USER_STACK_TRACE_DB,
        stacks: [
          [ntdll, app, app + 0x500],
          [ntdll, app + 0x40],
          [ntdll, app, app + 0x500], // same frames as stack 0: deduplicated
        ],
        blocks: [
          [0x3fff, 0],
          [0x3fff, 2],
          [0x3fff, 0],
          [0x44, 1],
          [0x10, -1],
        ],
      });
      const t = run.data.traces!;
      expect(t.status).toBe("present");
      expect(t.ust).toBe(true);
      expect(t.stacks).toHaveLength(2);
      expect(t.stacks[0]!.frames).toEqual([ntdll, app, app + 0x500]);
      expect(t.stacks[0]!.text?.[1]?.text).toBe("app+0x1119");
      expect(Array.from(t.stackOf)).toEqual([0, 0, 0, 1, -1]);
      const section = groupByStack(run);
      expect(section.groups[0]).toMatchObject({ count: 3, bytes: 3 * 0x3fff, sizes: [0x3fff] });
      expect(section.groups[1]).toMatchObject({ count: 1, bytes: 0x44 });
      expect(validateReport({ schemaVersion: 1, tool: { name: "leakscope", version: "0.0.0" }, command: "stacks", input: { path: "x", size: 1, kind: "user", format: "memory" }, stacks: section, diagnostics: [] }).errors).toEqual([]);
    });
  }

  it("decodes 32-bit traces of a WoW64 process in a 64-bit dump", async () => {
    const { run } = await runCase({
      bitness: 32,
      wow64: true,
      globalFlag: FLG_USER_STACK_TRACE_DB,
      stacks: [[0x77c3cca4, 0x401119]],
      blocks: [[0x20, 0]],
    });
    expect(run.data.traces!.stacks[0]!.frames).toEqual([0x77c3cca4, 0x401119]);
  });

  it("rejects entries that are not traces", async () => {
    const { run } = await runCase({
      bitness: 64,
      globalFlag: FLG_USER_STACK_TRACE_DB,
      stacks: [[0x1234, 0x5678]], // not in any module
      blocks: [
        [0x20, 0],
        [0x20, -1, 0x99990000], // pointer into memory the dump lacks
      ],
    });
    expect(run.data.traces!.status).toBe("not-captured");
    expect(run.data.traces!.stacks).toHaveLength(0);
    // no block has a stack: no per-block column either, and every read says -1
    expect(run.data.traces!.stackOf).toHaveLength(0);
    expect(run.data.traces!.stackOf[1] ?? -1).toBe(-1);
  });

  it("says plainly that traces cannot exist without +ust", async () => {
    const { run } = await runCase({ bitness: 64, globalFlag: 0x70, stacks: [], blocks: [[0x20, -1]] });
    const t = run.data.traces!;
    expect(t.status).toBe("disabled");
    expect(t.note).toContain("0x70");
    expect(t.note).toContain("+ust");
  });
});
