import type { TargetSummary } from "@leakscope/core";
import { describe, expect, it } from "vitest";
import { memoryText } from "../src/info-text.js";

describe("info's Memory line", () => {
  it("names the overlapping ranges with one 0x before their byte count", () => {
    const t = { memory: { ranges: 2, bytes: 0x3000, overlapping: { ranges: 2, bytes: 0x1100 } } } as TargetSummary;
    expect(memoryText(t)).toBe("2 ranges, 12.0 KiB (2 overlapping range(s) cut or dropped: 0x1100 bytes not counted)");
    expect(memoryText({ memory: { ranges: 1, bytes: 0x1000 } } as TargetSummary)).toBe("1 ranges, 4.0 KiB");
  });
});
