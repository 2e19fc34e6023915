import { BufferSource, Engine, PluginOptionsError, parseAddress } from "@leakscope/core";
import { KernelDumpWriter, buildPoolDump } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { KernelAddressSpace, PhysicalMemory, type PoolKmApi, openKernelDump, openKernelDumpTarget, poolKm } from "../src/index.js";

const va = (b: bigint): number => parseAddress("0x" + b.toString(16));

describe("RDMP kernel-memory layout (DumpType 8)", () => {
  it("reads the same virtual memory as the full layout", () => {
    const w = new KernelDumpWriter({ build: 22621 });
    const at = 0xffffc50000007000n;
    w.writeVirtual(at, new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    const d = openKernelDump(new BufferSource(w.build("rdmp")));
    expect(d.format).toBe("kernel-rdmp");
    expect(d.phys.layout).toBe("rdmp");
    expect(d.phys.presentPages).toBe(w.pages.size);
    expect(d.space.u32(va(at))).toBe(0xefbeadde);
  });
});

/** A 32-bit 'PAGEDUMP' full dump: header 0x1000, runs at 0x64, pages from 0x1000. */
function dump32(pages: Map<number, Uint8Array>, pae: boolean, dtb: number, machine = 0x14c): Uint8Array {
  const frames = [...pages.keys()].sort((a, b) => a - b);
  const out = new Uint8Array(0x1000 + frames.length * 0x1000);
  const v = new DataView(out.buffer);
  for (let i = 0; i < 0x1000; i += 4) v.setUint32(i, 0x45474150, true);
  out.set(Buffer.from("PAGEDUMP"), 0);
  v.setUint32(8, 0xf, true);
  v.setUint32(0xc, 7601, true);
  v.setUint32(0x10, dtb, true);
  v.setUint32(0x20, machine, true);
  v.setUint32(0x24, 2, true);
  v.setUint32(0x28, 0xd1, true);
  v.setUint32(0x2c, 0x1234, true);
  out[0x5c] = pae ? 1 : 0;
  v.setUint32(0x60, 0, true);
  v.setUint32(0x64, 1, true);
  v.setUint32(0x68, frames.length, true);
  v.setUint32(0x6c, frames[0]!, true);
  v.setUint32(0x70, frames.length, true);
  v.setUint32(0xf88, 1, true);
  frames.forEach((f, i) => out.set(pages.get(f)!, 0x1000 + i * 0x1000));
  return out;
}

function pagesOf(n: number): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  for (let i = 1; i <= n; i++) m.set(i, new Uint8Array(0x1000));
  return m;
}

describe("32-bit dumps (DUMP_HEADER32)", () => {
  it("x86 PAE: 3-level walk with 4 KiB and 2 MiB pages", () => {
    const p = pagesOf(6);
    const e = (page: Uint8Array, idx: number, value: number, hi = 0): void => {
      new DataView(page.buffer).setUint32(idx * 8, value >>> 0, true);
      new DataView(page.buffer).setUint32(idx * 8 + 4, hi, true);
    };
    // PDPT at 0x1020 (32-byte aligned inside page 1), PD at page 2, PT at page 3, data at page 4.
    e(p.get(1)!, 4 + 2, 0x2001); // PDPT[2] (VA 0x80000000..) at offset 0x20 + 2*8
    e(p.get(2)!, 0x10, 0x3063); // PDE for VA 0x82000000
    e(p.get(3)!, 0x5, 0x4063); // PTE for VA 0x82005000
    e(p.get(2)!, 0x11, 0x00200000 | 0xe3); // 2 MiB page at PA 0x200000 for VA 0x82200000
    p.get(4)![0x10] = 0x77;
    const d = openKernelDump(new BufferSource(dump32(p, true, 0x1020)));
    expect(d.header.headerBits).toBe(32);
    expect(d.header.paeEnabled).toBe(true);
    expect(d.header.bugCheckCode).toBe(0xd1);
    expect(d.header.bugCheckParameters[0]).toBe(0x1234n);
    expect(d.format).toBe("kernel-full");
    expect(d.arch).toBe("x86");
    const s = d.pageTables!;
    expect(s.mode).toBe("pae");
    expect(s.pointerSize).toBe(4);
    expect(s.u8(0x82005010)).toBe(0x77);
    expect(s.physicalAddress(0x82212345)).toBe(0x212345);
    expect(s.u8(0x82212345)).toBe(-1); // frame not captured
    expect(s.u8(0x10000000)).toBe(-1);
  });

  it("x86 without PAE: 2-level walk with 4 MiB pages", () => {
    const p = pagesOf(4);
    const set = (page: Uint8Array, idx: number, value: number): void => new DataView(page.buffer).setUint32(idx * 4, value >>> 0, true);
    set(p.get(1)!, 0x200, 0x2063); // PDE for VA 0x80000000
    set(p.get(2)!, 0x3, 0x3063); // PTE for VA 0x80003000
    set(p.get(1)!, 0x201, 0x00800000 | 0xe3); // 4 MiB page for VA 0x80400000
    p.get(3)![0xff] = 0x42;
    const d = openKernelDump(new BufferSource(dump32(p, false, 0x1000)));
    const s = d.pageTables!;
    expect(s.mode).toBe("x86");
    expect(s.u8(0x800030ff)).toBe(0x42);
    expect(s.physicalAddress(0x80412345)).toBe(0x812345);
  });
});

