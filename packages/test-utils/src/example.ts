/**
 * The bundled example: a 32-bit program running under WoW64 on 64-bit Windows 10, dumped by a
 * 64-bit tool (the case where WinDbg needs `.effmach x86` and still gets `!heap -p -a` wrong),
 * with gflags +ust on and a planted leak:
 *
 * - `leaky.exe` creates `net::Session` objects (0x120 bytes, a vtable with MSVC RTTI, a text
 *   buffer) from `leaky.exe+0x1119` and never frees them: 240 live objects.
 * - Background: blocks of assorted sizes from two other call sites (small ones in the
 *   low-fragmentation heap), some freed blocks, and a 64-bit process heap on the native side.
 *
 * Everything is synthetic (no real program's memory). `EXAMPLE_FACTS` lists what a correct
 * analysis must find, so tests and the README can check the showcase.
 */
import { type LfhHeapSpec, type LfhSubsegmentSpec, lfhUserBlocksBytes, writeLfhInNtHeap } from "./heap/lfh/writer.js";
import type { NtBlockSpec } from "./heap/nt/writer.js";
import { buildProcessDump } from "./process.js";
import { type PdbProcSpec, type PeExportSpec, type PeSectionSpec, mappedImageHeader, writePdb } from "./pe/writer.js";

export const EXAMPLE_FACTS = {
  leakSize: 0x120,
  leakCount: 240,
  leakType: "class net::Session",
  leakFrameOffset: 0x1119,
  imageBase: 0x400000,
  imageName: "leaky.exe",
  heap32: 0x700000,
  heap64: 0x500000,
  /** The 32-bit heap's low-fragmentation front end (holds the small background blocks). */
  lfhHeap: 0x00e0000,
  /** leaky.exe's PDB (written beside the dump by `buildExamplePdb`) and its RSDS identity. */
  pdbName: "leaky.pdb",
  pdbGuid: "6c65616b-7973-6573-7369-6f6e73000001",
  pdbAge: 1,
  /** The leak's frame as the PDB names it. */
  leakFrameSymbol: "leaky!net::Session::Create+0x19",
} as const;

/** leaky.exe's sections and functions (the PDB's view of the image). */
const LEAKY_SECTIONS: PeSectionSpec[] = [
  { name: ".text", rva: 0x1000, size: 0x2000 },
  { name: ".rdata", rva: 0x3000, size: 0x2000, characteristics: 0x40000040 },
  { name: ".data", rva: 0x5000, size: 0x2000, characteristics: 0xc0000040 },
];
const LEAKY_PROCS: PdbProcSpec[] = [
  { name: "net::Session::Create", rva: 0x1100, size: 0x80 },
  { name: "net::Session::~Session", rva: 0x1200, size: 0x80 },
  { name: "net::Session::Send", rva: 0x1280, size: 0x100 },
  { name: "main", rva: 0x1680, size: 0x80 },
  { name: "net::Buffer::Grow", rva: 0x2200, size: 0x80 },
  { name: "config::Parse", rva: 0x2400, size: 0x100 },
];

/**
 * Exports of the system DLLs the example's stacks pass through (RVAs chosen for the example;
 * the names are the real exports of those DLLs).
 */
const SYSTEM_EXPORTS: Record<string, PeExportSpec[]> = {
  "ntdll.dll": [
    { name: "RtlAllocateHeap", rva: 0x2bd0 },
    { name: "RtlFreeHeap", rva: 0x3a40 },
    { name: "RtlSizeHeap", rva: 0x4410 },
    { name: "NtWaitForSingleObject", rva: 0x71f0 },
  ],
  "ucrtbase.dll": [
    { name: "malloc", rva: 0x1f00 },
    { name: "free", rva: 0x2090 },
    { name: "calloc", rva: 0x2200 },
  ],
  "kernel32.dll": [
    { name: "BaseThreadInitThunk", rva: 0x23c20 },
    { name: "HeapAlloc", rva: 0x1f5a0 },
    { name: "HeapFree", rva: 0x1f5c0 },
  ],
};

/** leaky.exe's PDB: what `--symbols <dir>` needs to name the example's frames. */
export function buildExamplePdb(): Uint8Array {
  return writePdb({
    guid: EXAMPLE_FACTS.pdbGuid,
    age: EXAMPLE_FACTS.pdbAge,
    machine: 0x14c,
    sections: LEAKY_SECTIONS,
    procs: LEAKY_PROCS,
    objectName: "leaky.obj",
  });
}

