import { validateReport } from "@leakscope/core";
import { describe, expect, it } from "vitest";
import { CollectingSink } from "../src/detectors/context.js";
import { PROCESS_GROWTH_FLOORS, analyzeDiff, demangleTypeName, processGrowthEvidence, diffSnapshots, leakAnalyzer, snapshotOfRun, sortedByBlockAddress } from "../src/index.js";
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
    const sc = leakyProcess(8, 30);
    delete sc.stacks;
    const { report } = await runScenario(sc, [leakAnalyzer({ reachability: false })]);
    const a = report.analysis!;
    expect(a.summary.traces).toBe("disabled");
    expect(a.suspects[0]!.stack).toBeUndefined();
    expect(a.stacks).toEqual([]);
    // the advice is said once, in the summary; cards do not repeat it
    expect(a.summary.tracesNote).toMatch(/\+ust/);
    expect(a.suspects.some((s) => /\+ust/.test(s.nextStep))).toBe(false);
  });

  it("ranks size classes as WinDbg's -stat percentages do", async () => {
    const heap = new Mem(0x28a0000, 0x80000);
    const blocks: PlannedBlock[] = [{ user: 0x28a1000, size: 0x40000 }];
    for (let i = 0; i < 0xa95; i++) blocks.push({ user: 0x2900000 + i * 0x50, size: 0x44 });
    for (let i = 0; i < 0x358; i++) blocks.push({ user: 0x2a00000 + i * 0x60, size: 0x50 });
    const { report } = await runScenario({ ps: 4, pieces: [heap], modules: [], heap: 0x28a0000, blocks }, [leakAnalyzer({ reachability: false })]);
    const a = report.analysis!;
    expect(a.sizeClasses.slice(0, 3).map((c) => c.size)).toEqual([0x40000, 0x44, 0x50]);
    // one large block is not a leak signal: it is listed under `largest`, not as a suspect
    expect(a.suspects.map((s) => s.size)).toEqual([0x44, 0x50]);
    expect(a.largest?.[0]).toMatchObject({ size: 0x40000, count: 1, heap: "0x28a0000" });
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
    expect(cls.evidence.some((e) => e.startsWith("13 of the 20 busy 0x80-byte blocks are not referenced"))).toBe(true);
    expect(cls.keys).toEqual(["class:0x500000:0x80"]);
    expect(report.analysis!.suspects.some((s) => s.kind === "unreferenced")).toBe(false);
  });

  it("reachability does not depend on the order the walk found the blocks in", async () => {
    const heapBase = 0x600000;
    const heap = new Mem(heapBase, 0x10000);
    const roots = new Mem(0x100000, 0x1000);
    const blocks: PlannedBlock[] = [];
    for (let i = 0; i < 40; i++) blocks.push({ user: heapBase + 0x100 + i * 0x100, size: 0x40, busy: i % 5 !== 4 });
    // a chain from the roots through every third busy block; the rest unreferenced
    const busy = blocks.filter((b) => b.busy !== false);
    const chained = busy.filter((_, k) => k % 3 === 0);
    roots.ptr(0x100000, chained[0]!.user, 8);
    for (let k = 0; k + 1 < chained.length; k++) heap.ptr(chained[k]!.user + 8, chained[k + 1]!.user, 8);
    // the walk reports them in a scrambled order (LFH blocks after their hosts, heaps interleaved)
    const scrambled = blocks.map((b, i) => ({ b, key: (i * 17) % 41 })).sort((x, y) => x.key - y.key).map((x) => x.b);
    for (const list of [blocks, scrambled]) {
      const { report } = await runScenario({ ps: 8, pieces: [heap, roots], modules: [], heap: heapBase, blocks: list }, [leakAnalyzer({ reachability: true })]);
      const r = report.analysis!.reachability!;
      expect(r.reachable.count).toBe(chained.length);
      expect(r.unreferenced.count).toBe(busy.length - chained.length);
    }
  });

  it("sorts block indices by block address with a merge of the walk's runs", () => {
    const addresses = [0x500, 0x100, 0x300, 0x200, 0x900, 0x100, 0x700, 0x800, 0x050];
    const set = {
      count: addresses.length,
      blockAddress: (i: number) => addresses[i]!,
    } as unknown as Parameters<typeof sortedByBlockAddress>[0];
    expect(Array.from(sortedByBlockAddress(set))).toEqual([8, 1, 5, 3, 2, 0, 6, 7, 4]);
  });

  it("skips reachability when the heap memory is not in the dump", async () => {
    const blocks: PlannedBlock[] = [{ user: 0x900000, size: 0x40 }, { user: 0x900100, size: 0x40 }];
    const roots = new Mem(0x100000, 0x100);
    const { report } = await runScenario({ ps: 8, pieces: [roots], modules: [], heap: 0x900000, blocks }, [leakAnalyzer({ reachability: true })]);
    expect(report.analysis!.reachability).toBeUndefined();
    // said once, by the verdict: the heap memory is missing and what to capture instead
    expect(report.analysis!.verdict).toBe("cannot-judge");
    expect(report.analysis!.coverage).toMatchObject({ hasFigures: true, captured: 0 });
    expect(report.analysis!.verdictReason).toMatch(/^Only 0% of the busy blocks' memory is in the dump: .*procdump -ma/);
    expect(report.analysis!.notes).toBeUndefined();
  });

  it("cannot judge a process whose heaps could not be walked completely", async () => {
    const sc = { ...leakyProcess(8, 30), incomplete: true };
    const { report } = await runScenario(sc, [leakAnalyzer({ reachability: false })]);
    expect(report.analysis).toMatchObject({ verdict: "cannot-judge", coverage: { incompleteHeaps: 1 } });
    expect(report.analysis!.verdictReason).toMatch(/1 of 1 heaps could not be walked completely/);
    // the same process walked completely is judged
    const whole = await runScenario(leakyProcess(8, 30), [leakAnalyzer({ reachability: false })]);
    expect(whole.report.analysis!.verdict).not.toBe("cannot-judge");
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
    // the growth as evidence: one card for the class and its stack, a verdict
    const a = analyzeDiff(diff, after.run);
    expect(a.verdict).toBe("leak-suspected");
    expect(a.suspects.filter((s) => s.score >= 0.3)).toEqual([
      expect.objectContaining({ kind: "size-class", size: 0x3fff, callSite: "leaky!main+0x69", delta: { count: 15, bytes: 15 * 0x3fff } }),
    ]);
  });

  it("process growth is evidence in a diff: each kind by its key, the totals and small changes are not", () => {
    const row = (key: string, kind: "handles" | "gdi" | "threads" | "memory", before: number, after: number) => ({ key, kind, before, after, delta: after - before });
    const sink = new CollectingSink();
    processGrowthEvidence(
      [
        row("handles:Event", "handles", 40, 20040),
        row("handles:total", "handles", 100, 20100),
        row("gdi:Bitmap", "gdi", 10, 9010),
        row("threads:app+0x1500", "threads", 2, 302),
        row("memory:outside-heaps", "memory", 0, 400 << 20),
        // below the floors: a few more handles, a type that grew by less than half, less than 16 MiB
        row("handles:File", "handles", 12, 12 + PROCESS_GROWTH_FLOORS.handles - 1),
        row("handles:Key", "handles", 1000, 1400),
        row("threads:app+0x1600", "threads", 10, 5),
      ],
      sink,
    );
    expect(sink.records.map((e) => [e.keys[0], e.leakKind, e.signal])).toEqual([
      ["handles:Event", "handles", "growth"],
      ["gdi:Bitmap", "gdi", "growth"],
      ["threads:app+0x1500", "threads", "growth"],
      ["region:outside-heaps", "virtual-memory", "growth"],
    ]);
    for (const e of sink.records) expect(e.strength).toBeGreaterThanOrEqual(0.3);
    // a handful more than the floor scores less than thousands more
    const small = new CollectingSink();
    processGrowthEvidence([row("handles:Event", "handles", 40, 140)], small);
    expect(small.records[0]!.strength).toBeLessThan(sink.records[0]!.strength);
    const vm = new CollectingSink();
    processGrowthEvidence([row("memory:outside-heaps", "memory", 0, PROCESS_GROWTH_FLOORS.virtualBytes - 1), row("memory:private", "memory", 0, 400 << 20)], vm);
    expect(vm.records).toEqual([]);
  });

  it("a diff whose process figures grew is leak-suspected on that kind; without process growth the verdict is unchanged", async () => {
    const before = await runScenario(leakyProcess(8, 10), [], "walk");
    const after = await runScenario(leakyProcess(8, 10), [], "walk");
    const diff = diffSnapshots(snapshotOfRun(before.run), snapshotOfRun(after.run));
    const plain = analyzeDiff(diff, after.run);
    expect(plain.verdict).toBe("no-leak-evidence");
    const flat = analyzeDiff({ ...diff, process: [{ key: "threads:total", kind: "threads", before: 3, after: 4, delta: 1 }] }, after.run);
    expect(flat.verdict).toBe(plain.verdict);
    expect(flat.suspects).toEqual(plain.suspects);
    const grown = analyzeDiff({ ...diff, process: [{ key: "gdi:Bitmap", kind: "gdi", before: 50, after: 9050, delta: 9000 }] }, after.run);
    expect(grown).toMatchObject({ verdict: "leak-suspected", leakKind: "gdi" });
    expect(grown.suspects[0]).toMatchObject({ kind: "gdi", keys: ["gdi:Bitmap"], delta: { count: 9000, bytes: 0 } });
  });

  it("demangles MSVC type descriptor names", () => {
    expect(demangleTypeName(".?AVSession@net@@")).toBe("class net::Session");
    expect(demangleTypeName(".?AUPacket@@")).toBe("struct Packet");
    expect(demangleTypeName(".?AV?$vector@HV?$allocator@H@std@@@std@@")).toBe("class std::vector<int,class std::allocator<int> >");
    expect(demangleTypeName("garbage")).toBe("garbage");
  });
});
