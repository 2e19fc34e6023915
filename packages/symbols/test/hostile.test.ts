import { BufferSource, BytesAddressSpace, type Diagnostic, Diagnostics, declaredCodes } from "@leakscope/core";
import { Rng, mutate } from "@leakscope/test-utils";
import fc from "fast-check";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PdbFile, PeImage, Symbolizer, symbolsCodes } from "../src/index.js";
import { type Fixtures, buildFixtures, mapPeImage, windowsToolchain } from "./fixtures.js";

const tc = windowsToolchain();

/** Every diagnostic must carry one of our codes (or core's suppression summary). */
function expectKnownCodes(list: readonly Diagnostic[]): void {
  for (const d of list) {
    expect(d.code in symbolsCodes || d.code === "DIAGNOSTICS_SUPPRESSED", d.code).toBe(true);
    expect(declaredCodes().get(d.code)).toBeDefined();
  }
}

function exercisePe(pe: PeImage | undefined): void {
  if (!pe) return;
  pe.exports();
  pe.debugDirectory();
  pe.codeView();
  pe.fileVersion();
  for (const s of pe.sections) pe.rvaToFileOffset(s.virtualAddress);
}

function exercisePdb(bytes: Uint8Array, d: Diagnostics): void {
  const pdb = PdbFile.open(new BufferSource(bytes, "fuzz.pdb"), { diagnostics: d });
  if (!pdb) return;
  pdb.publics();
  pdb.globals();
  pdb.allProcs();
}

/** Offsets of MSF structures, found by following the superblock of a well-formed PDB. */
function msfLayout(pdb: Uint8Array) {
  const v = new DataView(pdb.buffer, pdb.byteOffset);
  const blockSize = v.getUint32(32, true);
  const blockMap = v.getUint32(52, true) * blockSize;
  const dir = v.getUint32(blockMap, true) * blockSize;
  return { blockSize, blockMap, dir, numStreams: v.getUint32(dir, true) };
}

