import {
  BufferSource,
  type ByteSource,
  Diagnostics,
  DumpFormatError,
  FileSource,
  InputError,
  LeakscopeError,
  type Target,
  minidumpOf,
  openMinidumpFile,
  openMinidumpTarget,
  parseMinidump,
} from "@leakscope/core";
import { MinidumpBuilder, MinidumpStream, sharedFile } from "@leakscope/test-utils";
import fc from "fast-check";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "leakscope-hostile-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Open through FileSource + openMinidumpTarget, closing the file on every path. */
function openPath(path: string): Target {
  const src = FileSource.open(path);
  try {
    return openMinidumpTarget(src);
  } catch (e) {
    src.close();
    throw e;
  }
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

const codes = (d: Diagnostics): string[] => d.list().map((x) => x.code);

/** A source that counts the bytes handed out, to show reads are bounded by the file, not by claims. */
class CountingSource implements ByteSource {
  readonly name = "counting.dmp";
  readonly size: number;
  bytesRead = 0;
  calls = 0;
  private readonly inner: BufferSource;
  constructor(bytes: Uint8Array) {
    this.inner = new BufferSource(bytes, this.name);
    this.size = bytes.length;
  }
  window(offset: number, out: Parameters<ByteSource["window"]>[1]): boolean {
    this.calls++;
    return this.inner.window(offset, out);
  }
  readInto(offset: number, dst: Uint8Array, dstOffset: number, length: number): number {
    this.calls++;
    const n = this.inner.readInto(offset, dst, dstOffset, length);
    this.bytesRead += n;
    return n;
  }
  close(): void {}
}

function sample(): { bytes: Uint8Array; layout: ReturnType<MinidumpBuilder["buildWithLayout"]>["layout"] } {
  const b = new MinidumpBuilder().module({ path: "C:\\a\\app.exe", base: 0x400000, size: 0x10000 }).memoryInfo({ base: 0x10000, size: 0x1000 });
  b.wow64Process({ wow64Context: { eip: 0x401000 } });
  b.handles([{ handle: 4, typeName: "Event" }]).miscInfo({ pid: 1, buildString: "x" });
  return b.buildWithLayout();
}

function streamOf(layout: ReturnType<typeof sample>["layout"], type: number) {
  const s = layout.streams.find((x) => x.type === type);
  if (!s) throw new Error(`no stream ${type}`);
  return s;
}

describe("hostile inputs through FileSource.open + openMinidumpTarget", () => {
  it("empty file -> InputError INPUT_EMPTY", () => {
    const p = join(tempDir(), "empty.dmp");
    writeFileSync(p, new Uint8Array(0));
    const e = thrown(() => openPath(p));
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).code).toBe("INPUT_EMPTY");
  });

  it("random bytes -> InputError INPUT_UNKNOWN_FORMAT at offset 0", () => {
    const p = join(tempDir(), "random.dmp");
    const bytes = new Uint8Array(4096);
    let x = 12345;
    for (let i = 0; i < bytes.length; i++) bytes[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    bytes[0] = 0x4d; // 'M' but not MDMP
    writeFileSync(p, bytes);
    const e = thrown(() => openPath(p)) as InputError;
    expect(e).toBeInstanceOf(InputError);
    expect(e.code).toBe("INPUT_UNKNOWN_FORMAT");
    expect(e.fileOffset).toBe(0);
  });

  it("a directory -> InputError INPUT_IS_DIRECTORY", () => {
    const e = thrown(() => openPath(tempDir())) as InputError;
    expect(e).toBeInstanceOf(InputError);
    expect(e.code).toBe("INPUT_IS_DIRECTORY");
  });

  it("a missing file -> InputError INPUT_NOT_FOUND (openMinidumpFile too)", () => {
    const p = join(tempDir(), "nope.dmp");
    expect((thrown(() => openPath(p)) as InputError).code).toBe("INPUT_NOT_FOUND");
    expect((thrown(() => openMinidumpFile(p)) as InputError).code).toBe("INPUT_NOT_FOUND");
  });

  it("MDMP followed by too few bytes -> DumpFormatError MINIDUMP_HEADER_TRUNCATED", () => {
    const p = join(tempDir(), "short.dmp");
    writeFileSync(p, new Uint8Array([0x4d, 0x44, 0x4d, 0x50, 0x93, 0xa7, 0, 0]));
    const e = thrown(() => openPath(p)) as DumpFormatError;
    expect(e).toBeInstanceOf(DumpFormatError);
    expect(e.code).toBe("MINIDUMP_HEADER_TRUNCATED");
    expect(e.fileOffset).toBe(8);
  });
});