describe("ARM64 and unsupported layouts", () => {
  it("ARM64: header and physical memory are read; translation is a clear diagnostic", () => {
    const w = new KernelDumpWriter({ machine: 0xaa64, build: 26100 });
    w.writePhysical(0x20000, new Uint8Array([1, 2, 3]));
    const t = openKernelDumpTarget(new BufferSource(w.build("full")));
    const d = t.data.kernelDump;
    expect(t.arch).toBe("arm64");
    expect(d.header.minorVersion).toBe(26100);
    expect(d.phys.fileOffset(0x20001)).toBeGreaterThan(0);
    expect(d.pageTables).toBeUndefined();
    expect(t.diagnostics.has("KDUMP_UNSUPPORTED_ARCH")).toBe(true);
  });

  it("a summary dump (DumpType 2) is header-only with KDUMP_UNSUPPORTED_TYPE", () => {
    const b = new KernelDumpWriter().build("full");
    new DataView(b.buffer).setUint32(0xf98, 2, true);
    const d = openKernelDump(new BufferSource(b));
    expect(d.format).toBe("kernel-header");
    expect(d.diagnostics.has("KDUMP_UNSUPPORTED_TYPE")).toBe(true);
  });

  it("PhysicalMemory lookups across segments", () => {
    const src = new BufferSource(new Uint8Array(0x5000));
    const pm = new PhysicalMemory(src, "runs", [
      { basePage: 10, pageCount: 2, fileOffset: 0x1000 },
      { basePage: 2, pageCount: 1, fileOffset: 0x3000 },
    ]);
    expect(pm.fileOffset(0xa123)).toBe(0x1123);
    expect(pm.fileOffset(0xb000)).toBe(0x2000);
    expect(pm.fileOffset(0x2fff)).toBe(0x3fff);
    expect(pm.fileOffset(0xc000)).toBe(-1);
    expect(pm.contiguous(0xa800)).toBe(0x1800);
    expect(new KernelAddressSpace(pm, 0, "x64").u8(0)).toBe(-1);
  });
});

describe("poolKm() plugin", () => {
  it("claims kernel dumps in resolveReader and exposes pool usage through its api", async () => {
    const { bytes } = buildPoolDump({ tags: [{ tag: "Proc", perCpu: [{ nonPagedAllocs: 2, nonPagedBytes: 0x200 }] }] });
    const engine = new Engine({ plugins: [poolKm({ pooltagFile: "/nonexistent/pooltag.txt" })] });
    const open = await engine.openSource(new BufferSource(bytes, "k.dmp"), { command: "pool", depth: "open" });
    try {
      const t = open.run.target;
      expect(t.kind).toBe("kernel");
      expect(t.format).toBe("kernel-full");
      const api = engine.api<PoolKmApi>("pool-km")!;
      const u = api.poolUsage(t.data.kernelDump!);
      expect(u.rows.map((r) => [r.tag, r.nonPagedAllocs, r.nonPagedBytes])).toEqual([["Proc", 2, 0x200]]);
    } finally {
      open.close();
    }
  });

  it("rejects unknown options before any dump is opened", () => {
    // @ts-expect-error options the schema refuses do not compile either
    expect(() => poolKm({ bogus: 1 })).toThrow(PluginOptionsError);
  });
});
