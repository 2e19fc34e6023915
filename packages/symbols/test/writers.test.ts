import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BufferSource, Diagnostics, memoryTarget } from "@leakscope/core";
import { mappedImageHeader, writePdb } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { PdbFile, PeImage, Symbolizer } from "../src/index.js";
import { runTool, windowsToolchain } from "./fixtures.js";

const GUID = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9";
const sections = [
  { name: ".text", rva: 0x1000, size: 0x2000 },
  { name: ".rdata", rva: 0x3000, size: 0x1000, characteristics: 0x40000040 },
];
const procs = [
  { name: "net::Session::Create", rva: 0x1100, size: 0x80 },
  { name: "main", rva: 0x1680, size: 0x80 },
  { name: "detail::Table<int>::Find", rva: 0x2000, size: 0x40 },
];

describe("test-utils' pure-TypeScript PE header and PDB writers", () => {
  it("a written PDB reads back: identity, sections, procedures with sizes", () => {
    const d = new Diagnostics();
    const pdb = PdbFile.open(new BufferSource(writePdb({ guid: GUID, age: 3, machine: 0x14c, sections, procs, objectName: "app.obj" }), "app.pdb"), { diagnostics: d });
    expect(pdb).toBeDefined();
    expect(pdb!.info.guid).toBe(GUID);
    expect(pdb!.matchAge).toBe(3);
    expect(pdb!.sections.map((s) => [s.name, s.virtualAddress])).toEqual([
      [".text", 0x1000],
      [".rdata", 0x3000],
    ]);
    expect(pdb!.modules.map((m) => m.name)).toEqual(["app.obj"]);
    expect(pdb!.allProcs().map((p) => [p.name, p.rva, p.size])).toEqual(procs.map((p) => [p.name, p.rva, p.size]));
    expect(d.list()).toEqual([]);
  });

  const tc = windowsToolchain();
  it.skipIf(!tc.available)("llvm-pdbutil reads the same procedures (oracle)", () => {
    const dir = mkdtempSync(join(tmpdir(), "leakscope-pdbw-"));
    const path = join(dir, "app.pdb");
    writeFileSync(path, writePdb({ guid: GUID, age: 1, machine: 0x8664, sections, procs }));
    const text = runTool(tc.pdbutil, ["dump", "-summary", "-symbols", path]);
    expect(text).toContain("GUID: {0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}");
    expect(text).toMatch(/S_GPROC32 \[size = \d+\] `net::Session::Create`\s+parent = 0, end = \d+, addr = 0001:0256, code size = 128/);
    expect(text).toContain("`detail::Table<int>::Find`");
    expect(text).not.toMatch(/corrupt|error/i);
  });

  it("a mapped header page carries exports the symbolizer names frames with; the PDB wins for its module", () => {
    const base = 0x10000000;
    const page = mappedImageHeader({
      bitness: 32,
      base,
      sizeOfImage: 0x4000,
      dllName: "app.dll",
      exports: [
        { name: "Zeta", rva: 0x1800 },
        { name: "Alpha", rva: 0x1100 },
      ],
      sections,
    });
    const target = memoryTarget({ arch: "x86", os: { major: 10, minor: 0, build: 19045 }, memory: [{ address: base, bytes: page }], views: [{ bitness: 32 }] });
    const image = PeImage.fromMemory(target.views[0]!.space, base);
    expect(image?.sections.map((s) => s.name)).toEqual([".text", ".rdata"]);
    expect(image?.exports()?.entries.map((e) => [e.name, e.rva])).toEqual([
      ["Alpha", 0x1100],
      ["Zeta", 0x1800],
    ]);
    const mod = { path: "C:\\app\\app.dll", name: "app.dll", base, size: 0x4000, timestamp: 0, checksum: 0, bitness: 32 as const };
    const byExport = new Symbolizer({ modules: [mod], spaces: { 32: target.views[0]!.space } });
    expect(byExport.symbolize(base + 0x1119).text).toBe("app!Alpha+0x19");
    const dir = mkdtempSync(join(tmpdir(), "leakscope-pdbw-"));
    writeFileSync(join(dir, "app.pdb"), writePdb({ guid: GUID, age: 1, machine: 0x14c, sections, procs }));
    const withPdb = new Symbolizer({
      modules: [{ ...mod, codeView: { format: "RSDS", guid: GUID, age: 1, pdbName: "C:\\build\\app.pdb" } }],
      spaces: { 32: target.views[0]!.space },
      symbolPaths: [dir],
    });
    expect(withPdb.symbolize(base + 0x1119).text).toBe("app!net::Session::Create+0x19");
  });
});
