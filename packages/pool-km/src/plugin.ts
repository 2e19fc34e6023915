import { type Static, Type } from "@leakscope/core";
import { type InputReader, definePlugin } from "@leakscope/core";
import { isKernelDump } from "./header.js";
import { type KernelDump, openKernelDumpTarget } from "./kdump.js";
import { type PoolUsage, readPoolUsage } from "./pool.js";
import { type PoolTagDatabase, findPoolTagFile, loadPoolTagFile } from "./pooltag.js";

export const PoolKmOptions = Type.Object(
  {
    transitionPtes: Type.Boolean({ default: true, description: "Decode transition PTEs when translating kernel addresses (as WinDbg does)" }),
    headerScanFallback: Type.Boolean({
      default: true,
      description: "Scan pool headers of the captured pages when the tracker tables cannot be found (a lower bound, labelled)",
    }),
    pooltagFile: Type.Optional(Type.String({ description: "Path to the user's pooltag.txt (default: the Debugging Tools install paths)" })),
  },
  { additionalProperties: false },
);
export type PoolKmOptions = Static<typeof PoolKmOptions>;

/** Services of the `pool-km` plugin for other plugins and the CLI. */
export interface PoolKmApi {
  /** Pool usage of an opened kernel dump (tracker tables, or the labelled header-scan fallback). */
  poolUsage(dump: KernelDump): PoolUsage;
  /** The pooltag.txt database (the option's file, else the first default install path), or undefined. */
  pooltag(): PoolTagDatabase | undefined;
}

/**
 * The `pool-km` plugin: taps `resolveReader` for 'PAGEDU64' / 'PAGEDUMP' inputs and opens them
 * as kernel targets (`target.data.kernelDump`); its `api` computes pool usage by tag.
 */
export const poolKm = definePlugin({
  name: "pool-km",
  options: PoolKmOptions,
  setup: (options) => {
    let db: PoolTagDatabase | undefined | null = null;
    const reader: InputReader = {
      name: "kernel-dump",
      open: (probe) => openKernelDumpTarget(probe.source, { transitionPtes: options.transitionPtes }),
    };
    const api: PoolKmApi = {
      poolUsage: (dump) => readPoolUsage(dump, { headerScanFallback: options.headerScanFallback }),
      pooltag: () => {
        if (db === null) {
          const file = options.pooltagFile ?? findPoolTagFile();
          db = file ? loadPoolTagFile(file) : undefined;
        }
        return db;
      },
    };
    return {
      api,
      apply(engine) {
        engine.hooks.resolveReader.tap("pool-km", (probe) => (isKernelDump(probe.head) ? reader : undefined));
      },
    };
  },
});