describe.skipIf(!tc.available)("hostile PE images and PDBs: diagnostics, never a crash or hang", () => {
  let fx: Fixtures;
  let pdb64: Uint8Array;
  beforeAll(() => {
    fx = buildFixtures();
    pdb64 = new Uint8Array(readFileSync(fx.dll64.pdbPath));
  });
  afterAll(() => fx?.cleanup());

  it("fuzzed PE files (file layout) and mapped images (loaded layout) never throw", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fffffff }), fc.integer({ min: 1, max: 4 }), fc.boolean(), (seed, rounds, loaded) => {
        const rng = new Rng(seed);
        const d = new Diagnostics();
        let bytes = loaded ? mapPeImage(rng.below(2) ? fx.dll64.bytes : fx.dll32.bytes) : rng.below(2) ? fx.dll64.bytes : fx.dll32.bytes;
        for (let k = 0; k < rounds; k++) bytes = mutate(bytes, rng).bytes;
        const pe = loaded
          ? PeImage.fromMemory(new BytesAddressSpace([{ address: 0x10000000, bytes }], 4), 0x10000000, { diagnostics: d })
          : PeImage.fromFile(new BufferSource(bytes), { diagnostics: d });
        exercisePe(pe);
        expectKnownCodes(d.list());
      }),
      { numRuns: 400 },
    );
  });

  it("fuzzed PDBs never throw; mutations aimed at the superblock and stream directory included", () => {
    const { dir, blockSize } = msfLayout(pdb64);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 0x7fffffff }),
        fc.integer({ min: 0, max: blockSize - 4 }),
        fc.constantFrom(0, 1, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 12, 3),
        (seed, dirOffset, value) => {
          const rng = new Rng(seed);
          const d = new Diagnostics();
          let bytes = mutate(pdb64, rng).bytes;
          if (rng.below(2) && dir + dirOffset + 4 <= bytes.length) {
            new DataView(bytes.buffer).setUint32(dir + (dirOffset & ~3), value, true);
          }
          if (rng.below(3) === 0) bytes = mutate(bytes, rng).bytes;
          exercisePdb(bytes, d);
          expectKnownCodes(d.list());
        },
      ),
      { numRuns: 400 },
    );
  });

  it("truncated PDBs: every cut point yields diagnostics, not exceptions", () => {
    const { blockSize } = msfLayout(pdb64);
    for (let cut = 0; cut < pdb64.length; cut += blockSize / 2) {
      const d = new Diagnostics();
      exercisePdb(pdb64.subarray(0, cut), d);
      expectKnownCodes(d.list());
      expect(d.size, `cut at ${cut}`).toBeGreaterThan(0);
    }
  });

  it("absurd counts in the MSF superblock and stream directory are rejected with codes", () => {
    const { dir, blockMap } = msfLayout(pdb64);
    const patch = (at: number, value: number) => {
      const b = pdb64.slice();
      new DataView(b.buffer).setUint32(at, value, true);
      return b;
    };
    const cases: [Uint8Array, string][] = [
      [patch(0, 0x12345678), "PDB_NOT_MSF"],
      [patch(32, 3000), "PDB_NOT_MSF"],
      [patch(44, 0xffffffff), "PDB_BAD_DIRECTORY"],
      [patch(52, 0x7fffffff), "PDB_BAD_DIRECTORY"],
      [patch(dir, 0xffffffff), "PDB_BAD_DIRECTORY"],
      [patch(dir, 0x00100000), "PDB_BAD_DIRECTORY"],
      [patch(blockMap, 0xfffffff0), "PDB_BAD_DIRECTORY"],
      [patch(40, 0x7fffffff), "PDB_TRUNCATED"],
    ];
    for (const [bytes, code] of cases) {
      const d = new Diagnostics();
      exercisePdb(bytes, d);
      expect(d.has(code), `${code}: ${JSON.stringify(d.list())}`).toBe(true);
    }
    // every stream block pointing at one block (a "cycle" in the block lists) reads garbage, bounded
    const b = pdb64.slice();
    const v = new DataView(b.buffer);
    const n = v.getUint32(dir, true);
    const dirBytes = v.getUint32(44, true);
    for (let o = dir + 4 + n * 4; o + 4 <= dir + dirBytes; o += 4) v.setUint32(o, 3, true);
    const d = new Diagnostics();
    exercisePdb(b, d);
    expectKnownCodes(d.list());
  });

  it("a symbol record whose length runs past its module stream is reported and the walk stops", () => {
    const pdb = PdbFile.open(new BufferSource(pdb64))!;
    const m = pdb.modules[0]!;
    const s = pdb.msf.stream(m.symStream)!;
    const at = s.fileOffset(4); // first record after the C13 signature
    const b = pdb64.slice();
    new DataView(b.buffer).setUint16(at, 0xfff0, true);
    const d = new Diagnostics();
    const bad = PdbFile.open(new BufferSource(b), { diagnostics: d })!;
    expect(bad.moduleProcs(0)).toEqual([]);
    expect(d.has("PDB_BAD_STREAM")).toBe(true);
    // a module index past the list is simply empty
    expect(bad.moduleProcs(999)).toEqual([]);
  });

  it("PE: absurd export counts, section counts and a resource directory cycle", () => {
    const base = PeImage.fromFile(new BufferSource(fx.dll64.bytes))!;
    const exp = base.dataDirectories[0]!;
    const res = base.dataDirectories[2]!;
    const file = fx.dll64.bytes;
    const lfanew = new DataView(file.buffer, file.byteOffset).getUint32(0x3c, true);
    const expOff = base.rvaToFileOffset(exp.rva);
    const resOff = base.rvaToFileOffset(res.rva);

    const withU32 = (at: number, value: number, width: 2 | 4 = 4) => {
      const b = file.slice();
      const v = new DataView(b.buffer);
      if (width === 4) v.setUint32(at, value, true);
      else v.setUint16(at, value, true);
      return b;
    };
    let d = new Diagnostics();
    let pe = PeImage.fromFile(new BufferSource(withU32(expOff + 20, 0xffffffff)), { diagnostics: d })!;
    pe.exports();
    expect(d.has("PE_COUNT_LIMIT")).toBe(true);

    d = new Diagnostics();
    pe = PeImage.fromFile(new BufferSource(withU32(lfanew + 6, 0xffff, 2)), { diagnostics: d })!;
    expect(pe.sections.length).toBeLessThanOrEqual(96);
    expect(d.has("PE_COUNT_LIMIT")).toBe(true);

    // resource root's first entry points back at the root directory
    d = new Diagnostics();
    pe = PeImage.fromFile(new BufferSource(withU32(resOff + 16 + 4, 0x80000000)), { diagnostics: d })!;
    expect(pe.fileVersion()).toBeUndefined();
    expect(d.has("PE_RESOURCE_CYCLE")).toBe(true);

    // export name RVAs outside the image
    d = new Diagnostics();
    pe = PeImage.fromFile(new BufferSource(withU32(expOff + 32, 0x7ffffff0)), { diagnostics: d })!;
    const ex = pe.exports();
    expect(ex?.entries.every((e) => e.name === undefined)).toBe(true);
    expect(d.size).toBeGreaterThan(0);

    // not a PE at all, and a header page that is only partly captured
    d = new Diagnostics();
    expect(PeImage.fromFile(new BufferSource(new Uint8Array(100)), { diagnostics: d })).toBeUndefined();
    expect(d.has("PE_NOT_AN_IMAGE")).toBe(true);
    d = new Diagnostics();
    const partial = new BytesAddressSpace([{ address: 0x400000, bytes: mapPeImage(file).subarray(0, lfanew + 30) }], 8);
    expect(PeImage.fromMemory(partial, 0x400000, { diagnostics: d })).toBeUndefined();
    expect(d.has("PE_HEADER_TRUNCATED")).toBe(true);
  });

  it("a corrupt PDB on the symbol path is reported and the symbolizer falls back to exports", () => {
    const dir = join(fx.root, "syms-corrupt");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "leaktest.pdb"), pdb64.subarray(0, 5000));
    const empty = join(fx.root, "syms-dir");
    mkdirSync(join(empty, "leaktest.pdb"), { recursive: true }); // a directory where a file is expected
    const ok = join(fx.root, "syms-ok");
    mkdirSync(ok, { recursive: true });
    copyFileSync(fx.dll64.pdbPath, join(ok, "unrelated.pdb"));
    const base = 0x7ff0_0000_0000;
    const space = new BytesAddressSpace([{ address: base, bytes: mapPeImage(fx.dll64.bytes) }], 8);
    const pe = PeImage.fromMemory(space, base)!;
    const d = new Diagnostics();
    const s = new Symbolizer({
      modules: [{ path: "leaktest.dll", name: "leaktest.dll", base, size: pe.sizeOfImage, timestamp: 0, checksum: 0, bitness: 64 }],
      spaces: { 64: space },
      symbolPaths: [empty, dir, ok],
      diagnostics: d,
    });
    const alloc = pe.exports()!.entries.find((e) => e.name === "AllocThing")!;
    expect(s.symbolize(base + alloc.rva + 1)).toMatchObject({ source: "export", symbol: "AllocThing", symbolOffset: 1 });
    expectKnownCodes(d.list());
    expect(d.list().some((x) => x.code.startsWith("PDB_"))).toBe(true);
  });
});