describe("hostile structures", () => {
  it("directory RVA past the end -> DumpFormatError MINIDUMP_DIRECTORY_OUT_OF_BOUNDS with its offset", () => {
    const { bytes } = sample();
    new DataView(bytes.buffer).setUint32(12, 0xfffffff0, true);
    const e = thrown(() => openMinidumpTarget(new BufferSource(bytes))) as DumpFormatError;
    expect(e).toBeInstanceOf(DumpFormatError);
    expect(e.code).toBe("MINIDUMP_DIRECTORY_OUT_OF_BOUNDS");
    expect(e.fileOffset).toBe(0xfffffff0);
  });

  it("stream count 0xFFFFFFFF: the entries present are read, MINIDUMP_DIRECTORY_TRUNCATED", () => {
    const b = new MinidumpBuilder().systemInfo({ arch: "x64", build: 7777 });
    const bytes = b.build();
    const v = new DataView(bytes.buffer);
    // Move the directory to the last 12 bytes of the file so only one entry fits.
    const entry = bytes.slice(32, 44);
    const grown = new Uint8Array(bytes.length + 12);
    grown.set(bytes);
    grown.set(entry, bytes.length);
    const gv = new DataView(grown.buffer);
    gv.setUint32(8, 0xffffffff, true);
    gv.setUint32(12, bytes.length, true);
    const d = new Diagnostics();
    const file = parseMinidump(new BufferSource(grown), d);
    expect(file.streams).toHaveLength(1);
    expect(file.systemInfo?.build).toBe(7777);
    expect(codes(d)).toEqual(["MINIDUMP_DIRECTORY_TRUNCATED"]);
    expect(v.getUint32(0, true)).toBe(0x504d444d);
  });

  it("stream RVA past the end: that stream is skipped with its offset, the others read", () => {
    const { bytes, layout } = sample();
    const ml = streamOf(layout, MinidumpStream.ModuleList);
    new DataView(bytes.buffer).setUint32(ml.directoryOffset + 8, 0x7ffffff0, true);
    const t = openMinidumpTarget(new BufferSource(bytes));
    const d = t.diagnostics.list().find((x) => x.code === "MINIDUMP_STREAM_OUT_OF_BOUNDS")!;
    expect(d.location?.fileOffset).toBe(0x7ffffff0);
    expect(d.location?.where).toBe("ModuleList");
    expect(t.modules).toEqual([]);
    expect(minidumpOf(t)!.streams.find((s) => s.name === "ModuleList")!.status).toBe("out-of-bounds");
    expect(t.threads).toHaveLength(1);
    expect(t.arch).toBe("x64");
    expect(t.diagnostics.has("MINIDUMP_NO_MODULES")).toBe(true);
  });

  it("stream size past the end: truncated to the file", () => {
    const { bytes, layout } = sample();
    const hd = streamOf(layout, MinidumpStream.HandleData);
    new DataView(bytes.buffer).setUint32(hd.directoryOffset + 4, 0xffffff00, true);
    const t = openMinidumpTarget(new BufferSource(bytes));
    expect(minidumpOf(t)!.streams.find((s) => s.name === "HandleData")!.status).toBe("truncated");
    expect(minidumpOf(t)!.handleData!.handles[0]!.typeName).toBe("Event");
    expect(t.diagnostics.has("MINIDUMP_STREAM_OUT_OF_BOUNDS")).toBe(true);
  });

  it("0xFFFFFFFF modules: reads only what the file holds", () => {
    const { bytes, layout } = sample();
    const ml = streamOf(layout, MinidumpStream.ModuleList);
    new DataView(bytes.buffer).setUint32(ml.rva, 0xffffffff, true);
    const src = new CountingSource(bytes);
    const d = new Diagnostics();
    const file = parseMinidump(src, d);
    expect(file.modules.length).toBeLessThanOrEqual(Math.floor(bytes.length / 108));
    expect(file.modules.length).toBeGreaterThanOrEqual(7); // the real entries are still there
    expect(src.bytesRead).toBeLessThan(bytes.length * 4);
    expect(src.calls).toBeLessThan(10_000);
    expect(d.has("MINIDUMP_STREAM_TRUNCATED")).toBe(true);
  });

  it("Memory64List claiming 2^60 ranges and a 2^60-byte range: cut to the file, bounded reads", () => {
    const { bytes, layout } = sample();
    const m64 = streamOf(layout, MinidumpStream.Memory64List);
    const v = new DataView(bytes.buffer);
    v.setBigUint64(m64.rva, 1n << 60n, true); // NumberOfMemoryRanges
    v.setBigUint64(m64.rva + 16 + 8, 1n << 60n, true); // first range's DataSize
    const src = new CountingSource(bytes);
    const t = openMinidumpTarget(src);
    expect(t.diagnostics.has("MINIDUMP_STREAM_TRUNCATED")).toBe(true);
    expect(t.diagnostics.has("MINIDUMP_MEMORY_OUT_OF_BOUNDS")).toBe(true);
    const mem = minidumpOf(t)!.memory;
    expect(mem).toHaveLength(1); // the huge first range swallows the rest of the file
    expect(mem[0]!.fileOffset + mem[0]!.size).toBe(bytes.length);
    expect(src.bytesRead).toBeLessThan(bytes.length * 4);
  });

  it("MemoryInfoList claiming 2^40 entries, HandleData with a zero descriptor size", () => {
    const { bytes, layout } = sample();
    const v = new DataView(bytes.buffer);
    const mi = streamOf(layout, MinidumpStream.MemoryInfoList);
    v.setBigUint64(mi.rva + 8, 1n << 40n, true);
    const hd = streamOf(layout, MinidumpStream.HandleData);
    v.setUint32(hd.rva + 4, 0, true);
    const d = new Diagnostics();
    const file = parseMinidump(new BufferSource(bytes), d);
    expect(file.memoryInfo.length).toBeLessThanOrEqual(Math.floor(bytes.length / 48));
    expect(file.handleData).toBeUndefined();
    expect(codes(d).sort()).toEqual(["MINIDUMP_STREAM_MALFORMED", "MINIDUMP_STREAM_TRUNCATED"]);
  });

  it("module name with an absurd length and a context past the end", () => {
    const b = new MinidumpBuilder()
      .systemInfo({ arch: "x64" })
      .module({ path: "C:\\x.dll", base: 0x10000000, size: 0x1000 })
      .thread({ id: 1, teb: 0, context: { arch: "x64", registers: {} } });
    const { bytes, layout } = b.buildWithLayout();
    const v = new DataView(bytes.buffer);
    const ml = streamOf(layout, MinidumpStream.ModuleList);
    const nameRva = v.getUint32(ml.rva + 4 + 20, true);
    v.setUint32(nameRva, 0xffffffff, true);
    const tl = streamOf(layout, MinidumpStream.ThreadList);
    v.setUint32(tl.rva + 4 + 44, bytes.length + 100, true);
    const d = new Diagnostics();
    const file = parseMinidump(new BufferSource(bytes), d);
    expect(file.modules).toHaveLength(1);
    expect(file.threads[0]!.context).toBeUndefined();
    expect(codes(d).sort()).toEqual(["MINIDUMP_CONTEXT_UNREADABLE", "MINIDUMP_STRING_OUT_OF_BOUNDS"]);
  });

  it("thousands of names pointing into one long run of bytes: a read budget, not gigabytes", () => {
    const n = 9000;
    const filler = 1 << 20;
    const list = new Uint8Array(4 + n * 108);
    const lv = new DataView(list.buffer);
    lv.setUint32(0, n, true);
    const b = new MinidumpBuilder().systemInfo({ arch: "x64" }).rawStream(MinidumpStream.ModuleList, list).rawStream(0x7777, new Uint8Array(filler).fill(0x7f));
    const { bytes, layout } = b.buildWithLayout();
    const ml = streamOf(layout, MinidumpStream.ModuleList);
    const fill = layout.streams.find((s) => s.type === 0x7777)!;
    const v = new DataView(bytes.buffer);
    for (let i = 0; i < n; i++) {
      v.setBigUint64(ml.rva + 4 + i * 108, BigInt(0x10000000 + i * 0x10000), true);
      v.setUint32(ml.rva + 4 + i * 108 + 20, fill.rva + i * 2, true); // every name claims 0x7f7f7f7f bytes
    }
    const src = new CountingSource(bytes);
    const d = new Diagnostics();
    const file = parseMinidump(src, d);
    expect(file.modules).toHaveLength(n);
    expect(d.has("MINIDUMP_READ_BUDGET_EXCEEDED")).toBe(true);
    expect(src.bytesRead).toBeLessThan(3 * bytes.length + (17 << 20));
  });

  it("sign-extended 32-bit addresses in an x86 dump are folded to 32 bits", () => {
    const b = new MinidumpBuilder({ memoryList: "MemoryList" }).systemInfo({ arch: "x86" }).memory(0xffffffff80001000n, new Uint8Array([5, 6, 7, 8]));
    b.module({ path: "hi.dll", base: 0xffffffff90000000n, size: 0x1000 });
    const t = openMinidumpTarget(new BufferSource(b.build()));
    expect(t.views[0]!.space.u32(0x80001000)).toBe(0x08070605);
    expect(t.modules[0]!.base).toBe(0x90000000);
  });

  it("unexpected version, a duplicate stream and an unsupported architecture are reported, not fatal", () => {
    const b = new MinidumpBuilder({ version: 0x1234 })
      .systemInfo({ arch: 6, build: 3790 }) // IA-64
      .rawStream(7, new Uint8Array(56))
      .module({ path: "C:\\x\\big.dll", base: 0x100000000, size: 0x1000 });
    const t = openMinidumpTarget(new BufferSource(b.build()));
    expect(codes(t.diagnostics).sort()).toEqual([
      "MINIDUMP_NO_MEMORY",
      "MINIDUMP_NO_THREADS",
      "MINIDUMP_STREAM_DUPLICATE",
      "MINIDUMP_UNEXPECTED_VERSION",
      "MINIDUMP_UNKNOWN_ARCH",
    ]);
    expect(t.arch).toBe("ia64");
    expect(t.os.build).toBe(3790); // the first SystemInfo wins
    expect(minidumpOf(t)!.streams.map((s) => s.status)).toEqual(["ok", "ok", "duplicate"]);
    expect(t.views[0]!.bitness).toBe(64);
  });

  it("a non-canonical range address is skipped with MINIDUMP_INVALID_ADDRESS", () => {
    const b = new MinidumpBuilder({ memoryList: "MemoryList" }).systemInfo({ arch: "x64" }).memory(0x8000000000001000n, new Uint8Array(8)).memory(0x2000, new Uint8Array(8));
    const t = openMinidumpTarget(new BufferSource(b.build()));
    expect(t.diagnostics.has("MINIDUMP_INVALID_ADDRESS")).toBe(true);
    expect(t.memory.ranges).toBe(1);
  });
});

