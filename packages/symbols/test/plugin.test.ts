import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { BufferSource, Engine, type InputReader, type ModuleInfo, PluginOptionsError, STAGE_ENRICH, memoryTarget } from "@leakscope/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PeImage, symbols } from "../src/index.js";
import { type Fixtures, buildFixtures, mapPeImage, windowsToolchain } from "./fixtures.js";
import { pdbutil } from "./oracles.js";

const tc = windowsToolchain();

describe("symbols plugin", () => {
  it("validates its options in the factory", () => {
    // @ts-expect-error options the schema refuses do not compile either
    expect(() => symbols({ symbolPaths: "not-a-list" })).toThrow(PluginOptionsError);
    // @ts-expect-error options the schema refuses do not compile either
    expect(() => symbols({ bogus: 1 })).toThrow(PluginOptionsError);
    expect(symbols().name).toBe("symbols");
  });

  describe.skipIf(!tc.available)("on a synthetic WoW64 process holding real images", () => {
    let fx: Fixtures;
    let syms: string;
    beforeAll(() => {
      fx = buildFixtures();
      syms = join(fx.root, "plugin-syms");
      mkdirSync(syms);
      copyFileSync(fx.dll32.pdbPath, join(syms, "leaktest32.pdb"));
    });
    afterAll(() => fx?.cleanup());

    async function run(symbolPaths: string[], frames: number[]) {
      const base32 = 0x6d000000;
      const base64 = 0x7ffb12340000;
      const mod = (name: string, base: number, bytes: Uint8Array, bitness: 32 | 64): ModuleInfo => {
        const pe = PeImage.fromFile(new BufferSource(bytes))!;
        return { path: `C:\\x\\${name}`, name, base, size: pe.sizeOfImage, timestamp: 0, checksum: 0, bitness, codeView: pe.codeView()! };
      };
      const m32 = [mod("leaktest32.dll", base32, fx.dll32.bytes, 32)];
      const m64 = [mod("leaktest.dll", base64, fx.dll64.bytes, 64)];
      const reader: InputReader = {
        name: "t",
        open: () =>
          memoryTarget({
            arch: "x64",
            os: { major: 10, minor: 0, build: 19045 },
            memory: [
              { address: base32, bytes: mapPeImage(fx.dll32.bytes) },
              { address: base64, bytes: mapPeImage(fx.dll64.bytes) },
            ],
            views: [
              { bitness: 64, modules: m64 },
              { bitness: 32, modules: m32 },
            ],
          }),
      };
      const engine = new Engine({ plugins: [symbols({ symbolPaths })] });
      engine.hooks.resolveReader.tap("t", () => reader);
      // stands in for the stack-trace plugin, which fills run.data.traces at STAGE_ENRICH
      engine.hooks.heapsWalked.tapPromise({ name: "t", stage: STAGE_ENRICH }, async (r) => {
        r.data.traces = { status: "present", ust: true, hpa: false, note: "", stacks: [{ frames }, { frames: frames.slice(1) }], stackOf: new Int32Array(0) };
      });
      const open = await engine.openSource(new BufferSource(new Uint8Array([1])), { command: "stacks", depth: "walk" });
      open.close();
      return { open, base32, base64 };
    }

    it("fills every stack's frame text after the traces are decoded", async () => {
      const v = pdbutil(fx.dll32.pdbPath);
      const helper = v.procs.find((p) => p.name === "helper")!;
      const rva = v.sectionVAs[helper.segment - 1]! + helper.offset;
      const frames = [0x6d000000 + rva + 7, 0x7ffb12340000 + 0x1001, 0x1234];
      const { open } = await run([syms], frames);
      const st = open.run.data.traces!.stacks;
      expect(st[0]!.text!.map((t) => t.text)).toEqual(["leaktest32!helper+0x7", expect.stringMatching(/^leaktest!\w+\+0x1$/), "0x1234"]);
      expect(st[1]!.text!.map((t) => t.text)).toEqual(st[0]!.text!.slice(1).map((t) => t.text));
      expect(st[0]!.text![0]).toEqual({ text: "leaktest32!helper+0x7", module: "leaktest32", symbol: "helper", offset: 7 });
      // leaktest.pdb is not in the directory: reported on the run
      expect(open.run.diagnostics.has("SYMBOLS_PDB_NOT_FOUND")).toBe(true);
    });
  });
});
