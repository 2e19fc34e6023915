import { readFileSync } from "node:fs";
import {
  AllocFlags,
  BufferSource,
  Engine,
  InputError,
  type OpenRun,
  PluginOptionsError,
  validateReport,
} from "@leakscope/core";
import { sharedFile } from "@leakscope/test-utils";
import fc from "fast-check";
import { describe, expect, expectTypeOf, it } from "vitest";
import { type PoolUsageRowLike, type WindbgTextOptions, claimsWindbgText, poolRowsOf, windbgText } from "../src/index.js";
import type { LeakscopePlugin, Target } from "@leakscope/core";

async function open(bytes: Uint8Array, name: string, plugin = windbgText()): Promise<OpenRun> {
  const engine = new Engine({ plugins: [plugin] });
  return engine.openSource(new BufferSource(bytes, name), { command: "heaps", depth: "walk" });
}

const text = (lines: string[]): Uint8Array => new TextEncoder().encode(lines.join("\r\n") + "\r\n");

// file, format, arch, heaps, allocations, stacks, size groups, pool rows (last snapshot)
const SAMPLES: [string, string, string, number, number, number, number, number][] = [
  ["data/windbg-samples/address-summary-heap-s-stat_x86_win7era_zhblog2015.txt", "windbg-log", "x86", 5, 0, 0, 3, 0],
  ["data/windbg-samples/address-summary_x86_xp_aiocf.txt", "windbg-log", "unknown", 0, 0, 0, 0, 0],
  ["data/windbg-samples/gflag-heap-a_x64_win10-11_zhaolingxi.txt", "windbg-log", "x64", 4, 4, 0, 0, 0],
  ["data/windbg-samples/heap-a-m-s_x86_win7_aiocf.txt", "windbg-log", "x86", 10, 11, 0, 0, 0],
  ["data/windbg-samples/heap-a_x86_xp_msdocs.txt", "windbg-log", "x86", 1, 41, 0, 0, 0],
  ["data/windbg-samples/heap-l_x86_xp_msdocs.txt", "windbg-log", "x86", 10, 21, 0, 0, 0],
  ["data/windbg-samples/heap-p-a_pageheap-freed_x86_wow64_win11-24h2_freeimagecrash.txt", "windbg-log", "x86", 1, 1, 1, 0, 0],
  ["data/windbg-samples/heap-p-a_pageheap_x86_xp_aiocf.txt", "windbg-log", "x86", 1, 1, 1, 0, 0],
  ["data/windbg-samples/heap-s-a-x_x86_xp-vista_aiocf.txt", "windbg-log", "x86", 4, 9, 0, 0, 0],
  ["data/windbg-samples/heap-s-stat-flt-p-a_x64_win10_vs2015blog.txt", "windbg-log", "x64", 5, 16, 1, 20, 0],
  ["data/windbg-samples/heap-s-stat-flt_x86_wow64_win10-1709_zhnotes.txt", "windbg-log", "x86", 4, 10, 0, 20, 0],
  ["data/windbg-samples/heap-s_segmentheap_x64_win10-11_terminal16217.txt", "windbg-log", "x64", 6, 0, 0, 0, 0],
  ["data/windbg-samples/heap-stat-flt-p-a_pageheap_x64_win10-11_rublog.txt", "windbg-log", "x64", 7, 2, 2, 20, 0],
  ["data/windbg-samples/umdh-diff-log_msdocs.txt", "umdh-log", "unknown", 0, 0, 1, 0, 0],
  ["data/windbg-samples/umdh-log_x86_wow64_win7_pyumdh.txt", "umdh-log", "x86", 2, 9, 5, 0, 0],
  ["data/windbg-samples/umdh-v_x86_vista-7_aiocf.txt", "umdh-log", "unknown", 0, 0, 1, 0, 0],
  ["data/poolused-samples/A_msdocs_default_oldformat.txt", "poolused-log", "unknown", 0, 0, 0, 0, 35],
  ["data/poolused-samples/B_msdocs_flag4_oldformat.txt", "poolused-log", "unknown", 0, 0, 0, 0, 5],
  ["data/poolused-samples/C_jellykuo_flag2_livedump.txt", "poolused-log", "unknown", 0, 0, 0, 0, 8],
  ["data/poolused-samples/E_notes_flag2_flag4.txt", "poolused-log", "unknown", 0, 0, 0, 0, 7],
  ["data/poolused-samples/F_hevd_flag1_tag_verbose.txt", "poolused-log", "unknown", 0, 0, 0, 0, 1],
  ["data/poolused-samples/G_blog_verbose_snippet.txt", "poolused-log", "unknown", 0, 0, 0, 0, 4],
];

