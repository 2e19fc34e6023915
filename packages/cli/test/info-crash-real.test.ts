import { validateReport } from "@leakscope/core";
import { sharedFile } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { runCli } from "../src/index.js";
import { capture } from "./helpers.js";

async function run(argv: string[]) {
  const c = capture();
  const code = await runCli(argv, { io: c.io });
  return { code, out: c.out(), err: c.err() };
}

async function info(path: string) {
  const json = await run(["info", path, "--json"]);
  expect(json.code, json.err).toBe(0);
  const report = JSON.parse(json.out);
  expect(validateReport(report).errors).toEqual([]);
  const text = await run(["info", path]);
  expect(text.code, text.err).toBe(0);
  return { t: report.target, text: text.out };
}

const kernel = sharedFile("dumps/kernel/rizin-triage_x64.dmp");
const user = (name: string) => sharedFile(`dumps/user/${name}`);
const sigsegv = user("lldb-sigsegv-x64-win10-1709.dmp");
const noheap = user("lldb-fizzbuzz-x86view-win7sp1-noheap.dmp");
const fizzbuzz = user("lldb-fizzbuzz-wow64-win7sp1-full.dmp");
const syzygy = user("syzygy-notepad-x86view-win7sp1-indirect.dmp");
const alpine = user("alpinefaction-rf-x86view-win11-indirect.dmp");
const tiny = user("breakpad-tiny-cet-x64-win11-22000-peb-noheap.dmp");

describe("info: crash, process and machine facts of the real dumps (shared/dumps READMEs)", () => {
  it.skipIf(!kernel.present)("kernel triage: bugcheck 0x1000007E, its parameters, amdppm.sys, the thread's context, drivers summarized", async () => {
    const { t, text } = await info(kernel.path);
    expect(t.crash).toMatchObject({
      source: "bugcheck",
      code: "0x1000007e",
      name: "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M",
      parameters: ["0xffffffffc0000005", "0xfffff8048b58334c", "0xffff850429891ee8", "0xffff850429891720"],
      address: "0xfffff8048b58334c",
      module: { name: "amdppm.sys", base: "0xfffff8048b580000", offset: "0x334c" },
      // the CONTEXT record of parameter 4 is captured: the thread stood at the faulting address
      ip: "0xfffff8048b58334c",
      contextSource: "bugcheck-context-record",
    });
    expect(t.crash.thread).toMatch(/^0xffff[0-9a-f]{12}$/);
    expect(t.crash.threadId).toBe(0x108);
    expect(t.threadCount).toBe(1);
    expect(t.threads[0]).toMatchObject({ id: 0x108, ip: "0xfffff8048b58334c" });
    expect(t.cpu.count).toBe(16);
    expect(t.process.uptimeSeconds).toBeCloseTo(3.7, 0);
    expect(t.dumpType).toMatch(/DumpType 4/);
    expect(t.moduleCount).toBe(151);
    expect(text).toContain("0x1000007E");
    expect(text).toContain("0xfffff8048b58334c");
    expect(text).toContain("amdppm.sys+0x334c");
    expect(text).toContain("OS:       Windows 10.0.19041");
    expect(text).not.toMatch(/Threads: 0/);
    expect(text).toMatch(/and \d+ more \(--modules lists them all\)/);
    expect(text.split("\n").length).toBeLessThan(40);
    const all = await run(["info", kernel.path, "--modules"]);
    expect(all.out).toContain("\\SystemRoot\\System32\\drivers\\amdppm.sys");
  });

  it.skipIf(!sigsegv.present)("lldb sigsegv: crash at 0x7ff7a13110d9 in sigsegv.exe from the exception record, not the thread list's wait", async () => {
    const { t, text } = await info(sigsegv.path);
    expect(t.crash).toMatchObject({ kind: "access-violation", code: "0xc0000005", address: "0x7ff7a13110d9", location: "sigsegv.exe+0x10d9", ip: "0x7ff7a13110d9" });
    const crashed = t.threads.find((x: { id: number }) => x.id === t.crash.threadId);
    expect(crashed.ip).toBe("0x7ff7a13110d9");
    expect(JSON.stringify(t)).not.toContain("0x7ffbddd70c24");
    expect(t.process.mainModule).toBe("sigsegv.exe");
    expect(t.os.revision).toBe(637);
    expect(text).toContain("OS:       Windows 10.0.16299.637");
    expect(text).toMatch(/Crash: +STATUS_ACCESS_VIOLATION \(0xc0000005\) at 0x7ff7a13110d9 \(sigsegv\.exe\+0x10d9\)/);
  });

  it.skipIf(!noheap.present)("fizzbuzz x86 view: pid 4440, the crash in fizzbuzz.exe, a 32-bit dump of a WoW64 process", async () => {
    const { t, text } = await info(noheap.path);
    expect(t.process.id).toBe(4440);
    expect(t.crash).toMatchObject({ kind: "access-violation", module: { name: "fizzbuzz.exe" } });
    expect(text).toContain("Arch:     x86 (32-bit dump of a WoW64 process");
    expect(text).not.toContain("32-bit process in a 64-bit dump");
  });

  it.skipIf(!fizzbuzz.present)("fizzbuzz full: pid 7836, 40 CPUs, one thread, no exception stream", async () => {
    const { t, text } = await info(fizzbuzz.path);
    expect(t.process.id).toBe(7836);
    expect(t.cpu.count).toBe(40);
    expect(t.threadCount).toBe(1);
    expect(t.crash).toBeUndefined();
    expect(text).not.toContain("Crash:");
    expect(text).toContain("Arch:     x64 (WoW64: 32-bit process in a 64-bit dump)");
  });

  it.skipIf(!syzygy.present)("syzygy notepad: pid 6408, 16 CPUs, its exception, build 6.1.7601.18015", async () => {
    const { t, text } = await info(syzygy.path);
    expect(t.process).toMatchObject({ id: 6408, mainModule: "notepad.exe" });
    expect(t.cpu.count).toBe(16);
    expect(t.crash.source).toBe("exception");
    expect(text).toContain("Windows 6.1.7601.18015 Service Pack 1");
  });

  it.skipIf(!alpine.present)("alpine faction: pid 5832, 16 CPUs, 41 threads, the crash in RF_120na.exe", async () => {
    const { t } = await info(alpine.path);
    expect(t.process).toMatchObject({ id: 5832, mainModule: "RF_120na.exe" });
    expect(t.cpu.count).toBe(16);
    expect(t.threadCount).toBe(41);
    expect(t.crash.module.name).toBe("RF_120na.exe");
  });

  it.skipIf(!tiny.present)("breakpad tiny: Windows 10.0.22000.282, 8 CPUs, one unloaded module by name", async () => {
    const { t, text } = await info(tiny.path);
    expect(t.cpu.count).toBe(8);
    expect(t.os).toMatchObject({ build: 22000, revision: 282 });
    expect(t.unloadedModules).toHaveLength(1);
    expect(t.unloadedModules[0].name).toMatch(/\.dll$/i);
    expect(text).toContain("OS:       Windows 10.0.22000.282");
    expect(text).not.toContain("10.0 build 22000 282");
    expect(text).toContain("Unloaded modules:\n");
  });
});
