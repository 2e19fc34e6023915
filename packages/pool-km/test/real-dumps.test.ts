import { BufferSource, FileSource, formatAddress, readBytes } from "@leakscope/core";
import { sharedFile } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { DumpType, isKernelDump, openKernelDump, openKernelDumpTarget, parseKernelDumpHeader, readPoolUsage } from "../src/index.js";

const triage = sharedFile("dumps/kernel/rizin-triage_x64.dmp");
const full16k = sharedFile("dumps/kernel/imhex-dmp64-full-header16k.dmp");

describe("rizin-triage_x64.dmp (DumpType 4, 19041 x64)", () => {
  it.skipIf(!triage.present)("decodes the header fields and the bugcheck", () => {
    const src = FileSource.open(triage.path);
    try {
      expect(isKernelDump(readBytes(src, 0, 8))).toBe(true);
      const h = parseKernelDumpHeader(src);
      expect(h.headerBits).toBe(64);
      expect(h.majorVersion).toBe(0xf);
      expect(h.minorVersion).toBe(19041);
      expect(h.machineImageType).toBe(0x8664);
      expect(h.numberProcessors).toBe(16);
      expect(h.dumpType).toBe(DumpType.Triage);
      expect(h.directoryTableBase).toBe(0x1ad000);
      expect(formatAddress(h.kdDebuggerDataBlock)).toBe("0xfffff8047c600b20");
      expect(h.bugCheckCode).toBe(0x1000007e);
      expect(h.bugCheckParameters).toEqual([0xffffffffc0000005n, 0xfffff8048b58334cn, 0xffff850429891ee8n, 0xffff850429891720n]);
      expect(h.runsAreFill).toBe(true);
      expect(h.runs).toEqual([]);
    } finally {
      src.close();
    }
  });

  it.skipIf(!triage.present)("opens as a kernel-triage Target with the 151 drivers, data blocks and KDBG", () => {
    const t = openKernelDumpTarget(triage.path);
    try {
      expect(t.kind).toBe("kernel");
      expect(t.format).toBe("kernel-triage");
      expect(t.arch).toBe("x64");
      expect(t.os).toMatchObject({ major: 10, minor: 0, build: 19041 });
      const d = t.data.kernelDump;
      expect(d.triage?.valid).toBe(true);
      expect(d.triage?.sizeOfDump).toBe(0x13a28c);
      expect(d.triage?.driverCount).toBe(151);
      expect(d.triage?.debuggerDataOffset).toBe(0x104a8);
      expect(d.triage?.debuggerDataSize).toBe(0x380);
      expect(d.dataBlocks.length).toBe(1831);
      expect(t.memory.ranges).toBe(1831);
      expect(t.modules.length).toBe(151);
      expect(t.modules[0]!.name).toBe("ntoskrnl.exe");
      expect(formatAddress(t.modules[0]!.base)).toBe("0xfffff8047ba00000");
      const amd = t.modules.find((m) => m.name.toLowerCase() === "amdppm.sys")!;
      expect(formatAddress(amd.base)).toBe("0xfffff8048b580000");
      expect(amd.size).toBe(0x3b000);
      expect(amd.path).toBe("\\SystemRoot\\System32\\drivers\\amdppm.sys");
      // CheckSum from the KLDR entry; TimeDateStamp from the PE header when a data block captured it.
      expect(amd.checksum).toBe(0x38e6b);
      expect(amd.timestamp).toBe(0xc9c03000);
      expect(t.modules.filter((m) => m.timestamp !== 0).length).toBe(7);
      // Cross-check the KLDR offsets against nt's PE header (captured in a data block).
      const nt = t.modules[0]!;
      const sp = t.data.kernelDump.space;
      const lfanew = sp.u32(nt.base + 0x3c);
      expect(sp.u32(nt.base + lfanew + 0x58)).toBe(nt.checksum);
      expect(sp.u32(nt.base + lfanew + 0x50)).toBe(nt.size);
      expect(nt.checksum).toBe(0xa5938c);
      // The faulting address (parameter 2) lies inside amdppm.sys.
      const fault = -0x7fb74a7ccb4;
      expect(formatAddress(fault)).toBe("0xfffff8048b58334c");
      expect(fault >= amd.base && fault < amd.base + amd.size).toBe(true);
      const k = d.kdbg!;
      expect(k.ownerTag).toBe("KDBG");
      expect(k.size).toBe(0x380);
      expect(formatAddress(k.kernBase)).toBe("0xfffff8047ba00000");
      expect(k.psLoadedModuleList).toBe(d.header.psLoadedModuleList);
      expect(k.psActiveProcessHead).toBe(d.header.psActiveProcessHead);
      expect(k.mmPfnDatabase).toBe(d.header.pfnDataBase);
      expect(formatAddress(k.poolTrackTable)).toBe("0xfffff8047c6168a8");
      // Data blocks are the readable VA ranges: a block's first byte reads, and its bytes match the file.
      const b = d.dataBlocks[0]!;
      expect(d.space.isMapped(b.address, b.size)).toBe(true);
      expect(d.space.u8(b.address)).toBe(readBytes(d.source, b.fileOffset, 1)[0]);
      expect(t.diagnostics.list().filter((x) => x.severity !== "info")).toEqual([]);
    } finally {
      t.close();
    }
  });

  it.skipIf(!triage.present)("reports that the tracker table is not captured", () => {
    const t = openKernelDumpTarget(triage.path);
    try {
      const usage = readPoolUsage(t.data.kernelDump);
      expect(usage.method).toBe("none");
      expect(usage.rows).toEqual([]);
      expect(t.diagnostics.has("POOL_TRACK_TABLE_MISSING")).toBe(true);
      expect(t.diagnostics.list().find((x) => x.code === "POOL_TRACK_TABLE_MISSING")?.location?.address).toBe("0xfffff8047c6168a8");
    } finally {
      t.close();
    }
  });
});

