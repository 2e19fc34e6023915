import * as fs from "node:fs";
import { BufferSource, Diagnostics, DumpFormatError, parseAddress } from "@leakscope/core";
import { KernelDumpWriter, buildPoolDump, sharedFile } from "@leakscope/test-utils";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findTagOwnersInDump, openKernelDump, openKernelDumpTarget, readPoolUsage } from "../src/index.js";

const va = (b: bigint): number => parseAddress("0x" + b.toString(16));
const triage = sharedFile("dumps/kernel/rizin-triage_x64.dmp");

function setU32(b: Uint8Array, off: number, v: number): void {
  new DataView(b.buffer, b.byteOffset).setUint32(off, v >>> 0, true);
}
function setU64(b: Uint8Array, off: number, v: bigint): void {
  new DataView(b.buffer, b.byteOffset).setBigUint64(off, v, true);
}

const TAGS = [{ tag: "Proc", perCpu: [{ nonPagedAllocs: 3, nonPagedBytes: 0x300 }, { nonPagedAllocs: 1, nonPagedBytes: 0x100 }] }];

describe("hostile kernel dumps", () => {
  it("a truncated full dump opens, reports KDUMP_TRUNCATED and keeps what is present", () => {
    const { bytes } = buildPoolDump({ processors: 2, tags: TAGS });
    for (const cut of [0x2000, 0x2000 + 0x1800, Math.floor(bytes.length / 2), bytes.length - 0x800]) {
      const d = openKernelDump(new BufferSource(bytes.subarray(0, cut)));
      expect(d.diagnostics.has("KDUMP_TRUNCATED")).toBe(true);
      expect(d.phys.presentPages).toBe(Math.floor((cut - 0x2000) / 0x1000));
      const u = readPoolUsage(d);
      expect(["tracker-tables", "pool-header-scan", "none"]).toContain(u.method);
    }
  });

  it("absurd run counts and page counts are clamped, not allocated", () => {
    const { bytes } = buildPoolDump({ tags: TAGS });
    const b = bytes.slice();
    setU32(b, 0x88, 0xffffffff);
    setU64(b, 0x90, 0xffffffffffffn);
    setU64(b, 0xa0, 0x10000000000n); // first run: 2^40 pages
    const d = openKernelDump(new BufferSource(b));
    expect(d.diagnostics.has("KDUMP_BAD_RUNS")).toBe(true);
    expect(d.header.runs.length).toBe(43);
    expect(d.phys.presentPages).toBeLessThanOrEqual((b.length - 0x2000) / 0x1000);
  });

  it("a bitmap that claims 2^40 bits and the wrong present count is clamped to the file", () => {
    const { bytes } = buildPoolDump({ layout: "bitmap", tags: TAGS });
    const b = bytes.slice();
    setU64(b, 0x2030, 0x10000000000n);
    setU64(b, 0x2028, 7n);
    const d = openKernelDump(new BufferSource(b));
    expect(d.diagnostics.list().filter((x) => x.code === "KDUMP_BAD_BITMAP").length).toBeGreaterThanOrEqual(2);
  });

  it("self-referencing and cyclic page tables terminate; ranges() is bounded", () => {
    const w = new KernelDumpWriter();
    w.writeVirtual(0xffffc50000001000n, new Uint8Array([9]));
    // Windows' self-map entry: PML4[0x1ed] -> the PML4 itself.
    w.writeEntry(w.pml4Pfn, 0x1ed, (BigInt(w.pml4Pfn) << 12n) | 0x63n);
    // A cycle: every entry of a PDPT points back at the PML4.
    const pdpt = w.allocPfn();
    w.writeEntry(w.pml4Pfn, 0x1f0, (BigInt(pdpt) << 12n) | 0x63n);
    for (let i = 0; i < 512; i++) w.writeEntry(pdpt, i, (BigInt(w.pml4Pfn) << 12n) | 0x63n);
    const d = openKernelDump(new BufferSource(w.build("full")), { rangePageLimit: 200_000 });
    const s = d.pageTables!;
    expect(s.u8(va(0xffffc50000001000n))).toBe(9);
    // Self-map: the PML4 is readable at the self-map address of itself.
    const selfMap = va(0xfffff6fb7dbed000n);
    expect(s.physicalAddress(selfMap)).toBe(w.pml4Pfn * 0x1000);
    expect(s.ptr64(selfMap + 0x1ed * 8)).toBeDefined();
    expect(s.u8(va(0xfffff80000000000n))).toBe(-1);
    const ranges = s.ranges();
    expect(ranges.length).toBeGreaterThan(0);
    expect(s.rangesTruncated).toBe(true);
  });

  it("a PsLoadedModuleList cycle stops with KDUMP_MODULE_LIST_BROKEN", () => {
    const built = buildPoolDump({ tags: TAGS, drivers: [{ name: "a.sys", image: new Uint8Array(0x1000) }, { name: "b.sys", image: new Uint8Array(0x1000) }] });
    // Make entry 1's Flink point to itself (not back to the head).
    built.writer.writeU64(0xffffc50b00000200n, 0xffffc50b00000200n);
    const d = openKernelDump(new BufferSource(built.writer.build("full")));
    expect(d.drivers.map((m) => m.name)).toEqual(["ntoskrnl.exe", "a.sys"]);
    expect(d.diagnostics.has("KDUMP_MODULE_LIST_BROKEN")).toBe(true);
  });

  it("absurd tracker sizes and driver sizes are bounded", () => {
    const built = buildPoolDump({ processors: 2, tags: TAGS });
    built.writer.writeU64(built.addresses.poolTrackTableSizeVar, 0xffffffffffn);
    const d = openKernelDump(new BufferSource(built.writer.build("full")));
    const u = readPoolUsage(d, { symbols: { PoolTrackTableSize: va(built.addresses.poolTrackTableSizeVar) } });
    expect(u.method).toBe("pool-header-scan");
    expect(d.diagnostics.has("POOL_TRACK_TABLE_MISSING")).toBe(true);
    // A table size within the limit but far past the captured table: unreadable slots are skipped page-wise.
    const d2 = openKernelDump(new BufferSource(built.writer.build("full")));
    const u2 = readPoolUsage(d2, { poolTrackTableSize: 1 << 20 });
    // The wrong size defeats the per-processor heuristic: the global table's own counts remain.
    expect(u2.rows.find((r) => r.tag === "Proc")?.nonPagedAllocs).toBe(3);
    expect(d2.diagnostics.has("POOL_TABLE_UNREADABLE")).toBe(true);
    const owners = findTagOwnersInDump(d.space, [{ path: "x", name: "huge.sys", base: va(0xffffc50a00000000n), size: 0xffffffff, timestamp: 0, checksum: 0, bitness: 64 }], ["Proc"], { maxImageBytes: 1 << 24 });
    expect(owners.length).toBeLessThanOrEqual(1);
  });

  it.skipIf(!triage.present)("a triage dump with absurd driver and data-block counts is clamped", () => {
    const b = new Uint8Array(fs.readFileSync(triage.path));
    setU32(b, 0x2034, 0x7fffffff); // DriverCount
    setU32(b, 0x207c, 0x7fffffff); // DataBlocksCount
    setU32(b, 0x2070, 0xfffffff0); // DebuggerDataOffset past the end
    const t = openKernelDumpTarget(new BufferSource(b));
    expect(t.modules.length).toBeLessThanOrEqual(4096);
    expect(t.data.kernelDump.dataBlocks.length).toBeLessThanOrEqual(b.length / 16);
    expect(t.diagnostics.has("KDUMP_TRIAGE_BAD")).toBe(true);
    expect(t.diagnostics.has("KDBG_NOT_FOUND")).toBe(true);
  });

  it("random header and table corruption never throws anything but DumpFormatError", () => {
    const { bytes } = buildPoolDump({ processors: 2, tags: TAGS, layout: "bitmap" });
    const full = buildPoolDump({ processors: 2, tags: TAGS }).bytes;
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(0x2100), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 40 }),
        fc.nat(0x8000),
        (useBitmap, edits, cut) => {
          const b = (useBitmap ? bytes : full).slice(0, Math.max(0x10, (useBitmap ? bytes : full).length - cut));
          for (const [off, v] of edits) if (off < b.length) b[off] = v;
          try {
            const d = openKernelDump(new BufferSource(b), { diagnostics: new Diagnostics() });
            readPoolUsage(d, { maxEntryReads: 1 << 16 });
          } catch (e) {
            if (!(e instanceof DumpFormatError)) throw e;
          }
        },
      ),
      { numRuns: 60, seed: 7 },
    );
  });
});
