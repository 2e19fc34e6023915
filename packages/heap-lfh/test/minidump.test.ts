import { describe, expect, it } from "vitest";
import { BufferSource, Engine, minidumpInput } from "@leakscope/core";
import { heapNt } from "@leakscope/heap-nt";
import {
  LFH_NT_LAYOUT,
  type LfhHeapSpec,
  type LfhWriterVersion,
  type NtBlockSpec,
  buildProcessDump,
  lfhUserBlocksBytes,
  writeLfhInNtHeap,
} from "@leakscope/test-utils";
import { heapLfh } from "../src/index.js";
import { actualLfhBlocks, expectedLfhBlocks, lfhSubsegments } from "./helpers.js";

/** A whole minidump (MinidumpBuilder) of a process whose heap uses the LFH, walked through the real reader. */
async function walkDump(version: LfhWriterVersion, kind: "x86" | "x64" | "wow64", withNt = true) {
  const bitness = kind === "x64" ? 64 : 32;
  const base = bitness === 64 ? 0x1_2340_0000 : 0x0070_0000;
  const lfhAddress = bitness === 64 ? 0x1_5550_0000 : 0x000e_0000;
  const subsegments = lfhSubsegments(bitness, 1);
  const spec: LfhHeapSpec = { version, bitness, heap: base, lfhHeap: lfhAddress, subsegments, perZone: 3 };
  const blocks: NtBlockSpec[] = [{ size: 50 }];
  subsegments.forEach((_, i) => blocks.push({ size: lfhUserBlocksBytes(spec, i), lfhHost: true }, { size: 10 + i }));
  const heapSpec = { base, frontEndHeapType: 2, frontEndHeap: lfhAddress, segments: [{ blocks }] };
  const dump = buildProcessDump({ layout: LFH_NT_LAYOUT[version], kind, heaps: [heapSpec] });
  const { lfh, structures } = writeLfhInNtHeap(dump.heaps[0]!, spec);
  for (const p of structures) dump.builder.memory(p.address, p.bytes);
  const bytes = dump.builder.build();
  const engine = new Engine({ plugins: withNt ? [minidumpInput(), heapNt(), heapLfh()] : [minidumpInput(), heapLfh()] });
  const open = await engine.openSource(new BufferSource(bytes, "lfh.dmp"), { command: "heaps", depth: "walk" });
  return { open, lfh, nt: dump.heaps[0]!, base };
}

describe("synthetic minidumps through the minidump reader", () => {
  it("says so when heap-lfh runs without heap-nt (which finds and walks the NT heaps)", async () => {
    const alone = await walkDump("win10", "x64", false);
    alone.open.close();
    expect(alone.open.report.diagnostics.map((d) => d.code)).toContain("LFH_NO_BACKEND_STATE");
    const both = await walkDump("win10", "x64");
    both.open.close();
    expect(both.open.report.diagnostics.map((d) => d.code)).not.toContain("LFH_NO_BACKEND_STATE");
  });

  for (const [version, kind] of [
    ["win7", "wow64"],
    ["win8.1", "x86"],
    ["win10", "wow64"],
    ["win11", "x64"],
  ] as const) {
    it(`${version} ${kind}: heaps JSON counts the LFH blocks in busy, blocks round-trip`, async () => {
      const { open, lfh, nt, base } = await walkDump(version, kind);
      try {
        // (the builder's WoW64 layout has no readable WoW64 context: a reader info, not ours)
        expect(open.report.diagnostics.filter((d) => d.source === "heap-lfh" || d.source === "heap-nt")).toEqual([]);
        expect(open.report.diagnostics.filter((d) => d.severity !== "info")).toEqual([]);
        expect(actualLfhBlocks(open.run, base)).toEqual(expectedLfhBlocks(lfh));
        const users = nt.expected.filter((e) => e.kind === "user");
        const busy = lfh.expected.filter((b) => b.busy);
        const row = open.report.heaps!.find((h) => h.summary.lfhBusy !== undefined)!;
        expect(row.bitness).toBe(kind === "x64" ? 64 : 32);
        expect(row.busy).toEqual({
          count: users.length + busy.length,
          bytes: users.reduce((s, e) => s + e.requestedSize, 0) + busy.reduce((s, b) => s + b.requestedSize, 0),
        });
        expect(row.summary).toMatchObject({ lfhBusy: busy.length, lfhFree: lfh.expected.length - busy.length, lfhSubsegments: 5 });
      } finally {
        open.close();
      }
    });
  }
});
