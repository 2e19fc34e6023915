import { describe, expect, it } from "vitest";
import { type Snapshot, emptySnapshot } from "../src/diff.js";
import { classifySeries, linearFit, trendOfSnapshots } from "../src/trend.js";

const KB = 1024;

/** A snapshot with one heap and the given size classes (size -> count), plus types. */
function snap(i: number, classes: Record<number, number>, types: Record<string, number> = {}): Snapshot {
  const s = emptySnapshot(`s${i}.dmp`, "user", "minidump");
  let count = 0;
  let bytes = 0;
  for (const [size, n] of Object.entries(classes)) {
    const sz = Number(size);
    s.classes.set(`32:0x700000/${sz}`, { heap: "0x700000", size: sz, count: n, bytes: n * sz });
    count += n;
    bytes += n * sz;
  }
  s.heaps.set("32:0x700000", { count, bytes });
  s.other = new Map(Object.entries(types).map(([name, n]) => [`type:${name}`, { kind: "type" as const, count: n, bytes: n * 0x120 }]));
  return s;
}

describe("classifySeries", () => {
  const min = 64 * KB;
  it("tells a steady leak from a cache that filled up, a late leak, noise and shrinkage", () => {
    expect(classifySeries([0, 1e6, 2e6, 3e6, 4e6], min).status).toBe("growing");
    expect(classifySeries([0, 1e6, 1.9e6, 3.1e6, 4e6, 5e6], min).status).toBe("growing");
    expect(classifySeries([0, 3e6, 4e6, 4e6, 4e6, 4e6], min).status).toBe("grew-then-stopped");
    expect(classifySeries([0, 4e6, 4.01e6, 3.99e6, 4e6], min).status).toBe("grew-then-stopped");
    expect(classifySeries([1e6, 1e6, 1e6, 2e6, 3e6, 4e6], min)).toMatchObject({ status: "started-growing", since: 3 });
    expect(classifySeries([4e6, 3e6, 2e6, 1e6], min).status).toBe("shrinking");
    expect(classifySeries([1e6, 3e6, 1e6, 3e6, 1e6], min).status).toBe("noisy");
    expect(classifySeries([1e6, 1e6 + 10, 1e6 + 20], min).status).toBe("flat");
  });
  it("needs growth above the floor", () => {
    expect(classifySeries([0, 1000, 2000, 3000], min).status).toBe("flat");
  });
});

describe("linearFit", () => {
  it("fits a line exactly and reports no fit for a constant", () => {
    expect(linearFit([0, 1, 2, 3], [5, 7, 9, 11])).toEqual({ slope: 2, r2: 1 });
    expect(linearFit([0, 1, 2], [3, 3, 3]).slope).toBe(0);
  });
});

describe("trendOfSnapshots", () => {
  it("ranks the steady leak first, reports the plateau as stopped and slopes per hour from capture times", () => {
    const t0 = Date.UTC(2026, 0, 1, 8);
    // 0x120-byte objects leak 2,000 per snapshot; 0x4000-byte cache buffers fill to 200 then stop;
    // 0x40 strings churn around 5,000
    const inputs = [0, 1, 2, 3, 4].map((i) => ({
      snapshot: snap(i, { 0x120: 1000 + 2000 * i, 0x4000: Math.min(200, 100 * i), 0x40: 5000 + (i % 2) * 30 }, { "class net::Session": 1000 + 2000 * i }),
      capturedAt: t0 + i * 30 * 60_000,
    }));
    const t = trendOfSnapshots(inputs);
    expect(t.timeBasis).toBe("capture-time");
    const first = t.series.find((s) => s.key === t.suspects[0]!.key)!;
    expect(first.kind === "size-class" || first.kind === "type").toBe(true);
    expect(first.status).toBe("growing");
    // 2,000 objects of 0x120 bytes every half hour
    if (first.kind === "size-class") expect(first.slopeBytesPerHour).toBe(2 * 2000 * 0x120);
    const cache = t.series.find((s) => s.key === "class:32:0x700000/16384")!;
    expect(cache.status).toBe("grew-then-stopped");
    expect(t.stopped).toContain(cache.key);
    expect(t.suspects.map((s) => s.key)).not.toContain(cache.key);
    expect(t.suspects.map((s) => s.key)).not.toContain("class:32:0x700000/64");
    // heaps are series, never suspects
    expect(t.series.some((s) => s.kind === "heap")).toBe(true);
    expect(t.suspects.every((s) => !s.key.startsWith("heap:"))).toBe(true);
    expect(first.score).toBeGreaterThanOrEqual(0.3);
    expect(t.inputs.map((x) => x.hours)).toEqual([0, 0.5, 1, 1.5, 2]);
  });

  it("falls back to snapshot order without capture times", () => {
    const inputs = [0, 1, 2].map((i) => ({ snapshot: snap(i, { 0x100: 1000 * (i + 1) }) }));
    const t = trendOfSnapshots(inputs);
    expect(t.timeBasis).toBe("order");
    const s = t.series.find((x) => x.key === "class:32:0x700000/256")!;
    expect(s.slopeBytesPerHour).toBe(0);
    expect(s.slopeBytesPerSnapshot).toBe(1000 * 0x100);
  });
});


