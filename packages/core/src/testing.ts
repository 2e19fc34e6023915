import type { Address } from "./address.js";
import { Engine } from "./engine/engine.js";
import { STAGE_BACKEND } from "./engine/hooks.js";
import type { LeakscopePlugin } from "./engine/plugin.js";
import type { Run, RunRequest } from "./engine/run.js";
import { BufferSource } from "./io/byte-source.js";
import { AllocFlags } from "./model/allocations.js";
import { type MemoryTargetInit, memoryTarget } from "./model/memory-target.js";
import type { Report } from "./report/schema.js";

/**
 * The plugin-author's testing kit: a synthetic process (memory, heaps and blocks given as data)
 * that runs through the real engine, so an analyzer, a detector or a report section can be tested
 * without a dump file. Walkers that parse allocator structures place those bytes in `memory` and
 * leave `blocks` out; the repository's private `@leakscope/test-utils` writes whole minidumps for
 * the built-in walkers.
 */

/** One heap block. `size` is the requested size; the block is busy unless `free` is set. */
export interface SyntheticBlock {
  address: Address;
  size: number;
  /** Block size with its header (default: `size` rounded up to 16 plus 16). */
  blockSize?: number;
  free?: boolean;
  /** Extra {@link AllocFlags} (e.g. `AllocFlags.LFH`). */
  flags?: number;
}

export interface SyntheticHeap {
  address: Address;
  /** Heap kind (`nt`, `segment`, ...; default `nt`). */
  kind?: string;
  blocks?: readonly SyntheticBlock[];
}

/** A synthetic process: {@link MemoryTargetInit} fields (all optional) plus heaps and blocks. */
export interface SyntheticProcess extends Partial<Omit<MemoryTargetInit, "memory">> {
  memory?: MemoryTargetInit["memory"];
  heaps?: readonly SyntheticHeap[];
}

/**
 * A plugin that reads any input as the synthetic process `spec`: it claims the input
 * (`resolveReader`), registers the heaps (`discoverHeaps`) and lists the blocks (`walkHeap` at
 * `STAGE_BACKEND`), as a dump reader and a heap walker would.
 */
export function syntheticInput(spec: SyntheticProcess): LeakscopePlugin {
  const bitness = spec.views?.[0]?.bitness ?? (spec.arch === "x86" ? 32 : 64);
  const init: MemoryTargetInit = {
    arch: spec.arch ?? (bitness === 32 ? "x86" : "x64"),
    os: spec.os ?? { major: 10, minor: 0, build: 19041 },
    memory: spec.memory ?? [],
    views: spec.views ?? [{ bitness }],
    format: spec.format ?? "synthetic",
    ...(spec.modules ? { modules: spec.modules } : {}),
    ...(spec.threads ? { threads: spec.threads } : {}),
  };
  const heaps = spec.heaps ?? [];
  return {
    name: "synthetic-input",
    apply(engine) {
      engine.hooks.resolveReader.tap("synthetic-input", () => ({
        name: "synthetic",
        open: (probe) => memoryTarget({ ...init, path: probe.path }),
      }));
      engine.hooks.discoverHeaps.tapPromise({ name: "synthetic-input", stage: STAGE_BACKEND }, async (run) => {
        for (const h of heaps) run.addHeap({ address: h.address, bitness, kind: h.kind ?? "nt", foundBy: "synthetic", view: run.target.views[0]! });
      });
      engine.hooks.walkHeap.tapPromise({ name: "synthetic-input", stage: STAGE_BACKEND }, async (heap, run) => {
        const h = heaps.find((x) => x.address === heap.address);
        for (const b of h?.blocks ?? []) {
          const blockSize = b.blockSize ?? Math.ceil(b.size / 16) * 16 + 16;
          const flags = (b.free ? AllocFlags.FREE : AllocFlags.BUSY) | (b.flags ?? 0);
          run.allocations.add(heap.index, b.address, b.address - 16, b.free ? 0 : b.size, blockSize, flags);
        }
      });
    },
  };
}

/**
 * Run `plugins` over the synthetic process `spec` through a real {@link Engine} and return the
 * report (checked as every report is: schema, section schemas, JSON-safe values) and the run.
 * The default request is `analyze` at depth `analyze`.
 */
export async function runSynthetic(
  spec: SyntheticProcess,
  plugins: readonly LeakscopePlugin[],
  request: RunRequest = { command: "analyze", depth: "analyze" },
): Promise<{ report: Report; run: Run }> {
  const engine = new Engine({ plugins: [syntheticInput(spec), ...plugins] });
  const open = await engine.openSource(new BufferSource(new Uint8Array([0]), "synthetic.dmp"), request);
  open.close();
  return { report: open.report, run: open.run };
}
