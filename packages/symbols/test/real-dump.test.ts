import { Diagnostics, openMinidumpFile } from "@leakscope/core";
import { sharedFile } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { PeImage, Symbolizer } from "../src/index.js";

const wow64 = sharedFile("dumps/user/lldb-fizzbuzz-wow64-win7sp1-full.dmp");

describe("real Windows 7 WoW64 dump (lldb fizzbuzz, full memory)", () => {
  it.skipIf(!wow64.present)("reads every captured module image: CodeView agrees with the dump's module list", () => {
    const t = openMinidumpFile(wow64.path);
    try {
      let compared = 0;
      for (const v of t.views) {
        for (const m of v.modules) {
          const pe = PeImage.fromMemory(v.space, m.base, { label: m.name });
          if (!pe || !m.codeView) continue;
          expect(pe.sizeOfImage).toBe(m.size);
          expect(pe.is64).toBe(v.bitness === 64);
          const cv = pe.codeView();
          // api-ms-win-core-synch-l1-2-0's record in the dump differs from its image (a 10.0.10240
          // file on 6.1.7601): compare the others exactly.
          if (!m.name.startsWith("api-ms-")) {
            expect(cv).toEqual(m.codeView);
            compared++;
          }
          if (m.version !== undefined) expect(pe.fileVersion()).toBe(m.version);
        }
      }
      expect(compared).toBeGreaterThanOrEqual(12);
    } finally {
      t.close();
    }
  });

  it.skipIf(!wow64.present)("symbolizes from the export directories in memory: both ntdlls, WinDbg names", () => {
    const t = openMinidumpFile(wow64.path);
    try {
      const d = new Diagnostics();
      const s = Symbolizer.forTarget(t, { diagnostics: d });
      const status = s.status();
      const ntdll64 = status.find((m) => m.module === "ntdll")!;
      const ntdll32 = status.find((m) => m.module === "ntdll_77cc0000")!;
      expect(ntdll64.base).toBe(0x77ae0000);
      expect(ntdll64.exports).toBe(1995);
      expect(ntdll32.exports).toBe(2035);
      // RtlAllocateHeap by its export RVA, in both bitnesses
      for (const [mod, base, bits] of [
        ["ntdll", 0x77ae0000, 64],
        ["ntdll_77cc0000", 0x77cc0000, 32],
      ] as const) {
        const view = t.views.find((v) => v.bitness === bits)!;
        const e = PeImage.fromMemory(view.space, base)!.exports()!.entries.find((x) => x.name === "RtlAllocateHeap")!;
        expect(s.symbolize(base + e.rva + 0xad4).text).toMatch(new RegExp(`^${mod}!\\w+\\+0x[0-9a-f]+$`));
        expect(s.symbolize(base + e.rva + 0x10).text).toBe(`${mod}!RtlAllocateHeap+0x10`);
      }
      // the only thread: 64-bit side in wow64cpu, 32-bit side waiting in ntdll
      const th = t.threads[0]!;
      expect(s.symbolize(th.context!.ip).text).toBe("wow64cpu!TurboDispatchJumpAddressEnd+0x6c0");
      expect(s.symbolize(th.wow64Context!.ip).text).toBe("ntdll_77cc0000!NtWaitForMultipleObjects+0x15");
      // the EXE exports nothing: module+offset
      expect(s.symbolize(0xe30000 + 0x1234)).toMatchObject({ module: "fizzbuzz", source: "module", text: "fizzbuzz+0x1234" });
      expect(d.list().filter((x) => x.severity !== "info")).toEqual([]);
    } finally {
      t.close();
    }
  });
});
