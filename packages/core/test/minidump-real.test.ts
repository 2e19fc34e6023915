import { type Target, formatAddress, minidumpOf, openMinidumpFile } from "@leakscope/core";
import { sharedFile } from "@leakscope/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const codes = (t: Target): string[] => [...new Set(t.diagnostics.list().map((d) => d.code))].sort();

describe("lldb-fizzbuzz-wow64-win7sp1-full.dmp (64-bit dump of a WoW64 process)", () => {
  const f = sharedFile("dumps/user/lldb-fizzbuzz-wow64-win7sp1-full.dmp");
  let t: Target;
  beforeAll(() => {
    if (f.present) t = openMinidumpFile(f.path);
  });
  afterAll(() => t?.close());

  it.skipIf(!f.present)("header, system info and streams", () => {
    const md = minidumpOf(t)!;
    expect(md.header.flags).toBe(0x1826);
    expect(md.header.flagNames).toEqual(["WithFullMemory", "WithHandleData", "WithUnloadedModules", "WithFullMemoryInfo", "WithThreadInfo"]);
    expect(md.streams.filter((s) => s.status === "ok").map((s) => s.name)).toEqual([
      "ThreadList",
      "ThreadInfoList",
      "ModuleList",
      "Memory64List",
      "MemoryInfoList",
      "SystemInfo",
      "MiscInfo",
      "HandleData",
    ]);
    expect(t.kind).toBe("user");
    expect(t.format).toBe("minidump");
    expect(t.arch).toBe("x64");
    expect(t.os).toMatchObject({ major: 6, minor: 1, build: 7601, servicePack: "Service Pack 1" });
    expect(md.systemInfo!.cpuCount).toBe(40);
    expect(md.miscInfo).toMatchObject({ sizeOfInfo: 232, processId: 7836 });
    expect(md.miscInfo!.buildString).toBeUndefined();
    expect(md.exception).toBeUndefined();
    expect(md.handleData).toMatchObject({ count: 0, handles: [] });
    expect(md.threadInfos).toHaveLength(1);
    expect(codes(t)).toEqual([]);
  });

  it.skipIf(!f.present)("memory: 107 Memory64List ranges, LLDB's present/absent addresses", () => {
    const md = minidumpOf(t)!;
    expect(md.memorySources).toEqual(["Memory64List"]);
    expect(t.memory.ranges).toBe(107);
    expect(t.memory.bytes).toBe(9265152);
    expect(md.memory[0]).toMatchObject({ address: 0x10000, size: 65536 });
    expect(md.memory[106]).toMatchObject({ address: 0x7ffe0000, size: 4096 });
    const s = t.views[0]!.space;
    expect(s.isMapped(0x40000, 4096)).toBe(true);
    expect(s.isMapped(0x77c12000, 8192)).toBe(true);
    for (const a of [0x0, 0x2a, 0x41000, 0x7ffe1000]) expect(s.isMapped(a)).toBe(false);
    expect(md.memoryInfo).toHaveLength(168);
    let committed = 0;
    let priv = 0;
    for (const m of md.memoryInfo) {
      if (m.state === 0x1000) {
        committed += m.size;
        if (m.type === 0x20000) priv += m.size;
      }
    }
    expect(committed).toBe(0x8da000);
    expect(priv).toBe(0x106000);
  });

  it.skipIf(!f.present)("modules: 16, WoW64 markers, bitness", () => {
    expect(t.modules).toHaveLength(16);
    const names = t.modules.map((m) => m.name.toLowerCase());
    for (const n of ["wow64.dll", "wow64win.dll", "wow64cpu.dll"]) expect(names).toContain(n);
    expect(t.modules.filter((m) => m.bitness === 64).map((m) => m.path.toLowerCase())).toEqual([
      "c:\\windows\\system32\\ntdll.dll",
      "c:\\windows\\system32\\wow64.dll",
      "c:\\windows\\system32\\wow64win.dll",
      "c:\\windows\\system32\\wow64cpu.dll",
    ]);
    const ntdll32 = t.modules.find((m) => /syswow64\\ntdll\.dll$/i.test(m.path))!;
    expect(ntdll32).toMatchObject({ bitness: 32, version: "6.1.7601.19135" });
    expect(ntdll32.codeView).toMatchObject({ format: "RSDS", pdbName: "wntdll.pdb" });
  });

  it.skipIf(!f.present)("WoW64: two views, TEB64/TEB32/PEB64/PEB32, the thread's contexts", () => {
    expect(t.wow64).toBe(true);
    expect(t.views.map((v) => [v.role, v.bitness])).toEqual([
      ["native", 64],
      ["wow64", 32],
    ]);
    expect(t.views[0]!.peb).toBe(0x7efdf000);
    expect(t.views[1]!.peb).toBe(0x7efde000);
    expect(t.views[0]!.tebs).toEqual([0x7efdb000]);
    expect(t.views[1]!.tebs).toEqual([0x7efdd000]);
    expect(t.threads).toHaveLength(1);
    const th = t.threads[0]!;
    expect(formatAddress(th.teb)).toBe("0x7efdb000");
    expect(th.teb32).toBe(0x7efdd000);
    expect(th.context?.arch).toBe("x64");
    const w = th.wow64Context!;
    expect(w.arch).toBe("x86");
    expect(w.registers).toMatchObject({
      eax: 0,
      ebx: 0x37f608,
      ecx: 0xe61578,
      edx: 8,
      esi: 2,
      edi: 0,
      ebp: 0x37f654,
      esp: 0x37f5b8,
      eip: 0x77ce01fd,
      eflags: 0x246,
      cs: 0x23,
      fs: 0x53,
      ds: 0x2b,
      es: 0x2b,
      ss: 0x2b,
      gs: 0x2b,
    });
    expect([w.ip, w.sp, w.fp]).toEqual([0x77ce01fd, 0x37f5b8, 0x37f654]);
    // Both PEBs readable, with the heap counts the README states.
    expect(t.views[0]!.space.u32(0x7efdf000 + 0xe8)).toBe(3);
    expect(t.views[1]!.space.u32(0x7efde000 + 0x88)).toBe(2);
  });
});

