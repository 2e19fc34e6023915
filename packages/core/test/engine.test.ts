import { describe, expect, expectTypeOf, it } from "vitest";
import {
  AllocFlags,
  BufferSource,
  Engine,
  InputError,
  PluginError,
  PluginOptionsError,
  STAGE_BACKEND,
  STAGE_FRONTEND,
  type InputReader,
  type LeakscopePlugin,
  type Report,
  Type,
  definePlugin,
  memoryTarget,
  validateReport,
} from "../src/index.js";

/** A reader that claims inputs starting with "FAKE" and returns a memory target. */
function fakeReader(): LeakscopePlugin {
  const reader: InputReader = {
    name: "fake",
    open: (probe) =>
      memoryTarget({
        arch: "x64",
        os: { major: 10, minor: 0, build: 19041 },
        memory: [{ address: 0x10000, bytes: new Uint8Array(64) }],
        views: [{ bitness: 64, peb: 0x10000 }],
        path: probe.path,
      }),
  };
  return {
    name: "fake-reader",
    apply(engine) {
      engine.hooks.resolveReader.tap("fake-reader", (probe) =>
        new TextDecoder().decode(probe.head.subarray(0, 4)) === "FAKE" ? reader : undefined,
      );
    },
  };
}

const fake = () => new BufferSource(new TextEncoder().encode("FAKE dump"), "fake.dmp");

