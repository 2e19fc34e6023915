import { BufferSource, Diagnostics, type Target, formatAddress, minidumpOf, openMinidumpTarget, parseMinidump } from "@leakscope/core";
import { MinidumpBuilder, MinidumpStream } from "@leakscope/test-utils";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";

function open(b: MinidumpBuilder): Target {
  return openMinidumpTarget(new BufferSource(b.build(), "synthetic.dmp"));
}

function parse(b: MinidumpBuilder) {
  const d = new Diagnostics();
  return { file: parseMinidump(new BufferSource(b.build(), "synthetic.dmp"), d), diagnostics: d };
}

const codes = (t: { diagnostics: Diagnostics }): string[] => t.diagnostics.list().map((d) => d.code);

describe("minidump writer -> reader round trips", () => {
  it("header and directory: flags, timestamp, checksum, unknown streams listed", () => {
    const b = new MinidumpBuilder({ flags: 0x1826, timestamp: 0x56cc9c62, checksum: 0xabcdef01 })
      .systemInfo({ arch: "x64", major: 6, minor: 1, build: 7601 })
      .rawStream(0x4a11, new Uint8Array([1, 2, 3, 4, 5]));
    const { file, diagnostics } = parse(b);
    expect(file.header.version).toBe(0xa793);
    expect(file.header.flags).toBe(0x1826);
    expect(file.header.flagNames).toEqual(["WithFullMemory", "WithHandleData", "WithUnloadedModules", "WithFullMemoryInfo", "WithThreadInfo"]);
    expect(file.header.timestamp).toBe(0x56cc9c62);
    expect(file.header.checksum).toBe(0xabcdef01);
    expect(file.header.streamCount).toBe(2);
    expect(file.streams.map((s) => [s.name, s.size, s.status])).toEqual([
      ["SystemInfo", 56, "ok"],
      ["Unknown(0x4a11)", 5, "ok"],
    ]);
    expect(diagnostics.size).toBe(0);
  });

  it.each([
    ["x86", 0, "x86"],
    ["x64", 9, "x64"],
    ["arm64", 12, "arm64"],
  ] as const)("SystemInfo %s: arch, version, build, service pack, CPUs, product type", (arch, code, expected) => {
    const b = new MinidumpBuilder().systemInfo({
      arch,
      major: 10,
      minor: 0,
      build: 22621,
      servicePack: "Service Pack 9",
      cpus: 12,
      productType: 3,
      platformId: 2,
    });
    const sys = parse(b).file.systemInfo!;
    expect(sys).toMatchObject({ arch: expected, processorArchitecture: code, major: 10, minor: 0, build: 22621, cpuCount: 12, productType: 3 });
    expect(sys.servicePack).toBe("Service Pack 9");
    const t = open(b);
    expect(t.arch).toBe(expected);
    expect(t.os).toMatchObject({ major: 10, minor: 0, build: 22621, servicePack: "Service Pack 9", productType: 3 });
    expect(t.views[0]!.bitness).toBe(arch === "x86" ? 32 : 64);
  });

  it("ModuleList: names, base, size, timestamp, checksum, version, RSDS and NB10 CodeView", () => {
    const b = new MinidumpBuilder()
      .systemInfo({ arch: "x64" })
      .module({
        path: "C:\\Windows\\System32\\ntdll.dll",
        base: 0x7ffa12340000,
        size: 0x1f8000,
        timestamp: 0x12345678,
        checksum: 0x1f00aa,
        version: "10.0.19041.3636",
        codeView: { guid: "1EB9FACB-04C7-3C5D-EA71-60764CD333D0", age: 1, pdb: "ntdll.pdb" },
      })
      .module({ path: "C:\\old\\old.dll", base: 0x10000000, size: 0x5000, codeView: { nb10: 0x3c2fe0a1, age: 7, pdb: "old.pdb" } })
      .module({ path: "C:\\plain.exe", base: 0x400000, size: 0x1000 });
    const { file } = parse(b);
    expect(file.modules).toHaveLength(3);
    const [nt, old, plain] = file.modules;
    expect(nt).toMatchObject({ path: "C:\\Windows\\System32\\ntdll.dll", base: 0x7ffa12340000, size: 0x1f8000, timestamp: 0x12345678, checksum: 0x1f00aa, version: "10.0.19041.3636" });
    expect(nt!.codeView).toEqual({ format: "RSDS", guid: "1eb9facb-04c7-3c5d-ea71-60764cd333d0", age: 1, pdbName: "ntdll.pdb" });
    expect(old!.codeView).toEqual({ format: "NB10", guid: "3c2fe0a1", age: 7, pdbName: "old.pdb" });
    expect(plain!.version).toBeUndefined();
    expect(plain!.codeView).toBeUndefined();
    const t = open(b);
    expect(t.modules.map((m) => [m.name, m.bitness])).toEqual([
      ["ntdll.dll", 64],
      ["old.dll", 64],
      ["plain.exe", 64],
    ]);
  });

  it("UnloadedModuleList", () => {
    const b = new MinidumpBuilder().systemInfo({ arch: "x86" }).unloadedModule({ path: "gone.dll", base: 0x6f000000, size: 0x3000, timestamp: 5, checksum: 6 });
    expect(parse(b).file.unloadedModules).toEqual([{ path: "gone.dll", base: 0x6f000000, size: 0x3000, timestamp: 5, checksum: 6 }]);
    expect(open(b).unloadedModules).toEqual([{ name: "gone.dll", base: 0x6f000000, size: 0x3000, timestamp: 5, checksum: 6 }]);
  });

  it("ThreadList with an x64 context and stack memory", () => {
    const stack = new Uint8Array(0x100).fill(0xcd);
    const b = new MinidumpBuilder()
      .systemInfo({ arch: "x64" })
      .thread({
        id: 42,
        teb: 0x7ff5ffde000,
        suspendCount: 1,
        priority: 2,
        stack: { address: 0xe5ff00, bytes: stack },
        context: { arch: "x64", registers: { rip: 0x7ffa12345678, rsp: 0xe5ff10, rbp: 0xe5ff80, rax: 1, r15: 0x1122334455, eflags: 0x246 } },
      });
    const t = open(b);
    const th = t.threads[0]!;
    expect(th).toMatchObject({ id: 42, teb: 0x7ff5ffde000, suspendCount: 1, priority: 2, stack: { address: 0xe5ff00, size: 0x100 } });
    expect(th.context).toMatchObject({ arch: "x64", ip: 0x7ffa12345678, sp: 0xe5ff10, fp: 0xe5ff80 });
    expect(th.context!.registers).toMatchObject({ rax: 1, r15: 0x1122334455, eflags: 0x246, cs: 0x33, ss: 0x2b });
    expect(t.views[0]!.space.u8(0xe5ff00 + 0xff)).toBe(0xcd);
    const raw = minidumpOf(t)!.threads[0]!;
    expect(minidumpOf(t)!.memory[0]!.fileOffset).toBe(raw.stack.rva);
  });

  it("ThreadExList with an x86 context; ThreadInfoList", () => {
    const b = new MinidumpBuilder({ threadList: "ThreadExList" })
      .systemInfo({ arch: "x86" })
      .thread({ id: 7, teb: 0x7ffdf000, context: { arch: "x86", registers: { eip: 0x401000, esp: 0x12ff00, ebp: 0x12ff40, eax: 0xdeadbeef, eflags: 0x202 } } })
      .threadInfo({ threadId: 7, createTime: 0x1d2a1b2c3d4e5f6n, startAddress: 0x401000, exitStatus: 259, affinity: 0xff });
    const { file } = parse(b);
    expect(file.streams[0]!.name).toBe("ThreadExList");
    expect(file.threads[0]!.backingStore).toEqual({ address: 0, size: 0, rva: 0 });
    expect(file.threads[0]!.context).toMatchObject({ arch: "x86", ip: 0x401000, sp: 0x12ff00, fp: 0x12ff40 });
    expect(file.threads[0]!.context!.registers).toMatchObject({ eax: 0xdeadbeef, eflags: 0x202, fs: 0x53 });
    expect(file.threadInfos).toEqual([
      { threadId: 7, dumpFlags: 0, dumpError: 0, exitStatus: 259, createTime: Number(0x1d2a1b2c3d4e5f6n), exitTime: 0, kernelTime: 0, userTime: 0, startAddress: 0x401000, affinity: 0xff },
    ]);
  });

  it("ARM64 context", () => {
    const b = new MinidumpBuilder()
      .systemInfo({ arch: "arm64" })
      .thread({ id: 1, teb: 0x1000, context: { arch: "arm64", registers: { pc: 0x7ff612340000, sp: 0x5000, fp: 0x5100, lr: 0x7ff612340100, x: [11, 22] } } });
    const ctx = open(b).threads[0]!.context!;
    expect(ctx).toMatchObject({ arch: "arm64", ip: 0x7ff612340000, sp: 0x5000, fp: 0x5100 });
    expect(ctx.registers).toMatchObject({ x0: 11, x1: 22, lr: 0x7ff612340100 });
  });

  it.each(["MemoryList", "Memory64List"] as const)("%s: ranges, reads across adjacent ranges, holes", (kind) => {
    const a = new Uint8Array(0x1000).map((_, i) => i & 0xff);
    const c = new Uint8Array(0x800).fill(0x77);
    const b = new MinidumpBuilder({ memoryList: kind }).systemInfo({ arch: "x64" }).memory(0x10000, a).memory(0x11000, c).memory(0x7ff000000000, new Uint8Array(16).fill(9));
    const t = open(b);
    expect(minidumpOf(t)!.memorySources).toEqual([kind]);
    expect(t.memory).toEqual({ ranges: 3, bytes: 0x1000 + 0x800 + 16 });
    const s = t.views[0]!.space;
    expect(s.u32(0x10004)).toBe(0x07060504);
    expect(s.u32(0x10ffe)).toBe(0x7777fffe);
    expect(s.u8(0x7ff000000000 + 15)).toBe(9);
    expect(s.firstMissing(0x11000, 0x1000)).toBe(0x11800);
    expect(s.u8(0xffff)).toBe(-1);
    expect(codes(t)).toEqual(["MINIDUMP_NO_MODULES", "MINIDUMP_NO_THREADS"]);
  });

  it("MemoryInfoList", () => {
    const b = new MinidumpBuilder()
      .systemInfo({ arch: "x64" })
      .memoryInfo({ base: 0x10000, allocationBase: 0x10000, allocationProtect: 4, size: 0x10000, state: 0x1000, protect: 4, type: 0x20000 })
      .memoryInfo({ base: 0x7ffe0000, size: 0x1000, state: 0x1000, protect: 2, type: 0x20000 })
      .memoryInfo({ base: 0x20000, size: 0x1000000000, state: 0x10000, protect: 1, type: 0 });
    const info = parse(b).file.memoryInfo;
    expect(info).toHaveLength(3);
    expect(info[0]).toEqual({ base: 0x10000, allocationBase: 0x10000, allocationProtect: 4, size: 0x10000, state: 0x1000, protect: 4, type: 0x20000 });
    expect(info[2]!.size).toBe(0x1000000000);
  });

  it.each([1, 2, 3, 4, 5] as const)("MiscInfo level %i", (level) => {
    const b = new MinidumpBuilder()
      .systemInfo({ arch: "x64" })
      .miscInfo({ level, pid: 7836, createTime: 1456272578, userTime: 3, kernelTime: 4, processorMaxMhz: 2801, buildString: "19041.1.amd64fre.vb_release.191206-1406", dbgBuildString: "dbgcore.amd64,10.0.19041.1", processCookie: 0x1234 });
    const m = parse(b).file.miscInfo!;
    expect(m.sizeOfInfo).toBe({ 1: 24, 2: 44, 3: 232, 4: 832, 5: 1364 }[level]);
    expect(m).toMatchObject({ processId: 7836, processCreateTime: 1456272578, processUserTime: 3, processKernelTime: 4 });
    expect(m.processorMaxMhz).toBe(level >= 2 ? 2801 : undefined);
    expect(m.buildString).toBe(level >= 4 ? "19041.1.amd64fre.vb_release.191206-1406" : undefined);
    expect(m.dbgBuildString).toBe(level >= 4 ? "dbgcore.amd64,10.0.19041.1" : undefined);
    expect(m.processCookie).toBe(level >= 5 ? 0x1234 : undefined);
    if (level >= 4) expect(open(b).os.buildString).toBe("19041.1.amd64fre.vb_release.191206-1406");
  });

  it("Exception with parameters and context", () => {
    const b = new MinidumpBuilder()
      .systemInfo({ arch: "x64" })
      .exception({ threadId: 99, code: 0xc0000005, address: 0x7ff6aabb1234, parameters: [1, 0x7ff6aabb0000, 3], context: { arch: "x64", registers: { rip: 0x7ff6aabb1234 } } });
    const e = parse(b).file.exception!;
    expect(e).toMatchObject({ threadId: 99, code: 0xc0000005, flags: 0, record: 0, address: 0x7ff6aabb1234, parameters: [1, 0x7ff6aabb0000, 3] });
    expect(e.context!.ip).toBe(0x7ff6aabb1234);
  });

  it.each([32, 40] as const)("HandleData with %i-byte descriptors and names", (size) => {
    const b = new MinidumpBuilder({ handleDescriptorSize: size })
      .systemInfo({ arch: "x64" })
      .handles([
        { handle: 0x4, typeName: "Event", attributes: 0, grantedAccess: 0x1f0003, handleCount: 2, pointerCount: 3 },
        { handle: 0x8, typeName: "File", objectName: "\\Device\\HarddiskVolume3\\x.log" },
        { handle: 0xc },
      ]);
    const h = parse(b).file.handleData!;
    expect(h.count).toBe(3);
    expect(h.descriptorSize).toBe(size);
    expect(h.handles[0]).toMatchObject({ handle: 4, typeName: "Event", grantedAccess: 0x1f0003, handleCount: 2, pointerCount: 3 });
    expect(h.handles[1]).toMatchObject({ typeName: "File", objectName: "\\Device\\HarddiskVolume3\\x.log" });
    expect(h.handles[2]!.typeName).toBeUndefined();
    expect(h.handles[0]!.objectInfoRva).toBe(size === 40 ? 0 : undefined);
  });

  it("CommentA and CommentW", () => {
    const b = new MinidumpBuilder().systemInfo({ arch: "x86" }).comment("plain comment").comment("wide comment \u00e9\u4e2d", { wide: true });
    expect(parse(b).file.comments).toEqual([
      { type: "CommentA", text: "plain comment" },
      { type: "CommentW", text: "wide comment \u00e9\u4e2d" },
    ]);
  });

  it("native 64-bit process: PEB from TEB+0x60, module bitness 64, no diagnostics", () => {
    const b = new MinidumpBuilder();
    const p = b.nativeProcess({ bitness: 64 });
    const t = open(b);
    expect(t.wow64).toBe(false);
    expect(t.views).toHaveLength(1);
    expect(t.views[0]).toMatchObject({ bitness: 64, role: "native", peb: p.peb, tebs: [p.teb] });
    expect(t.modules.every((m) => m.bitness === 64)).toBe(true);
    expect(codes(t)).toEqual([]);
  });

  it("native 32-bit process: PEB from TEB+0x30", () => {
    const b = new MinidumpBuilder({ memoryList: "MemoryList" });
    const p = b.nativeProcess({ bitness: 32 });
    const t = open(b);
    expect(t.arch).toBe("x86");
    expect(t.views[0]).toMatchObject({ bitness: 32, role: "native", peb: p.peb });
    expect(t.views[0]!.space.pointerSize).toBe(4);
    expect(t.modules.every((m) => m.bitness === 32)).toBe(true);
    expect(codes(t)).toEqual([]);
  });

  it("WoW64 process in a 64-bit dump: two views, TEB32/PEB32, 32-bit modules, WOW64_CONTEXT", () => {
    const b = new MinidumpBuilder();
    const w = b.wow64Process({ wow64Context: { eip: 0x77ce01fd, esp: 0x37f5b8, ebp: 0x37f654, ebx: 0x37f608, eflags: 0x246 } });
    new DataView(w.peb32Bytes.buffer).setUint32(0x88, 2, true); // live bytes: NumberOfHeaps
    const t = open(b);
    expect(t.wow64).toBe(true);
    expect(t.views.map((v) => [v.role, v.bitness, v.space.pointerSize])).toEqual([
      ["native", 64, 8],
      ["wow64", 32, 4],
    ]);
    expect(t.views[0]!.peb).toBe(0x7efdf000);
    expect(t.views[1]!.peb).toBe(0x7efde000);
    expect(t.views[0]!.tebs).toEqual([0x7efdb000]);
    expect(t.views[1]!.tebs).toEqual([0x7efdd000]);
    expect(t.threads[0]!.teb32).toBe(0x7efdd000);
    expect(t.threads[0]!.wow64Context).toMatchObject({ arch: "x86", ip: 0x77ce01fd, sp: 0x37f5b8, fp: 0x37f654 });
    expect(t.threads[0]!.wow64Context!.registers).toMatchObject({ ebx: 0x37f608, eflags: 0x246, cs: 0x23 });
    expect(t.views[1]!.space.u32(0x7efde000 + 0x88)).toBe(2);
    const bits = Object.fromEntries(t.modules.map((m) => [m.path, m.bitness]));
    expect(bits).toEqual({
      "C:\\app\\app.exe": 32,
      "C:\\Windows\\System32\\ntdll.dll": 64,
      "C:\\Windows\\System32\\wow64.dll": 64,
      "C:\\Windows\\System32\\wow64win.dll": 64,
      "C:\\Windows\\System32\\wow64cpu.dll": 64,
      "C:\\Windows\\SysWOW64\\ntdll.dll": 32,
    });
    expect(t.views[1]!.modules.map((m) => m.name)).toEqual(["app.exe", "ntdll.dll"]);
    expect(codes(t)).toEqual([]);
  });

  it("WoW64 without a WOW64_CONTEXT reports MINIDUMP_WOW64_CONTEXT_UNREADABLE", () => {
    const b = new MinidumpBuilder();
    b.wow64Process();
    const t = open(b);
    expect(t.threads[0]!.wow64Context).toBeUndefined();
    expect(codes(t)).toEqual(["MINIDUMP_WOW64_CONTEXT_UNREADABLE"]);
  });

  it("x86 view of a WoW64 process (32-bit dumper, wow64cpu.dll listed): wow64 true, one 32-bit view", () => {
    const b = new MinidumpBuilder({ memoryList: "MemoryList" });
    b.nativeProcess({ bitness: 32, teb: 0x38f000, peb: 0x38c000 });
    b.module({ path: "C:\\Windows\\System32\\wow64cpu.dll", base: 0x76ed0000, size: 0x9000 });
    const t = open(b);
    expect(t.arch).toBe("x86");
    expect(t.wow64).toBe(true);
    expect(t.views).toHaveLength(1);
    expect(t.views[0]).toMatchObject({ bitness: 32, role: "native", peb: 0x38c000 });
  });

  it("missing SystemInfo, modules, threads and memory become diagnostics", () => {
    const t = open(new MinidumpBuilder().comment("nothing else"));
    expect(codes(t).sort()).toEqual(["MINIDUMP_NO_MEMORY", "MINIDUMP_NO_MODULES", "MINIDUMP_NO_SYSTEM_INFO", "MINIDUMP_NO_THREADS"]);
    expect(t.views).toHaveLength(1);
  });

  it("TEB and PEB not captured are reported", () => {
    const b = new MinidumpBuilder().systemInfo({ arch: "x64" }).thread({ id: 1, teb: 0x7ff5ffde000 }).thread({ id: 2, teb: 0x7ff5ffdc000 });
    b.module({ path: "a.exe", base: 0x400000, size: 0x1000 }).memory(0x10000, new Uint8Array(16));
    const t = open(b);
    expect(codes(t).sort()).toEqual(["MINIDUMP_PEB_NOT_CAPTURED", "MINIDUMP_TEB_NOT_CAPTURED"]);
    const b2 = new MinidumpBuilder();
    const p = b2.nativeProcess({ bitness: 64 });
    p.tebBytes.fill(0, 0x60, 0x68);
    new DataView(p.tebBytes.buffer).setUint32(0x60, 0x5000, true); // PEB pointer to uncaptured memory
    const t2 = open(b2);
    expect(t2.views[0]!.peb).toBe(0x5000);
    expect(t2.diagnostics.list().find((d) => d.code === "MINIDUMP_PEB_NOT_CAPTURED")?.location?.address).toBe("0x5000");
  });

  it("overlapping memory ranges are reported; the first range wins", () => {
    const b = new MinidumpBuilder().systemInfo({ arch: "x64" }).memory(0x1000, new Uint8Array(0x100).fill(1)).memory(0x1080, new Uint8Array(0x100).fill(2));
    const t = open(b);
    expect(codes(t)).toEqual(["MINIDUMP_MEMORY_OVERLAP", "MINIDUMP_NO_MODULES", "MINIDUMP_NO_THREADS"]);
    expect(t.views[0]!.space.u8(0x10ff)).toBe(1);
    expect(t.views[0]!.space.u8(0x1100)).toBe(2);
  });

  it("writeTo streams the same bytes as build, including generated ranges", () => {
    const dir = mkdtempSync(join(tmpdir(), "leakscope-md-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const make = () =>
      new MinidumpBuilder()
        .systemInfo({ arch: "x64" })
        .memory(0x10000, new Uint8Array([1, 2, 3]))
        .memoryFill(0x100000, (1 << 20) + 5, (chunk, offset) => {
          for (let i = 0; i < chunk.length; i++) chunk[i] = (offset + i) % 251;
        });
    const path = join(dir, "gen.dmp");
    const layout = make().writeTo(path);
    const built = make().build();
    const written = new Uint8Array(readFileSync(path));
    expect(written.length).toBe(layout.size);
    expect(Buffer.compare(written, built)).toBe(0);
    const t = openMinidumpTarget(new BufferSource(written));
    expect(t.views[0]!.space.u8(0x100000 + (1 << 20) + 4)).toBe(((1 << 20) + 4) % 251);
    expect(formatAddress(minidumpOf(t)!.memory[1]!.address)).toBe("0x100000");
  });

  it("raw streams with a known type are written as given (hand-made corrupt streams)", () => {
    const bad = new Uint8Array(8);
    new DataView(bad.buffer).setUint32(0, 1000, true); // 1000 modules claimed in 8 bytes
    const b = new MinidumpBuilder().systemInfo({ arch: "x64" }).rawStream(MinidumpStream.ModuleList, bad);
    const { file, diagnostics } = parse(b);
    expect(file.modules).toEqual([]);
    expect(diagnostics.list().map((d) => d.code)).toEqual(["MINIDUMP_STREAM_TRUNCATED"]);
  });
});
