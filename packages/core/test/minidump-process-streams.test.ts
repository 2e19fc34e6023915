import { BufferSource, Diagnostics, parseMinidump } from "@leakscope/core";
import {
  MinidumpBuilder,
  MinidumpProcessStream,
  minidumpProcessVmCounters,
  minidumpSystemMemoryInfo,
  sharedFile,
} from "@leakscope/test-utils";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const parse = (bytes: Uint8Array) => {
  const d = new Diagnostics();
  return { file: parseMinidump(new BufferSource(bytes, "t.dmp"), d), codes: d.list().map((x) => x.code) };
};

describe("ProcessVmCounters and SystemMemoryInfo streams", () => {
  it("reads revision 2 counters with their flags and revision 1 counters", () => {
    const b = new MinidumpBuilder();
    b.systemInfo({ arch: "x64", major: 10, minor: 0, build: 19045 });
    b.rawStream(MinidumpProcessStream.ProcessVmCounters, minidumpProcessVmCounters({ privateUsage: 0x5000000, pagefileUsage: 0x5100000, virtualSize: 0x80000000 }));
    b.rawStream(MinidumpProcessStream.SystemMemoryInfo, minidumpSystemMemoryInfo({ committedPages: 1234, commitLimit: 99999 }));
    const { file, codes } = parse(b.build());
    expect(codes).toEqual([]);
    expect(file.processVmCounters).toMatchObject({ revision: 2, flags: 0x1f, privateUsage: 0x5000000, pagefileUsage: 0x5100000, virtualSize: 0x80000000 });
    expect(file.systemMemoryInfo).toMatchObject({ pageSize: 0x1000, committedPages: 1234, commitLimit: 99999, numberOfProcessors: 8 });

    const b1 = new MinidumpBuilder();
    b1.rawStream(MinidumpProcessStream.ProcessVmCounters, minidumpProcessVmCounters({ revision: 1, privateUsage: 0x7000, pagefileUsage: 0x7000 }));
    expect(parse(b1.build()).file.processVmCounters).toMatchObject({ revision: 1, privateUsage: 0x7000, pagefileUsage: 0x7000 });
  });

  it("leaves out revision 2 groups its flags do not declare", () => {
    const b = new MinidumpBuilder();
    b.rawStream(MinidumpProcessStream.ProcessVmCounters, minidumpProcessVmCounters({ flags: 0x1, privateUsage: 0x5000 }));
    const c = parse(b.build()).file.processVmCounters!;
    expect(c.privateUsage).toBeUndefined();
    expect(c.virtualSize).toBeUndefined();
  });

  it("short or unknown-revision streams are a diagnostic with the stream's file offset, not a throw", () => {
    for (const bytes of [new Uint8Array(10), Uint8Array.of(7, 0, 0, 0, ...new Uint8Array(148)), new Uint8Array(0)]) {
      const b = new MinidumpBuilder();
      b.rawStream(MinidumpProcessStream.ProcessVmCounters, bytes);
      b.rawStream(MinidumpProcessStream.SystemMemoryInfo, bytes.subarray(0, 40));
      const { file, codes } = parse(b.build());
      expect(file.processVmCounters).toBeUndefined();
      expect(file.systemMemoryInfo).toBeUndefined();
      expect(codes).toContain("MINIDUMP_STREAM_MALFORMED");
    }
  });

  const sig = sharedFile("dumps/user/lldb-sigsegv-x64-win10-1709.dmp");
  it.skipIf(!sig.present)("the real Windows 10 1709 dump: counters and system memory as written", () => {
    const { file } = parse(new Uint8Array(readFileSync(sig.path)));
    expect(file.processVmCounters).toMatchObject({
      revision: 2,
      flags: 0x1f,
      pageFaultCount: 480,
      workingSetSize: 1814528,
      pagefileUsage: 364544,
      privateUsage: 364544,
      virtualSize: 45236224,
      privateWorkingSetSize: 45056,
    });
    expect(file.systemMemoryInfo).toMatchObject({
      pageSize: 4096,
      allocationGranularity: 65536,
      numberOfProcessors: 48,
      committedPages: 3648172,
      commitLimit: 19243783,
    });
  });
});
