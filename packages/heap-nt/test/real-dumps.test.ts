import { describe, expect, it, onTestFinished } from "vitest";
import { type AddressSpace, AllocFlags, Engine, type Run, formatAddress, minidumpInput, openMinidumpFile } from "@leakscope/core";
import { sharedFile } from "@leakscope/test-utils";
import { heapNt } from "../src/index.js";
import { runOnTarget } from "./helpers/dump.js";

const full = sharedFile("dumps/user/lldb-fizzbuzz-wow64-win7sp1-full.dmp");
const notepad = sharedFile("dumps/user/syzygy-notepad-x86view-win7sp1-indirect.dmp");
const alpine = sharedFile("dumps/user/alpinefaction-rf-x86view-win11-indirect.dmp");
const sigsegv = sharedFile("dumps/user/lldb-sigsegv-x64-win10-1709.dmp");
const noheap = sharedFile("dumps/user/lldb-fizzbuzz-x86view-win7sp1-noheap.dmp");

async function walkFile(path: string, keepOpen = false): Promise<Run> {
  return runOnTarget(openMinidumpFile(path), [heapNt()], keepOpen);
}

/**
 * An independent check of one Win7 segment, written from the doc's offsets without the walker:
 * decode every header, sum raw block sizes by state, add the uncommitted ranges.
 */
function rawSegmentSums(space: AddressSpace, heap: number, seg: number, x64: boolean) {
  const g = x64 ? 16 : 8;
  const rd = (a: number) => (x64 ? space.ptr64(a) : space.ptr32(a));
  const key = [space.u32(heap + (x64 ? 0x88 : 0x50)), space.u32(heap + (x64 ? 0x8c : 0x54))];
  const first = rd(seg + (x64 ? 0x40 : 0x24));
  const last = rd(seg + (x64 ? 0x48 : 0x28));
  const ucr = new Map<number, number>();
  const head = seg + (x64 ? 0x60 : 0x38);
  for (let l = rd(head), n = 0; l !== head && n < 1000; l = rd(l), n++) {
    const d = l - (x64 ? 0x10 : 0x08);
    ucr.set(rd(d + (x64 ? 0x20 : 0x10)), rd(d + (x64 ? 0x28 : 0x14)));
  }
  let busy = 0;
  let busyBytes = 0;
  let free = 0;
  let freeBytes = 0;
  let ucrBytes = 0;
  let badChecksums = 0;
  let userCount = 0;
  let userBytes = 0;
  let cur = first;
  for (let n = 0; cur < last && n < 1_000_000; n++) {
    const skip = ucr.get(cur);
    if (skip !== undefined && skip > 0) {
      ucrBytes += skip;
      cur += skip;
      continue;
    }
    const lo = (space.u32(cur + (x64 ? 8 : 0)) ^ key[0]!) >>> 0;
    const bytes = [lo & 0xff, (lo >>> 8) & 0xff, (lo >>> 16) & 0xff, lo >>> 24];
    if ((bytes[0]! ^ bytes[1]! ^ bytes[2]!) !== bytes[3]) badChecksums++;
    const size = (lo & 0xffff) * g;
    if (size === 0) break;
    if (bytes[2]! & 1) {
      busy++;
      busyBytes += size;
      const unused = ((space.u32(cur + (x64 ? 12 : 4)) ^ key[1]!) >>> 24) & 0xff;
      if (!(bytes[2]! & 0x08) && unused >= 8 && unused < 0x3f) {
        userCount++;
        userBytes += size - unused;
      }
    } else {
      free++;
      freeBytes += size;
    }
    cur += size;
  }
  return { first, last, end: cur, busy, busyBytes, free, freeBytes, ucrBytes, badChecksums, userCount, userBytes };
}

