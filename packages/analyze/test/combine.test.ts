import type { Evidence, LeakscopePlugin } from "@leakscope/core";
import { describe, expect, it } from "vitest";
import { CORROBORATION_BONUS, type CardContext, leakAnalyzer, mergeEvidence, scoreRecords, suspectsOf } from "../src/index.js";
import { Mem, type PlannedBlock, runScenario } from "./fixtures.js";

const rec = (over: Partial<Evidence> & Pick<Evidence, "keys" | "signal" | "strength">): Evidence => ({
  detector: "test",
  count: 10,
  bytes: 1000,
  text: `${over.signal} ${over.keys.join(" ")}`,
  ...over,
});

const cardCtx: CardContext = { totalBytes: 10_000, heapBytes: () => 5000, stackId: (k) => (k === "stack:7" ? 7 : undefined), noStackStep: "look" };

describe("the combiner", () => {
  it("merges records whose keys intersect into one cause, and keeps the others apart", () => {
    const records = [
      rec({ detector: "size-class", keys: ["class:0x700000:0x120", "stack:7", "type:class net::Session"], signal: "dominance", strength: 0.2, size: 0x120, heap: "0x700000", count: 240, bytes: 69120 }),
      rec({ detector: "stack", keys: ["stack:7"], signal: "concentration", strength: 0.1, callSite: "leaky+0x1119", stack: [{ address: "0x401119", text: "leaky+0x1119" }] }),
      rec({ detector: "type", keys: ["type:class net::Session"], signal: "count", strength: 0.1, typeName: "class net::Session" }),
      rec({ detector: "unreferenced", keys: ["class:0x700000:0x120"], signal: "unreferenced", strength: 0.5 }),
      rec({ detector: "size-class", keys: ["class:0x700000:0x200"], signal: "dominance", strength: 0.15, size: 0x200 }),
      rec({ detector: "size", keys: ["class:0x700000:0x200", "stack:7"], signal: "size", strength: 0.9 }),
    ];
    const causes = mergeEvidence(records);
    expect(causes).toHaveLength(2);
    expect(causes[0]!.keys.sort()).toEqual(["class:0x700000:0x120", "stack:7", "type:class net::Session"]);
    const [card] = suspectsOf(causes, cardCtx, 10);
    expect(card).toMatchObject({
      rank: 1,
      kind: "size-class",
      size: 0x120,
      count: 240,
      typeName: "class net::Session",
      callSite: "leaky+0x1119",
      stackId: 7,
      heap: "0x700000",
    });
    expect(card!.title).toMatch(/^240 × 0x120-byte blocks of class net::Session allocated at leaky\+0x1119 \(/);
    expect(card!.stack?.[0]?.text).toBe("leaky+0x1119");
    // a `size` record links nothing and is never a cause
    expect(causes[1]!.records.map((r) => r.signal)).toEqual(["dominance"]);
  });

  it("a size in any heap (`class:*:<size>`) meets that size in each heap", () => {
    const causes = mergeEvidence([
      rec({ keys: ["class:0x28a0000:0x44"], signal: "dominance", strength: 0.1 }),
      rec({ keys: ["class:*:0x44"], signal: "reported", strength: 0.3 }),
      rec({ keys: ["class:0x28a0000:0x440"], signal: "dominance", strength: 0.1 }),
    ]);
    expect(causes.map((c) => c.keys.sort())).toEqual([["class:*:0x44", "class:0x28a0000:0x44"], ["class:0x28a0000:0x440"]]);
  });

  it("scores structural signals as corroboration and leak signals as independent evidence", () => {
    const d = rec({ keys: ["a"], signal: "dominance", strength: 0.2 });
    const c = rec({ keys: ["a"], signal: "concentration", strength: 0.15 });
    const t = rec({ keys: ["a"], signal: "count", strength: 0.15 });
    const u = rec({ keys: ["a"], signal: "unreferenced", strength: 0.5 });
    expect(scoreRecords([d])).toBeCloseTo(0.2);
    expect(scoreRecords([d, c, t])).toBeCloseTo(0.2 + 2 * CORROBORATION_BONUS);
    expect(scoreRecords([d, c, t])).toBeLessThan(0.3);
    expect(scoreRecords([d, u])).toBeCloseTo(1 - 0.8 * 0.5);
    // two records of one signal: the strongest counts
    expect(scoreRecords([u, { ...u, strength: 0.1 }])).toBeCloseTo(0.5);
  });

  it("hostile records (no keys, NaN or out-of-range strengths) neither crash nor inflate a score", () => {
    const records = [
      rec({ keys: [], signal: "unreferenced", strength: 0.9 }),
      rec({ keys: ["x"], signal: "unreferenced", strength: Number.NaN }),
      rec({ keys: ["x"], signal: "growth", strength: 7 }),
      rec({ keys: ["y"], signal: "dominance", strength: -3 }),
    ];
    const causes = mergeEvidence(records);
    expect(causes.map((c) => c.keys)).toEqual([["x"], ["y"]]);
    expect(causes[0]!.score).toBe(1);
    expect(causes[1]!.score).toBe(0);
    expect(suspectsOf(causes, cardCtx, 10)).toHaveLength(1);
  });

  it("a stack spanning several sizes makes one call-site card listing the sizes", () => {
    const records = [
      rec({ detector: "size-class", keys: ["class:0x1:0x18", "stack:3"], signal: "dominance", strength: 0.05, size: 0x18 }),
      rec({ detector: "size-class", keys: ["class:0x1:0x200", "stack:3"], signal: "dominance", strength: 0.1, size: 0x200 }),
      rec({ detector: "stack", keys: ["stack:3"], signal: "concentration", strength: 0.1, sizes: [0x18, 0x200], count: 280, bytes: 5000, callSite: "app+0x10" }),
      rec({ detector: "unreferenced", keys: ["stack:3"], signal: "unreferenced", strength: 0.4, count: 280, bytes: 5000 }),
    ];
    const [card] = suspectsOf(mergeEvidence(records), cardCtx, 10);
    expect(card).toMatchObject({ kind: "call-site", sizes: [0x18, 0x200], count: 280, callSite: "app+0x10" });
    expect(card!.size).toBeUndefined();
    // the unreferenced record and the stack record are about the same blocks: said once
    expect(card!.evidence.filter((e) => e.startsWith("unreferenced"))).toHaveLength(1);
  });
});

describe("cards of log evidence", () => {
  const umdh = rec({
    detector: "windbg-text/umdh",
    keys: ["stack:BackTrace00B53", "class:*:0x428"],
    signal: "growth",
    strength: 0.95,
    size: 0x428,
    count: 0x3a,
    bytes: 0xf110,
    delta: { count: 0x14, bytes: 0x5320 },
    title: "BackTrace00B53 grew by 0x5320 bytes (MyApp!DisplayMyGraphics+0x1e)",
    callSite: "MyApp!DisplayMyGraphics+0x1e",
  });

  it("a cause resting on a titled growth record alone is a growth card with that title", () => {
    const [card] = suspectsOf(mergeEvidence([umdh]), { ...cardCtx, totalBytes: 0 }, 10);
    expect(card).toMatchObject({ kind: "growth", title: umdh.title, size: 0x428, bytes: 0xf110, delta: { bytes: 0x5320 }, callSite: "MyApp!DisplayMyGraphics+0x1e" });
  });

  it("growth of blocks a structural record describes keeps the kind of those blocks", () => {
    const cls = rec({ detector: "size-class", keys: ["class:0x500000:0x428"], signal: "dominance", strength: 0.2, size: 0x428, heap: "0x500000", count: 0x3a, bytes: 0xf110 });
    const [card] = suspectsOf(mergeEvidence([umdh, cls]), cardCtx, 10);
    // `class:*:0x428` met that size in heap 0x500000: the blocks of one stack, a call site
    expect(card).toMatchObject({ kind: "call-site", size: 0x428, delta: { bytes: 0x5320 } });
    expect(card!.title).toBe("58 live blocks (0xf110 bytes in 1 size(s)) allocated at MyApp!DisplayMyGraphics+0x1e, +20 since the earlier snapshot");
    // the same growth without a title (a dump diff's record) is a size class or call site too
    const { title: _title, ...untitled } = umdh;
    const [plain] = suspectsOf(mergeEvidence([{ ...untitled, keys: ["stack:BackTrace00B53"] }]), cardCtx, 10);
    expect(plain!.kind).toBe("call-site");
  });

  it("a size in any heap (`class:*:`) is a share of all busy bytes, never of an unknown heap", () => {
    const any = rec({ detector: "windbg-text/umdh", keys: ["stack:BackTrace1", "class:*:0x68"], signal: "concentration", strength: 0.1, size: 0x68, count: 2, bytes: 0xd0 });
    const [card] = suspectsOf(mergeEvidence([any]), { ...cardCtx, totalBytes: 0xd0 * 4 }, 10);
    expect(card!.title).toBe("2 × 0x68-byte blocks (25% of all busy bytes)");
    const [none] = suspectsOf(mergeEvidence([any]), { ...cardCtx, totalBytes: 0 }, 10);
    expect(none!.title).toBe("2 × 0x68-byte blocks");
  });

  it("a heap's commit growth names its heap", () => {
    const grew = rec({ detector: "windbg-text/heap-s", keys: ["heap:0x1976aa70000"], signal: "growth", strength: 0.5, heap: "0x1976aa70000", count: 0, bytes: 9492 * 1024, delta: { count: 0, bytes: 9368 * 1024 }, title: "Heap 1976aa70000 commit grew by 9,368 KB" });
    const [card] = suspectsOf(mergeEvidence([grew]), cardCtx, 10);
    expect(card).toMatchObject({ kind: "growth", heap: "0x1976aa70000", title: "Heap 1976aa70000 commit grew by 9,368 KB" });
  });
});

describe("plugins' detectors (the evidence hook)", () => {
  const scenario = () => {
    const heap = new Mem(0x500000, 0x10000);
    const blocks: PlannedBlock[] = [];
    for (let i = 0; i < 20; i++) blocks.push({ user: 0x500100 + i * 0x100, size: 0x80 });
    return { ps: 8 as const, pieces: [heap], modules: [], heap: 0x500000, blocks };
  };
  const tap = (apply: LeakscopePlugin["apply"]): LeakscopePlugin => ({ name: "probe", apply });

  it("records added by a plugin merge with the built-in ones and can lead the verdict", async () => {
    const plugin = tap((engine) =>
      engine.hooks.evidence.tapPromise("probe", async (sink) => {
        sink.add({ detector: "probe", signal: "growth", keys: ["class:0x500000:0x80"], strength: 0.7, count: 20, bytes: 20 * 0x80, text: "grew in the log", leakKind: "heap" });
        sink.add({ detector: "probe", signal: "count", keys: ["handles:Event"], strength: 0.6, count: 5000, bytes: 0, text: "5000 event handles", leakKind: "handles" });
      }),
    );
    const { report } = await runScenario(scenario(), [leakAnalyzer({ reachability: false }), plugin]);
    const a = report.analysis!;
    expect(a.verdict).toBe("leak-suspected");
    expect(a.leakKind).toBe("heap");
    const cls = a.suspects.find((s) => s.keys?.includes("class:0x500000:0x80"))!;
    expect(cls).toMatchObject({ kind: "size-class", size: 0x80, count: 20 });
    expect(cls.evidence).toContain("grew in the log");
    expect(a.suspects.find((s) => s.kind === "handles")).toMatchObject({ count: 5000, score: 0.6 });
  });

  it("a plugin's coverage makes the verdict cannot-judge with its reason", async () => {
    const plugin = tap((engine) =>
      engine.hooks.evidence.tapPromise("probe", async (sink) => {
        sink.coverage({ captured: 0.2, reason: "This log lists 2 of 40 heaps: add `!heap -s` for all of them." });
      }),
    );
    const { report } = await runScenario(scenario(), [leakAnalyzer({ reachability: false }), plugin]);
    expect(report.analysis).toMatchObject({ verdict: "cannot-judge", verdictReason: "This log lists 2 of 40 heaps: add `!heap -s` for all of them.", coverage: { captured: 0.2 } });
  });
});
