import {
  AllocFlags,
  BufferSource,
  Engine,
  type InputReader,
  type LeakscopePlugin,
  type ModuleInfo,
  STAGE_BACKEND,
  STAGE_ENRICH,
  type TraceTable,
  memoryTarget,
} from "@leakscope/core";

/** Bytes of a little-endian buffer, written by small helpers. */
export class Mem {
  readonly bytes: Uint8Array;
  readonly dv: DataView;
  constructor(readonly address: number, size: number) {
    this.bytes = new Uint8Array(size);
    this.dv = new DataView(this.bytes.buffer);
  }
  u32(va: number, v: number): void {
    this.dv.setUint32(va - this.address, v >>> 0, true);
  }
  ptr(va: number, v: number, size: 4 | 8): void {
    if (size === 4) this.u32(va, v);
    else {
      this.dv.setUint32(va - this.address, v % 2 ** 32, true);
      this.dv.setUint32(va - this.address + 4, Math.floor(v / 2 ** 32), true);
    }
  }
  str(va: number, s: string): void {
    this.bytes.set(new TextEncoder().encode(`${s}\0`), va - this.address);
  }
  fill(va: number, n: number, b: number): void {
    this.bytes.fill(b, va - this.address, va - this.address + n);
  }
}

/** A module image holding MSVC RTTI for one class; returns the vtable address. */
export function rttiModule(base: number, ps: 4 | 8, decorated: string): { mem: Mem; vtable: number; module: ModuleInfo } {
  const mem = new Mem(base, 0x6000);
  const vtable = base + 0x2008;
  const col = base + 0x3000;
  const td = base + 0x4000;
  mem.ptr(vtable - ps, col, ps);
  mem.ptr(vtable, base + 0x1000, ps); // first virtual function
  if (ps === 8) {
    mem.u32(col, 1);
    mem.u32(col + 0x0c, td - base);
    mem.u32(col + 0x14, col - base);
  } else {
    mem.u32(col, 0);
    mem.u32(col + 0x0c, td);
  }
  mem.str(td + 2 * ps, decorated);
  const module: ModuleInfo = { path: "C:\\app\\leaky.exe", name: "leaky.exe", base, size: 0x6000, timestamp: 0, checksum: 0, bitness: ps === 8 ? 64 : 32 };
  return { mem, vtable, module };
}

export interface PlannedBlock {
  user: number;
  size: number;
  busy?: boolean;
  stack?: number;
}

export interface Scenario {
  ps: 4 | 8;
  pieces: Mem[];
  modules: ModuleInfo[];
  heap: number;
  blocks: PlannedBlock[];
  stacks?: number[][];
  threads?: { stack: number; size: number }[];
  /** The walk could not complete the heap (its memory damaged or missing). */
  incomplete?: boolean;
}

/** A reader + walker + traces plugin set that replays a scenario through the real engine. */
export function scenarioPlugins(sc: Scenario): LeakscopePlugin[] {
  const reader: InputReader = {
    name: "scenario",
    open: () =>
      memoryTarget({
        arch: sc.ps === 8 ? "x64" : "x86",
        os: { major: 10, minor: 0, build: 19045 },
        memory: sc.pieces.map((m) => ({ address: m.address, bytes: m.bytes })),
        views: [{ bitness: sc.ps === 8 ? 64 : 32, modules: sc.modules }],
        modules: sc.modules,
      }),
  };
  return [
    {
      name: "scenario",
      apply(engine) {
        engine.hooks.resolveReader.tap("scenario", () => reader);
        engine.hooks.discoverHeaps.tapPromise("scenario", async (run) => {
          run.addHeap({ address: sc.heap, bitness: sc.ps === 8 ? 64 : 32, kind: "nt", foundBy: "peb", view: run.target.views[0]! });
        });
        engine.hooks.walkHeap.tapPromise({ name: "scenario", stage: STAGE_BACKEND }, async (heap, run) => {
          const hdr = sc.ps * 2;
          for (const b of sc.blocks) {
            run.allocations.add(heap.index, b.user, b.user - hdr, b.size, b.size + hdr, b.busy === false ? AllocFlags.FREE : AllocFlags.BUSY);
          }
          if (sc.incomplete) heap.incomplete = true;
        });
        engine.hooks.heapsWalked.tapPromise({ name: "scenario", stage: STAGE_ENRICH }, async (run) => {
          if (!sc.stacks) return;
          const stackOf = new Int32Array(run.allocations.count).fill(-1);
          sc.blocks.forEach((b, i) => {
            if (b.stack !== undefined) stackOf[i] = b.stack;
          });
          const traces: TraceTable = {
            status: "present",
            ust: true,
            hpa: false,
            note: "",
            stacks: sc.stacks.map((frames) => ({
              frames,
              text: frames.map((f) => ({ text: f === 0x140001119 ? "leaky!main+0x69" : `ntdll!RtlAllocateHeap+0x${(f & 0xfff).toString(16)}`, module: f === 0x140001119 ? "leaky" : "ntdll" })),
            })),
            stackOf,
          };
          run.data.traces = traces;
        });
      },
    },
  ];
}

export async function runScenario(sc: Scenario, extra: LeakscopePlugin[], depth: "walk" | "analyze" = "analyze") {
  const engine = new Engine({ plugins: [...scenarioPlugins(sc), ...extra] });
  const open = await engine.openSource(new BufferSource(new Uint8Array([0]), "scenario.dmp"), { command: "analyze", depth });
  open.close();
  return open;
}