describe("real dump: lldb-fizzbuzz-wow64-win7sp1-full (Win7 SP1 WoW64, full memory)", () => {
  it.skipIf(!full.present)("finds every heap of both PEBs and the CSR shared heap, walks them cleanly", async () => {
    const run = await walkFile(full.path, true);
    onTestFinished(() => run.target.close());
    expect(run.allDiagnostics()).toEqual([]);
    const rows = run.heaps.map((h) => ({
      address: formatAddress(h.address),
      bitness: h.bitness,
      kind: h.kind,
      foundBy: h.foundBy,
      label: h.label ?? null,
      busy: h.stats.busy,
      free: h.stats.free,
      reserved: h.stats.reserved,
      committed: h.stats.committed,
    }));
    // Pinned figures; the busy/free totals are re-derived independently below.
    expect(rows).toEqual([
      { address: "0x500000", bitness: 64, kind: "nt", foundBy: ["peb", "signature-scan"], label: "process heap", busy: { count: 23, bytes: 17854 }, free: { count: 3, bytes: 9648 }, reserved: 524288, committed: 32768 },
      { address: "0x10000", bitness: 64, kind: "nt", foundBy: ["peb", "signature-scan"], label: null, busy: { count: 0, bytes: 0 }, free: { count: 1, bytes: 1344 }, reserved: 65536, committed: 4096 },
      { address: "0x20000", bitness: 64, kind: "nt", foundBy: ["peb", "signature-scan"], label: null, busy: { count: 0, bytes: 0 }, free: { count: 1, bytes: 62784 }, reserved: 65536, committed: 65536 },
      { address: "0x700000", bitness: 32, kind: "nt", foundBy: ["peb32", "signature-scan"], label: "process heap (32-bit)", busy: { count: 152, bytes: 49125 }, free: { count: 4, bytes: 3384 }, reserved: 1916928, committed: 950272 },
      { address: "0x460000", bitness: 32, kind: "nt", foundBy: ["peb32", "signature-scan"], label: null, busy: { count: 7, bytes: 10275 }, free: { count: 2, bytes: 8120 }, reserved: 65536, committed: 20480 },
      { address: "0x7efe0000", bitness: 64, kind: "nt", foundBy: ["csr-shared", "signature-scan"], label: "CSRSS shared heap", busy: { count: 187, bytes: 14798 }, free: { count: 1, bytes: 560 }, reserved: 1048576, committed: 20480 },
    ]);
    for (const h of run.heaps) {
      const nt = h.data.nt!;
      expect(nt.layout).toBe("win7");
      expect(nt.encoded).toBe(true);
      expect(nt.checksumFailures).toBe(0);
      expect(nt.freeListAgrees).toBe(true);
      expect(nt.freeListLength).toBe(h.stats.free.count);
      const space = h.view.space;
      for (const w of nt.segmentWalks) {
        expect(w.endedAtEnd).toBe(true);
        expect(w.busyBytes + w.freeBytes + w.ucrBytes).toBe(w.lastValidEntry - w.firstEntry);
        // independent re-walk
        const raw = rawSegmentSums(space, h.address, w.base, h.bitness === 64);
        expect(raw.badChecksums).toBe(0);
        expect(raw.end).toBe(raw.last);
        expect(raw.busyBytes + raw.freeBytes + raw.ucrBytes).toBe(raw.last - raw.first);
        expect({ busyBytes: w.busyBytes, freeBytes: w.freeBytes, ucrBytes: w.ucrBytes }).toEqual({
          busyBytes: raw.busyBytes,
          freeBytes: raw.freeBytes,
          ucrBytes: raw.ucrBytes,
        });
        expect(raw.free).toBe(h.stats.free.count);
        expect(nt.segmentWalks).toHaveLength(1);
        // user allocations: busy, not 0x08 (LFH/zone), unused count >= a header (ntdll's own blocks use 1 or 3)
        expect({ count: raw.userCount, bytes: raw.userBytes }).toEqual(h.stats.busy);
        expect(raw.freeBytes).toBe(h.stats.free.bytes);
        // every busy backend block is a user allocation, an LFH host or ntdll bookkeeping
        let backendBusy = 0;
        for (let i = 0; i < run.allocations.count; i++) {
          const f = run.allocations.flags(i);
          if (run.allocations.heap(i) === h.index && f & AllocFlags.BUSY && !(f & AllocFlags.VIRTUAL)) backendBusy++;
        }
        expect(backendBusy).toBe(raw.busy);
      }
    }
    const lfh = run.heaps.find((h) => h.address === 0x700000)!.data.nt!;
    expect(lfh.frontEndHeapType).toBe(2);
    expect(lfh.hostBlocks).toHaveLength(5);
    expect(lfh.internalBlocks).toHaveLength(1);
    expect(lfh.virtualBlocks).toBe(1);
  });
});

