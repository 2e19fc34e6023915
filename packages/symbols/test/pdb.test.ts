import { BufferSource, Diagnostics } from "@leakscope/core";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PdbFile, PeImage, S_LPROCREF, S_PROCREF, SYMBOL_KIND_NAMES } from "../src/index.js";
import { type Fixtures, buildFixtures, windowsToolchain } from "./fixtures.js";
import { keys, pdbutil } from "./oracles.js";

const tc = windowsToolchain();

const PUB_FLAGS: Record<string, number> = { none: 0, code: 1, function: 2 };

describe.skipIf(!tc.available)("PDB reader against llvm-pdbutil-14 (lld-link-14 /debug PDBs)", () => {
  let fx: Fixtures;
  beforeAll(() => {
    fx = buildFixtures();
  });
  afterAll(() => fx?.cleanup());
  const pdbs = () => [fx.dll64, fx.dll32, fx.exe64, fx.other64];

  it("reads GUID and age like `dump -summary`, and they match the image's RSDS record", () => {
    for (const img of pdbs()) {
      const view = pdbutil(img.pdbPath);
      const pdb = PdbFile.openFile(img.pdbPath)!;
      try {
        expect(pdb.info.guid).toBe(view.guid);
        expect(pdb.info.age).toBe(view.age);
        expect(pdb.info.version).toBe(20000404);
        expect(pdb.matchAge).toBe(view.age);
        const cv = PeImage.fromFile(new BufferSource(img.bytes))!.codeView()!;
        expect(cv.guid).toBe(pdb.info.guid);
      } finally {
        pdb.close();
      }
    }
  });

  it("lists the same S_PUB32 records as `dump -publics` (name, flags, segment:offset)", () => {
    for (const img of pdbs()) {
      const view = pdbutil(img.pdbPath);
      const pdb = PdbFile.open(new BufferSource(new Uint8Array(readFileSync(img.pdbPath)), img.pdbPath))!;
      const ours = pdb.publics();
      expect(ours.length).toBeGreaterThan(0);
      expect(keys(ours, (p) => `${p.name}|${p.flags}|${p.segment}:${p.offset}`)).toEqual(
        keys(view.publics, (p) => `${p.name}|${p.flags.split(/\s*\|\s*/).reduce((a, f) => a | (PUB_FLAGS[f] ?? 0x100), 0)}|${p.segment}:${p.offset}`),
      );
      // segment:offset -> RVA through the section header stream
      for (const p of ours) expect(p.rva).toBe(view.sectionVAs[p.segment - 1]! + p.offset);
    }
  });

  it("lists the same procedures as `dump -symbols` (S_GPROC32/S_LPROC32 with code size)", () => {
    for (const img of pdbs()) {
      const view = pdbutil(img.pdbPath);
      const pdb = PdbFile.openFile(img.pdbPath)!;
      try {
        const ours = pdb.allProcs().filter((p) => SYMBOL_KIND_NAMES[p.kind]!.includes("PROC32"));
        expect(ours.length).toBeGreaterThan(0);
        expect(keys(ours, (p) => `${SYMBOL_KIND_NAMES[p.kind]}|${p.name}|${p.segment}:${p.offset}|${p.size}`)).toEqual(
          keys(view.procs, (p) => `${p.kind}|${p.name}|${p.segment}:${p.offset}|${p.size}`),
        );
        expect(keys(pdb.modules, (m) => `${m.name}|${m.symStream}`)).toEqual(keys(view.modules, (m) => `${m.name}|${m.stream}`));
      } finally {
        pdb.close();
      }
    }
  });

  it("lists the same procedure references as `dump -globals`, pointing at the procedures", () => {
    for (const img of pdbs()) {
      const view = pdbutil(img.pdbPath);
      const pdb = PdbFile.openFile(img.pdbPath)!;
      try {
        const refs = pdb.globals().filter((g) => g.kind === S_PROCREF || g.kind === S_LPROCREF);
        expect(keys(refs, (g) => `${SYMBOL_KIND_NAMES[g.kind]}|${g.name}|${g.module}|${g.symOffset}`)).toEqual(
          keys(view.procRefs, (r) => `${r.kind}|${r.name}|${r.module}|${r.offset}`),
        );
        for (const r of refs) {
          const procs = pdb.moduleProcs(r.module! - 1);
          expect(procs.find((p) => p.symOffset === r.symOffset)?.name).toBe(r.name);
        }
      } finally {
        pdb.close();
      }
    }
  });

  it("raises no diagnostics on well-formed PDBs", () => {
    const d = new Diagnostics();
    for (const img of pdbs()) {
      const pdb = PdbFile.openFile(img.pdbPath, { diagnostics: d })!;
      pdb.publics();
      pdb.globals();
      pdb.allProcs();
      pdb.close();
    }
    expect(d.list()).toEqual([]);
  });
});