const full = sharedFile("dumps/user/lldb-fizzbuzz-wow64-win7sp1-full.dmp");
const sigsegv = sharedFile("dumps/user/lldb-sigsegv-x64-win10-1709.dmp");
const noheap = sharedFile("dumps/user/lldb-fizzbuzz-x86view-win7sp1-noheap.dmp");
const syzygy = sharedFile("dumps/user/syzygy-notepad-x86view-win7sp1-indirect.dmp");

describe("real dumps truncated", () => {
  it.skipIf(!full.present)("lldb-fizzbuzz-wow64 cut at several points: an error with a code, or a partial target with diagnostics", () => {
    const bytes = new Uint8Array(readFileSync(full.path));
    const seen = new Map<number, string>();
    for (const cut of [1, 4, 20, 31, 32, 40, 100, 200, 1000, 4096, 12000, 100_000, 1_000_000, 5_000_000, bytes.length - 1]) {
      const src = new BufferSource(bytes.subarray(0, cut), `cut-${cut}.dmp`);
      try {
        const t = openMinidumpTarget(src);
        seen.set(cut, `ok:${t.memory.ranges}:${[...new Set(t.diagnostics.list().map((d) => d.code))].sort().join(",")}`);
      } catch (e) {
        expect(e).toBeInstanceOf(LeakscopeError);
        expect(e instanceof InputError || e instanceof DumpFormatError).toBe(true);
        seen.set(cut, `throw:${(e as LeakscopeError).code}`);
      }
    }
    expect(seen.get(1)).toBe("throw:INPUT_UNKNOWN_FORMAT");
    expect(seen.get(20)).toBe("throw:MINIDUMP_HEADER_TRUNCATED");
    expect(seen.get(32)).toBe("throw:MINIDUMP_DIRECTORY_OUT_OF_BOUNDS");
    expect(seen.get(100)).toMatch(/^ok:0:.*MINIDUMP_DIRECTORY_TRUNCATED/);
    // Cut inside the memory: the ranges before the cut are kept, the last one shortened.
    const mid = seen.get(5_000_000)!;
    expect(mid).toMatch(/^ok:\d+:.*MINIDUMP_MEMORY_OUT_OF_BOUNDS/);
    const kept = Number(mid.split(":")[1]);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(107);
    expect(seen.get(bytes.length - 1)).toMatch(/^ok:107:MINIDUMP_MEMORY_OUT_OF_BOUNDS$/);
  });
});