const NTDLL32 = 0x77cc0000; // SysWOW64 ntdll as laid out by MinidumpBuilder.wow64Process
const TRACE_DB = 0x00300000;
const UCRT32 = 0x74c00000;
const KERNEL32 = 0x76140000;
/** leaky.exe's data section: a global table that references the blocks still in use. */
const GLOBALS = EXAMPLE_FACTS.imageBase + 0x5000;

/** x86 `_RTL_STACK_TRACE_ENTRY`s (frame count in Index at +8, frames at +0xC), 0x8c apart. */
function traceDatabase(stacks: number[][]): Uint8Array {
  const bytes = new Uint8Array(0x1000 + stacks.length * 0x8c);
  const dv = new DataView(bytes.buffer);
  stacks.forEach((frames, i) => {
    const at = 0x100 + i * 0x8c;
    dv.setUint16(at + 8, frames.length, true);
    frames.forEach((f, k) => dv.setUint32(at + 0x0c + k * 4, f >>> 0, true));
  });
  return bytes;
}
const traceAt = (i: number): number => TRACE_DB + 0x100 + i * 0x8c;

/** RTTI of `net::Session` inside leaky.exe (x86: absolute pointers). Returns [data, vtable]. */
function rttiData(base: number): { address: number; bytes: Uint8Array; vtable: number } {
  const address = base + 0x3000;
  const bytes = new Uint8Array(0x1000);
  const dv = new DataView(bytes.buffer);
  const col = address + 0x100;
  const td = address + 0x200;
  const vtable = address + 0x404;
  dv.setUint32(vtable - 4 - address, col, true); // vtable[-1] = complete object locator
  dv.setUint32(vtable - address, base + 0x1200, true); // virtual ~Session
  dv.setUint32(vtable + 4 - address, base + 0x1280, true);
  dv.setUint32(col - address + 0x00, 0, true); // signature 0 (x86)
  dv.setUint32(col - address + 0x0c, td, true); // pTypeDescriptor
  bytes.set(new TextEncoder().encode(".?AVSession@net@@\0"), td - address + 8);
  return { address, bytes, vtable };
}

/**
 * The mapped header page of a 32-bit system DLL with its export directory. Name strings are
 * shifted until no aligned word of the page looks like a pointer into the example's heaps
 * (`eap\0` of `...Heap` reads as 0x706165), so the reachability facts stay those of the leak.
 */
function systemImage(name: string, base: number, size: number): Uint8Array {
  for (let namePad = 0; ; namePad++) {
    const page = mappedImageHeader({ bitness: 32, base, sizeOfImage: size, dllName: name, exports: SYSTEM_EXPORTS[name] ?? [], sections: [{ name: ".text", rva: 0x1000, size: size - 0x1000 }], namePad });
    const v = new DataView(page.buffer);
    let clean = true;
    for (let i = 0; i < page.length && clean; i += 4) {
      const w = v.getUint32(i, true);
      if (w >= EXAMPLE_FACTS.heap32 && w < 0xa00000) clean = false;
    }
    if (clean || namePad >= 3) return page;
  }
}

