import { describe, expect, it } from "vitest";
import { AllocFlags } from "@leakscope/core";
import { INTERESTING_U32, LFH_WRITER_VERSIONS, Rng } from "@leakscope/test-utils";
import { lfhCodes } from "../src/index.js";
import { lfhProcess, walkLfhProcess } from "./helpers.js";

const CASES = 120;

describe("seeded damage to the LFH structures", () => {
  it(`${CASES} damaged heaps: the walk finishes, stays inside the hosts and reports only declared codes`, async () => {
    const rng = new Rng(0x1f4c0de);
    const known = new Set(Object.keys(lfhCodes));
    let damagedRuns = 0;
    for (let c = 0; c < CASES; c++) {
      const version = rng.pick(LFH_WRITER_VERSIONS);
      const bitness = rng.pick([32, 64] as const);
      const p = lfhProcess(version, bitness, {
        perZone: 2,
        emptySlots: 1,
        patch(poke, lfh) {
          for (let m = 0; m < 1 + rng.below(4); m++) {
            const where = rng.below(4);
            let a: number;
            if (where === 0) a = rng.pick(lfh.zones) + rng.below(0x20);
            else if (where === 1) a = rng.pick(lfh.subsegments) + rng.below(0x40);
            else if (where === 2) a = rng.pick(lfh.expected).userBlocks + rng.below(0x40);
            else a = rng.pick(lfh.expected).blockAddress + rng.below(16);
            a -= a % 2;
            const v = rng.below(3) === 0 ? a >>> 0 : rng.below(2) === 0 ? rng.pick(INTERESTING_U32) : rng.next();
            try {
              if (rng.below(2) === 0) poke.u32(a - (a % 4), v);
              else poke.u16(a, v & 0xffff);
            } catch {
              // address fell outside every piece: nothing to damage there
            }
          }
        },
      });
      const run = await walkLfhProcess(p);
      const diag = run.allDiagnostics();
      if (diag.length > 0) damagedRuns++;
      for (const d of diag) expect(known.has(d.code), `${d.code} in case ${c}`).toBe(true);
      const a = run.allocations;
      for (let i = 0; i < a.count; i++) {
        if ((a.flags(i) & AllocFlags.LFH) === 0) continue;
        const h = a.host(i);
        if (h < 0) continue;
        expect(a.blockAddress(i)).toBeGreaterThanOrEqual(a.blockAddress(h));
        expect(a.blockAddress(i) + a.blockSize(i)).toBeLessThanOrEqual(a.blockAddress(h) + a.blockSize(h));
        expect(a.requestedSize(i)).toBeGreaterThanOrEqual(0);
        expect(a.requestedSize(i)).toBeLessThanOrEqual(a.blockSize(i));
      }
    }
    // the damage is real: most cases raise something
    expect(damagedRuns).toBeGreaterThan(CASES / 2);
  });
});
