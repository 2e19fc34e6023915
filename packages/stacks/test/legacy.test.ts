import { AllocFlags, BufferSource, Engine, type InputReader, type ModuleInfo, STAGE_BACKEND, memoryTarget } from "@leakscope/core";
import { describe, expect, it } from "vitest";
import { FLG_USER_STACK_TRACE_DB, TRACE_DB, TRACE_ENTRY, stackTraces } from "../src/index.js";

/** A Windows 7 +ust process: blocks carry back-trace indices into a stack trace database. */
async function win7(bitness: 32 | 64, wow64 = false) {
  const ps = bitness === 64 ? 8 : 4;
  const put = (dv: DataView, off: number, v: number) => {
    if (ps === 4) dv.setUint32(off, v >>> 0, true);
    else {
      dv.setUint32(off, v % 2 ** 32, true);
      dv.setUint32(off + 4, Math.floor(v / 2 ** 32), true);
    }
  };
  const dbBase = bitness === 64 ? 0x2b0000 : 0x2b0000;
  const dbSize = 0x20000;
  const db = new Uint8Array(dbSize);
  const dv = new DataView(db.buffer);
  const L = TRACE_DB[bitness];
  const E = TRACE_ENTRY[bitness];
  const top = dbBase + dbSize; // EntryIndexArray: top of the region, grows down
  put(dv, L.entryIndexArray, top);
  dv.setUint32(L.numberOfBuckets, 37, true);
  put(dv, L.buckets, dbBase + 0x400);
  const app = bitness === 64 ? 0x13f000000 : 0x400000;
  const ntdll = bitness === 64 ? 0x77b00000 : 0x77c00000;
  const stacks = [
    [ntdll + 0x2c4e, app + 0x1119, app + 0x16a0],
    [ntdll + 0x2c4e, app + 0x2000],
  ];
  const indices = [5, 9];
  stacks.forEach((frames, k) => {
    const entryOff = 0x1000 + k * 0x200;
    dv.setUint16(entryOff + E.index, indices[k]!, true);
    dv.setUint16(entryOff + E.depth, frames.length, true);
    frames.forEach((f, j) => put(dv, entryOff + E.frames + j * ps, f));
    put(dv, dbSize - indices[k]! * ps, dbBase + entryOff);
  });
  const peb = new Uint8Array(0x200);
  new DataView(peb.buffer).setUint32(bitness === 64 ? 0xbc : 0x68, FLG_USER_STACK_TRACE_DB, true);
  const pebAt = bitness === 64 ? 0x7efdf000 : 0x7efde000;
  const modules: ModuleInfo[] = [
    { path: "ntdll.dll", name: "ntdll.dll", base: ntdll, size: 0x1a0000, timestamp: 0, checksum: 0, bitness },
    { path: "app.exe", name: "app.exe", base: app, size: 0x10000, timestamp: 0, checksum: 0, bitness },
  ];
  const reader: InputReader = {
    name: "t",
    open: () =>
      memoryTarget({
        arch: wow64 || bitness === 64 ? "x64" : "x86",
        os: { major: 6, minor: 1, build: 7601 },
        memory: [
          { address: dbBase, bytes: db },
          { address: pebAt, bytes: peb },
        ],
        views: wow64 ? [{ bitness: 64 }, { bitness: 32, peb: pebAt, modules }] : [{ bitness, peb: pebAt, modules }],
      }),
  };
  const engine = new Engine({ plugins: [stackTraces()] });
  engine.hooks.resolveReader.tap("t", () => reader);
  engine.hooks.discoverHeaps.tapPromise("t", async (run) => {
    run.addHeap({ address: 0x500000, bitness, kind: "nt", foundBy: "peb", view: run.target.views.find((v) => v.bitness === bitness)! });
  });
  engine.hooks.walkHeap.tapPromise({ name: "t", stage: STAGE_BACKEND }, async (heap, run) => {
    const f = AllocFlags.BUSY | AllocFlags.HAS_TRACE | AllocFlags.TRACE_INDEX;
    run.allocations.add(heap.index, 0x510000, 0x50fff8, 0x40, 0x50, f, 5);
    run.allocations.add(heap.index, 0x510100, 0x5100f8, 0x40, 0x50, f, 5);
    run.allocations.add(heap.index, 0x510200, 0x5101f8, 0x80, 0x90, f, 9);
    run.allocations.add(heap.index, 0x510300, 0x5102f8, 0x80, 0x90, f, 77); // no such entry
  });
  const open = await engine.openSource(new BufferSource(new Uint8Array([1])), { command: "stacks", depth: "walk" });
  open.close();
  return { run: open.run, stacks };
}

describe("Windows 7 legacy +ust back-trace indices", () => {
  for (const [bitness, wow64] of [[32, false], [64, false], [32, true]] as const) {
    it(`resolve through the trace database found without symbols (${bitness}-bit${wow64 ? ", WoW64" : ""})`, async () => {
      const { run, stacks } = await win7(bitness, wow64);
      const t = run.data.traces!;
      expect(t.status).toBe("present");
      expect(t.stacks.map((s) => s.frames)).toEqual(stacks);
      expect(Array.from(t.stackOf)).toEqual([0, 0, 1, -1]);
      expect(t.note).toContain("3 of 4 blocks");
      expect(t.note).toContain("3 of 4 Windows 7 back-trace indices");
    });
  }
});
