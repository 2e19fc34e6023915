import { describe, expect, it } from "vitest";
import { Engine, minidumpInput } from "@leakscope/core";
import { sharedFile } from "@leakscope/test-utils";
import { heapSegment } from "../src/index.js";

async function walk(path: string) {
  const engine = new Engine({ plugins: [minidumpInput(), heapSegment()] });
  const open = await engine.open(path, { command: "heaps", depth: "walk" });
  const run = open.run;
  const result = {
    build: run.target.os.build,
    heaps: run.heaps.map((h) => ({ address: h.address, kind: h.kind })),
    diagnostics: run.allDiagnostics().filter((d) => d.source === "heap-segment"),
    allocations: run.allocations.count,
  };
  open.close();
  return result;
}

// None of the public dumps holds a segment heap body (shared/dumps/user/README.md): discovery
// (PEBs, descriptor list, 64 KiB signature scan) must find none, and heaps the PEB lists
// without memory must be reported.
describe("real dumps in shared/dumps/user", () => {
  for (const name of [
    "lldb-fizzbuzz-wow64-win7sp1-full.dmp",
    "syzygy-notepad-x86view-win7sp1-indirect.dmp",
    "alpinefaction-rf-x86view-win11-indirect.dmp",
    "lldb-fizzbuzz-x86view-win7sp1-noheap.dmp",
  ]) {
    const f = sharedFile(`dumps/user/${name}`);
    it.skipIf(!f.present)(`${name}: no segment heap is found and nothing is reported`, async () => {
      const r = await walk(f.path);
      expect(r.heaps).toEqual([]);
      expect(r.diagnostics).toEqual([]);
      expect(r.allocations).toBe(0);
    });
  }

  const f1709 = sharedFile("dumps/user/lldb-sigsegv-x64-win10-1709.dmp");
  it.skipIf(!f1709.present)("Win10 1709 x64: the two PEB heaps whose memory is missing are reported, none is registered", async () => {
    const r = await walk(f1709.path);
    expect(r.build).toBe(16299);
    expect(r.heaps).toEqual([]);
    expect(r.diagnostics.map((d) => [d.code, d.location?.address])).toEqual([
      ["SEGMENT_HEAP_UNCLASSIFIED", "0x2083f1f0000"],
      ["SEGMENT_HEAP_UNCLASSIFIED", "0x2083d170000"],
    ]);
  });
});
