import { MinidumpBuilder } from "./builder.js";
import { setU64 } from "./bytes.js";
import { MinidumpProcessStream, PEB_GDI_SHARED_HANDLE_TABLE, gdiSharedHandleTable, minidumpProcessVmCounters, minidumpSystemMemoryInfo } from "./process.js";

/** The process-level kinds of leak {@link buildKindLeakDump} plants (suspect kinds other than the heap's). */
export const KIND_LEAKS = ["handles", "gdi", "threads", "virtual-memory"] as const;

/** The kinds of leak {@link buildKindLeakDump} plants ("none": a healthy process). */
export type KindLeak = "none" | (typeof KIND_LEAKS)[number];

/** What the dumps of {@link buildKindLeakDump} hold, for assertions. */
export const KIND_LEAK_FACTS = {
  pid: 0x1d30,
  app: { path: "C:\\app\\kinds.exe", base: 0x7ff700000000, size: 0x40000 },
  ntdll: { base: 0x7ffa00000000, size: 0x1f0000 },
  kernelbase: { path: "C:\\Windows\\System32\\KERNELBASE.dll", base: 0x7ff9f0000000, size: 0x300000 },
  gdi32: { path: "C:\\Windows\\System32\\gdi32.dll", base: 0x7ff9e0000000, size: 0x30000 },
  processHeap: 0x2a0000,
  /** handles: Event handles leaked, how many of them share one name, and that name. */
  leakedEvents: 20000,
  namedEvents: 5000,
  eventName: "\\Sessions\\1\\BaseNamedObjects\\JobDone",
  /** gdi: Bitmaps leaked by the process; objects of another process in the table. */
  gdiTable: 0x1f0000000,
  leakedBitmaps: 9000,
  otherProcessObjects: 2000,
  /** threads: threads parked at one place and where they start (app+0x1500). */
  parkedThreads: 300,
  threadStart: 0x7ff700001500,
  /** virtual-memory: VirtualAlloc'd regions of 1 MiB, their first base, and where the app keeps pointers to them. */
  regions: 400,
  regionSize: 0x100000,
  regionBase: 0x20000000,
  regionTable: 0x7ff700030000,
} as const;

const MEM_COMMIT = 0x1000;
const MEM_RESERVE = 0x2000;
const MEM_PRIVATE = 0x20000;
const MEM_IMAGE = 0x1000000;

/** Options of {@link buildKindLeakDump}. */
export interface KindLeakOptions {
  /** How many objects the leak planted (Event handles, bitmaps, parked threads, 1 MiB regions); default the {@link KIND_LEAK_FACTS} figure. */
  count?: number;
  /** The dump header's time stamp (seconds since 1970), for series of snapshots. */
  timestamp?: number;
}

/**
 * A 64-bit Windows 10 process dump with MemoryInfoList, HandleData, ThreadInfoList,
 * ProcessVmCounters and SystemMemoryInfo, healthy except for one planted leak of the given kind:
 * 20,000 Event handles, 9,000 GDI bitmaps, 300 threads parked at one wait, or 400 MiB of
 * VirtualAlloc'd regions outside any heap. No heap memory is captured (`none` and the others
 * are for the process-level triage, not for heap walks). `count` changes how many handles,
 * bitmaps, threads or regions are planted (the facts' figures by default): a small count makes
 * the same process with a normal load of that kind.
 */
