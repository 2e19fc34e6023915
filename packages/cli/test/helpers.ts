import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AllocFlags, type InputReader, type LeakscopePlugin, STAGE_BACKEND, memoryTarget } from "@leakscope/core";
import type { CliIO } from "../src/index.js";

export interface Captured {
  io: CliIO;
  out: () => string;
  err: () => string;
}

export function capture(tty = false): Captured {
  let out = "";
  let err = "";
  return {
    io: {
      stdout: (t) => {
        out += t;
      },
      stderr: (t) => {
        err += t;
      },
      stderrIsTTY: tty,
      stdoutIsTTY: tty,
      env: {},
    },
    out: () => out,
    err: () => err,
  };
}

/** Small blocks of the toy process, each referenced from its root page. */
const TOY_SMALL = 8;

function toyRoots(): Uint8Array {
  const page = new Uint8Array(0x100);
  const dv = new DataView(page.buffer);
  for (let k = 0; k < TOY_SMALL; k++) dv.setUint32(k * 8, 0x230010 + k * 0x50, true);
  return page;
}

/** A toy input format ("TOYDUMP" header) with one heap and a few blocks, to test the CLI alone. */
export function toyPlugins(): LeakscopePlugin[] {
  const reader: InputReader = {
    name: "toy",
    open: (probe) =>
      // "nomem" in the header: a minidump without the heap's memory (like procdump -mp)
      memoryTarget({
        arch: "x64",
        os: { major: 10, minor: 0, build: 22621 },
        // a root page (0x10000) that points at the 0x44-byte blocks, and the heap's memory itself:
        // the 0x3fff-byte blocks are referenced by nothing, the planted leak
        memory: [
          { address: 0x10000, bytes: toyRoots() },
          ...(new TextDecoder().decode(probe.head.subarray(0, 64)).includes("nomem") ? [] : [{ address: 0x200000, bytes: new Uint8Array(0x100000) }]),
        ],
        views: [{ bitness: 64, peb: 0x10000 }],
        path: probe.path,
        format: "toy",
      }),
  };
  return [
    {
      name: "toy",
      apply(engine) {
        engine.hooks.resolveReader.tap("toy", (p) => (new TextDecoder().decode(p.head.subarray(0, 7)) === "TOYDUMP" ? reader : undefined));
        engine.hooks.discoverHeaps.tapPromise("toy", async (run) => {
          run.addHeap({ address: 0x200000, bitness: 64, kind: "nt", foundBy: "peb", view: run.target.views[0]! });
        });
        engine.hooks.walkHeap.tapPromise({ name: "toy", stage: STAGE_BACKEND }, async (heap, run) => {
          const m = /leaks=(\d+)/.exec(new TextDecoder().decode(run.input.head));
          const leaks = m ? Number(m[1]) : 5;
          for (let i = 0; i < leaks; i++) run.allocations.add(heap.index, 0x210010 + i * 0x4020, 0x210000 + i * 0x4020, 0x3fff, 0x4020, AllocFlags.BUSY);
          for (let k = 0; k < TOY_SMALL; k++) run.allocations.add(heap.index, 0x230010 + k * 0x50, 0x230000 + k * 0x50, 0x44, 0x50, AllocFlags.BUSY);
          run.allocations.add(heap.index, 0x240010, 0x240000, 0, 0x1000, AllocFlags.FREE);
          heap.stats.reserved = 0x100000;
          heap.stats.committed = 0x40000;
          heap.summary.lfh = false;
        });
      },
    },
  ];
}

export function toyDump(leaks = 5, extra = ""): string {
  const dir = mkdtempSync(join(tmpdir(), "leakscope-cli-"));
  const p = join(dir, "toy.dmp");
  writeFileSync(p, `TOYDUMP v1 leaks=${leaks}${extra}`);
  return p;
}
