import { readFileSync } from "node:fs";
import { sharedFile } from "@leakscope/test-utils";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isWindbgText, parseWindbgLog } from "../src/index.js";

const seed = sharedFile("seeds/003_b2032f33e9a1bbb6.txt");

/** Real-looking fragments to mix into random input, so the parsers are reached, not just the splitter. */
const FRAGMENTS = [
  "0:000> !heap -s",
  "0:000:x86> !heap -stat -h 0",
  "0: kd> !poolused 2",
  "kd> !heap -p -a 7b4d98",
  "0:000> !heap -flt s 40000",
  "0:000> !heap -a 00c10000",
  "    40000 1 - 40000  (18.15)",
  "        029d1b78 8001 0000  [00]   029d1b80    40000 - (busy)",
  "00d40000 00000002   78796  62424  78584   4750  1123    74    2     5a   LFH",
  " Proc    156248    579970176          0            0\tProcess objects , Binary: nt!ps",
  " 1394        1      520         0        0UNKNOWN pooltag '1394', please update pooltag.txt",
  "        00000000007a0000: 00000 . 004a8 [101] - busy (4a7)",
  "    7ff73d131119 ConsoleApplication4!main+0x0000000000000069",
  "64 bytes + 1C at 2E9FA20 by BackTrace18D0A0D0",
  "+ 5320 ( f110 - 9df0) 3a allocs BackTrace00B53",
  "```",
  "*** WARNING: Unable to verify checksum for x.exe",
  " TOTAL     3570214 209120008     38769 13066104",
  "a: " + " ".repeat(3000) + "b",
  "TOTAL" + " ".repeat(3000) + "x",
];

describe("hostile input never throws and never hangs", () => {
  it("random byte soup", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => {
        const s = parseWindbgLog(bytes);
        expect(Array.isArray(s.blocks)).toBe(true);
        isWindbgText(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it("random strings and fragments, with random line endings", () => {
    const line = fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 120 }), fc.stringMatching(/^[ 0-9a-f.:\[\]()\t-]{0,80}$/));
    const eol = fc.constantFrom("\n", "\r\n", "\r");
    fc.assert(
      fc.property(fc.array(line, { maxLength: 200 }), eol, (lines, nl) => {
        const text = lines.join(nl);
        const s = parseWindbgLog(text);
        for (const d of s.diagnostics) {
          expect(typeof d.code).toBe("string");
          if (d.location?.line !== undefined) expect(d.location.line).toBeLessThanOrEqual(Math.max(1, s.lineCount + 1));
        }
        parseWindbgLog(Buffer.from(text, "utf16le"));
      }),
      { numRuns: 300 },
    );
  });

  it.skipIf(!seed.present)("random shuffles and truncations of a real seed", () => {
    const lines = readFileSync(seed.path, "utf8").split("\n");
    fc.assert(
      fc.property(fc.shuffledSubarray(lines, { minLength: 0, maxLength: lines.length }), fc.nat(lines.length), (picked, cut) => {
        const s = parseWindbgLog(picked.slice(0, cut).join("\n"));
        expect(s.lineCount).toBeLessThanOrEqual(cut);
      }),
      { numRuns: 100 },
    );
  });
});
