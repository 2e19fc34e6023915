import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BufferSource, Diagnostics, formatAddress, parseAddress } from "@leakscope/core";
import { KernelDumpWriter, SYNTH_KERN_BASE, buildPoolDump, tagHash, tagKey } from "@leakscope/test-utils";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  type PoolUsageRow,
  findTagOwnersInDump,
  inferTableSize,
  openKernelDump,
  openKernelDumpTarget,
  poolTagHash,
  readPoolUsage,
  trackerLayout,
} from "../src/index.js";

const va = (b: bigint): number => parseAddress("0x" + b.toString(16));

function byTag(rows: PoolUsageRow[]): Record<string, Omit<PoolUsageRow, "tag" | "key">> {
  const out: Record<string, Omit<PoolUsageRow, "tag" | "key">> = {};
  for (const { tag, key: _key, ...rest } of rows) out[tag] = rest;
  return out;
}

/** A driver image whose code allocates with tag `tag`: `mov r8d, 'tag'` (41 B8 imm32). */
function driverImage(tag: string, string = false): Uint8Array {
  const img = new Uint8Array(0x3000);
  img.set([0x4d, 0x5a], 0); // MZ
  const code = 0x1000 + 0x123;
  img.set([0x48, 0x83, 0xec, 0x28, 0xb9, 0x00, 0x02, 0x00, 0x00, 0xba, 0x40, 0x00, 0x00, 0x00, 0x41, 0xb8], code);
  for (let i = 0; i < 4; i++) img[code + 16 + i] = tag.charCodeAt(i);
  if (string) for (let i = 0; i < 4; i++) img[0x2ffe - 8 + i] = tag.charCodeAt(i);
  return img;
}

const SPEC_TAGS = [
  { tag: "Proc", perCpu: [{ nonPagedAllocs: 100, nonPagedFrees: 40, nonPagedBytes: 60 * 0xa80 }, { nonPagedAllocs: 50, nonPagedFrees: 10, nonPagedBytes: 40 * 0xa80 }, undefined, { nonPagedAllocs: 7, nonPagedFrees: 7, nonPagedBytes: 0 }] },
  { tag: "AleS", perCpu: [{ nonPagedAllocs: 1000, nonPagedFrees: 1, nonPagedBytes: 999 * 0x90 }, { nonPagedAllocs: 3000, nonPagedFrees: 0, nonPagedBytes: 3000 * 0x90 }] },
  { tag: "CM31", perCpu: [{ pagedAllocs: 12, pagedFrees: 2, pagedBytes: 10 * 0x400 }, undefined, { pagedAllocs: 5, pagedFrees: 0, pagedBytes: 5 * 0x400 }] },
  { tag: "Key", perCpu: [{ pagedAllocs: 3, pagedFrees: 1, pagedBytes: 2 * 0x80, nonPagedAllocs: 1, nonPagedBytes: 0x40 }] },
];

const EXPECTED = {
  Proc: { nonPagedAllocs: 157, nonPagedFrees: 57, nonPagedBytes: 100 * 0xa80, pagedAllocs: 0, pagedFrees: 0, pagedBytes: 0 },
  AleS: { nonPagedAllocs: 4000, nonPagedFrees: 1, nonPagedBytes: 3999 * 0x90, pagedAllocs: 0, pagedFrees: 0, pagedBytes: 0 },
  CM31: { nonPagedAllocs: 0, nonPagedFrees: 0, nonPagedBytes: 0, pagedAllocs: 17, pagedFrees: 2, pagedBytes: 15 * 0x400 },
  "Key ": { nonPagedAllocs: 1, nonPagedFrees: 0, nonPagedBytes: 0x40, pagedAllocs: 3, pagedFrees: 1, pagedBytes: 0x100 },
  // From PoolTrackTableExpansion, merged:
  Hack: { nonPagedAllocs: 9, nonPagedFrees: 4, nonPagedBytes: 5 * 0x20, pagedAllocs: 0, pagedFrees: 0, pagedBytes: 0 },
};

