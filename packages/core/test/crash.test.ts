import {
  AllocFlags,
  AllocationSet,
  BufferSource,
  type HeapRecord,
  InputError,
  type Target,
  crashHeadline,
  crashSummary,
  demangleRttiName,
  heapLink,
  openMinidumpTarget,
  osVersionText,
  revisionOf,
  summarizeTarget,
  validateReport,
  baseReport,
} from "@leakscope/core";
import { MinidumpBuilder, msvcThrowInfoPage } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";

function open(b: MinidumpBuilder): Target {
  return openMinidumpTarget(new BufferSource(b.build(), "synthetic.dmp"));
}

const MAIN = 0x7ff6a0000000;

/** An x64 process with one crashing thread whose thread-list context is a wait in ntdll. */
function crashing(code: number, parameters: (number | bigint)[] = [], address = MAIN + 0x1234): MinidumpBuilder {
  return new MinidumpBuilder({ timestamp: 1_600_000_000 })
    .systemInfo({ arch: "x64", major: 10, minor: 0, build: 19045, cpus: 12, vendorId: "AuthenticAMD", cpuVersion: 0x00a20f12 })
    .module({ path: "C:\\app\\app.exe", base: MAIN, size: 0x20000 })
    .module({ path: "C:\\Windows\\System32\\ntdll.dll", base: 0x7ffb10000000, size: 0x1f0000 })
    .thread({ id: 0x1a2c, context: { arch: "x64", registers: { rip: 0x7ffb10001000, rsp: 0x5000 } } })
    .thread({ id: 0x2000, context: { arch: "x64", registers: { rip: 0x7ffb10002000, rsp: 0x9000 } } })
    .threadName(0x1a2c, "worker: parse")
    .unloadedModule({ path: "C:\\Windows\\System32\\gone.dll", base: 0x7ffb20000000, size: 0x3000 })
    .miscInfo({ pid: 4321, createTime: 1_599_999_000, userTime: 3, kernelTime: 1, processorMaxMhz: 3400 })
    .exception({ threadId: 0x1a2c, code, address, parameters, context: { arch: "x64", registers: { rip: address, rsp: 0x4f00 } } });
}