describe("every shared sample opens through the engine", () => {
  for (const [rel, format, arch, heaps, allocations, stacks, groups, poolRows] of SAMPLES) {
    const f = sharedFile(rel);
    it.skipIf(!f.present)(`${rel.split("/").pop()}: ${format}, ${heaps} heaps, ${allocations} blocks, ${stacks} stacks`, async () => {
      const o = await open(readFileSync(f.path), rel);
      try {
        const { run, report } = o;
        const t = run.target;
        expect([t.kind, t.format, t.arch]).toEqual(["text", format, arch]);
        expect(run.heaps).toHaveLength(heaps);
        expect(run.heaps.every((h) => h.walker === "windbg-text" && h.foundBy.includes("log") && h.view.bitness === h.bitness)).toBe(true);
        expect(run.allocations.count).toBe(allocations);
        expect(run.data.traces?.stacks ?? []).toHaveLength(stacks);
        expect(run.data.traces?.stackOf).toHaveLength(allocations);
        expect(run.data.sizeGroups ?? []).toHaveLength(groups);
        expect(poolRowsOf(t)).toHaveLength(poolRows);
        // Every busy block is counted in its heap's stats; nothing is lost between walk and stats.
        const busy = run.heaps.reduce((n, h) => n + h.stats.busy.count, 0);
        let userBlocks = 0;
        for (let i = 0; i < run.allocations.count; i++) {
          const fl = run.allocations.flags(i);
          if ((fl & AllocFlags.BUSY) !== 0 && (fl & (AllocFlags.INTERNAL | AllocFlags.HOST)) === 0) userBlocks++;
        }
        expect(busy).toBe(userBlocks);
        expect(validateReport(report)).toEqual({ valid: true, errors: [] });
      } finally {
        o.close();
      }
    });
  }

  const umdh = sharedFile("data/windbg-samples/umdh-log_x86_wow64_win7_pyumdh.txt");
  it.skipIf(!umdh.present)("UMDH log: OS version, modules, records with their BackTraceID stacks", async () => {
    const o = await open(readFileSync(umdh.path), "umdh.log");
    try {
      const { run } = o;
      const t = run.target;
      expect([t.os.major, t.os.minor]).toEqual([6, 1]);
      expect(t.views[0]?.modules).toHaveLength(17);
      expect(t.views[0]?.modules[0]).toMatchObject({ name: "app.exe", base: 0x400000, size: 0x11d000, bitness: 32 });
      const i = run.allocations.findContaining(0x2e9fa20);
      expect(i).toBeGreaterThanOrEqual(0);
      expect([run.allocations.userAddress(i), run.allocations.requestedSize(i), run.allocations.blockSize(i)]).toEqual([0x2e9fa20, 0x64, 0x64 + 0x1c]);
      const s = run.data.traces!.stacks[run.data.traces!.stackOf[i]!]!;
      expect(s.frames.slice(0, 3)).toEqual([0x776cdd82, 0x7768ec66, 0x7768ee70]);
    } finally {
      o.close();
    }
  });
});

