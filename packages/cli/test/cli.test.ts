import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateReport } from "@leakscope/core";
import { describe, expect, it } from "vitest";
import { parseRangeArg, runCli } from "../src/index.js";
import { capture, toyDump, toyPlugins } from "./helpers.js";

const run = (argv: string[], c = capture()) => runCli(argv, { io: c.io, plugins: toyPlugins }).then((code) => ({ code, out: c.out(), err: c.err() }));

describe("leakscope CLI", () => {
  it("prints schema-valid JSON for info, heaps, blocks, stat and block", async () => {
    const dump = toyDump();
    for (const argv of [
      ["info", dump, "--json"],
      ["heaps", dump, "--json"],
      ["blocks", dump, "--size", "3fff", "--json"],
      ["stat", dump, "--json"],
      ["block", dump, "210020", "--json"],
      ["stacks", dump, "--json"],
    ]) {
      const r = await run(argv);
      expect(r.code, `${argv[0]}: ${r.err}`).toBe(0);
      const report = JSON.parse(r.out);
      expect(validateReport(report).errors).toEqual([]);
      expect(report.command).toBe(argv[0]);
    }
  });

  it("answers like !heap -stat and -flt", async () => {
    const dump = toyDump();
    const stat = JSON.parse((await run(["stat", dump, "--json"])).out);
    expect(stat.stat.rows[0]).toMatchObject({ size: 0x3fff, count: 5 });
    const flt = JSON.parse((await run(["blocks", dump, "--range", "0n16383-0n17408", "--busy", "--json"])).out);
    expect(flt.blocks.total).toBe(5);
    const text = (await run(["stat", dump])).out;
    expect(text).toMatch(/0x3fff\s+5\s+0x13ffb/);
    expect(text).toMatch(/size \(hex\)\s+blocks \(dec\)\s+total bytes \(hex\)/);
    const heaps = (await run(["heaps", dump])).out;
    expect(heaps).toContain("200000");
    const block = JSON.parse((await run(["block", dump, "0x210020", "--json"])).out);
    expect(block.block).toMatchObject({ found: true, block: { user: "0x210010", requestedSize: 0x3fff } });
  });

  it("says plainly when stacks cannot exist", async () => {
    const dump = toyDump();
    const st = JSON.parse((await run(["stacks", dump, "--json"])).out);
    expect(st.stacks).toMatchObject({ status: "disabled", groups: [] });
    expect(st.stacks.note).toContain("+ust");
    const b = JSON.parse((await run(["block", dump, "210020", "--json"])).out);
    expect(b.block.stackNote).toContain("+ust");
    expect((await run(["stacks", dump])).out).toMatch(/^No allocation stacks: Stack traces cannot exist/);
  });

  it("uses exit code 2 with a one-line error naming the code for bad input and usage", async () => {
    const missing = await run(["info", "/nonexistent/x.dmp"]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^leakscope: error \[INPUT_NOT_FOUND\]: .*\n$/);
    expect(missing.err).not.toMatch(/\n\s+at /); // no stack without --debug

    const dir = mkdtempSync(join(tmpdir(), "leakscope-cli-"));
    const junk = join(dir, "junk.bin");
    writeFileSync(junk, Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    const unknown = await run(["info", junk]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("INPUT_UNKNOWN_FORMAT");
    expect(unknown.err).toContain("file offset 0x0");

    const empty = join(dir, "empty.dmp");
    writeFileSync(empty, "");
    expect((await run(["info", empty])).err).toContain("INPUT_EMPTY");
    expect((await run(["info", dir])).err).toContain("INPUT_IS_DIRECTORY");

    expect((await run(["nosuchcommand"])).code).toBe(2);
    const both = await run(["blocks", toyDump(), "--size", "10", "--range", "1-2"]);
    expect(both.code).toBe(2);
    expect(both.err).toContain("[USAGE]");
    expect((await run(["blocks", toyDump(), "--range", "9-1"])).code).toBe(2);
    expect((await run(["--version"])).code).toBe(0);
  });

  it("maps internal errors to exit code 3 and prints the stack only with --debug", async () => {
    const broken = () => [
      ...toyPlugins(),
      {
        name: "broken",
        apply(engine: import("@leakscope/core").Engine) {
          engine.hooks.targetOpened.tap("broken", () => {
            throw new TypeError("x is undefined");
          });
        },
      },
    ];
    const c1 = capture();
    expect(await runCli(["info", toyDump()], { io: c1.io, plugins: broken })).toBe(3);
    expect(c1.err()).toContain("[plugin broken] targetOpened: x is undefined");
    expect(c1.err()).toContain("rerun with --debug");
    const c2 = capture();
    expect(await runCli(["info", toyDump(), "--debug"], { io: c2.io, plugins: broken })).toBe(3);
    expect(c2.err()).toMatch(/\n\s+at /);
  });

  it("shows progress on a TTY stderr only", async () => {
    const dump = toyDump();
    const piped = capture(false);
    await runCli(["heaps", dump], { io: piped.io, plugins: toyPlugins });
    expect(piped.err()).toBe("");
    const tty = capture(true);
    await runCli(["heaps", dump], { io: tty.io, plugins: toyPlugins });
    expect(tty.err()).toContain("walking heaps");
  });

  it("parses ranges with hex and 0n decimal bounds", () => {
    expect(parseRangeArg("3fff-4400")).toEqual({ min: 0x3fff, max: 0x4400 });
    expect(parseRangeArg("0n16383 - 0n17408")).toEqual({ min: 16383, max: 17408 });
    expect(() => parseRangeArg("abc")).toThrow(/LO-HI/);
  });
});
