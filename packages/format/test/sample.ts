import { type Report, VERSION } from "@leakscope/core";

/** A report whose dump-derived strings are hostile (HTML, script, formulas, control characters). */
export function hostileReport(): Report {
  const evil = `<script>alert("x")</script><img src=x onerror=alert(1)>`;
  return {
    schemaVersion: 1,
    tool: { name: "leakscope", version: VERSION },
    command: "analyze",
    input: { path: `C:\\dumps\\${evil}.dmp`, size: 1234, kind: "user", format: "minidump" },
    analysis: {
      verdict: "leak-suspected",
      verdictReason: `Suspect #1 ${evil} scores 0.98.`,
      summary: { heaps: 1, busy: { count: 40, bytes: 0x3fff * 30 + 400 }, free: { count: 1, bytes: 0x800 }, traces: "present", tracesNote: "" },
      suspects: [
        {
          rank: 1,
          kind: "size-class",
          title: "30 × 0x3fff-byte blocks (97.9% of heap 0x7a0000)",
          score: 0.98,
          heap: "0x7a0000",
          size: 0x3fff,
          count: 30,
          bytes: 0x3fff * 30,
          percent: 97.9,
          stack: [
            { address: "0x7ffe77e7cca4", text: "ntdll!RtlAllocateHeap+0xad4" },
            { address: "0x140001119", text: `${evil}!main+0x69`, module: evil },
          ],
          typeName: `class ${evil}`,
          samples: ["0x7b4d98"],
          preview: { ascii: `=cmd|' /C calc'!A0 ${evil}`, hex: "41 42 43" },
          evidence: [`evidence with ${evil}`],
          nextStep: `Check ${evil}!main+0x69`,
        },
      ],
      sizeClasses: [{ heap: "0x7a0000", size: 0x3fff, count: 30, bytes: 0x3fff * 30, percent: 97.9 }],
      histogram: [
        { low: 8192, high: 16384, count: 30, bytes: 0x3fff * 30 },
        { low: 8, high: 16, count: 10, bytes: 100 },
      ],
      stacks: [{ id: 0, count: 30, bytes: 0x3fff * 30, sizes: [0x3fff], samples: ["0x7b4d98"], frames: [{ address: "0x140001119", text: `${evil}!main+0x69` }] }],
      types: [{ typeName: `class ${evil}`, vtable: "0x140002008", module: `${evil}.exe`, count: 30, bytes: 0x3fff * 30, samples: ["0x7b4d98"] }],
    },
    diagnostics: [{ code: "MEMORY_NOT_CAPTURED", severity: "warning", source: "core", message: `missing ${evil}` }],
  };
}