describe("Engine", () => {
  it("chooses the first reader that claims the input (bail) and reports unknown formats with a code", async () => {
    const order: string[] = [];
    const engine = new Engine({ plugins: [fakeReader()] });
    engine.hooks.resolveReader.tap({ name: "late", stage: 100 }, () => {
      order.push("late");
      return undefined;
    });
    const report = await engine.openSource(fake(), { command: "info", depth: "open" }).then((r) => {
      r.close();
      return r.report;
    });
    expect(report.target?.arch).toBe("x64");
    expect(order).toEqual([]); // bailed before the later tap
    await expect(
      engine.openSource(new BufferSource(new Uint8Array([1, 2, 3]), "x.bin"), { command: "info", depth: "open" }),
    ).rejects.toMatchObject({ code: "INPUT_UNKNOWN_FORMAT", exitCode: 2 });
    await expect(
      engine.openSource(new BufferSource(new Uint8Array(0), "e.bin"), { command: "info", depth: "open" }),
    ).rejects.toBeInstanceOf(InputError);
  });

  it("runs walkers in stage order, not registration order, and computes heap totals", async () => {
    const calls: string[] = [];
    const engine = new Engine({ plugins: [fakeReader()] });
    engine.hooks.discoverHeaps.tapPromise("disc", async (run) => {
      const view = run.target.views[0]!;
      run.addHeap({ address: 0x10000, bitness: 64, kind: "toy", foundBy: "peb", view });
      run.addHeap({ address: 0x10000, bitness: 64, kind: "toy", foundBy: "signature-scan", view });
    });
    engine.hooks.walkHeap.tapPromise({ name: "front", stage: STAGE_FRONTEND }, async (heap, run) => {
      calls.push("front");
      const host = 0; // the host block added by the backend
      run.allocations.add(heap.index, 0x10110, 0x10108, 0x18, 0x20, AllocFlags.BUSY | AllocFlags.LFH, 0, host);
      run.allocations.add(heap.index, 0x10130, 0x10128, 0, 0x20, AllocFlags.FREE | AllocFlags.LFH, 0, host);
    });
    engine.hooks.walkHeap.tapPromise({ name: "back", stage: STAGE_BACKEND }, async (heap, run) => {
      calls.push("back");
      run.allocations.add(heap.index, 0x10110, 0x10100, 0x100, 0x108, AllocFlags.BUSY | AllocFlags.HOST);
      run.allocations.add(heap.index, 0x10218, 0x10208, 0x30, 0x40, AllocFlags.BUSY);
      run.allocations.add(heap.index, 0x10258, 0x10248, 0, 0x80, AllocFlags.FREE);
    });
    const { report, run, close } = await engine.openSource(fake(), { command: "heaps", depth: "walk" });
    close();
    expect(calls).toEqual(["back", "front"]);
    expect(run.heaps).toHaveLength(1);
    expect(report.heaps?.[0]).toMatchObject({
      address: "0x10000",
      foundBy: ["peb", "signature-scan"],
      busy: { count: 2, bytes: 0x48 },
      free: { count: 1, bytes: 0x80 },
    });
    expect(validateReport(report).errors).toEqual([]);
  });

  it("wraps a throwing tap with plugin and hook names, and keeps walking other heaps", async () => {
    const engine = new Engine({ plugins: [fakeReader()] });
    engine.hooks.discoverHeaps.tapPromise("disc", async (run) => {
      const view = run.target.views[0]!;
      run.addHeap({ address: 0x1000, bitness: 64, kind: "toy", foundBy: "peb", view });
      run.addHeap({ address: 0x2000, bitness: 64, kind: "toy", foundBy: "peb", view });
    });
    engine.hooks.walkHeap.tapPromise("flaky", async (heap, run) => {
      if (heap.address === 0x1000) throw new Error("corrupt zone");
      run.allocations.add(heap.index, 0x2010, 0x2008, 8, 16, AllocFlags.BUSY);
    });
    const { report, close } = await engine.openSource(fake(), { command: "heaps", depth: "walk" });
    close();
    const failed = report.diagnostics.filter((d) => d.code === "ALLOCATOR_WALK_FAILED");
    expect(failed).toHaveLength(1);
    expect(failed[0]!.source).toBe("flaky");
    expect(report.heaps?.map((h) => h.incomplete)).toEqual([true, false]);
    expect(report.heaps?.[1]?.busy.count).toBe(1);

    const engine2 = new Engine({ plugins: [fakeReader()] });
    engine2.hooks.analyze.tap("boom", () => {
      throw new TypeError("bad math");
    });
    const err = await engine2.openSource(fake(), { command: "analyze", depth: "analyze" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect(err).toMatchObject({ plugin: "boom", hook: "analyze", code: "PLUGIN_ERROR", exitCode: 3 });
  });

  it("lets report taps add sections through the waterfall and calls failed on errors", async () => {
    const engine = new Engine({ plugins: [fakeReader()] });
    engine.hooks.report.tapPromise("ext", async (report: Report) => ({ ...report, extensions: { ext: { ok: 1 } } }));
    const failures: string[] = [];
    engine.hooks.failed.tap("watch", (e) => failures.push(e.message));
    const r = await engine.openSource(fake(), { command: "info", depth: "open" });
    r.close();
    expect(r.report.extensions).toEqual({ ext: { ok: 1 } });
    expect(validateReport(r.report).valid).toBe(true);
    await engine.openSource(new BufferSource(new Uint8Array([9]), "n.bin"), { command: "info", depth: "open" }).catch(() => {});
    expect(failures).toHaveLength(1);
  });

  it("freezes its hooks and rejects plugins after a run", async () => {
    const engine = new Engine({ plugins: [fakeReader()] });
    expect(Object.isFrozen(engine.hooks)).toBe(true);
    expect(() => engine.use(fakeReader())).toThrow(/already registered/);
    (await engine.openSource(fake(), { command: "info", depth: "open" })).close();
    expect(() => engine.use({ name: "late", apply() {} })).toThrow(/already run/);
  });
});

describe("definePlugin", () => {
  const topPlugin = definePlugin({
    name: "top-n",
    options: Type.Object({ top: Type.Integer({ minimum: 1, default: 10 }) }, { additionalProperties: false }),
    setup: (options) => ({ apply() {}, api: { top: () => options.top } }),
  });

  it("validates and defaults options when the plugin is created", () => {
    expect(topPlugin().api?.top()).toBe(10);
    expect(topPlugin({ top: 3 }).api?.top()).toBe(3);
    try {
      topPlugin({ top: 0 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PluginOptionsError);
      expect((e as PluginOptionsError).plugin).toBe("top-n");
      expect((e as PluginOptionsError).paths).toEqual(["/top"]);
    }
    // @ts-expect-error a misspelled option does not compile
    expect(() => topPlugin({ tpo: 1 })).toThrow(PluginOptionsError);
  });

  it("types the api", () => {
    expectTypeOf(topPlugin().api).toEqualTypeOf<{ top: () => number } | undefined>();
  });
});
