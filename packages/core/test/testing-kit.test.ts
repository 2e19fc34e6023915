import { describe, expect, it } from "vitest";
import { type LeakscopePlugin, isUserAllocation, runSynthetic, validateReport } from "../src/index.js";

describe("the testing kit for plugin authors", () => {
  it("runs plugins over a synthetic process through the real engine", async () => {
    const seen: number[] = [];
    const probe: LeakscopePlugin = {
      name: "probe",
      apply(engine) {
        engine.hooks.analyze.tapPromise("probe", async (run) => {
          for (let i = 0; i < run.allocations.count; i++) if (isUserAllocation(run.allocations.flags(i))) seen.push(run.allocations.requestedSize(i));
        });
      },
    };
    const { report, run } = await runSynthetic(
      {
        arch: "x86",
        heaps: [
          { address: 0x700000, blocks: [{ address: 0x700100, size: 0x40 }, { address: 0x700200, size: 0x80, free: true }] },
          { address: 0x900000, kind: "segment", blocks: [{ address: 0x900100, size: 0x3fff }] },
        ],
      },
      [probe],
    );
    expect(seen).toEqual([0x40, 0x3fff]);
    expect(report.heaps?.map((h) => [h.address, h.kind, h.busy.count, h.free.count])).toEqual([
      ["0x700000", "nt", 1, 1],
      ["0x900000", "segment", 1, 0],
    ]);
    expect(report.target?.arch).toBe("x86");
    expect(run.heaps).toHaveLength(2);
    expect(validateReport(report).valid).toBe(true);
  });
});