describe("trendOfSnapshots: process figures", () => {
  type Fig = Map<string, { kind: string; value: number }>;
  const figs = (o: Record<string, number>): Fig =>
    new Map(Object.entries(o).map(([k, v]) => [k, { kind: k.startsWith("memory:") ? "memory" : k.slice(0, k.indexOf(":")), value: v }]));
  const hour = 3_600_000;
  const inputs = (list: Fig[], heapBlocks: (i: number) => Record<number, number> = () => ({ 0x40: 100 })) =>
    list.map((process, i) => ({ snapshot: snap(i, heapBlocks(i)), capturedAt: i * hour, process }));

  it("handles, GDI objects, threads and memory outside the heaps become series; those that keep growing are suspects", () => {
    const t = trendOfSnapshots(
      inputs([0, 1, 2, 3].map((i) => figs({ "handles:total": 100 + 500 * i, "handles:Event": 40 + 500 * i, "handles:File": 60, "gdi:Bitmap": 20 + 100 * i, "threads:total": 5, "memory:outside-heaps": (1 + i) << 20 }))),
    );
    const by = (k: string) => t.series.find((s) => s.key === k);
    expect(by("handles:Event")).toMatchObject({ kind: "handles", counts: [40, 540, 1040, 1540], bytes: [0, 0, 0, 0], status: "growing", slopeCountPerHour: 500, slopeBytesPerHour: 0 });
    expect(by("gdi:Bitmap")).toMatchObject({ kind: "gdi", status: "growing", slopeCountPerSnapshot: 100 });
    // the total only sums the types; flat series and growth under 16 MiB are not suspects
    expect(by("handles:total")).toBeUndefined();
    expect(t.suspects.map((s) => s.key).sort()).toEqual(["gdi:Bitmap", "handles:Event"]);
    expect(by("memory:outside-heaps")).toMatchObject({ kind: "virtual-memory", status: "flat" });
    for (const s of t.suspects) expect(by(s.key)!.score).toBeGreaterThanOrEqual(0.3);
  });

  it("a figure one input lacks (no HandleData there) is not followed; growth under the floor is flat", () => {
    const list = [figs({ "threads:total": 5 }), figs({ "handles:Event": 4000, "threads:total": 8 }), figs({ "handles:Event": 9000, "threads:total": 11 })];
    const t = trendOfSnapshots(inputs(list));
    expect(t.series.find((s) => s.key === "handles:Event")).toBeUndefined();
    expect(t.series.find((s) => s.key === "threads:total")).toMatchObject({ status: "flat", score: 0 });
    expect(t.suspects).toEqual([]);
  });

  it("a growing block series keeps its place; a process series joins by score", () => {
    const t = trendOfSnapshots(
      inputs(
        [0, 1, 2, 3].map((i) => figs({ "threads:total": 10 + 50 * i })),
        (i) => ({ 0x40: 100, 0x1000: 100 + 200 * i }),
      ),
    );
    const keys = t.suspects.map((s) => s.key);
    expect(keys).toContain("threads:total");
    expect(keys).toContain("class:32:0x700000/4096");
  });
});

describe("trendOfSnapshots: no inputs", () => {
  it("gives an empty trend, not an exception", () => {
    expect(trendOfSnapshots([])).toMatchObject({ series: [], suspects: [], stopped: [] });
  });
});

describe("trend stack series", () => {
  it("are labelled by their call site (core's allocator rule) and its caller", () => {
    const frames = ["ntdll!RtlAllocateHeap+0x7e", "ucrtbase!malloc+0x30", "app!Cache::Insert+0x19", "app!main+0x20"].map((text, i) => ({ address: `0x${(0x1000 + i).toString(16)}`, text }));
    const inputs = [0, 1, 2].map((i) => {
      const s = snap(i, { 0x40: 100 });
      s.stacks.set("k", { frames, count: 1000 * (i + 1), bytes: 0x10000 * (i + 1) });
      return { snapshot: s };
    });
    const series = trendOfSnapshots(inputs).series.find((x) => x.kind === "stack")!;
    expect(series.label).toBe("app!Cache::Insert+0x19 <- app!main+0x20");
  });
});
