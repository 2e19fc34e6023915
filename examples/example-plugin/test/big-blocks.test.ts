import { readFileSync } from "node:fs";
import { AllocFlags, PluginOptionsError, runSynthetic, validateReport } from "@leakscope/core";
import { describe, expect, it } from "vitest";
import { bigBlocks } from "../src/index.js";

/** A synthetic 32-bit process with one heap, run through the real engine (core's testing kit). */
const process32 = {
  arch: "x86" as const,
  heaps: [
    {
      address: 0x700000,
      blocks: [
        { address: 0x710008, size: 0x40000, flags: AllocFlags.VIRTUAL },
        { address: 0x760008, size: 0x20000 },
        { address: 0x790008, size: 0x80000, flags: AllocFlags.HOST },
        { address: 0x800008, size: 0x30 },
      ],
    },
  ],
};

describe("example third-party plugin", () => {
  it("adds its section to the report, largest user allocation first, hosts excluded", async () => {
    const r = await runSynthetic(process32, [bigBlocks({ minSize: 0x10000 })]);
    expect(r.report.extensions?.["big-blocks"]).toEqual({
      minSize: 0x10000,
      blocks: [
        { address: "0x710008", size: 0x40000, heap: "0x700000" },
        { address: "0x760008", size: 0x20000, heap: "0x700000" },
      ],
    });
    expect(validateReport(r.report).valid).toBe(true);
  });

  it("rejects bad options before any dump is opened, and misspelled ones do not compile", () => {
    expect(() => bigBlocks({ top: 0 })).toThrow(PluginOptionsError);
    // @ts-expect-error `tpo` is not an option
    expect(() => bigBlocks({ tpo: 3 })).toThrow(PluginOptionsError);
    expect(bigBlocks().name).toBe("big-blocks");
  });

  it("depends on core as a peer, not a copy of its own", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as Record<string, Record<string, string> | undefined>;
    expect(pkg.peerDependencies?.["@leakscope/core"]).toBeDefined();
    expect(pkg.dependencies?.["@leakscope/core"]).toBeUndefined();
    expect(pkg.dependencies?.["@sinclair/typebox"]).toBeUndefined();
  });
});