describe("property: mutated dumps never throw anything but InputError/DumpFormatError", () => {
  const seeds: Uint8Array[] = [sample().bytes];
  {
    const b = new MinidumpBuilder({ memoryList: "MemoryList", threadList: "ThreadExList" });
    b.nativeProcess({ bitness: 32 });
    b.exception({ threadId: 1, code: 0xc0000005, address: 0x401000, context: { arch: "x86", registers: {} } }).comment("c").comment("w", { wide: true });
    b.unloadedModule({ path: "u.dll", base: 0x1000000, size: 0x1000 }).threadInfo({ threadId: 1 });
    seeds.push(b.build());
  }
  for (const f of [sigsegv, noheap, syzygy]) if (f.present) seeds.push(new Uint8Array(readFileSync(f.path)));

  const mutation = fc.record({
    seed: fc.nat(),
    cut: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    flips: fc.array(fc.record({ where: fc.double({ min: 0, max: 1, noNaN: true }), bit: fc.integer({ min: 0, max: 7 }), region: fc.constantFrom("head", "any") }), {
      maxLength: 16,
    }),
    words: fc.array(fc.record({ where: fc.double({ min: 0, max: 1, noNaN: true }), value: fc.constantFrom(0, 0xffffffff, 0x7fffffff, 0x80000000, 1) }), { maxLength: 4 }),
  });

  it("terminates and throws only LeakscopeError input errors", () => {
    fc.assert(
      fc.property(mutation, (m) => {
        const base = seeds[m.seed % seeds.length]!;
        const bytes = base.slice(0, m.cut === undefined ? base.length : Math.floor(base.length * m.cut));
        const headLen = Math.min(bytes.length, 1024);
        for (const f of m.flips) {
          const span = f.region === "head" ? headLen : bytes.length;
          if (span === 0) continue;
          const i = Math.min(span - 1, Math.floor(f.where * span));
          bytes[i]! ^= 1 << f.bit;
        }
        const v = new DataView(bytes.buffer);
        for (const w of m.words) {
          if (headLen < 4) continue;
          const i = Math.min(headLen - 4, Math.floor(w.where * headLen)) & ~3;
          v.setUint32(i, w.value, true);
        }
        try {
          const t = openMinidumpTarget(new BufferSource(bytes));
          // Touch what consumers touch.
          for (const view of t.views) if (view.peb !== undefined) view.space.u32(view.peb);
          t.diagnostics.list();
        } catch (e) {
          if (!(e instanceof InputError || e instanceof DumpFormatError)) throw e;
        }
      }),
      { numRuns: 500, seed: 20261122 },
    );
  });
});