describe("tag hash", () => {
  it("matches the documented check value for 'Pool' and the writer's hash", () => {
    expect(poolTagHash(0x6c6f6f50)).toBe(0x040deda5);
    for (const t of ["Proc", "AleS", "Key ", "\x01\x02\x03\x04"]) expect(poolTagHash(tagKey(t))).toBe(tagHash(tagKey(t)));
  });
});

for (const layout of ["full", "bitmap"] as const) {
  for (const build of [14393, 19041, 22621]) {
    describe(`synthetic ${layout} dump, build ${build}`, () => {
      const { bytes, addresses } = buildPoolDump({
        build,
        processors: 4,
        layout,
        tableSize: 512,
        tags: SPEC_TAGS,
        expansion: [{ tag: "Hack", counts: { nonPagedAllocs: 9, nonPagedFrees: 4, nonPagedBytes: 5 * 0x20 } }],
        bigPages: [
          { va: 0xffffc50e00000000n, tag: "AleS", bytes: 0x3000 },
          { va: 0xffffc50e00010000n, tag: "AleS", bytes: 0x5000 },
          { va: 0xffffc50e00020000n, tag: "CM31", bytes: 0x2000, paged: true },
          { va: 0xffffc50e00030000n, tag: "Proc", bytes: 0x9000, free: true },
        ],
        drivers: [
          { name: "wfpcallout.sys", image: driverImage("AleS") },
          { name: "innocent.sys", image: driverImage("Nope", true) },
        ],
      });
      const symbols = {
        PoolTrackTableSize: va(addresses.poolTrackTableSizeVar),
        ExPoolTagTables: va(addresses.exPoolTagTables),
        PoolTrackTableExpansion: va(addresses.expansionVar),
        PoolTrackTableExpansionSize: va(addresses.expansionSizeVar),
        PoolBigPageTable: va(addresses.bigPageTableVar),
        PoolBigPageTableSize: va(addresses.bigPageTableSizeVar),
      };

      it("opens: format, DTB masked, KDBG, drivers via PsLoadedModuleList", () => {
        const t = openKernelDumpTarget(new BufferSource(bytes, "synthetic.dmp"));
        const d = t.data.kernelDump;
        expect(t.format).toBe(layout === "full" ? "kernel-full" : "kernel-bitmap");
        expect(d.phys.layout).toBe(layout === "full" ? "runs" : "bitmap");
        expect(d.pageTables!.dtb % 0x1000).toBe(0);
        expect(d.kdbg?.kernBase).toBe(va(SYNTH_KERN_BASE));
        expect(d.kdbg?.poolTrackTable).toBe(va(addresses.poolTrackTableVar));
        expect(t.modules.map((m) => m.name)).toEqual(["ntoskrnl.exe", "wfpcallout.sys", "innocent.sys"]);
        expect(t.modules[1]!.base).toBe(va(addresses.drivers[0]!.base));
        expect(t.modules[1]!.size).toBe(0x3000);
        expect(t.modules[1]!.path).toBe("\\SystemRoot\\system32\\drivers\\wfpcallout.sys");
        expect(t.diagnostics.list()).toEqual([]);
      });

      it("sums global + per-processor tables slot by slot and merges the expansion table (symbols given)", () => {
        const d = openKernelDump(new BufferSource(bytes));
        const u = readPoolUsage(d, { symbols });
        expect(u.method).toBe("tracker-tables");
        expect(u.entrySize).toBe(trackerLayout(build, 8).size);
        expect(u.tableSize).toBe(512);
        expect(u.tableSizeSource).toBe("symbol");
        expect(u.perCpuTables.length).toBe(4);
        expect(u.perCpuSource).toBe("symbol");
        expect(u.expansionEntries).toBe(1);
        expect(byTag(u.rows)).toEqual(EXPECTED);
        expect(u.bigPool?.map(({ key: _k, ...r }) => r).sort((a, b) => a.tag.localeCompare(b.tag))).toEqual([
          { tag: "AleS", nonPagedCount: 2, nonPagedBytes: 0x8000, pagedCount: 0, pagedBytes: 0 },
          { tag: "CM31", nonPagedCount: 0, nonPagedBytes: 0, pagedCount: 1, pagedBytes: 0x2000 },
        ]);
        expect(d.diagnostics.list()).toEqual([]);
      });

      it("without symbols: KDBG gives the table, the size is inferred and ExPoolTagTables found by heuristic", () => {
        const d = openKernelDump(new BufferSource(bytes));
        const u = readPoolUsage(d);
        expect(u.method).toBe("tracker-tables");
        expect(u.tableSize).toBe(512);
        expect(u.tableSizeSource).toBe("inferred");
        expect(u.perCpuSource).toBe("heuristic");
        expect(u.perCpuTables).toEqual(addresses.tables.map(va));
        const { Hack: _h, ...withoutExpansion } = EXPECTED;
        expect(byTag(u.rows)).toEqual(withoutExpansion);
        expect(d.diagnostics.list().map((x) => x.code)).toEqual(["POOL_TRACK_TABLE_SIZE_GUESSED"]);
      });

      it("gives the same totals when read from a file through the block cache", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-km-"));
        onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
        const file = path.join(dir, "kernel.dmp");
        fs.writeFileSync(file, bytes);
        const t = openKernelDumpTarget(file);
        try {
          expect(t.file).toEqual({ path: file, size: bytes.length });
          expect(byTag(readPoolUsage(t.data.kernelDump, { symbols }).rows)).toEqual(EXPECTED);
        } finally {
          t.close();
        }
      });

      it("attributes AleS to the driver that uses it as an immediate", () => {
        const t = openKernelDumpTarget(new BufferSource(bytes));
        const owners = findTagOwnersInDump(t.data.kernelDump.space, t.modules, ["AleS", "Nope", "Proc"]);
        expect(owners.map((o) => [o.tag, o.driver, o.immediates, o.strings])).toEqual([
          ["AleS", "wfpcallout.sys", 1, 0],
          ["Nope", "innocent.sys", 1, 1],
        ]);
        expect(owners[0]!.hits[0]).toEqual({ kind: "mov-imm", offset: 0x1000 + 0x123 + 16, protectedTag: false });
      });
    });
  }
}

