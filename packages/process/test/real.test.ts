import { Engine, type Report, minidumpInput } from "@leakscope/core";
import { sharedFile } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { processKinds } from "../src/index.js";

async function info(path: string): Promise<Report> {
  const engine = new Engine({ plugins: [minidumpInput(), processKinds()] });
  const open = await engine.open(path, { command: "info", depth: "open" });
  open.close();
  return open.report;
}

describe("real dumps (../shared/dumps/user)", () => {
  const breakpad = sharedFile("dumps/user/breakpad-tiny-cet-x64-win11-22000-peb-noheap.dmp");
  it.skipIf(!breakpad.present)("breakpad Win11: 557 regions, committed bytes by type and 147 handles by type as its README lists them", async () => {
    const p = (await info(breakpad.path)).process!;
    expect(p.composition.source).toBe("memory-info-list");
    expect(p.composition.regions).toBe(557);
    expect(p.composition.committedByType).toEqual({ image: 31682560, mapped: 52707328, private: 1294336 });
    expect(p.handles.source).toBe("HandleData");
    expect(p.handles.total).toBe(147);
    expect(Object.fromEntries(p.handles.byType.map((t) => [t.type, t.count]))).toEqual({
      Section: 31,
      Event: 18,
      Semaphore: 12,
      File: 11,
      Key: 8,
      WaitCompletionPacket: 6,
      IRTimer: 4,
      IoCompletion: 3,
      TpWorkerFactory: 2,
      Directory: 2,
      WindowStation: 2,
      "ALPC Port": 1,
      Desktop: 1,
      "(no type name)": 46,
    });
    // the PEB names the process heap (its array of heaps is not captured)
    expect(p.composition.heaps.find((h) => h.heap === "0x2a658530000")).toMatchObject({ label: "process heap", allocations: 1 });
    expect(p.gdi.status).toBe("not-captured");
    expect(p.triage.some((t) => t.abnormal)).toBe(false);
  });

  const fizz = sharedFile("dumps/user/lldb-fizzbuzz-wow64-win7sp1-full.dmp");
  it.skipIf(!fizz.present)("fizzbuzz WoW64: 168 regions, 0x8da000 committed (0x106000 private), the heaps of both PEBs named", async () => {
    const r = await info(fizz.path);
    const c = r.process!.composition;
    expect(c.regions).toBe(168);
    expect(c.committed).toBe(0x8da000);
    expect(c.committedByType.private).toBe(0x106000);
    expect(c.heaps.map((h) => h.heap).sort()).toEqual(["0x10000", "0x20000", "0x460000", "0x500000", "0x700000", "0x7efe0000"]);
    expect(c.heaps.find((h) => h.heap === "0x7efe0000")!.label).toBe("CSRSS shared heap");
    const heapRow = c.usage.find((u) => u.name === "Heap")!;
    expect(heapRow.committed).toBe(c.heaps.reduce((s, h) => s + h.committed, 0));
    expect(c.usage.reduce((s, u) => s + u.regions, 0)).toBe(168);
    expect(r.process!.handles).toMatchObject({ source: "HandleData", total: 0 });
    expect(r.process!.gdi.status).toBe("not-gui");
    expect(r.process!.threads).toMatchObject({ count: 1, groups: [{ start: "fizzbuzz+0x94c6", count: 1 }] });
  });

  const sig = sharedFile("dumps/user/lldb-sigsegv-x64-win10-1709.dmp");
  it.skipIf(!sig.present)("sigsegv Win10: no MemoryInfoList, so the captured ranges with a diagnostic; counters shown", async () => {
    const r = await info(sig.path);
    const p = r.process!;
    expect(p.composition.source).toBe("memory-ranges");
    expect(r.diagnostics.map((d) => d.code)).toContain("PROCESS_NO_MEMORY_INFO");
    expect(r.diagnostics.map((d) => d.code)).toContain("PROCESS_NO_HANDLE_DATA");
    expect(p.composition.vmCounters).toMatchObject({ privateUsage: 364544, pagefileUsage: 364544 });
    expect(p.composition.systemMemory).toMatchObject({ pageSize: 4096, commitLimitBytes: 19243783 * 4096 });
    expect(p.handles.source).toBe("none");
  });
});