export function buildKindLeakDump(kind: KindLeak, options: KindLeakOptions = {}): Uint8Array {
  const F = KIND_LEAK_FACTS;
  const leaked = options.count;
  const b = new MinidumpBuilder({ flags: 0x1826, ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}) });
  const p = b.nativeProcess({ bitness: 64, mainImage: F.app, threadId: 0x100 });
  const peb = new DataView(p.pebBytes.buffer);
  setU64(peb, 0x30, F.processHeap); // ProcessHeap
  peb.setUint32(0xe8, 0, true); // NumberOfHeaps (array not captured)
  b.miscInfo({ pid: F.pid });
  b.module({ path: F.kernelbase.path, base: F.kernelbase.base, size: F.kernelbase.size });
  const info = (base: number, size: number, type: number, state = MEM_COMMIT, allocationBase = base) =>
    b.memoryInfo({ base, size, allocationBase, state, type, protect: state === MEM_COMMIT ? 4 : 0 });
  info(F.app.base, F.app.size, MEM_IMAGE);
  info(F.ntdll.base, F.ntdll.size, MEM_IMAGE);
  info(F.kernelbase.base, F.kernelbase.size, MEM_IMAGE);
  info(F.processHeap, 0x40000, MEM_PRIVATE);
  info(F.processHeap + 0x40000, 0xc0000, MEM_PRIVATE, MEM_RESERVE, F.processHeap);
  info(p.peb, 0x1000, MEM_PRIVATE);
  info(p.teb, 0x2000, MEM_PRIVATE);
  b.rawStream(MinidumpProcessStream.SystemMemoryInfo, minidumpSystemMemoryInfo());

  const handles: { handle: number; typeName: string; objectName?: string; handleCount: number; pointerCount: number }[] = [];
  const add = (typeName: string, n: number, name?: (i: number) => string | undefined) => {
    for (let i = 0; i < n; i++) {
      const objectName = name?.(i);
      handles.push({ handle: 4 * (handles.length + 1), typeName, ...(objectName ? { objectName } : {}), handleCount: 1, pointerCount: 32 });
    }
  };
  add("Event", 40);
  add("File", 12, (i) => `\\Device\\HarddiskVolume3\\app\\data${i}.bin`);
  add("Key", 10, (i) => `\\REGISTRY\\MACHINE\\SOFTWARE\\App\\K${i}`);
  add("Section", 20);
  add("Thread", 2);
  add("Semaphore", 8);
  if (kind === "handles") add("Event", leaked ?? F.leakedEvents, (i) => (i < F.namedEvents ? F.eventName : undefined));
  b.handles(handles);

  let privateBytes = 0x40000 + 0x1000 + 0x2000;
  if (kind === "gdi") {
    b.module({ path: F.gdi32.path, base: F.gdi32.base, size: F.gdi32.size });
    const objects: { index: number; processId: number; type: number }[] = [];
    let index = 16;
    for (let i = 0; i < (leaked ?? F.leakedBitmaps); i++) objects.push({ index: index++, processId: F.pid, type: 0x05 });
    for (let i = 0; i < 40; i++) objects.push({ index: index++, processId: F.pid, type: 0x01 });
    for (let i = 0; i < 60; i++) objects.push({ index: index++, processId: F.pid, type: 0x30 });
    for (let i = 0; i < F.otherProcessObjects; i++) objects.push({ index: index++, processId: 0x4e8, type: 0x05 });
    b.memory(F.gdiTable, gdiSharedHandleTable(64, objects, 0x10000));
    setU64(peb, PEB_GDI_SHARED_HANDLE_TABLE[64], F.gdiTable);
    b.memoryInfo({ base: F.gdiTable, size: 0x180000, allocationBase: F.gdiTable, state: MEM_COMMIT, type: 0x40000, protect: 2 });
  }
  if (kind === "threads") {
    for (let i = 0; i < (leaked ?? F.parkedThreads); i++) {
      const id = 0x200 + i * 4;
      const stackTop = 0x40000000 + i * 0x100000;
      const sp = stackTop - 0x200;
      const bytes = new Uint8Array(0x200);
      const v = new DataView(bytes.buffer);
      setU64(v, 0x08, F.kernelbase.base + 0x4b281); // WaitForSingleObjectEx
      setU64(v, 0x40, F.app.base + 0x1620); // the worker loop
      b.thread({ id, teb: 0x7ff5ff000000 + i * 0x2000, stack: { address: sp, bytes }, context: { arch: "x64", registers: { rip: F.ntdll.base + 0x9f9e4, rsp: sp } } });
      // one thread a minute from 2026-12-01T00:00:00Z (FILETIME: 100 ns since 1601)
      b.threadInfo({ threadId: id, startAddress: F.threadStart, createTime: (Date.UTC(2026, 11, 1) + 11644473600000 + i * 60000) * 10000 });
      info(stackTop - 0x100000, 0x100000, MEM_PRIVATE);
      privateBytes += 0x100000;
    }
  }
  if (kind === "virtual-memory") {
    const table = new Uint8Array(0x1000);
    const tv = new DataView(table.buffer);
    for (let i = 0; i < (leaked ?? F.regions); i++) {
      const base = F.regionBase + i * F.regionSize;
      info(base, F.regionSize, MEM_PRIVATE);
      if (i < 0x1000 / 8) setU64(tv, i * 8, base);
    }
    b.memory(F.regionTable, table);
    privateBytes += (leaked ?? F.regions) * F.regionSize;
  }
  b.threadInfo({ threadId: 0x100, startAddress: F.app.base + 0x1000 });
  b.rawStream(MinidumpProcessStream.ProcessVmCounters, minidumpProcessVmCounters({ privateUsage: privateBytes, pagefileUsage: privateBytes, peakPagefileUsage: privateBytes }));
  return b.build();
}
