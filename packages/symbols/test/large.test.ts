import { BufferSource, Diagnostics } from "@leakscope/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuiltImage, buildWindowsImage } from "@leakscope/test-utils";
import { PdbFile, PeImage, S_LPROCREF, S_PROCREF, SYMBOL_KIND_NAMES } from "../src/index.js";
import { windowsToolchain } from "./fixtures.js";
import { keys, pdbutil } from "./oracles.js";

const tc = windowsToolchain();

/** Thousands of functions in two translation units: streams larger than the reader's 1 MiB chunk. */
function unit(prefix: string, n: number, exported: boolean): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${prefix}_a_rather_long_function_name_so_records_are_big_${String(i).padStart(5, "0")}`;
    out.push(`${exported && i % 10 === 0 ? "__declspec(dllexport) " : ""}${i % 2 === 1 ? "static " : ""}int ${name}(int x) { int a = x * ${i}; int b = a ^ ${i * 7}; return a + b; }`);
    if (i % 2 === 1) out.push(`int (*${name}_ref)(int) = ${name};`);
  }
  return out.join("\n") + "\n";
}

describe.skipIf(!tc.available)("a large multi-module PDB (streams span many blocks and reader chunks)", () => {
  let img: BuiltImage;
  beforeAll(() => {
    img = buildWindowsImage({ name: "bigmod", source: unit("first", 5000, true), extraSources: { second: unit("second", 1500, false) }, arch: "x64" });
  }, 120_000);
  afterAll(() => img?.cleanup());

  it("agrees with llvm-pdbutil-14 on publics, procedures and procedure references", () => {
    const view = pdbutil(img.pdbPath);
    const d = new Diagnostics();
    const pdb = PdbFile.openFile(img.pdbPath, { diagnostics: d })!;
    try {
      const m0 = pdb.modules[0]!;
      expect(m0.symByteSize).toBeGreaterThan(1 << 20);
      expect(pdb.modules.length).toBeGreaterThanOrEqual(3);
      const procs = pdb.allProcs().filter((p) => SYMBOL_KIND_NAMES[p.kind]!.includes("PROC32"));
      expect(procs.length).toBe(6500);
      expect(keys(procs, (p) => `${SYMBOL_KIND_NAMES[p.kind]}|${p.name}|${p.segment}:${p.offset}|${p.size}`)).toEqual(
        keys(view.procs, (p) => `${p.kind}|${p.name}|${p.segment}:${p.offset}|${p.size}`),
      );
      const pubs = pdb.publics();
      expect(keys(pubs, (p) => `${p.name}|${p.segment}:${p.offset}`)).toEqual(keys(view.publics, (p) => `${p.name}|${p.segment}:${p.offset}`));
      const refs = pdb.globals().filter((g) => g.kind === S_PROCREF || g.kind === S_LPROCREF);
      expect(keys(refs, (g) => `${g.name}|${g.module}|${g.symOffset}`)).toEqual(keys(view.procRefs, (r) => `${r.name}|${r.module}|${r.offset}`));
      expect(d.list()).toEqual([]);
      // exports: every tenth function of the first unit that is not static
      const ex = PeImage.fromFile(new BufferSource(img.bytes))!.exports()!;
      expect(ex.entries.length).toBe(500);
    } finally {
      pdb.close();
    }
  });
});