describe("crash facts of user-mode minidumps", () => {
  it("an access violation: name, address, module+offset, the exception record's context for the crashing thread", () => {
    const t = open(crashing(0xc0000005, [1, 0x10]));
    expect(t.crash).toMatchObject({
      source: "exception",
      kind: "access-violation",
      code: 0xc0000005,
      name: "STATUS_ACCESS_VIOLATION",
      address: MAIN + 0x1234,
      threadId: 0x1a2c,
      module: { name: "app.exe", base: MAIN, offset: 0x1234 },
      access: { operation: "write", address: 0x10 },
      contextSource: "exception-record",
    });
    // the thread list said the thread waited in ntdll; the crash context wins for that thread only
    expect(t.threads.map((x) => x.context?.ip)).toEqual([MAIN + 0x1234, 0x7ffb10002000]);
    expect(t.threads.map((x) => x.name)).toEqual(["worker: parse", undefined]);
    expect(t.cpu).toEqual({ count: 12, arch: "x64", vendor: "AuthenticAMD", description: "AuthenticAMD family 25 model 33 stepping 2", maxMhz: 3400 });
    expect(t.process).toMatchObject({ id: 4321, mainModule: "app.exe", createTime: 1_599_999_000, userSeconds: 3, kernelSeconds: 1, dumpTime: 1_600_000_000 });

    const s = summarizeTarget(t, { details: true });
    expect(s.crash).toMatchObject({ code: "0xc0000005", location: "app.exe+0x1234", threadId: 0x1a2c, ip: "0x7ff6a0001234", sp: "0x4f00", parameters: ["0x1", "0x10"] });
    expect(s.threads?.[0]).toMatchObject({ id: 0x1a2c, ip: "0x7ff6a0001234", name: "worker: parse" });
    expect(s.unloadedModules).toEqual([{ name: "C:\\Windows\\System32\\gone.dll", base: "0x7ffb20000000", size: 0x3000, timestamp: 0 }]);
    expect(s.process).toMatchObject({ id: 4321, createTime: "2020-09-13T12:10:00Z" });
    expect(crashHeadline(s.crash!)[0]).toBe(
      "Crash:    STATUS_ACCESS_VIOLATION (0xc0000005) at 0x7ff6a0001234 (app.exe+0x1234), thread 6700 (0x1a2c): writing 0x10",
    );
    const report = baseReport({ command: "info", input: { path: "x.dmp", size: 1 }, target: t, details: true, diagnostics: [] });
    expect(validateReport(report).errors).toEqual([]);
  });

  it.each([
    [0xc0000374, [], "heap-corruption"],
    [0xc0000017, [], "out-of-memory"],
    [0xc00000fd, [], "stack-overflow"],
    [0xc0000409, [50], "heap-corruption"],
    [0xc0000409, [2], "fail-fast"],
    [0x80000003, [], "breakpoint"],
    [0xe06d7363, [0x19930520, 0, 0, MAIN], "cpp-exception"],
    [0x12345678, [], "other"],
  ] as const)("code 0x%s -> kind %s", (code, params, kind) => {
    const t = open(crashing(code, [...params]));
    expect(t.crash?.kind).toBe(kind);
  });

  it("a fail-fast names its FAST_FAIL code", () => {
    const t = open(crashing(0xc0000409, [50]));
    expect(t.crash?.failFast).toEqual({ code: 50, name: "FAST_FAIL_HEAP_METADATA_CORRUPTION" });
  });

  it("std::bad_alloc thrown by MSVC (x64: RVAs from the image base) is an out-of-memory crash with its type", () => {
    const page = msvcThrowInfoPage({ bitness: 64, address: MAIN + 0x5000, imageBase: MAIN, typeName: ".?AVbad_alloc@std@@" });
    const t = open(crashing(0xe06d7363, [0x19930520, 0x5000000, MAIN + 0x5000, MAIN]).memory(MAIN + 0x5000, page));
    expect(t.crash).toMatchObject({ kind: "out-of-memory", name: "CPP_EH_EXCEPTION", cppType: "std::bad_alloc", notes: [] });
  });

  it("a 32-bit throw (pointers, three parameters) and a throw whose info is not captured", () => {
    const page = msvcThrowInfoPage({ bitness: 32, address: 0x405000, typeName: ".?AVruntime_error@std@@" });
    const b = new MinidumpBuilder()
      .systemInfo({ arch: "x86", major: 10, minor: 0, build: 19045 })
      .module({ path: "C:\\app\\app32.exe", base: 0x400000, size: 0x10000 })
      .thread({ id: 7 })
      .memory(0x405000, page)
      .exception({ threadId: 7, code: 0xe06d7363, address: 0x401000, parameters: [0x19930520, 0x500000, 0x405000] });
    expect(open(b).crash).toMatchObject({ kind: "cpp-exception", cppType: "std::runtime_error" });
    const missing = open(crashing(0xe06d7363, [0x19930520, 0x5000000, MAIN + 0x9000, MAIN]));
    expect(missing.crash?.cppType).toBeUndefined();
    expect(missing.crash?.notes[0]).toMatch(/not in the dump/);
  });

  it("demangles simple RTTI names and keeps the others", () => {
    expect(demangleRttiName(".?AVbad_alloc@std@@")).toBe("std::bad_alloc");
    expect(demangleRttiName(".?AUnode@detail@lib@@")).toBe("lib::detail::node");
    expect(demangleRttiName(".?AV?$vector@HV?$allocator@H@std@@@std@@")).toBe(".?AV?$vector@HV?$allocator@H@std@@@std@@");
  });

  it("a heap-corruption crash lists the corrupt blocks the walk found; a breakpoint in ntdll with corrupt blocks becomes one", () => {
    const set = new AllocationSet();
    set.add(0, 0x500010, 0x500000, 0x20, 0x30, AllocFlags.BUSY);
    set.add(0, 0x500050, 0x500040, 0x20, 0x30, AllocFlags.BUSY | AllocFlags.CORRUPT);
    const heaps = [{ address: 0x500000 } as HeapRecord];
    const heapCrash = open(crashing(0xc0000374, [0x500000])).crash!;
    const s = crashSummary(heapCrash);
    heapLink(s, heapCrash, set, heaps);
    expect(s.heap).toEqual({ corruptBlocks: 1, blocks: ["0x500040"], heaps: ["0x500000"] });

    const brk = open(crashing(0x80000003, [], 0x7ffb10005000)).crash!;
    const b = crashSummary(brk);
    expect(b.kind).toBe("breakpoint");
    heapLink(b, brk, set, heaps);
    expect(b.kind).toBe("heap-corruption");

    const none = crashSummary(heapCrash);
    heapLink(none, heapCrash, new AllocationSet(), heaps);
    expect(none.heap).toBeUndefined();
    expect(none.notes.join(" ")).toMatch(/no corrupt block/);
  });

  it.each([
    [0x8201, /Linux.*0x8201.*breakpad/],
    [0x8101, /macOS/],
    [0x8203, /Android/],
  ])("refuses a minidump of platform 0x%s with MINIDUMP_NOT_WINDOWS", (platformId, message) => {
    const b = new MinidumpBuilder().systemInfo({ arch: "x64", platformId }).rawStream(0x47670003, new Uint8Array(4));
    let error: unknown;
    try {
      open(b);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).code).toBe("MINIDUMP_NOT_WINDOWS");
    expect((error as Error).message).toMatch(message);
  });

  it("refuses a Linux minidump without SystemInfo by its Linux streams; accepts Windows platform ids", () => {
    expect(() => open(new MinidumpBuilder().rawStream(0x47670009, new Uint8Array(8)))).toThrow(/Linux/);
    expect(() => open(new MinidumpBuilder().systemInfo({ arch: "x64", platformId: 2 }))).not.toThrow();
  });

  it("counts the ranges and bytes dropped for overlapping", () => {
    const b = new MinidumpBuilder({ memoryList: "MemoryList" })
      .systemInfo({ arch: "x64" })
      .memory(0x10000, new Uint8Array(0x2000))
      .memory(0x11000, new Uint8Array(0x2000))
      .memory(0x10800, new Uint8Array(0x100));
    const t = open(b);
    expect(t.memory).toEqual({ ranges: 2, bytes: 0x3000, overlapping: { ranges: 2, bytes: 0x1100 } });
    expect(summarizeTarget(t).memory.overlapping).toEqual({ ranges: 2, bytes: 0x1100 });
  });

  it("the OS line carries the update revision", () => {
    expect(revisionOf(22000, "282", undefined)).toBe(282);
    expect(revisionOf(16299, undefined, "16299.637.amd64fre.rs3_release_svc.180808-1748")).toBe(637);
    expect(revisionOf(7601, "Service Pack 1", "6.1.7601.18015 (win7sp1_gdr.121129-1432)")).toBe(18015);
    expect(revisionOf(26200, undefined, "26100.1.amd64fre.ge_release.240331-1435")).toBeUndefined();
    expect(osVersionText({ major: 10, minor: 0, build: 22000, servicePack: "282", revision: 282 })).toBe("Windows 10.0.22000.282");
    expect(osVersionText({ major: 6, minor: 1, build: 7601, servicePack: "Service Pack 1" })).toBe("Windows 6.1.7601 Service Pack 1");
  });
});
