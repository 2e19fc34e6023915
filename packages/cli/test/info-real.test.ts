import { validateReport } from "@leakscope/core";
import { sharedFile } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { runCli } from "../src/index.js";
import { capture } from "./helpers.js";

const fizzbuzz = sharedFile("dumps/user/lldb-fizzbuzz-wow64-win7sp1-full.dmp");
const others = [
  "dumps/user/syzygy-notepad-x86view-win7sp1-indirect.dmp",
  "dumps/user/alpinefaction-rf-x86view-win11-indirect.dmp",
  "dumps/user/lldb-fizzbuzz-x86view-win7sp1-noheap.dmp",
  "dumps/user/lldb-sigsegv-x64-win10-1709.dmp",
].map((f) => sharedFile(f));

async function run(argv: string[]) {
  const c = capture();
  const code = await runCli(argv, { io: c.io });
  return { code, out: c.out(), err: c.err() };
}

describe("leakscope info on the real dumps", () => {
  it.skipIf(!fizzbuzz.present)("reports AMD64, 6.1 build 7601, WoW64, 107 memory ranges and its modules", async () => {
    const r = await run(["info", fizzbuzz.path, "--json"]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(validateReport(report).errors).toEqual([]);
    expect(report.target).toMatchObject({ kind: "user", format: "minidump", arch: "x64", wow64: true, os: { major: 6, minor: 1, build: 7601 } });
    expect(report.target.memory.ranges).toBe(107);
    expect(report.target.moduleCount).toBe(16);
    expect(report.target.modules.map((m: { name: string }) => m.name.toLowerCase())).toContain("wow64.dll");
    expect(report.target.views.map((v: { bitness: number; peb: string }) => [v.bitness, v.peb])).toEqual([
      [64, "0x7efdf000"],
      [32, "0x7efde000"],
    ]);
    expect(report.diagnostics).toEqual([]);
  });

  it.skipIf(!fizzbuzz.present)("heaps: the 32-bit LFH heap counts its LFH blocks and lists its buckets (JSON and text)", async () => {
    const r = await run(["heaps", fizzbuzz.path, "--json"]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(validateReport(report).errors).toEqual([]);
    const lfh = report.heaps.find((h: { address: string }) => h.address === "0x700000");
    expect(lfh).toMatchObject({ bitness: 32, busy: { count: 304, bytes: 53465 }, summary: { lfh: true, lfhBusy: 152, lfhFree: 102 } });
    expect(lfh.buckets).toEqual([
      { blockSize: 0x18, subsegments: 1, totalBlocks: 41, busyBlocks: 27, freeBlocks: 14, busyBytes: 0x190 },
      { blockSize: 0x20, subsegments: 1, totalBlocks: 63, busyBlocks: 1, freeBlocks: 62, busyBytes: 0x18 },
      { blockSize: 0x28, subsegments: 3, totalBlocks: 150, busyBlocks: 124, freeBlocks: 26, busyBytes: 0xf4c },
    ]);
    expect(report.heaps.filter((h: { buckets?: unknown }) => h.buckets !== undefined)).toHaveLength(1);
    const text = (await run(["heaps", fizzbuzz.path, "--buckets"])).out;
    expect(text).toContain("LFH of heap 0x700000");
  });

  for (const f of others) {
    it.skipIf(!f.present)(`opens ${f.path.split("/").pop()} and reports what it lacks as diagnostics`, async () => {
      const r = await run(["heaps", f.path, "--json"]);
      expect(r.code, r.err).toBe(0);
      const report = JSON.parse(r.out);
      expect(validateReport(report).errors).toEqual([]);
      if (!f.path.includes("noheap")) {
        expect(report.heaps.length).toBeGreaterThan(0);
        expect(report.diagnostics.some((d: { code: string }) => /NOT_CAPTURED|UNCLASSIFIED/.test(d.code))).toBe(true);
      } else {
        expect(report.diagnostics.map((d: { code: string }) => d.code)).toContain("MINIDUMP_PEB_NOT_CAPTURED");
      }
    });
  }
});
