/**
 * A whole synthetic process in a minidump: TEB/PEB (native, or the WoW64 pair), NT heaps in the
 * PEB's ProcessHeaps list, NtGlobalFlag, extra memory and modules. Plain bytes: no
 * @leakscope/core import.
 */
import { MinidumpBuilder } from "./minidump/builder.js";
import {
  type MemoryPiece,
  NT_LAYOUT_BUILD,
  type NtHeapSpec,
  type NtWriterLayout,
  type WrittenNtHeap,
  writeNtHeap,
  writePeb,
} from "./heap/nt/writer.js";

export interface ProcessModuleSpec {
  path: string;
  base: number;
  size: number;
  /** Bytes of the mapped image placed at `base` (headers, RTTI, code), optional. */
  image?: Uint8Array;
}

export interface ProcessDumpSpec {
  layout: NtWriterLayout;
  /** `x64`, `x86`, or `wow64` (a 32-bit process in a 64-bit dump). */
  kind: "x64" | "x86" | "wow64";
  /** Heaps of the process' own bitness (32-bit for wow64), in ProcessHeaps order. */
  heaps: Omit<NtHeapSpec, "layout" | "bitness">[];
  /** For wow64: heaps of the 64-bit side (default: none). */
  nativeHeaps?: Omit<NtHeapSpec, "layout" | "bitness">[];
  /** PEB.NtGlobalFlag of the process' own PEB (e.g. 0x1000 for +ust). */
  globalFlag?: number;
  /** Extra captured memory (trace database, module data...). */
  memory?: MemoryPiece[];
  modules?: ProcessModuleSpec[];
  /** Main image of the process. */
  mainImage?: { path: string; base: number; size: number };
  /** Minidump header time stamp (seconds since 1970): when the dump was written. */
  timestamp?: number;
}

export interface ProcessDump {
  builder: MinidumpBuilder;
  /** Heaps of the process' own bitness. */
  heaps: WrittenNtHeap[];
  nativeHeaps: WrittenNtHeap[];
  /** PEB of the process' own bitness (PEB32 for wow64). */
  peb: number;
  bitness: 32 | 64;
  build: number;
}

const NTGLOBALFLAG = { 32: 0x68, 64: 0xbc } as const;

function fillPeb(pebBytes: Uint8Array, bitness: 32 | 64, address: number, heaps: number[], globalFlag: number): void {
  const page = writePeb({ bitness, address, heaps });
  pebBytes.set(page.bytes.subarray(0, Math.min(page.bytes.length, pebBytes.length)));
  new DataView(pebBytes.buffer, pebBytes.byteOffset).setUint32(NTGLOBALFLAG[bitness], globalFlag >>> 0, true);
}

/** Lay out the process; call `builder.build()` or `builder.writeTo(path)` to get the dump. */
export function buildProcessDump(spec: ProcessDumpSpec): ProcessDump {
  const build = NT_LAYOUT_BUILD[spec.layout];
  const builder = new MinidumpBuilder({ flags: 0x1826, ...(spec.timestamp !== undefined ? { timestamp: spec.timestamp } : {}) });
  const flag = spec.globalFlag ?? 0;
  let heaps: WrittenNtHeap[];
  let nativeHeaps: WrittenNtHeap[] = [];
  let peb: number;
  let bitness: 32 | 64;
  if (spec.kind === "wow64") {
    builder.systemInfo({ arch: "x64", major: build >= 10000 ? 10 : 6, minor: build >= 10000 ? 0 : build >= 9200 ? 3 : 1, build });
    const layout = builder.wow64Process({ pebSize: 0x1000, systemInfo: false, ...(spec.mainImage ? { mainImage: spec.mainImage } : {}) });
    heaps = spec.heaps.map((h) => writeNtHeap({ ...h, layout: spec.layout, bitness: 32 }));
    nativeHeaps = (spec.nativeHeaps ?? []).map((h) => writeNtHeap({ ...h, layout: spec.layout, bitness: 64 }));
    fillPeb(layout.peb32Bytes, 32, layout.peb32, heaps.map((h) => h.address), flag);
    fillPeb(layout.peb64Bytes, 64, layout.peb64, nativeHeaps.map((h) => h.address), flag);
    peb = layout.peb32;
    bitness = 32;
  } else {
    bitness = spec.kind === "x64" ? 64 : 32;
    builder.systemInfo({ arch: spec.kind, major: build >= 10000 ? 10 : 6, minor: build >= 10000 ? 0 : build >= 9200 ? 3 : 1, build });
    const layout = builder.nativeProcess({ bitness, pebSize: 0x1000, systemInfo: false, ...(spec.mainImage ? { mainImage: spec.mainImage } : {}) });
    heaps = spec.heaps.map((h) => writeNtHeap({ ...h, layout: spec.layout, bitness }));
    fillPeb(layout.pebBytes, bitness, layout.peb, heaps.map((h) => h.address), flag);
    peb = layout.peb;
  }
  for (const h of [...heaps, ...nativeHeaps]) for (const p of h.pieces) builder.memory(p.address, p.bytes);
  for (const p of spec.memory ?? []) builder.memory(p.address, p.bytes);
  for (const m of spec.modules ?? []) {
    builder.module({ path: m.path, base: m.base, size: m.size });
    if (m.image) builder.memory(m.base, m.image);
  }
  return { builder, heaps, nativeHeaps, peb, bitness, build };
}
