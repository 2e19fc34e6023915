import { describe, expect, it } from "vitest";
import { formatText } from "../src/index.js";
import { hostileReport } from "./sample.js";

describe("text stacks", () => {
  it("print addresses with 0x and mark the first caller below the allocator frames", () => {
    const text = formatText(hostileReport());
    expect(text).toContain("stack (1 allocator frame above ▶, the first caller):");
    expect(text).toMatch(/▶\s+0x140001119 /);
    expect(text).toMatch(/\s{2}0x7ffe77e7cca4 ntdll!RtlAllocateHeap/);
  });
});