describe("engine end to end", () => {
  it.skipIf(!full.present)("minidump reader + heap-nt: the heaps report has the JSON contract fields", async () => {
    const engine = new Engine({ plugins: [minidumpInput(), heapNt()] });
    const report = await engine.run(full.path, { command: "heaps", depth: "walk" });
    const heaps = (report as unknown as { heaps: Record<string, unknown>[] }).heaps;
    expect(heaps.map((h) => [h["address"], h["bitness"], h["kind"], h["foundBy"], h["busy"], h["free"]])).toEqual([
      ["0x500000", 64, "nt", ["peb", "signature-scan"], { count: 23, bytes: 17854 }, { count: 3, bytes: 9648 }],
      ["0x10000", 64, "nt", ["peb", "signature-scan"], { count: 0, bytes: 0 }, { count: 1, bytes: 1344 }],
      ["0x20000", 64, "nt", ["peb", "signature-scan"], { count: 0, bytes: 0 }, { count: 1, bytes: 62784 }],
      ["0x700000", 32, "nt", ["peb32", "signature-scan"], { count: 152, bytes: 49125 }, { count: 4, bytes: 3384 }],
      ["0x460000", 32, "nt", ["peb32", "signature-scan"], { count: 7, bytes: 10275 }, { count: 2, bytes: 8120 }],
      ["0x7efe0000", 64, "nt", ["csr-shared", "signature-scan"], { count: 187, bytes: 14798 }, { count: 1, bytes: 560 }],
    ]);
  });
});

describe("real dumps without heap memory", () => {
  it.skipIf(!notepad.present)("syzygy notepad (Win7 x86 view, indirect): the process heap is found, missing memory reported", async () => {
    const run = await walkFile(notepad.path);
    expect(run.heaps.map((h) => [formatAddress(h.address), h.bitness, h.foundBy])).toEqual([["0x8b0000", 32, ["peb", "signature-scan"]]]);
    const codes = new Set(run.allDiagnostics().map((d) => d.code));
    expect(codes.has("NT_HEAP_NOT_CAPTURED")).toBe(true);
    expect(run.heaps[0]!.flags).toBe(0x40000062);
    expect(run.heaps[0]!.incomplete).toBe(true);
    const firstEntry = run.allDiagnostics().find((d) => d.code === "NT_HEAP_NOT_CAPTURED" && d.message.includes("heap entry"));
    expect(firstEntry?.location?.address).toBe("0x8b0588");
  });

  it.skipIf(!alpine.present)("alpinefaction (Win11 26200 x86 view, indirect): three heaps found by scan, segments, missing memory", async () => {
    const run = await walkFile(alpine.path);
    const nt = run.heaps.filter((h) => h.kind === "nt").map((h) => [formatAddress(h.address), h.foundBy[0], h.data.nt?.layout]);
    expect(nt).toEqual([
      ["0x21f0000", "peb", "win11-24h2"],
      ["0x2b00000", "signature-scan", "win11-24h2"],
      ["0x5d30000", "signature-scan", "win11-24h2"],
    ]);
    const codes = new Set(run.allDiagnostics().map((d) => d.code));
    expect(codes.has("NT_HEAP_NOT_CAPTURED")).toBe(true);
    expect(run.heaps.every((h) => h.incomplete)).toBe(true);
    // secondary segments are not registered as heaps
    expect(run.heaps.map((h) => h.address)).not.toContain(0x63f0000);
    expect(run.heaps.map((h) => h.address)).not.toContain(0x13b80000);
  });

  it.skipIf(!sigsegv.present)("sigsegv (Win10 1709 x64): both PEB heaps found, not captured", async () => {
    const run = await walkFile(sigsegv.path);
    expect(run.heaps.map((h) => [formatAddress(h.address), h.foundBy])).toEqual([
      ["0x2083f1f0000", ["peb"]],
      ["0x2083d170000", ["peb"]],
    ]);
    const missing = run.allDiagnostics().filter((d) => d.code === "NT_HEAP_NOT_CAPTURED").map((d) => d.location?.address);
    expect(missing).toEqual(["0x2083f1f0000", "0x2083d170000"]);
  });

  it.skipIf(!noheap.present)("fizzbuzz no-heap (x86 view, no PEB captured): no heaps, no crash", async () => {
    const run = await walkFile(noheap.path);
    expect(run.heaps).toEqual([]);
  });
});
