import { runTool, windowsToolchain } from "./fixtures.js";

/** llvm-readobj-14's view of a PE file, parsed from its text output. */
export interface ReadobjView {
  machine: number;
  magic: number;
  imageBase: number;
  sizeOfImage: number;
  sections: { name: string; virtualAddress: number; virtualSize: number; rawSize: number; rawPointer: number }[];
  exports: { ordinal: number; name: string; rva: number }[];
  codeView: { guidBytes: number[]; age: number; pdbName: string }[];
}

const num = (s: string) => (s.startsWith("0x") ? Number.parseInt(s.slice(2), 16) : Number.parseInt(s, 10));

export function readobj(path: string): ReadobjView {
  const tc = windowsToolchain();
  const text = runTool(tc.readobj, ["--file-headers", "--sections", "--coff-exports", "--coff-debug-directory", path]);
  const field = (re: RegExp) => {
    const m = re.exec(text);
    if (!m) throw new Error(`readobj output lacks ${re}`);
    return m[1]!;
  };
  const view: ReadobjView = {
    machine: num(field(/Machine: \S+ \((0x[0-9A-F]+)\)/)),
    magic: num(field(/Magic: (0x[0-9A-F]+)/)),
    imageBase: num(field(/ImageBase: (0x[0-9A-F]+)/)),
    sizeOfImage: num(field(/SizeOfImage: (\d+)/)),
    sections: [],
    exports: [],
    codeView: [],
  };
  for (const m of text.matchAll(/Name: (\S+) \([0-9A-F ]+\)\s+VirtualSize: (0x[0-9A-F]+)\s+VirtualAddress: (0x[0-9A-F]+)\s+RawDataSize: (\d+)\s+PointerToRawData: (0x[0-9A-F]+)/g)) {
    view.sections.push({ name: m[1]!, virtualSize: num(m[2]!), virtualAddress: num(m[3]!), rawSize: num(m[4]!), rawPointer: num(m[5]!) });
  }
  for (const m of text.matchAll(/Export \{\s+Ordinal: (\d+)\s+Name: ?(\S*)\s+RVA: (0x[0-9A-F]+)/g)) {
    view.exports.push({ ordinal: num(m[1]!), name: m[2]!, rva: num(m[3]!) });
  }
  for (const m of text.matchAll(/PDBGUID: \(([0-9A-F ]+)\)\s+PDBAge: (\d+)\s+PDBFileName: (\S+)/g)) {
    view.codeView.push({ guidBytes: m[1]!.trim().split(/\s+/).map((h) => Number.parseInt(h, 16)), age: num(m[2]!), pdbName: m[3]! });
  }
  return view;
}

export interface PdbutilView {
  guid: string;
  age: number;
  publics: { name: string; flags: string; segment: number; offset: number }[];
  procs: { kind: string; name: string; segment: number; offset: number; size: number }[];
  procRefs: { kind: string; name: string; module: number; offset: number }[];
  modules: { name: string; stream: number }[];
  sectionVAs: number[];
}

/** llvm-pdbutil-14's view of a PDB (`dump -summary -publics -symbols -globals -modules -section-headers`). */
export function pdbutil(path: string): PdbutilView {
  const tc = windowsToolchain();
  const text = runTool(tc.pdbutil, ["dump", "-summary", "-publics", "-symbols", "-globals", "-modules", "-section-headers", path]);
  const guid = /GUID: \{([0-9A-F-]+)\}/.exec(text)?.[1];
  const age = /\n\s+Age: (\d+)/.exec(text)?.[1];
  if (!guid || !age) throw new Error("pdbutil summary lacks GUID/Age");
  const view: PdbutilView = { guid: guid.toLowerCase(), age: Number(age), publics: [], procs: [], procRefs: [], modules: [], sectionVAs: [] };
  for (const m of text.matchAll(/S_PUB32 \[size = \d+\] `([^`]*)`\s+flags = ([^,]+), addr = (\d+):(\d+)/g)) {
    view.publics.push({ name: m[1]!, flags: m[2]!.trim(), segment: Number(m[3]), offset: Number(m[4]) });
  }
  for (const m of text.matchAll(/(S_[GL]PROC32(?:_ID)?) \[size = \d+\] `([^`]*)`\s+parent = \d+, end = \d+, addr = (\d+):(\d+), code size = (\d+)/g)) {
    view.procs.push({ kind: m[1]!, name: m[2]!, segment: Number(m[3]), offset: Number(m[4]), size: Number(m[5]) });
  }
  for (const m of text.matchAll(/(S_L?PROCREF) \[size = \d+\] `([^`]*)`\s+module = (\d+), sum name = \d+, offset = (\d+)/g)) {
    view.procRefs.push({ kind: m[1]!, name: m[2]!, module: Number(m[3]), offset: Number(m[4]) });
  }
  for (const m of text.matchAll(/Mod \d+ \| `([^`]*)`:\s+Obj: `[^`]*`:\s+debug stream: (\d+)/g)) {
    view.modules.push({ name: m[1]!, stream: Number(m[2]) });
  }
  for (const m of text.matchAll(/([0-9A-F]+) virtual address/g)) view.sectionVAs.push(Number.parseInt(m[1]!, 16));
  return view;
}

/** Stable string keys for set comparisons. */
export const keys = <T>(rows: readonly T[], f: (r: T) => string): string[] => rows.map(f).sort();