describe("imhex-dmp64-full-header16k.dmp (DumpType 1, 19045 x64, truncated)", () => {
  it.skipIf(!full16k.present)("decodes header, runs and bugcheck, and reports the missing body", () => {
    const t = openKernelDumpTarget(full16k.path);
    try {
      const d = t.data.kernelDump;
      const h = d.header;
      expect(t.format).toBe("kernel-full");
      expect(h.minorVersion).toBe(19045);
      expect(h.numberProcessors).toBe(4);
      expect(h.dumpType).toBe(1);
      expect(h.numberOfRuns).toBe(5);
      expect(h.numberOfPages).toBe(523910);
      expect(h.runs).toEqual([
        { basePage: 0x2, pageCount: 0x9e },
        { basePage: 0x100, pageCount: 0x251 },
        { basePage: 0x3d8, pageCount: 0xd7df },
        { basePage: 0xdbb8, pageCount: 0x1fb7 },
        { basePage: 0xfbff, pageCount: 0x70401 },
      ]);
      expect(h.requiredDumpSpace).toBe(0x7fe88000);
      expect(h.bugCheckCode).toBe(0x5454414d);
      expect(h.bugCheckParameters).toEqual([0x4e4f4f4dn, 0x534c4f53n, 0x4e4f4f4dn, 0x534c4f53n]);
      expect(h.directoryTableBase).toBe(0x1ad002);
      expect(d.pageTables?.dtb).toBe(0x1ad000);
      expect(formatAddress(h.kdDebuggerDataBlock)).toBe("0xffffc509c480b080");
      // Only the first two pages (PFN 2 and 3) are in the 16 KiB file.
      expect(d.phys.presentPages).toBe(2);
      expect(d.phys.fileOffset(0x2000)).toBe(0x2000);
      expect(d.phys.fileOffset(0x3fff)).toBe(0x3fff);
      expect(d.phys.fileOffset(0x4000)).toBe(-1);
      expect(d.phys.fileOffset(0x100000)).toBe(-1);
      const trunc = t.diagnostics.list().find((x) => x.code === "KDUMP_TRUNCATED");
      expect(trunc?.location?.fileOffset).toBe(0x4000);
      expect(t.diagnostics.has("KDUMP_NO_PAGE_TABLES")).toBe(true);
      expect(t.diagnostics.has("KDBG_NOT_FOUND")).toBe(true);
    } finally {
      t.close();
    }
  });

  it.skipIf(!full16k.present)("rejects the header cut below 0x2000 bytes with a DumpFormatError", () => {
    const src = FileSource.open(full16k.path);
    const head = readBytes(src, 0, 0x1800);
    src.close();
    expect(() => openKernelDump(new BufferSource(head))).toThrowError(expect.objectContaining({ code: "READ_PAST_END", fileOffset: 0x1800 }));
  });
});