interface Expected {
  file: string;
  arch: string;
  build: number;
  wow64: boolean;
  modules: number;
  threads: number;
  ranges: number;
  pid: number;
  codes: string[];
  peb?: number;
  buildString?: string;
  extra?: (t: Target) => void;
}

const others: Expected[] = [
  {
    file: "syzygy-notepad-x86view-win7sp1-indirect.dmp",
    arch: "x86",
    build: 7601,
    wow64: true,
    modules: 22,
    threads: 1,
    ranges: 13,
    pid: 6408,
    peb: 0x7efde000,
    buildString: "6.1.7601.18015 (win7sp1_gdr.121129-1432)",
    codes: [],
    extra: (t) => {
      expect(minidumpOf(t)!.header.flags).toBe(0x40160);
      expect(minidumpOf(t)!.systemInfo!.cpuCount).toBe(16);
      expect(minidumpOf(t)!.exception).toBeDefined();
      expect(minidumpOf(t)!.streams.some((s) => s.name === "Token")).toBe(true);
      // PEB32 NtGlobalFlag 0x70 (README)
      expect(t.views[0]!.space.u32(0x7efde000 + 0x68)).toBe(0x70);
    },
  },
  {
    file: "alpinefaction-rf-x86view-win11-indirect.dmp",
    arch: "x86",
    build: 26200,
    wow64: true,
    modules: 97,
    threads: 41,
    ranges: 187,
    pid: 5832,
    peb: 0x38c000,
    buildString: "26100.1.amd64fre.ge_release.240331-1435",
    codes: ["MINIDUMP_TEB_NOT_CAPTURED"],
    extra: (t) => {
      expect(minidumpOf(t)!.header.flags).toBe(0x40);
      expect(t.modules.some((m) => m.name.toLowerCase() === "wow64cpu.dll")).toBe(true);
      const names = minidumpOf(t)!.streams.map((s) => s.name);
      expect(names).toContain("SystemMemoryInfo");
      expect(names).toContain("ProcessVmCounters");
      // 41 threads, 9 TEBs readable (README): 32 reported missing.
      const space = t.views[0]!.space;
      const missing = t.threads.filter((th) => !space.isMapped(th.teb, 0x34));
      expect(missing).toHaveLength(32);
      const d = t.diagnostics.list().find((x) => x.code === "MINIDUMP_TEB_NOT_CAPTURED")!;
      expect(d.location?.address).toBe(formatAddress(missing[0]!.teb));
    },
  },
  {
    file: "lldb-fizzbuzz-x86view-win7sp1-noheap.dmp",
    arch: "x86",
    build: 7601,
    wow64: true,
    modules: 6,
    threads: 1,
    ranges: 2,
    pid: 4440,
    codes: ["MINIDUMP_PEB_NOT_CAPTURED", "MINIDUMP_TEB_NOT_CAPTURED"],
    extra: (t) => {
      expect(t.views[0]!.peb).toBeUndefined();
      expect(minidumpOf(t)!.exception?.code).toBe(0xc0000005);
      expect(t.modules.some((m) => /syswow64\\ntdll\.dll$/i.test(m.path))).toBe(true);
    },
  },
  {
    file: "lldb-sigsegv-x64-win10-1709.dmp",
    arch: "x64",
    build: 16299,
    wow64: false,
    modules: 4,
    threads: 1,
    ranges: 15,
    pid: 13052,
    buildString: "16299.637.amd64fre.rs3_release_svc.180808-1748",
    codes: [],
    extra: (t) => {
      expect(t.modules.map((m) => m.name.toLowerCase())).toEqual(["sigsegv.exe", "ntdll.dll", "kernel32.dll", "kernelbase.dll"]);
      const peb = t.views[0]!.peb!;
      expect(t.views[0]!.space.u32(peb + 0xe8)).toBe(2); // NumberOfHeaps
      expect(minidumpOf(t)!.exception?.code).toBe(0xc0000005);
    },
  },
];

describe.each(others)("$file", (e) => {
  const f = sharedFile(`dumps/user/${e.file}`);
  it.skipIf(!f.present)("opens with the README's facts pinned", () => {
    const t = openMinidumpFile(f.path);
    try {
      expect(t.arch).toBe(e.arch);
      expect(t.os.build).toBe(e.build);
      expect(t.wow64).toBe(e.wow64);
      expect(t.views).toHaveLength(1);
      expect(t.views[0]!.bitness).toBe(e.arch === "x86" ? 32 : 64);
      expect(t.modules).toHaveLength(e.modules);
      expect(t.threads).toHaveLength(e.threads);
      expect(t.memory.ranges).toBe(e.ranges);
      expect(minidumpOf(t)!.miscInfo!.processId).toBe(e.pid);
      if (e.peb !== undefined) expect(t.views[0]!.peb).toBe(e.peb);
      if (e.buildString !== undefined) expect(t.os.buildString).toBe(e.buildString);
      expect(codes(t)).toEqual(e.codes);
      e.extra?.(t);
    } finally {
      t.close();
    }
  });
});
