import { validateReport } from "@leakscope/core";
import { describe, expect, it } from "vitest";
import { demangleTypeName, diffSnapshots, leakAnalyzer, snapshotOfRun } from "../src/index.js";
import { Mem, type PlannedBlock, type Scenario, rttiModule, runScenario } from "./fixtures.js";

function leakyProcess(ps: 4 | 8, leaks: number): Scenario {
  const base = ps === 8 ? 0x140000000 : 0x400000;
  const { mem: image, vtable, module } = rttiModule(base, ps, ".?AVSession@net@@");
  const heapBase = ps === 8 ? 0x2049b870000 : 0x7a0000;
  const heap = new Mem(heapBase, 0x100000);
  const blocks: PlannedBlock[] = [];
  let cur = heapBase + 0x1000;
  // background noise: 50 blocks of assorted sizes from another stack
  for (let i = 0; i < 50; i++) {
    const size = 0x20 + (i % 7) * 0x10;
    blocks.push({ user: cur, size, stack: 1 });
    heap.fill(cur, size, 0x41 + (i % 26));
    cur += size + 0x40;
  }
  // the planted leak: objects of net::Session, 0x3fff bytes each, from leaky!main+0x69
  for (let i = 0; i < leaks; i++) {
    blocks.push({ user: cur, size: 0x3fff, stack: 0 });
    heap.ptr(cur, vtable, ps);
    heap.str(cur + ps, "session-buffer");
    cur += 0x4040;
    if (cur > heapBase + 0xf0000) throw new Error("fixture heap too small");
  }
  blocks.push({ user: cur, size: 0x800, busy: false });
  return {
    ps,
    pieces: [image, heap],
    modules: [module],
    heap: heapBase,
    blocks,
    stacks: [
      [0x7ffe77e7cca4, 0x140001119, 0x7ffe76cce8d7],
      [0x7ffe77e7cca4, 0x7ffe77e70001],
    ],
  };
}

