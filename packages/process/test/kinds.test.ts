import { leakAnalyzer } from "@leakscope/analyze";
import { BufferSource, Engine, type Report, minidumpInput } from "@leakscope/core";
import { KIND_LEAK_FACTS as F, type KindLeak, buildKindLeakDump } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { processEvidence, processKinds, runtimesOf } from "../src/index.js";

async function analyze(kind: KindLeak, command = "analyze"): Promise<Report> {
  const bytes = buildKindLeakDump(kind);
  const engine = new Engine({ plugins: [minidumpInput(), processKinds(), leakAnalyzer()] });
  const open = await engine.openSource(new BufferSource(bytes, `${kind}.dmp`), { command, depth: command === "info" ? "open" : "analyze" });
  open.close();
  return open.report;
}

describe("which kind of leak, on synthetic dumps with one planted leak each", () => {
  it("a handle leak: Event handles at the top, the repeated name and handle tracing as next step", async () => {
    const r = await analyze("handles");
    const p = r.process!;
    expect(p.triage[0]).toMatchObject({ kind: "handles", abnormal: true, key: "handles:Event" });
    expect(p.triage[0]!.nextStep).toMatch(/!htrace/);
    expect(p.triage.filter((t) => t.abnormal).map((t) => t.kind)).toEqual(["handles"]);
    expect(p.handles.byType[0]).toMatchObject({ type: "Event", count: F.leakedEvents + 40, typical: 2000 });
    expect(p.handles.names[0]).toEqual({ type: "Event", name: F.eventName, count: F.namedEvents });
    expect(r.analysis!.suspects[0]).toMatchObject({ kind: "handles", count: F.leakedEvents + 40 });
    expect(r.analysis!.verdict).toBe("leak-suspected");
  });

  it("a GDI leak: bitmaps of this process counted, another process's objects not", async () => {
    const r = await analyze("gdi");
    const p = r.process!;
    expect(p.gdi).toMatchObject({ status: "present", processId: F.pid, total: F.leakedBitmaps + 100, quota: 10000 });
    expect(p.gdi.byType).toEqual([
      { type: "Bitmap", count: F.leakedBitmaps },
      { type: "Pen", count: 60 },
      { type: "DC", count: 40 },
    ]);
    expect(p.triage[0]).toMatchObject({ kind: "gdi", abnormal: true, key: "gdi:Bitmap" });
    expect(r.analysis!.suspects[0]!.kind).toBe("gdi");
  });

  it("a thread leak: the threads parked at one place, grouped by start address and top frames", async () => {
    const r = await analyze("threads");
    const p = r.process!;
    expect(p.threads.count).toBe(F.parkedThreads + 1);
    expect(p.threads.groups[0]).toMatchObject({ start: "kinds+0x1500", top: "ntdll+0x9f9e4 < KERNELBASE+0x4b281 < kinds+0x1620", count: F.parkedThreads });
    expect(p.triage[0]).toMatchObject({ kind: "threads", abnormal: true, key: "threads:kinds+0x1500" });
    expect(p.threads.groups[0]!.created).toEqual({ first: "2026-12-01T00:00:00.000Z", last: "2026-12-01T04:59:00.000Z" });
    expect(p.triage[0]!.text).toMatch(/created from 2026-12-01T00:00:00.000Z to 2026-12-01T04:59:00.000Z/);
    expect(r.analysis!.suspects[0]!.kind).toBe("threads");
  });

  it("a VirtualAlloc leak: private regions outside any heap grouped by size, with who points at them", async () => {
    const r = await analyze("virtual-memory");
    const p = r.process!;
    const g = p.composition.privateGroups[0]!;
    expect(g).toMatchObject({ size: F.regionSize, count: F.regions, committed: F.regions * F.regionSize });
    expect(g.samples[0]).toBe("0x20000000");
    expect(g.referrers[0]).toBe("kinds+0x30000");
    expect(p.triage[0]).toMatchObject({ kind: "virtual-memory", abnormal: true, key: "region:0x20000000" });
    expect(r.analysis!.suspects[0]!.kind).toBe("virtual-memory");
    expect(p.composition.vmCounters!.privateUsage).toBe(0x43000 + F.regions * F.regionSize);
  });

  it("a healthy process: nothing abnormal, no suspect from the process detectors", async () => {
    const r = await analyze("none");
    expect(r.process!.triage.some((t) => t.abnormal)).toBe(false);
    expect(r.analysis!.suspects.filter((s) => ["handles", "gdi", "threads", "virtual-memory"].includes(s.kind))).toEqual([]);
    const c = r.process!.composition;
    expect(c.heaps[0]).toMatchObject({ heap: "0x2a0000", label: "process heap", committed: 0x40000, reserved: 0x100000 });
    expect(c.usage.find((u) => u.name === "Stack")).toBeUndefined();
    expect(r.process!.gdi.status).toBe("not-gui");
  });

  it("info gets the section without walking heaps; other commands do not", async () => {
    expect((await analyze("handles", "info")).process!.triage[0]!.kind).toBe("handles");
    expect((await analyze("handles", "heaps")).process).toBeUndefined();
  });

  it("memory outside the heaps counts less in a .NET or Java process, and the next step names its tools", async () => {
    const engine = new Engine({ plugins: [minidumpInput(), processKinds(), leakAnalyzer()] });
    const open = await engine.openSource(new BufferSource(buildKindLeakDump("virtual-memory"), "vm.dmp"), { command: "analyze", depth: "analyze" });
    open.close();
    const facts = open.run.data.process!;
    expect(runtimesOf(["ntdll.dll", "coreclr.dll", "KERNEL32.DLL"])).toEqual([".NET"]);
    expect(facts.runtimes).toEqual([]);
    const plain = processEvidence(facts)[0]!;
    const managed = processEvidence({ ...facts, runtimes: [".NET"] })[0]!;
    expect(managed.leakKind).toBe("virtual-memory");
    expect(managed.strength).toBeCloseTo(plain.strength - 0.2, 5);
    expect(managed.nextStep).toMatch(/SOS/);
  });
});
