import { describe, expect, it } from "vitest";
import { Rng, mutate, writeNtHeap, writePeb } from "@leakscope/test-utils";
import { heapNt } from "../src/index.js";
import { runOnTarget } from "./helpers/dump.js";
import { richSpec, syntheticTarget } from "./helpers/synthetic.js";

/**
 * Hostile heaps: mutate one memory piece of a rich synthetic heap (seeded, reproducible) and walk.
 * The walk must finish without throwing (diagnostics, not exceptions), and the number of blocks
 * it reports stays bounded by the captured memory size.
 */
describe("mutated heaps never crash the walker", () => {
  for (const [layout, bitness] of [["win7", 32], ["win10-1709", 64], ["win8", 32], ["win11-24h2", 64]] as const) {
    it(`${layout} x${bitness}: 60 seeded mutations`, async () => {
      for (let seed = 1; seed <= 60; seed++) {
        const rng = new Rng(seed * 7919 + bitness);
        const base = bitness === 64 ? 0x1_0000_0000 : 0x50_0000;
        const heap = writeNtHeap(richSpec(layout, bitness, base));
        const peb = writePeb({ bitness, address: 0x7ffd_0000, heaps: [base] });
        const pieces = heap.pieces.map((p) => ({ ...p }));
        for (let k = 0; k < 3; k++) {
          const i = rng.below(pieces.length);
          const m = mutate(pieces[i]!.bytes, rng);
          pieces[i] = { address: pieces[i]!.address, bytes: m.bytes };
        }
        const run = await runOnTarget(syntheticTarget(layout, [...pieces, peb], [{ bitness, peb: peb.address }]), [heapNt()]);
        const memory = pieces.reduce((s, p) => s + p.bytes.length, 0);
        expect(run.allocations.count, `seed ${seed}`).toBeLessThanOrEqual(memory / 8 + 16);
      }
    });
  }
});