describe("leak analysis", () => {
  for (const ps of [8, 4] as const) {
    it(`names the planted leak first with size, count, stack and C++ type (${ps * 8}-bit)`, async () => {
      const { report } = await runScenario(leakyProcess(ps, 30), [leakAnalyzer({ reachability: false })]);
      expect(validateReport(report).errors).toEqual([]);
      const top = report.analysis!.suspects[0]!;
      expect(top).toMatchObject({ rank: 1, kind: "size-class", size: 0x3fff, count: 30, bytes: 30 * 0x3fff, typeName: "class net::Session" });
      expect(top.stack?.map((f) => f.text)).toContain("leaky!main+0x69");
      expect(top.nextStep).toContain("leaky!main+0x69");
      expect(top.preview?.ascii).toContain("session-buffer");
      expect(report.analysis!.types[0]).toMatchObject({ typeName: "class net::Session", count: 30 });
      expect(report.analysis!.summary.traces).toBe("present");
    });
  }

  it("says plainly when there are no stacks and what to do", async () => {
    const sc = leakyProcess(8, 10);
    delete sc.stacks;
    const { report } = await runScenario(sc, [leakAnalyzer({ reachability: false })]);
    expect(report.analysis!.summary.traces).toBe("disabled");
    expect(report.analysis!.suspects[0]!.stack).toBeUndefined();
    expect(report.analysis!.stacks).toEqual([]);
    expect(report.analysis!.suspects.find((s) => s.kind === "size-class" && !s.typeName)?.nextStep).toMatch(/\+ust/);
  });

  it("ranks size classes as WinDbg's -stat percentages do", async () => {
    const heap = new Mem(0x28a0000, 0x80000);
    const blocks: PlannedBlock[] = [{ user: 0x28a1000, size: 0x40000 }];
    for (let i = 0; i < 0xa95; i++) blocks.push({ user: 0x2900000 + i * 0x50, size: 0x44 });
    for (let i = 0; i < 0x358; i++) blocks.push({ user: 0x2a00000 + i * 0x60, size: 0x50 });
    const { report } = await runScenario({ ps: 4, pieces: [heap], modules: [], heap: 0x28a0000, blocks }, [leakAnalyzer({ reachability: false })]);
    const sizes = report.analysis!.suspects.filter((s) => s.kind === "size-class").map((s) => s.size);
    expect(sizes.slice(0, 3)).toEqual([0x40000, 0x44, 0x50]);
  });

  it("finds exactly the planted unreferenced blocks (reachability)", async () => {
    const heapBase = 0x500000;
    const heap = new Mem(heapBase, 0x10000);
    const stack = new Mem(0x100000, 0x1000); // a thread stack: a root
    const blocks: PlannedBlock[] = [];
    for (let i = 0; i < 20; i++) blocks.push({ user: heapBase + 0x100 + i * 0x100, size: 0x80 });
    // roots reference blocks 0..4 directly; block 4 references 5 (interior pointer) which references 6
    for (let i = 0; i < 5; i++) stack.ptr(0x100000 + i * 8, blocks[i]!.user, 8);
    heap.ptr(blocks[4]!.user + 8, blocks[5]!.user + 0x10, 8);
    heap.ptr(blocks[5]!.user, blocks[6]!.user, 8);
    // blocks 7..19 only reference each other in a cycle: still unreferenced from roots
    for (let i = 7; i < 19; i++) heap.ptr(blocks[i]!.user, blocks[i + 1]!.user, 8);
    heap.ptr(blocks[19]!.user, blocks[7]!.user, 8);
    const { report } = await runScenario({ ps: 8, pieces: [heap, stack], modules: [], heap: heapBase, blocks }, [leakAnalyzer({ reachability: true })]);
    const r = report.analysis!.reachability!;
    expect(r.reachable.count).toBe(7);
    expect(r.unreferenced.count).toBe(13);
    expect(r.samples[0]).toBe(`0x${blocks[7]!.user.toString(16)}`);
    // folded into the 0x80 size class they belong to
    const cls = report.analysis!.suspects.find((s) => s.kind === "size-class" && s.size === 0x80)!;
    expect(cls.evidence.some((e) => e.startsWith("13 of these 20 blocks are not referenced"))).toBe(true);
    expect(report.analysis!.suspects.some((s) => s.kind === "unreferenced")).toBe(false);
  });

  it("skips reachability when the heap memory is not in the dump", async () => {
    const blocks: PlannedBlock[] = [{ user: 0x900000, size: 0x40 }, { user: 0x900100, size: 0x40 }];
    const roots = new Mem(0x100000, 0x100);
    const { report } = await runScenario({ ps: 8, pieces: [roots], modules: [], heap: 0x900000, blocks }, [leakAnalyzer({ reachability: true })]);
    expect(report.analysis!.reachability).toBeUndefined();
    expect(report.analysis!.notes?.[0]).toMatch(/skipped: only 0%/);
  });

  it("diffs two snapshots and reports exactly the planted growth", async () => {
    const before = await runScenario(leakyProcess(8, 10), [], "walk");
    const after = await runScenario(leakyProcess(8, 25), [], "walk");
    const diff = diffSnapshots(snapshotOfRun(before.run), snapshotOfRun(after.run));
    const cls = diff.rows.find((r) => r.kind === "size-class")!;
    expect(cls).toMatchObject({ size: 0x3fff, delta: { count: 15, bytes: 15 * 0x3fff } });
    const st = diff.rows.find((r) => r.kind === "stack")!;
    expect(st.delta).toEqual({ count: 15, bytes: 15 * 0x3fff });
    expect(diff.rows.filter((r) => r.kind === "size-class")).toHaveLength(1); // nothing else changed
    expect(diff.rows[0]!.delta.bytes).toBe(15 * 0x3fff);
    expect(diff.total.after.count - diff.total.before.count).toBe(15);
  });

  it("demangles MSVC type descriptor names", () => {
    expect(demangleTypeName(".?AVSession@net@@")).toBe("class net::Session");
    expect(demangleTypeName(".?AUPacket@@")).toBe("struct Packet");
    expect(demangleTypeName(".?AV?$vector@HV?$allocator@H@std@@@std@@")).toBe("class std::vector<int,class std::allocator<int> >");
    expect(demangleTypeName("garbage")).toBe("garbage");
  });
});
