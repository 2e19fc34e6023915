import type { Frame } from "@leakscope/core";
import { describe, expect, it } from "vitest";
import { count, hex, signedCount, signedHex } from "../src/common.js";
import { foldAllocatorFrames, stackLine } from "../src/frames.js";

const f = (text: string, address = "0x1"): Frame => ({ address, text });

describe("one number style", () => {
  it("sizes are hex with 0x and a leading sign; counts decimal with separators", () => {
    expect(hex(0xe100)).toBe("0xe100");
    expect(hex(-0xe100)).toBe("-0xe100");
    expect(signedHex(0x120)).toBe("+0x120");
    expect(signedHex(-0xe100)).toBe("-0xe100");
    expect(signedHex(0)).toBe("0x0");
    expect(count(1234567)).toBe("1,234,567");
    expect(signedCount(1024)).toBe("+1,024");
    expect(signedCount(-1024)).toBe("-1,024");
    expect(signedCount(0)).toBe("0");
  });
});

describe("allocator frames", () => {
  it("folds ntdll heap routines, the +ust intercept, CRT malloc and operator new, and marks the caller", () => {
    const frames = [
      f("ntdll!RtlpCallInterceptRoutine+0x26"),
      f("ntdll!RtlpAllocateHeapInternal+0x991"),
      f("ntdll!RtlAllocateHeap+0x3e"),
      f("ucrtbase!_malloc_base+0x36"),
      f("app!operator new+0x1f"),
      f("app!Session::Create+0x19"),
      f("app!main+0x40"),
    ];
    const folded = foldAllocatorFrames(frames);
    expect(folded.folded).toHaveLength(5);
    expect(folded.shown[0]!.text).toBe("app!Session::Create+0x19");
    expect(stackLine(frames)).toBe("▶ app!Session::Create+0x19 <- app!main+0x40  (5 allocator frames folded)");
  });

  it("folds unsymbolized allocator modules too (module+offset frames, WinDbg's ntdll_<base> names)", () => {
    const frames = [f("ntdll_77cc0000+0x2c4e"), f("ucrtbase+0x1f30"), f("leaky+0x1119"), f("leaky+0x16a0"), f("kernel32+0x23c45"), f("ntdll_77cc0000+0x6a7e")];
    expect(stackLine(frames)).toBe("▶ leaky+0x1119 <- leaky+0x16a0 <- kernel32+0x23c45 <- … 1 more  (2 allocator frames folded)");
  });

  it("a stack without allocator frames folds nothing", () => {
    expect(stackLine([f("app!a+0x1"), f("app!b+0x2")])).toBe("▶ app!a+0x1 <- app!b+0x2");
  });
});