describe("global table only", () => {
  it("under-counts and says so when ExPoolTagTables is absent on a multi-processor dump", () => {
    const { bytes } = buildPoolDump({ processors: 2, tags: SPEC_TAGS.slice(0, 2), perCpuArray: false });
    const d = openKernelDump(new BufferSource(bytes));
    const u = readPoolUsage(d, { poolTrackTableSize: 256 });
    expect(u.tableSizeSource).toBe("option");
    expect(byTag(u.rows)).toEqual({
      Proc: { nonPagedAllocs: 100, nonPagedFrees: 40, nonPagedBytes: 60 * 0xa80, pagedAllocs: 0, pagedFrees: 0, pagedBytes: 0 },
      AleS: { nonPagedAllocs: 1000, nonPagedFrees: 1, nonPagedBytes: 999 * 0x90, pagedAllocs: 0, pagedFrees: 0, pagedBytes: 0 },
    });
    expect(d.diagnostics.has("POOL_PER_CPU_TABLES_MISSING")).toBe(true);
  });

  it("inferTableSize finds the size from slot hashes for several sizes", () => {
    const tags = Array.from({ length: 60 }, (_, i) => ({ tag: `T${String(i).padStart(3, "0")}`, perCpu: [{ nonPagedAllocs: i + 1 }] }));
    for (const tableSize of [128, 256, 1024]) {
      const { bytes, addresses } = buildPoolDump({ tableSize, tags });
      const d = openKernelDump(new BufferSource(bytes));
      expect(inferTableSize(d.space, va(addresses.tables[0]!), 0x38)).toBe(tableSize);
    }
  });
});

