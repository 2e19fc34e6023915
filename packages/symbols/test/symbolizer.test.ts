import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { BufferSource, BytesAddressSpace, Diagnostics, type ModuleInfo, formatAddress, openMinidumpTarget } from "@leakscope/core";
import { MinidumpBuilder } from "@leakscope/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PeImage, Symbolizer, symbolStoreKey, toFrameText, undecorateX86 } from "../src/index.js";
import { type Fixtures, buildFixtures, mapPeImage, windowsToolchain } from "./fixtures.js";
import { type PdbutilView, pdbutil, readobj } from "./oracles.js";

const tc = windowsToolchain();

const BASE64 = 0x7ffb_1234_0000;
const BASE32 = 0x6d00_0000;
const BASE_EXE = 0x7ff6_a000_0000;

describe.skipIf(!tc.available)("Symbolizer over real clang-14/lld-14 images mapped into dump memory", () => {
  let fx: Fixtures;
  let good: string; // flat symbol directory
  let store: string; // symbol-store layout
  let wrong: string; // a PDB of another build under the right name
  let pdb64: PdbutilView;
  let pdb32: PdbutilView;
  let pdbExe: PdbutilView;

  beforeAll(() => {
    fx = buildFixtures();
    good = join(fx.root, "syms-flat");
    store = join(fx.root, "syms-store");
    wrong = join(fx.root, "syms-wrong");
    mkdirSync(good);
    mkdirSync(wrong);
    copyFileSync(fx.dll64.pdbPath, join(good, "leaktest.pdb"));
    copyFileSync(fx.exe64.pdbPath, join(good, "ConsoleApplication4.pdb"));
    const cv32 = PeImage.fromFile(new BufferSource(fx.dll32.bytes))!.codeView()!;
    const storeDir = join(store, "leaktest32.pdb", symbolStoreKey(cv32));
    mkdirSync(storeDir, { recursive: true });
    copyFileSync(fx.dll32.pdbPath, join(storeDir, "leaktest32.pdb"));
    copyFileSync(fx.other64.pdbPath, join(wrong, "leaktest.pdb"));
    pdb64 = pdbutil(fx.dll64.pdbPath);
    pdb32 = pdbutil(fx.dll32.pdbPath);
    pdbExe = pdbutil(fx.exe64.pdbPath);
  });
  afterAll(() => fx?.cleanup());

  /** A WoW64-like address space holding the three images, and their module list. */
  function process(withCodeView: boolean) {
    const pieces = [
      { address: BASE64, bytes: mapPeImage(fx.dll64.bytes) },
      { address: BASE32, bytes: mapPeImage(fx.dll32.bytes) },
      { address: BASE_EXE, bytes: mapPeImage(fx.exe64.bytes) },
    ];
    const space64 = new BytesAddressSpace(pieces, 8);
    const mod = (path: string, base: number, bytes: Uint8Array, bitness: 32 | 64): ModuleInfo => {
      const pe = PeImage.fromFile(new BufferSource(bytes))!;
      const m: ModuleInfo = { path, name: path.replace(/^.*\\/, ""), base, size: pe.sizeOfImage, timestamp: pe.timestamp, checksum: pe.checksum, bitness };
      if (withCodeView) m.codeView = pe.codeView()!;
      return m;
    };
    const modules = [
      mod("C:\\Windows\\System32\\leaktest.dll", BASE64, fx.dll64.bytes, 64),
      mod("C:\\Windows\\SysWOW64\\leaktest32.dll", BASE32, fx.dll32.bytes, 32),
      mod("C:\\app\\ConsoleApplication4.exe", BASE_EXE, fx.exe64.bytes, 64),
    ];
    return { spaces: { 64: space64, 32: space64.withPointerSize(4) }, modules };
  }

  const proc = (v: PdbutilView, name: string) => {
    const p = v.procs.find((x) => x.name === name);
    if (!p) throw new Error(`pdbutil lists no ${name}`);
    return { rva: v.sectionVAs[p.segment - 1]! + p.offset, size: p.size };
  };

  it("names exported functions from the export directory in memory, WinDbg style", () => {
    const p = process(false);
    const s = new Symbolizer(p);
    for (const [img, base, mod] of [
      [fx.dll64, BASE64, "leaktest"],
      [fx.dll32, BASE32, "leaktest32"],
    ] as const) {
      const exports = readobj(img.imagePath).exports.filter((e) => e.rva !== 0);
      const alloc = exports.find((e) => e.name === "AllocThing")!;
      const r = s.symbolize(base + alloc.rva + 0x11);
      expect(r).toMatchObject({ module: mod, moduleBase: base, offset: alloc.rva + 0x11, symbol: "AllocThing", symbolOffset: 0x11, source: "export" });
      expect(r.text).toBe(`${mod}!AllocThing+0x11`);
      expect(s.symbolize(base + alloc.rva).text).toBe(`${mod}!AllocThing`);
      // the static helper is not exported: the nearest export at or below names it
      const helper = proc(mod === "leaktest" ? pdb64 : pdb32, "helper");
      const below = exports.filter((e) => e.rva <= helper.rva + 3).sort((a, b) => b.rva - a.rva || a.name.localeCompare(b.name))[0]!;
      const h = s.symbolize(base + helper.rva + 3);
      expect(h.source).toBe("export");
      expect(h.symbolOffset).toBe(helper.rva + 3 - below.rva);
      expect(exports.filter((e) => e.rva === below.rva).map((e) => e.name)).toContain(h.symbol);
    }
    // forwarded exports have no code in the module: never used as names
    const fwd = readobj(fx.dll64.imagePath).exports.find((e) => e.name === "MyHeapAlloc")!;
    expect(s.symbolize(BASE64 + fwd.rva).symbol).not.toBe("MyHeapAlloc");
  });

  it("names functions from matching PDBs (flat directory and symbol-store layout), preferring procedures", () => {
    const p = process(true);
    const d = new Diagnostics();
    const s = new Symbolizer({ ...p, symbolPaths: [good, store], diagnostics: d });
    for (const [v, base, mod] of [
      [pdb64, BASE64, "leaktest"],
      [pdb32, BASE32, "leaktest32"],
    ] as const) {
      for (const name of ["helper", "internal_only", "AllocThing", "CallInternal"]) {
        const f = proc(v, name);
        for (const delta of [0, 1, f.size - 1]) {
          const r = s.symbolize(base + f.rva + delta);
          expect(r).toMatchObject({ module: mod, symbol: name, symbolOffset: delta, source: "pdb" });
          expect(r.text).toBe(delta === 0 ? `${mod}!${name}` : `${mod}!${name}+0x${delta.toString(16)}`);
        }
      }
      // data: only a public symbol covers it; x86 publics carry the C decoration (`_LeakData`),
      // shown undecorated as DbgHelp does
      const pub = v.publics.find((x) => /LeakData$/.test(x.name))!;
      expect(pub.name).toBe(mod === "leaktest32" ? "_LeakData" : "LeakData");
      const data = s.symbolize(base + v.sectionVAs[pub.segment - 1]! + pub.offset + 2);
      expect(data).toMatchObject({ symbol: "LeakData", symbolOffset: 2, source: "pdb" });
    }
    const main = proc(pdbExe, "main");
    expect(s.symbolize(BASE_EXE + main.rva + 0x29).text).toBe("ConsoleApplication4!main+0x29");
    expect(d.list()).toEqual([]);
    const st = s.status();
    expect(st.find((m) => m.module === "leaktest32")?.pdb).toContain(symbolStoreKey(PeImage.fromFile(new BufferSource(fx.dll32.bytes))!.codeView()!));
    expect(st.find((m) => m.module === "leaktest")?.procedures).toBe(pdb64.procs.length);
  });

  it("rejects a PDB of another build (GUID/age mismatch) with SYMBOLS_PDB_MISMATCH and never uses it", () => {
    for (const withCv of [true, false]) {
      const d = new Diagnostics();
      const s = new Symbolizer({ ...process(withCv), symbolPaths: [wrong], diagnostics: d });
      const helper = proc(pdb64, "helper");
      const r = s.symbolize(BASE64 + helper.rva + 3);
      expect(r.source).toBe("export");
      expect(r.symbol).not.toBe("helper");
      expect(d.count("SYMBOLS_PDB_MISMATCH")).toBe(1);
    }
    // wrong first, right second: the mismatch is reported and the right one used
    const d = new Diagnostics();
    const s = new Symbolizer({ ...process(true), symbolPaths: [wrong, good], diagnostics: d });
    expect(s.symbolize(BASE64 + proc(pdb64, "helper").rva).text).toBe("leaktest!helper");
    expect(d.count("SYMBOLS_PDB_MISMATCH")).toBe(1);
  });

  it("when the dump's CodeView record differs from the mapped image's, a PDB matching the image is used", () => {
    const p = process(true);
    const other = PeImage.fromFile(new BufferSource(fx.other64.bytes))!.codeView()!;
    p.modules[0]!.codeView = other; // the dump claims another build
    const d = new Diagnostics();
    const s = new Symbolizer({ ...p, symbolPaths: [good], diagnostics: d });
    expect(s.symbolize(BASE64 + proc(pdb64, "helper").rva + 1).text).toBe("leaktest!helper+0x1");
    expect(d.list()).toEqual([]);
    // and the mismatch diagnostic names the rejected file
    const d2 = new Diagnostics();
    new Symbolizer({ ...process(true), symbolPaths: [wrong], diagnostics: d2 }).symbolize(BASE64);
    expect(d2.list().find((x) => x.code === "SYMBOLS_PDB_MISMATCH")?.location?.file).toBe(join(wrong, "leaktest.pdb"));
  });

  it("reports a PDB that is not on the symbol path and falls back to module+offset without exports", () => {
    const d = new Diagnostics();
    const s = new Symbolizer({ ...process(true), symbolPaths: [wrong], diagnostics: d });
    const main = proc(pdbExe, "main");
    const r = s.symbolize(BASE_EXE + main.rva + 4);
    expect(r).toMatchObject({ module: "ConsoleApplication4", source: "module", offset: main.rva + 4 });
    expect(r.text).toBe(`ConsoleApplication4+0x${(main.rva + 4).toString(16)}`);
    expect(d.has("SYMBOLS_PDB_NOT_FOUND")).toBe(true);
  });

  it("addresses outside every module and modules whose header page is missing", () => {
    const p = process(false);
    const s = new Symbolizer(p);
    const out = s.symbolize(0x1234_5678);
    expect(out).toEqual({ address: 0x1234_5678, offset: 0, source: "none", text: "0x12345678" });
    const d = new Diagnostics();
    const ghost: ModuleInfo = { path: "C:\\x\\ghost.dll", name: "ghost.dll", base: 0x5000_0000, size: 0x10000, timestamp: 0, checksum: 0, bitness: 32 };
    const s2 = new Symbolizer({ ...p, modules: [...p.modules, ghost], diagnostics: d });
    expect(s2.symbolize(0x5000_0123).text).toBe("ghost+0x123");
    expect(d.has("PE_IMAGE_NOT_CAPTURED")).toBe(true); // header page not in the dump: info, not "not an image"
    expect(d.has("PE_NOT_AN_IMAGE")).toBe(false);
  });

  it("undecorates x86 C publics like DbgHelp and leaves C++ names alone", () => {
    expect(undecorateX86("_main")).toBe("main");
    expect(undecorateX86("_RtlAllocateHeap@12")).toBe("RtlAllocateHeap");
    expect(undecorateX86("@KiFastCall@8")).toBe("KiFastCall");
    expect(undecorateX86("?Alloc@Pool@@QAEPAXI@Z")).toBe("?Alloc@Pool@@QAEPAXI@Z");
    expect(undecorateX86("plain")).toBe("plain");
  });

  it("symbolizeMany agrees with symbolize, shares results for repeated frames, and converts to FrameText", () => {
    const p = process(true);
    const s = new Symbolizer({ ...p, symbolPaths: [good] });
    const helper = proc(pdb64, "helper");
    const addrs = [BASE64 + helper.rva + 2, 0x42, BASE_EXE + 0x1000, BASE64 + helper.rva + 2, BASE32 + 0x1001];
    const many = s.symbolizeMany(addrs);
    expect(many.map((r) => r.text)).toEqual(addrs.map((a) => s.symbolize(a).text));
    expect(many[0]).toBe(many[3]);
    expect(toFrameText(many[0]!)).toEqual({ text: "leaktest!helper+0x2", module: "leaktest", symbol: "helper", offset: 2 });
    expect(toFrameText(many[1]!)).toEqual({ text: formatAddress(0x42) });
  });

  it("works end to end on a synthetic WoW64 minidump holding the images (modules, views, CodeView from the dump)", () => {
    const b = new MinidumpBuilder();
    b.wow64Process({});
    const cv = (bytes: Uint8Array) => {
      const c = PeImage.fromFile(new BufferSource(bytes))!.codeView()!;
      return { guid: c.guid, age: c.age, pdb: c.pdbName };
    };
    const size = (bytes: Uint8Array) => PeImage.fromFile(new BufferSource(bytes))!.sizeOfImage;
    b.module({ path: "C:\\Windows\\SysWOW64\\leaktest32.dll", base: BASE32, size: size(fx.dll32.bytes), codeView: cv(fx.dll32.bytes) });
    b.module({ path: "C:\\Windows\\System32\\leaktest.dll", base: BASE64, size: size(fx.dll64.bytes), codeView: cv(fx.dll64.bytes) });
    b.memory(BASE32, mapPeImage(fx.dll32.bytes));
    b.memory(BASE64, mapPeImage(fx.dll64.bytes));
    const target = openMinidumpTarget(new BufferSource(b.build(), "wow64.dmp"));
    try {
      const s = Symbolizer.forTarget(target, { symbolPaths: [good, store] });
      const h32 = proc(pdb32, "internal_only");
      const h64 = proc(pdb64, "internal_only");
      expect(s.symbolize(BASE32 + h32.rva + 0x10).text).toBe("leaktest32!internal_only+0x10");
      expect(s.symbolize(BASE64 + h64.rva + 0x10).text).toBe("leaktest!internal_only+0x10");
      const noPdb = Symbolizer.forTarget(target);
      const alloc = readobj(fx.dll32.imagePath).exports.find((e) => e.name === "AllocThing")!;
      expect(noPdb.symbolize(BASE32 + alloc.rva + 4).text).toBe("leaktest32!AllocThing+0x4");
      expect(target.diagnostics.list().filter((x) => x.source === "symbols")).toEqual([]);
    } finally {
      target.close();
    }
  });
});
