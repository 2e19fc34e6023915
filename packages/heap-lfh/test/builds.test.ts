import { describe, expect, it } from "vitest";
import type { LfhWriterVersion } from "@leakscope/test-utils";
import { actualLfhBlocks, codes, expectedHeapFigures, expectedLfhBlocks, lfhProcess, walkLfhProcess } from "./helpers.js";

/** The LFH writer version that matches a build (the layout itself follows the build). */
const versionOf = (build: number): LfhWriterVersion => (build < 9200 ? "win7" : build < 9600 ? "win8" : build < 22000 ? "win10" : "win11");
/** heap-nt's `_HEAP` layout per build (layout-evidence.md: tail moves at 9200, 14393, 17763). */
const ntLayoutOf = (build: number) => (build < 9200 ? "win7" : build < 14393 ? "win8" : build < 17763 ? "win10-1607" : "win10-1809");

const BUILDS = [7601, 9200, 9600, 10240, 10586, 14393, 16299, 17134, 17763, 19041, 22000];

describe("per build: NT heap + LFH written with that build's layouts, walked exactly", () => {
  for (const build of BUILDS) {
    for (const bitness of [32, 64] as const) {
      it(`${build} x${bitness === 32 ? "86" : "64"}: every backend and LFH block, busy/free counts and requested sizes`, async () => {
        const p = lfhProcess(versionOf(build), bitness, { build, emptySlots: 1 });
        const run = await walkLfhProcess(p);
        expect(codes(run)).toEqual([]);
        const heap = run.heaps.find((h) => h.address === p.heapAddress)!;
        expect(heap.incomplete).toBe(false);
        expect(heap.data.nt!.layout).toBe(ntLayoutOf(build));
        expect(heap.data.nt!.probed).toBe(false);
        expect(heap.data.lfh!.family).toBe(build < 9200 ? "win7" : build < 9600 ? "win8-rtm" : "win8");
        const want = expectedLfhBlocks(p.lfh);
        expect(actualLfhBlocks(run, p.heapAddress)).toEqual(want);
        const f = expectedHeapFigures(p);
        expect(heap.stats.busy).toEqual(f.busy);
        expect({ lfhBusy: heap.summary.lfhBusy, lfhFree: heap.summary.lfhFree }).toEqual({ lfhBusy: f.lfhBusy, lfhFree: f.lfhFree });
        // the figures are those of the spec, not just self-consistent
        expect([f.lfhBusy, f.lfhFree]).toEqual([36, 18]);
      });
    }
  }
});

describe("mislabelled builds: walked right by proof, or reported; never wrong", () => {
  const cases: [written: number, label: number][] = [
    [10240, 14393],
    [14393, 10240],
    [16299, 19041],
    [19041, 16299],
    [9600, 17763],
  ];
  for (const [written, label] of cases) {
    for (const bitness of [32, 64] as const) {
      it(`NT front end written for ${written}, labelled ${label} (x${bitness === 32 ? "86" : "64"}): the proven layout is used and named`, async () => {
        const p = lfhProcess(versionOf(written), bitness, { build: written, label });
        const run = await walkLfhProcess(p);
        expect(codes(run)).toEqual(["HEAP_LAYOUT_PROBED"]);
        const d = run.allDiagnostics().find((x) => x.code === "HEAP_LAYOUT_PROBED")!;
        expect(d.message).toContain(String(label));
        expect(d.message).toContain(ntLayoutOf(written));
        const heap = run.heaps.find((h) => h.address === p.heapAddress)!;
        expect(heap.data.nt!.layout).toBe(ntLayoutOf(written));
        expect(heap.data.nt!.probed).toBe(true);
        expect(actualLfhBlocks(run, p.heapAddress)).toEqual(expectedLfhBlocks(p.lfh));
      });
    }
  }

  for (const [written, label] of [
    [9200, 9600],
    [9600, 9200],
  ] as const) {
    it(`LFH zones written for ${written}, labelled ${label}: the zone form is proven from the first zone`, async () => {
      const p = lfhProcess("win8", 64, { build: written, label });
      const run = await walkLfhProcess(p);
      expect(codes(run)).toEqual(["LFH_LAYOUT_PROBED"]);
      expect(run.heaps[0]!.data.lfh!.family).toBe(written === 9200 ? "win8-rtm" : "win8");
      expect(actualLfhBlocks(run, p.heapAddress)).toEqual(expectedLfhBlocks(p.lfh));
    });
  }

  it("no layout fits the front end: named, heap incomplete, the backend walked, no LFH block invented", async () => {
    // the _LFH_HEAP's Heap field no longer points back: no table proves FrontEndHeap
    const p = lfhProcess("win10", 64, {
      build: 19041,
      patch: (poke) => poke.u32(0x1_5550_0000 + 0x18, 0x1234),
    });
    const run = await walkLfhProcess(p);
    expect(codes(run)).toContain("NT_HEAP_LAYOUT_NONE");
    const d = run.allDiagnostics().find((x) => x.code === "NT_HEAP_LAYOUT_NONE")!;
    expect(d.message).toContain("19041");
    expect(d.message).toContain("_HEAP.FrontEndHeap");
    const heap = run.heaps.find((h) => h.address === p.heapAddress)!;
    expect(heap.incomplete).toBe(true);
    expect(actualLfhBlocks(run, p.heapAddress)).toEqual([]);
    expect(heap.stats.busy.count).toBe(p.nt.expected.filter((e) => e.kind === "user").length);
  });
});