/** The example dump as bytes (about 1 MiB). */
export function buildExampleDump(): Uint8Array {
  const base = EXAMPLE_FACTS.imageBase;
  const rtti = rttiData(base);
  const stacks = [
    // 0: the leak — RtlAllocateHeap <- malloc (ucrtbase) <- Session::Create (leaky+0x1119) <- main <- BaseThreadInitThunk
    [NTDLL32 + 0x2c4e, UCRT32 + 0x1f30, base + EXAMPLE_FACTS.leakFrameOffset, base + 0x16a0, KERNEL32 + 0x23c45],
    // 1, 2: background allocations, kept in a global table
    [NTDLL32 + 0x2c4e, UCRT32 + 0x1f30, base + 0x2210, base + 0x16b8, KERNEL32 + 0x23c45],
    [NTDLL32 + 0x2c4e, UCRT32 + 0x1f30, base + 0x2480, base + 0x16d0, KERNEL32 + 0x23c45],
  ];
  const blocks: NtBlockSpec[] = [];
  const leakFill = (i: number): Uint8Array => {
    const b = new Uint8Array(EXAMPLE_FACTS.leakSize);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, rtti.vtable, true);
    dv.setUint32(4, 0x1000 + i, true); // session id
    b.set(new TextEncoder().encode(`session #${i} from 10.0.0.${(i % 250) + 1}`), 8);
    return b;
  };
  let leak = 0;
  for (let i = 0; i < 420; i++) {
    if (i % 7 !== 3 && leak < EXAMPLE_FACTS.leakCount) {
      blocks.push({ size: EXAMPLE_FACTS.leakSize, trace: traceAt(0), fill: 0 });
      leak++;
    }
    const bg = [0x18, 0x30, 0x44, 0x80, 0x200][i % 5]!;
    blocks.push({ size: bg, trace: traceAt(1 + (i % 2)), fill: 0x20 + (i % 64) });
    if (i % 11 === 5) blocks.push({ size: 0x90, free: true });
  }
  // Small background allocations live in the LFH, as in a real process: 0x44- and 0x18-byte
  // requests from the two background call sites, some freed.
  const lfhSubsegments: LfhSubsegmentSpec[] = [
    { blockSize: 0x60, blocks: Array.from({ length: 60 }, (_, i) => (i % 6 === 5 ? { size: 0, free: true } : { size: 0x44, trace: traceAt(1 + (i % 2)), fill: 0x61 + (i % 26) })) },
    { blockSize: 0x30, blocks: Array.from({ length: 90 }, (_, i) => (i % 9 === 4 ? { size: 0, free: true } : { size: 0x18, trace: traceAt(2 - (i % 2)), fill: 0x41 + (i % 26) })) },
  ];
  const lfhSpec: LfhHeapSpec = { version: "win10", bitness: 32, heap: EXAMPLE_FACTS.heap32, lfhHeap: EXAMPLE_FACTS.lfhHeap, subsegments: lfhSubsegments };
  blocks.splice(10, 0, { size: lfhUserBlocksBytes(lfhSpec, 0), lfhHost: true });
  blocks.splice(200, 0, { size: lfhUserBlocksBytes(lfhSpec, 1), lfhHost: true });
  const heap32Spec = { base: EXAMPLE_FACTS.heap32, ust: true, frontEndHeapType: 2, frontEndHeap: EXAMPLE_FACTS.lfhHeap, segments: [{ blocks }] };

  const globals = new Uint8Array(0x2000);
  const process = buildProcessDump({
    layout: "win10-1709",
    kind: "wow64",
    globalFlag: 0x1000, // +ust
    mainImage: {
      path: "C:\\Program Files (x86)\\Leaky\\leaky.exe",
      base,
      size: 0x8000,
      codeView: { guid: EXAMPLE_FACTS.pdbGuid, age: EXAMPLE_FACTS.pdbAge, pdb: `C:\\build\\leaky\\Release\\${EXAMPLE_FACTS.pdbName}` },
    },
    heaps: [
      heap32Spec,
      { base: 0x00900000, segments: [{ blocks: [{ size: 0x400 }, { size: 0x1000 }, { size: 0x28, free: true }] }] },
    ],
    nativeHeaps: [{ base: EXAMPLE_FACTS.heap64, segments: [{ blocks: [{ size: 0x58 }, { size: 0x130 }, { size: 0x800 }, { size: 0x60, free: true }] }] }],
    memory: [
      { address: TRACE_DB, bytes: traceDatabase(stacks) },
      { address: rtti.address, bytes: rtti.bytes },
      { address: GLOBALS, bytes: globals },
      { address: NTDLL32, bytes: systemImage("ntdll.dll", NTDLL32, 0x180000) },
    ],
    modules: [
      { path: "C:\\Windows\\SysWOW64\\ucrtbase.dll", base: UCRT32, size: 0xf0000, image: systemImage("ucrtbase.dll", UCRT32, 0xf0000) },
      { path: "C:\\Windows\\SysWOW64\\kernel32.dll", base: KERNEL32, size: 0x110000, image: systemImage("kernel32.dll", KERNEL32, 0x110000) },
    ],
  });
  const { lfh, structures } = writeLfhInNtHeap(process.heaps[0]!, lfhSpec);
  for (const p of structures) process.builder.memory(p.address, p.bytes);
  // The program still holds every block except the leaked sessions: point the globals at them.
  const held = [
    ...[...process.heaps, ...process.nativeHeaps].flatMap((h) =>
      h.expected.filter((e) => e.kind === "user" && !(h === process.heaps[0] && e.requestedSize === EXAMPLE_FACTS.leakSize)),
    ),
    ...lfh.expected.filter((b) => b.busy),
  ];
  const gv = new DataView(globals.buffer);
  held.slice(0, globals.length / 4).forEach((e, i) => gv.setUint32(i * 4, e.userAddress >>> 0, true));
  // Give each leaked object its vtable and text (the builder keeps references to the pieces).
  const heap = process.heaps[0]!;
  const leaked = heap.expected.filter((e) => e.kind === "user" && e.requestedSize === EXAMPLE_FACTS.leakSize);
  leaked.forEach((e, i) => {
    const piece = heap.pieces.find((p) => e.userAddress >= p.address && e.userAddress + e.requestedSize <= p.address + p.bytes.length);
    piece?.bytes.set(leakFill(i), e.userAddress - piece.address);
  });
  return process.builder.build();
}