describe("synthetic logs", () => {
  it("does not claim a minidump even when its bytes contain WinDbg text", async () => {
    const dump = new Uint8Array(4096);
    dump.set(new TextEncoder().encode("MDMP"), 0);
    dump.set(new TextEncoder().encode("\n0:000> !heap -s\n_HEAP @ 7a0000\n"), 64);
    expect(claimsWindbgText(dump)).toBe(false);
    const page = new Uint8Array(dump);
    page.set(new TextEncoder().encode("PAGEDU64"), 0);
    expect(claimsWindbgText(page)).toBe(false);
    await expect(open(dump, "x.dmp")).rejects.toBeInstanceOf(InputError);
    expect(claimsWindbgText(new TextEncoder().encode("0:000> !heap -s\n"))).toBe(true);
  });

  it("merges a block listed by -flt, -x and -p -a into one allocation carrying the stack", async () => {
    const o = await open(
      text([
        "0:000> !heap -flt s 3fff",
        "    _HEAP @ 7a0000",
        "      HEAP_ENTRY Size Prev Flags    UserPtr UserSize - state",
        "        007b4d80 0803 001f  [00]   007b4d98    03fff - (busy)",
        "        007b8d98 0803 0803  [00]   007b8db0    03fff - (busy)",
        "0:000> !heap -p -a 7b4d98",
        "    address 007b4d98 found in",
        "    _HEAP @ 7a0000",
        "      HEAP_ENTRY Size Prev Flags    UserPtr UserSize - state",
        "        007b4d80 0803 0000  [00]   007b4d98    03fff - (busy)",
        "        77a6e4d6 ntdll!RtlAllocateHeap+0x00000274",
        "        00f81069 App!main+0x00000069",
        "0:000> !heap -flt s 3fff",
        "    _HEAP @ 7a0000",
        "      HEAP_ENTRY Size Prev Flags    UserPtr UserSize - state",
        "        007b4d80 0803 001f  [00]   007b4d98    03fff - (busy)",
        "        007b8d98 0803 0803  [00]   007b8db0    03fff - (busy)",
      ]),
      "s.log",
    );
    try {
      const { run } = o;
      expect(run.target.arch).toBe("x86");
      expect(run.heaps.map((h) => [h.address, h.bitness])).toEqual([[0x7a0000, 32]]);
      expect(run.allocations.count).toBe(2);
      expect(run.heaps[0]!.stats.busy).toEqual({ count: 2, bytes: 2 * 0x3fff });
      const t = run.data.traces!;
      expect(t.status).toBe("present");
      expect(Array.from(t.stackOf)).toEqual([0, -1]);
      expect(t.stacks[0]!.text?.map((f) => [f.module, f.symbol, f.offset])).toEqual([
        ["ntdll", "RtlAllocateHeap", 0x274],
        ["App", "main", 0x69],
      ]);
      expect(t.stacks[0]!.frames).toEqual([0x77a6e4d6, 0x00f81069]);
    } finally {
      o.close();
    }
  });

  it("reports a listed block that names no heap instead of dropping it silently", async () => {
    const o = await open(
      text([
        "0:000> !heap -flt s 20",
        "      HEAP_ENTRY Size Prev Flags    UserPtr UserSize - state",
        "        029d1b78 0005 0000  [00]   029d1b80    00020 - (busy)",
      ]),
      "noheap.log",
    );
    try {
      expect(o.run.allocations.count).toBe(0);
      const d = o.report.diagnostics.filter((x) => x.code === "WINDBG_TEXT_BLOCK_NO_HEAP");
      expect(d).toHaveLength(1);
      expect(d[0]?.location?.line).toBe(3);
    } finally {
      o.close();
    }
  });

  it("reads at most maxBytes and says so", async () => {
    const lines = ["0:000> !heap -flt s 20", "    _HEAP @ 7a0000", "      HEAP_ENTRY Size Prev Flags    UserPtr UserSize - state"];
    for (let i = 0; i < 200; i++) {
      const e = (0x800000 + i * 0x30).toString(16).padStart(8, "0");
      const u = (0x800008 + i * 0x30).toString(16).padStart(8, "0");
      lines.push(`        ${e} 0006 0006  [00]   ${u}    00020 - (busy)`);
    }
    const bytes = text(lines);
    const full = await open(bytes, "full.log");
    expect(full.run.allocations.count).toBe(200);
    full.close();
    const cut = await open(bytes, "cut.log", windbgText({ maxBytes: 2048 }));
    try {
      expect(cut.run.allocations.count).toBeGreaterThan(0);
      expect(cut.run.allocations.count).toBeLessThan(200);
      const d = cut.report.diagnostics.find((x) => x.code === "WINDBG_TEXT_INPUT_LIMIT");
      expect(d?.location?.fileOffset).toBe(2048);
    } finally {
      cut.close();
    }
  });

  it("validates its options", () => {
    expect(() => windbgText({ maxBytes: 0 })).toThrow(PluginOptionsError);
    // @ts-expect-error options the schema refuses do not compile either
    expect(() => windbgText({ nope: 1 })).toThrow(PluginOptionsError);
    expect(windbgText().name).toBe("windbg-text");
    expectTypeOf(windbgText).parameter(0).toExtend<WindbgTextOptions | Record<string, unknown> | undefined>();
    expectTypeOf(windbgText()).toEqualTypeOf<LeakscopePlugin<unknown>>();
    expectTypeOf(poolRowsOf).parameters.toEqualTypeOf<[Target, (number | undefined)?]>();
    expectTypeOf(poolRowsOf).returns.toEqualTypeOf<PoolUsageRowLike[]>();
  });

  it("opens a poolmon snapshot: Nonp and Paged rows of a tag merge into one pool row", async () => {
    const o = await open(
      text([
        " Memory:16651724K Avail: 9234812K  PageFlts:  3142   InRam Krnl:12540K P:345680K",
        " Commit:9356236K Limit:19142092K Peak:9825432K            Pool N:301776K P:496888K",
        " Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc",
        "",
        " AleE Nonp     10417 (   3)      5183 (   1)     5234  2528032 (  966)     483",
        " AleE Paged      100 (   0)        40 (   0)       60     6000 (    0)     100",
        " CM31 Paged    49131 (   0)     41080 (   0)     8051 41127936 (    0)    5108",
      ]),
      "poolmon.txt",
    );
    try {
      const t = o.run.target;
      expect([t.format, t.arch, t.views.length, o.run.heaps.length]).toEqual(["poolmon", "unknown", 0, 0]);
      expect(poolRowsOf(t)).toEqual([
        { tag: "AleE", nonPagedAllocs: 5234, nonPagedFrees: 0, nonPagedBytes: 2528032, pagedAllocs: 60, pagedFrees: 0, pagedBytes: 6000 },
        { tag: "CM31", nonPagedAllocs: 0, nonPagedFrees: 0, nonPagedBytes: 0, pagedAllocs: 8051, pagedFrees: 0, pagedBytes: 41127936 },
      ]);
      expect(o.run.data.traces?.status).toBe("unsupported");
    } finally {
      o.close();
    }
  });

  it("UMDH records sharing a BackTraceID share one stack", async () => {
    const o = await open(
      text([
        "// UMDH: version 6.1.7650.0: Logtime 2012-04-30 12:09 - Machine=M - PID=7696",
        "// OS version 10.0 ",
        "*- - - - - - - - - - Start of data for heap @ 2E60000 - - - - - - - - - -",
        "",
        "REQUESTED bytes + OVERHEAD at ADDRESS by BackTraceID",
        "     STACK if not already dumped.",
        "",
        "*- - - - - - - - - - Heap 2E60000 Hogs - - - - - - - - - -",
        "",
        "64 bytes + 1C at 2E9FA20 by BackTrace18D0A0D0",
        "\t776CDD82",
        "\t7768EC66",
        "",
        "64 bytes + 1C at 2EA0000 by BackTrace18D0A0D0",
        "",
        "20 bytes + 8 at 2EB0000 by BackTrace00000001",
        "\t776CDD82",
        "",
      ]),
      "u.log",
    );
    try {
      const { run } = o;
      expect([run.target.format, run.target.os.major, run.target.os.minor]).toEqual(["umdh-log", 10, 0]);
      expect(run.heaps.map((h) => h.address)).toEqual([0x2e60000]);
      expect(run.allocations.count).toBe(3);
      const t = run.data.traces!;
      expect(Array.from(t.stackOf)).toEqual([0, 0, 1]);
      expect(t.stacks.map((s) => s.frames)).toEqual([[0x776cdd82, 0x7768ec66], [0x776cdd82]]);
      expect(run.heaps[0]!.stats.busy).toEqual({ count: 3, bytes: 0x64 * 2 + 0x20 });
    } finally {
      o.close();
    }
  });

  it("reads a UTF-16LE log (WinDbg .logopen /u) like the UTF-8 one", async () => {
    const lines = [
      "0:000> !heap -flt s 3fff",
      "    _HEAP @ 7a0000",
      "      HEAP_ENTRY Size Prev Flags    UserPtr UserSize - state",
      "        007b4d80 0803 001f  [00]   007b4d98    03fff - (busy)",
    ];
    const body = lines.join("\r\n") + "\r\n";
    const bytes = new Uint8Array(2 + body.length * 2);
    bytes[0] = 0xff;
    bytes[1] = 0xfe;
    for (let i = 0; i < body.length; i++) {
      bytes[2 + i * 2] = body.charCodeAt(i) & 0xff;
      bytes[3 + i * 2] = body.charCodeAt(i) >> 8;
    }
    const o = await open(bytes, "u16.log");
    try {
      expect(o.run.target.data.windbg?.encoding).toBe("utf-16le");
      expect(o.run.heaps.map((h) => [h.address, h.bitness])).toEqual([[0x7a0000, 32]]);
      expect([o.run.allocations.count, o.run.allocations.requestedSize(0)]).toEqual([1, 0x3fff]);
    } finally {
      o.close();
    }
  });

  it("never throws on shuffled, cut and corrupted fragments of real output", async () => {
    const fragments = [
      "0:000> !heap -s",
      "0:000:x86> !heap -flt s 20",
      "    _HEAP @ 7a0000",
      "    _HEAP @ 2049b870000",
      "    _DPH_HEAP_ROOT @ 151000",
      "      HEAP_ENTRY Size Prev Flags    UserPtr UserSize - state",
      "        007b4d80 0803 001f  [00]   007b4d98    03fff - (busy)",
      "        000002049bf29260 0403 0403  [00]   000002049bf29290    03fff - (busy)",
      "        7ffe77e7b80c ntdll!RtlpCallInterceptRoutine+0x00000000000002ac",
      "0:000> !heap -p -a 7b4d98",
      "    address 007b4d98 found in",
      "007a0000 08000002    4296   3892   4084    392    57     3    0      0   LFH",
      "64 bytes + 1C at 2E9FA20 by BackTrace18D0A0D0",
      "\t776CDD82",
      "*- - - - - - - - - - Start of data for heap @ 2E60000 - - - - - - - - - -",
      " Proc    156248  579970176         0         0\tProcess objects , Binary: nt!ps",
      "kd> !poolused 2",
      "    size     #blocks     total     ( %) (percent of total busy bytes)",
      "    40000 1 - 40000  (18.15)",
      "heap @ 028a0000",
      ".effmach x86",
    ];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.constantFrom(...fragments), fc.string({ maxLength: 40 })), { maxLength: 40 }), async (parts) => {
        const bytes = text(["0:000> !heap -s", ...parts]);
        const o = await open(bytes, "fuzz.log");
        try {
          expect(o.run.data.traces?.stackOf).toHaveLength(o.run.allocations.count);
          expect(validateReport(o.report).valid).toBe(true);
        } finally {
          o.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});
