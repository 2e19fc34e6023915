import { BufferSource, BytesAddressSpace, Diagnostics, FileSource } from "@leakscope/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PeImage, formatGuid } from "../src/index.js";
import { FORWARDERS, type Fixtures, buildFixtures, mapPeImage, windowsToolchain } from "./fixtures.js";
import { type ReadobjView, keys, readobj } from "./oracles.js";

const tc = windowsToolchain();

describe.skipIf(!tc.available)("PE reader against llvm-readobj-14 (clang-14/lld-14 images)", () => {
  let fx: Fixtures;
  beforeAll(() => {
    fx = buildFixtures();
  });
  afterAll(() => fx?.cleanup());

  const images = () =>
    [
      ["x64 DLL", fx.dll64, 8, 0x7ffb_1234_0000, FORWARDERS],
      ["x86 DLL", fx.dll32, 4, 0x6d00_0000, {}],
      ["x64 EXE", fx.exe64, 8, 0x7ff6_a000_0000, {}],
    ] as const;

  function checkAgainst(view: ReadobjView, pe: PeImage, forwarders: Record<string, string>) {
    expect(pe.machine).toBe(view.machine);
    expect(pe.is64).toBe(view.magic === 0x20b);
    expect(pe.sizeOfImage).toBe(view.sizeOfImage);
    expect(pe.imageBase).toBe(view.imageBase);
    expect(pe.sections.map((s) => [s.name, s.virtualAddress, s.virtualSize, s.sizeOfRawData, s.pointerToRawData])).toEqual(
      view.sections.map((s) => [s.name, s.virtualAddress, s.virtualSize, s.rawSize, s.rawPointer]),
    );
    // readobj lists every slot of the address table, including unused (RVA 0) ones; we skip those.
    const oracleExports = view.exports.filter((e) => e.rva !== 0);
    const ours = pe.exports()?.entries ?? [];
    expect(keys(ours, (e) => `${e.ordinal}:${e.name ?? ""}:${e.rva}`)).toEqual(keys(oracleExports, (e) => `${e.ordinal}:${e.name}:${e.rva}`));
    const fwd = Object.fromEntries(ours.filter((e) => e.forwarder !== undefined).map((e) => [e.name, e.forwarder]));
    expect(fwd).toEqual(forwarders);
    const cv = pe.codeView();
    expect(view.codeView).toHaveLength(1);
    const o = view.codeView[0]!;
    expect(cv).toEqual({ format: "RSDS", guid: formatGuid(Uint8Array.from(o.guidBytes)), age: o.age, pdbName: o.pdbName });
  }

  it("reads headers, sections, exports and CodeView from the file layout like readobj does", () => {
    for (const [, img, , , fwd] of images()) {
      const d = new Diagnostics();
      const pe = PeImage.fromFile(new BufferSource(img.bytes, img.imagePath), { diagnostics: d })!;
      expect(pe).toBeDefined();
      expect(pe.layout).toBe("file");
      checkAgainst(readobj(img.imagePath), pe, fwd);
      expect(d.list()).toEqual([]);
    }
  });

  it("reads the same from the loaded layout mapped into an address space at a base", () => {
    for (const [, img, ps, base, fwd] of images()) {
      const space = new BytesAddressSpace([{ address: base, bytes: mapPeImage(img.bytes) }], ps);
      const d = new Diagnostics();
      const pe = PeImage.fromMemory(space, base, { diagnostics: d })!;
      expect(pe.layout).toBe("loaded");
      expect(pe.base).toBe(base);
      checkAgainst(readobj(img.imagePath), pe, fwd);
      expect(d.list()).toEqual([]);
    }
  });

  it("reads through a FileSource too, and the EXE is not a DLL", () => {
    const src = FileSource.open(fx.exe64.imagePath);
    try {
      const pe = PeImage.fromFile(src)!;
      expect(pe.isDll).toBe(false);
      expect(pe.exports()).toBeUndefined();
      expect(pe.arch).toBe("x64");
    } finally {
      src.close();
    }
    expect(PeImage.fromFile(new BufferSource(fx.dll32.bytes))!.arch).toBe("x86");
  });

  it("reads the file version from the VERSIONINFO resource linked into the x64 DLL", () => {
    const pe = PeImage.fromFile(new BufferSource(fx.dll64.bytes))!;
    expect(pe.fileVersion()).toBe("10.0.19041.3636");
    const mapped = new BytesAddressSpace([{ address: 0x1800_0000, bytes: mapPeImage(fx.dll64.bytes) }], 8);
    expect(PeImage.fromMemory(mapped, 0x1800_0000)!.fileVersion()).toBe("10.0.19041.3636");
    // no resource directory at all
    expect(PeImage.fromFile(new BufferSource(fx.dll32.bytes))!.fileVersion()).toBeUndefined();
  });

  it("maps an RVA to its file offset through the section table", () => {
    const pe = PeImage.fromFile(new BufferSource(fx.dll64.bytes))!;
    const text = pe.sections.find((s) => s.name === ".text")!;
    expect(pe.rvaToFileOffset(text.virtualAddress + 5)).toBe(text.pointerToRawData + 5);
    expect(pe.rvaToFileOffset(0x10)).toBe(0x10);
    expect(pe.rvaToFileOffset(pe.sizeOfImage + 0x1000)).toBe(-1);
  });
});