describe("pool-header scan fallback", () => {
  it("counts allocated blocks of pages whose headers tile the page, labelled as a scan", () => {
    const { bytes } = buildPoolDump({
      kdbg: false,
      tags: [],
      poolPages: [
        { blocks: [{ tag: "Proc", size: 0x380 }, { tag: "Proc", size: 0x380 }, { tag: "Free", size: 0x100, free: true }, { tag: "CM31", size: 0x400, paged: true }, { tag: "Leak", size: 0x400 }] },
        { blocks: [{ tag: "Leak", size: 0x800 }, { tag: "Leak", size: 0x800 }] },
      ],
    });
    const d = openKernelDump(new BufferSource(bytes));
    const u = readPoolUsage(d);
    expect(u.method).toBe("pool-header-scan");
    expect(byTag(u.rows)).toEqual({
      Proc: { nonPagedAllocs: 2, nonPagedFrees: 0, nonPagedBytes: 0x700, pagedAllocs: 0, pagedFrees: 0, pagedBytes: 0 },
      CM31: { nonPagedAllocs: 0, nonPagedFrees: 0, nonPagedBytes: 0, pagedAllocs: 1, pagedFrees: 0, pagedBytes: 0x400 },
      Leak: { nonPagedAllocs: 3, nonPagedFrees: 0, nonPagedBytes: 0x400 + 0x1000, pagedAllocs: 0, pagedFrees: 0, pagedBytes: 0 },
    });
    expect(d.diagnostics.has("POOL_TRACK_TABLE_MISSING")).toBe(true);
    expect(d.diagnostics.has("POOL_HEADER_SCAN")).toBe(true);
  });
});

describe("x64 translation", () => {
  it("walks 4 KiB, 2 MiB and 1 GiB pages and transition PTEs; unmapped is not captured", () => {
    const w = new KernelDumpWriter({ dtbLowBits: 0x2 });
    const small = 0xffffc50000001000n;
    w.writeVirtual(small, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    const large = 0xfffff80440000000n;
    const base2m = w.mapLarge2M(large);
    w.page(base2m + 0x1f3)[0x10] = 0xab;
    w.mapLarge1G(0xffffd00000000000n, 0x40000);
    const tr = 0xffffc50000005000n;
    const frame = w.allocPfn();
    w.page(frame)[0x20] = 0x5a;
    w.setPte(tr, (BigInt(frame) << 12n) | 0x800n | 0x80n); // valid clear, transition set
    const d = openKernelDump(new BufferSource(w.build("full")));
    const s = d.pageTables!;
    expect(s.u32(va(small))).toBe(0x04030201);
    expect(s.physicalAddress(va(small) + 3)).toBe(w.physical(small)! + 3);
    expect(s.u8(va(large) + 0x1f3010)).toBe(0xab);
    expect(s.physicalAddress(va(large) + 0x1f3010)).toBe(base2m * 0x1000 + 0x1f3010);
    expect(s.physicalAddress(va(0xffffd00000000000n) + 0x12345678)).toBe(0x40000 * 0x1000 + 0x12345678);
    expect(s.u8(va(0xffffd00000000000n))).toBe(-1); // mapped but its frame is not in the dump
    expect(s.u8(va(tr) + 0x20)).toBe(0x5a);
    const noTransition = openKernelDump(new BufferSource(w.build("full")), { transitionPtes: false });
    expect(noTransition.space.u8(va(tr) + 0x20)).toBe(-1);
    expect(s.u8(va(0xffffc50000100000n))).toBe(-1);
    expect(s.firstMissing(va(small), 0x2000)).toBe(va(small) + 0x1000);
    const ranges = s.ranges();
    expect(ranges.some((r) => r.address === va(large) && r.size === 0x200000)).toBe(true);
    expect(ranges.some((r) => r.address === va(0xffffd00000000000n) && r.size === 0x40000000)).toBe(true);
    expect(formatAddress(ranges[0]!.address)).toMatch(/^0xffff/);
  });

  it("bitmap and full layouts read the same bytes", () => {
    const w = new KernelDumpWriter();
    const at = 0xffffc50000003000n;
    const data = Uint8Array.from({ length: 0x2100 }, (_, i) => (i * 7) & 0xff);
    w.writeVirtual(at, data);
    for (const layout of ["full", "bitmap"] as const) {
      const d = openKernelDump(new BufferSource(w.build(layout)), { diagnostics: new Diagnostics() });
      expect(d.space.read(va(at), data.length)).toEqual(data);
      expect(d.diagnostics.list().map((x) => x.code)).toEqual(["KDBG_NOT_FOUND"]);
    }
  });
});
