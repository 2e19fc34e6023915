import { describe, expect, it } from "vitest";
import {
  Engine,
  type LeakscopePlugin,
  ReportOutputError,
  Type,
  definePlugin,
  findUnserializable,
  runSynthetic,
} from "../src/index.js";

const counter = definePlugin({
  name: "counter",
  options: Type.Object({ value: Type.Unknown({ default: 1 }) }, { additionalProperties: false }),
  sections: { counter: Type.Object({ count: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }) },
  setup: (options) => ({
    apply(engine) {
      engine.hooks.report.tapPromise("counter", async (report) => ({
        ...report,
        extensions: { ...report.extensions, counter: { count: options.value } },
      }));
    },
  }),
});

/** The report of an `info` run over a synthetic process with `plugins`, or the error it ended with. */
async function runWith(...plugins: LeakscopePlugin[]): Promise<unknown> {
  try {
    return (await runSynthetic({}, plugins, { command: "info", depth: "open" })).report;
  } catch (e) {
    return e;
  }
}

describe("the final report is checked before it leaves the engine", () => {
  it("accepts a section that matches its plugin's schema", async () => {
    const report = (await runWith(counter({ value: 3 }))) as { extensions: unknown };
    expect(report.extensions).toEqual({ counter: { count: 3 } });
  });

  it("names the plugin, the path and the reason when a section fails the plugin's schema (exit 3)", async () => {
    const err = await runWith(counter({ value: "three" }));
    expect(err).toBeInstanceOf(ReportOutputError);
    expect(err).toMatchObject({ code: "REPORT_INVALID", exitCode: 3, plugin: "counter", path: "/extensions/counter/count" });
    expect((err as Error).message).toContain("plugin counter");
  });

  it("names the plugin that wrote a BigInt", async () => {
    const err = await runWith(counter({ value: 5n as unknown as number }));
    expect(err).toMatchObject({ code: "REPORT_INVALID", plugin: "counter", path: "/extensions/counter/count" });
    expect((err as ReportOutputError).reason).toMatch(/BigInt/);
  });

  it("names the plugin that added a top-level key the schema does not have, even in place", async () => {
    const rogue: LeakscopePlugin = {
      name: "rogue",
      apply(engine) {
        engine.hooks.report.tap("rogue", (report) => {
          (report as unknown as Record<string, unknown>).mine = { a: 1 };
          return report;
        });
      },
    };
    const err = await runWith(counter(), rogue);
    expect(err).toMatchObject({ code: "REPORT_INVALID", plugin: "rogue", path: "/mine" });
  });

  it("names the plugin that broke a core section", async () => {
    const breaker: LeakscopePlugin = {
      name: "breaker",
      apply(engine) {
        engine.hooks.report.tapPromise("breaker", async (report) => ({ ...report, input: { ...report.input, size: -1 } }));
      },
    };
    const err = await runWith(breaker);
    expect(err).toMatchObject({ code: "REPORT_INVALID", plugin: "breaker", path: "/input/size" });
  });

  it("checks sections declared with plain JSON Schema too", async () => {
    const plain = (count: unknown): LeakscopePlugin => ({
      name: "plain",
      sections: { plain: { type: "object", properties: { count: { type: "integer" } }, required: ["count"] } },
      apply(engine) {
        engine.hooks.report.tapPromise("plain", async (report) => ({ ...report, extensions: { plain: { count } } }));
      },
    });
    expect(await runWith(plain(1))).toMatchObject({ extensions: { plain: { count: 1 } } });
    expect(await runWith(plain(1.5))).toMatchObject({ plugin: "plain", path: "/extensions/plain/count" });
  });

  it("refuses two plugins declaring the same section", () => {
    expect(() => new Engine({ plugins: [counter(), { name: "other", sections: { counter: {} }, apply() {} }] })).toThrow(/already declared by plugin counter/);
  });

  it("finds values JSON cannot carry, cycles included, without recursion", () => {
    const cyclic: Record<string, unknown> = { a: [1, 2] };
    cyclic.self = cyclic;
    expect(findUnserializable(cyclic)).toMatchObject({ path: "/self" });
    expect(findUnserializable({ a: [{ b: () => 1 }] })).toMatchObject({ path: "/a/0/b" });
    let deep: unknown = 1n;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnserializable(deep)?.reason).toMatch(/BigInt/);
    expect(findUnserializable({ ok: [1, "x", null, { d: new Date(0) }] })).toBeUndefined();
  });
});
