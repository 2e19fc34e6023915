import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateReport } from "@leakscope/core";
import { type KindLeak, buildExampleDump, buildKindLeakDump, sharedFile } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { runCli } from "../src/index.js";
import { capture } from "./helpers.js";

async function run(argv: string[]) {
  const c = capture();
  const code = await runCli(argv, { io: c.io });
  return { code, out: c.out(), err: c.err() };
}

const dir = mkdtempSync(join(tmpdir(), "leakscope-kinds-"));
const write = (name: string, bytes: Uint8Array): string => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};

describe("which kind of leak in `info` and `analyze`", () => {
  const breakpad = sharedFile("dumps/user/breakpad-tiny-cet-x64-win11-22000-peb-noheap.dmp");
  it.skipIf(!breakpad.present)("breakpad Win11: the 147 handles by type and the committed image/mapped/private bytes, at the top of info and analyze", async () => {
    for (const cmd of ["info", "analyze"]) {
      const r = await run([cmd, breakpad.path]);
      expect(r.code, r.err).toBe(0);
      // info leads with the triage; analyze with its verdict, the triage right after the heap summary
      if (cmd === "info") expect(r.out.startsWith("Which kind of leak:")).toBe(true);
      else {
        expect(r.out.split("\n")[1]).toMatch(/^Verdict: /);
        expect(r.out.indexOf("Which kind of leak:")).toBeLessThan(r.out.indexOf("Memory:   557"));
        expect(r.out.split("\n").slice(0, 6).join("\n")).toContain("Which kind of leak:");
      }
      expect(r.out).toContain("Memory:   557 regions (MemoryInfoList)");
      expect(r.out).toContain(`image 0x${(31682560).toString(16)}, mapped 0x${(52707328).toString(16)}, private 0x${(1294336).toString(16)}`);
      expect(r.out).toContain(
        "Handles:  147 (HandleData): Section 31, Event 18, Semaphore 12, File 11, Key 8, WaitCompletionPacket 6, IRTimer 4, IoCompletion 3, Directory 2, TpWorkerFactory 2, WindowStation 2, ALPC Port 1, Desktop 1, (no type name) 46",
      );
    }
    const info = (await run(["info", breakpad.path])).out;
    expect(info).toContain("Usage summary (like !address -summary):");
    expect(info).toMatch(/Handles by type:\n.*\n.*\n\s+Section\s+31\s+247\s+8,388,612\n\s+Event\s+18/);
  });

  const fizz = sharedFile("dumps/user/lldb-fizzbuzz-wow64-win7sp1-full.dmp");
  it.skipIf(!fizz.present)("fizzbuzz: the 168 regions with the heaps' share named; analyze attributes the walked LFH memory to its heap", async () => {
    const info = await run(["info", fizz.path]);
    expect(info.out).toContain(`Memory:   168 regions (MemoryInfoList); committed 0x${(9281536).toString(16)} bytes`);
    expect(info.out).toMatch(/Heaps: .* in 6 heap\(s\).*0x500000 \(process heap\).*0x7efe0000 \(CSRSS shared heap\)/);
    const r = await run(["analyze", fizz.path, "--json"]);
    const report = JSON.parse(r.out);
    expect(validateReport(report).errors).toEqual([]);
    const h700 = report.process.composition.heaps.find((h: { heap: string }) => h.heap === "0x700000");
    // the LFH front end's memory (0xe0000) holds blocks of heap 0x700000: its commit joins the heap
    expect(h700.committed).toBeGreaterThan(0x14000 + 0xd4000 - 1);
    expect(h700.busy).toBeGreaterThan(0);
    expect(h700.overhead).toBe(h700.committed - h700.busy - h700.free);
  });

  it("each planted kind leads the triage and the suspects; a heap leak still leads with the heap", async () => {
    const kinds: KindLeak[] = ["handles", "gdi", "threads", "virtual-memory"];
    for (const kind of kinds) {
      const r = await run(["analyze", write(`${kind}.dmp`, buildKindLeakDump(kind)), "--json"]);
      expect(r.code, r.err).toBe(0);
      const report = JSON.parse(r.out);
      expect(validateReport(report).errors).toEqual([]);
      expect(report.process.triage[0]).toMatchObject({ kind, abnormal: true });
      expect(report.analysis.suspects[0].kind).toBe(kind);
      expect(report.analysis.verdict).toBe("leak-suspected");
      expect(report.analysis.leakKind).toBe(kind);
      // the reason names what the kind's evidence rests on, not a heap signal
      const words: Record<string, string> = { handles: "a handle count far above the usual", gdi: "GDI objects near the quota", threads: "many threads parked at one place", "virtual-memory": "private memory outside the heaps" };
      expect(report.analysis.verdictReason).toContain(`on ${words[kind]}`);
    }
    const heap = JSON.parse((await run(["analyze", write("example.dmp", buildExampleDump()), "--json"])).out);
    expect(heap.process.triage[0]).toMatchObject({ kind: "heap", abnormal: true });
    expect(heap.analysis.suspects[0].kind).toBe("size-class");
    expect(heap.process.triage.filter((t: { abnormal: boolean }) => t.abnormal).map((t: { kind: string }) => t.kind)).toEqual(["heap"]);
  });

  it("diff compares the handle, GDI, thread and committed-byte figures of two snapshots", async () => {
    const before = write("before.dmp", buildKindLeakDump("none"));
    const r = await run(["diff", before, write("after-handles.dmp", buildKindLeakDump("handles")), "--json"]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(validateReport(report).errors).toEqual([]);
    expect(report.diff.process[0]).toEqual({ key: "handles:Event", kind: "handles", before: 40, after: 20040, delta: 20000 });
    expect(report.diff.process.map((x: { key: string }) => x.key)).toContain("handles:total");
    const vm = JSON.parse((await run(["diff", before, write("after-vm.dmp", buildKindLeakDump("virtual-memory")), "--json"])).out);
    expect(vm.diff.process.find((x: { key: string }) => x.key === "memory:outside-heaps")).toMatchObject({ before: 0, after: 400 * 0x100000 });
    const text = (await run(["diff", before, write("after-threads.dmp", buildKindLeakDump("threads"))])).out;
    expect(text.split("\n")[1]).toMatch(/^Verdict: /);
    expect(text).toMatch(/\nProcess figures that changed/);
    expect(text).toMatch(/threads:kinds\+0x1500\s+0\s+300\s+\+300/);
    expect((await run(["diff", before, before])).out).toMatch(/\nProcess figures \(memory, handles, GDI objects, threads\): unchanged/);
  });

  it("process growth between two snapshots reaches the diff's verdict, naming the kind", async () => {
    const before = write("v-before.dmp", buildKindLeakDump("none"));
    // (the healthy dump has no GDI table to compare with: GDI growth is tested in analyze)
    const keys: Record<string, string> = { handles: "handles:Event", threads: "threads:kinds+0x1500", "virtual-memory": "region:outside-heaps" };
    for (const kind of ["handles", "threads", "virtual-memory"] as const) {
      const r = await run(["diff", before, write(`v-after-${kind}.dmp`, buildKindLeakDump(kind)), "--json"]);
      expect(r.code, r.err).toBe(0);
      const report = JSON.parse(r.out);
      expect(validateReport(report).errors).toEqual([]);
      expect(report.analysis.verdict, kind).toBe("leak-suspected");
      expect(report.analysis.leakKind).toBe(kind);
      expect(report.analysis.suspects[0]).toMatchObject({ kind, keys: [keys[kind]] });
      expect(report.analysis.suspects[0].score).toBeGreaterThanOrEqual(0.3);
      expect(report.analysis.verdictReason).toContain("on growth between snapshots");
    }
    // no process growth (and no heap memory in either): the verdict is what it was
    const same = JSON.parse((await run(["diff", before, before, "--json"])).out);
    expect(same.analysis.verdict).toBe("cannot-judge");
    expect(same.analysis.suspects).toEqual([]);
    // the leak already in the earlier snapshot, nothing more in the later one: no growth, no suspect
    const leaked = write("v-leaked.dmp", buildKindLeakDump("handles"));
    const flat = JSON.parse((await run(["diff", leaked, leaked, "--json"])).out);
    expect(flat.analysis.suspects.filter((s: { kind: string }) => s.kind === "handles")).toEqual([]);
  });

  it("trend follows handles, threads and private memory outside the heaps over timed snapshots", async () => {
    const t0 = Date.UTC(2026, 11, 1) / 1000;
    const series = (kind: KindLeak, counts: number[]) => counts.map((count, i) => write(`trend-${kind}-${i}.dmp`, buildKindLeakDump(kind, { count, timestamp: t0 + i * 3600 })));
    // given out of order: sorted by capture time
    const handles = series("handles", [1000, 3000, 5000, 7000]);
    const r = await run(["trend", handles[2]!, handles[0]!, handles[3]!, handles[1]!, "--json"]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(validateReport(report).errors).toEqual([]);
    const ev = report.trend.series.find((s: { key: string }) => s.key === "handles:Event");
    expect(ev).toMatchObject({ kind: "handles", counts: [1040, 3040, 5040, 7040], status: "growing", slopeCountPerHour: 2000, slopeCountPerSnapshot: 2000 });
    expect(report.trend.suspects[0].key).toBe("handles:Event");
    expect(ev.score).toBeGreaterThanOrEqual(0.3);
    // the other handle types did not move: no suspects
    expect(report.trend.suspects.map((s: { key: string }) => s.key)).toEqual(["handles:Event"]);

    const threads = JSON.parse((await run(["trend", ...series("threads", [10, 60, 110]), "--json"])).out);
    expect(threads.trend.series.find((s: { key: string }) => s.key === "threads:total")).toMatchObject({ kind: "threads", counts: [11, 61, 111], status: "growing" });
    expect(threads.trend.suspects.map((s: { key: string }) => s.key)).toContain("threads:total");

    const vm = JSON.parse((await run(["trend", ...series("virtual-memory", [16, 48, 80]), "--json"])).out);
    const outside = vm.trend.series.find((s: { key: string }) => s.key === "memory:outside-heaps");
    expect(outside).toMatchObject({ kind: "virtual-memory", bytes: [16 << 20, 48 << 20, 80 << 20], status: "growing", slopeBytesPerHour: 32 << 20 });
    expect(vm.trend.suspects.map((s: { key: string }) => s.key)).toContain("memory:outside-heaps");

    // the leak stopped growing: a series, not a suspect
    const stopped = JSON.parse((await run(["trend", ...series("handles", [1000, 5000, 5000, 5000]), "--json"])).out);
    expect(stopped.trend.suspects).toEqual([]);
    expect(stopped.trend.stopped).toContain("handles:Event");
    // a healthy process: nothing grows
    const flat = JSON.parse((await run(["trend", ...series("none", [0, 0, 0]), "--json"])).out);
    expect(flat.trend.suspects).toEqual([]);
    expect(flat.trend.stopped).toEqual([]);
  });

  it("a WinDbg log with `!handle` output gets the handle triage: the summary or `!handle 0 f` listings", async () => {
    const listing = (n: number, type: string, name?: string) =>
      Array.from({ length: n }, (_, i) => [`Handle ${(4 * (i + 1)).toString(16).padStart(16, "0")}`, `  Type         \t${type}`, "  HandleCount  \t1", "  PointerCount \t32", `  Name         \t${name ?? "<none>"}`].join("\n")).join("\n");
    // the plain summary: 30,000 Event handles
    const summary = write("handles-summary.log", new TextEncoder().encode(["0:000> !handle", "30120 Handles", "Type           \tCount", "Event          \t30000", "File           \t120", "0:000> q", ""].join("\n")));
    const r = await run(["analyze", summary, "--json"]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(validateReport(report).errors).toEqual([]);
    expect(report.analysis).toMatchObject({ verdict: "leak-suspected", leakKind: "handles" });
    expect(report.analysis.suspects[0]).toMatchObject({ kind: "handles", keys: ["handles:Event"], count: 30000 });
    // a `!handle 0 f` listing: the repeated name is named; a filtered listing of one type loses to the full one
    const text = ["0:000> !handle 0 f Mutant", listing(3, "Mutant"), "0:000> !handle 0 f", listing(2500, "Event", "\\BaseNamedObjects\\JobDone"), listing(5, "File"), "Handle 0000000000fffff0", "  HandleCount  \t1", "2506 Handles", ""].join("\n");
    const f = JSON.parse((await run(["analyze", write("handles-f.log", new TextEncoder().encode(text)), "--json"])).out);
    expect(f.analysis.suspects[0]).toMatchObject({ kind: "handles", keys: ["handles:Event"], count: 2500 });
    expect(f.analysis.suspects[0].evidence.join(" ")).toContain('2,500 of them name "\\BaseNamedObjects\\JobDone"');
    // the handle block without a Type line: a diagnostic with its line in the log
    const bad = f.diagnostics.find((d: { code: string }) => d.code === "PROCESS_HANDLE_TEXT_MALFORMED");
    expect(bad?.location?.line).toBe(text.split("\n").indexOf("Handle 0000000000fffff0") + 1);
    // a healthy handle count: no handle suspect, the verdict is the log's own
    const healthy = JSON.parse((await run(["analyze", write("handles-ok.log", new TextEncoder().encode(["0:000> !handle", "Type           \tCount", "Event          \t40", ""].join("\n"))), "--json"])).out);
    expect(healthy.analysis.suspects.filter((s: { kind: string }) => s.kind === "handles")).toEqual([]);
    expect(healthy.analysis.verdict).toBe("cannot-judge");
  });
});
