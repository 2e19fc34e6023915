import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  INVALID_ADDRESS,
  addressFromBigInt,
  addressFromParts,
  addressHigh,
  addressLow,
  addressToBigInt,
  formatAddress,
  isKernelAddress,
  isValidAddress,
  parseAddress,
} from "../src/index.js";

describe("Address representation", () => {
  it("keeps user and 32-bit addresses as their unsigned value", () => {
    expect(addressFromParts(0x7efdb000, 0)).toBe(0x7efdb000);
    expect(addressFromParts(0x9b88b7e0, 0x204)).toBe(0x2049b88b7e0);
    expect(formatAddress(0x2049b88b7e0)).toBe("0x2049b88b7e0");
  });

  it("maps canonical kernel addresses to exact negative numbers", () => {
    const a = addressFromParts(0x8b58334c, 0xfffff804);
    expect(isKernelAddress(a)).toBe(true);
    expect(a).toBe(-0x7fb74a7ccb4);
    expect(formatAddress(a)).toBe("0xfffff8048b58334c");
    expect(addressHigh(a)).toBe(0xfffff804);
    expect(addressLow(a)).toBe(0x8b58334c);
  });

  it("rejects non-canonical 64-bit values as NaN", () => {
    expect(isValidAddress(addressFromParts(0, 0x12345678))).toBe(false);
    expect(Number.isNaN(INVALID_ADDRESS)).toBe(true);
    expect(formatAddress(INVALID_ADDRESS)).toBe("0x?");
  });

  it("parses WinDbg notations", () => {
    expect(parseAddress("00000000007b4d80")).toBe(0x7b4d80);
    expect(parseAddress("0x7ffe0000")).toBe(0x7ffe0000);
    expect(parseAddress("fffff804`8b58334c")).toBe(addressFromParts(0x8b58334c, 0xfffff804));
    expect(parseAddress("0n16384")).toBe(16384);
    expect(Number.isNaN(parseAddress("zz"))).toBe(true);
    expect(Number.isNaN(parseAddress("1".repeat(17)))).toBe(true);
  });

  it("pads to pointer width", () => {
    expect(formatAddress(0x7a0000, 64)).toBe("0x00000000007a0000");
    expect(formatAddress(0x7a0000, 32)).toBe("0x007a0000");
  });

  it("round-trips every exact u64 through text and BigInt (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (v) => {
        const a = addressFromBigInt(v);
        const hi = v >> 32n;
        const exact = hi <= 0x1fffffn || hi >= 0xffe00000n;
        if (!exact) return Number.isNaN(a);
        return addressToBigInt(a) === v && parseAddress(formatAddress(a)) === a;
      }),
      { numRuns: 2000 },
    );
  });
});
