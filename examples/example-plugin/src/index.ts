/**
 * An example third-party leakscope plugin: "big-blocks" lists the largest live user allocations
 * above a threshold and adds them to the report under `extensions["big-blocks"]`.
 *
 * It uses only the public API of `@leakscope/core` (a peer dependency: the plugin runs on the core
 * of the program that loads it): a factory made with `definePlugin` (options validated by their
 * schema when the plugin is created), a tap on `heapsWalked` at a stage (so every command that
 * walks the heaps gets the section), typed run data through module augmentation, a tap on the
 * `report` waterfall, and the schema of its report section, which the engine checks before the
 * report is written.
 *
 * `leakscope --plugin @leakscope/example-plugin analyze app.dmp` loads it through its default export.
 */
import { STAGE_LATE, type Static, Type, definePlugin, formatAddress, isUserAllocation } from "@leakscope/core";

/** The report section, `extensions["big-blocks"]`: its schema and type. */
export const BigBlocksSection = Type.Object(
  {
    minSize: Type.Integer({ minimum: 1 }),
    blocks: Type.Array(
      Type.Object(
        {
          address: Type.String({ pattern: "^0x[0-9a-f]+$" }),
          size: Type.Integer({ minimum: 0 }),
          heap: Type.String({ pattern: "^0x[0-9a-f]+$" }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type BigBlocksSection = Static<typeof BigBlocksSection>;
export type BigBlock = BigBlocksSection["blocks"][number];

declare module "@leakscope/core" {
  interface RunData {
    bigBlocks?: BigBlock[];
  }
}

export const BigBlocksOptions = Type.Object(
  {
    minSize: Type.Integer({ minimum: 1, default: 0x10000, description: "Smallest requested size listed, in bytes" }),
    top: Type.Integer({ minimum: 1, maximum: 10000, default: 10, description: "Most blocks listed" }),
  },
  { additionalProperties: false },
);

export const bigBlocks = definePlugin({
  name: "big-blocks",
  options: BigBlocksOptions,
  sections: { "big-blocks": BigBlocksSection },
  setup: (options) => ({
    apply(engine) {
      engine.hooks.heapsWalked.tapPromise({ name: "big-blocks", stage: STAGE_LATE }, async (run) => {
        const found: { i: number; size: number }[] = [];
        run.allocations.forEachChunk((c, n, base) => {
          for (let k = 0; k < n; k++) {
            const size = c.requestedSize[k]!;
            if (size >= options.minSize && isUserAllocation(c.flags[k]!)) found.push({ i: base + k, size });
          }
        });
        found.sort((a, b) => b.size - a.size);
        run.data.bigBlocks = found.slice(0, options.top).map(({ i, size }) => ({
          address: formatAddress(run.allocations.userAddress(i)),
          size,
          heap: formatAddress(run.heaps[run.allocations.heap(i)]?.address ?? 0),
        }));
      });
      engine.hooks.report.tapPromise("big-blocks", async (report, run) => {
        const section: BigBlocksSection = { minSize: options.minSize, blocks: run.data.bigBlocks ?? [] };
        return { ...report, extensions: { ...report.extensions, "big-blocks": section } };
      });
    },
  }),
});

export default bigBlocks;
