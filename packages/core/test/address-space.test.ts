import { describe, expect, it } from "vitest";
import { BufferSource, BytesAddressSpace, RangeAddressSpace, emptySpan, formatAddress } from "../src/index.js";

function le(values: number[], width: 1 | 2 | 4): Uint8Array {
  const out = new Uint8Array(values.length * width);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (width === 1) dv.setUint8(i, v);
    else if (width === 2) dv.setUint16(i * 2, v, true);
    else dv.setUint32(i * 4, v, true);
  });
  return out;
}

describe("RangeAddressSpace", () => {
  const space = new BytesAddressSpace(
    [
      { address: 0x1000, bytes: le([0x11223344, 0xaabbccdd, 0x7efdb000, 0], 4) },
      { address: 0x1010, bytes: le([0x01020304, 0x05060708], 4) }, // adjacent range
      { address: 0x3000, bytes: le([0x8b58334c, 0xfffff804], 4) },
    ],
    8,
  );

  it("reads little-endian scalars and pointers", () => {
    expect(space.u32(0x1000)).toBe(0x11223344);
    expect(space.u16(0x1002)).toBe(0x1122);
    expect(space.u8(0x1003)).toBe(0x11);
    expect(space.ptr(0x1008)).toBe(0x7efdb000);
    expect(space.ptr32(0x1008)).toBe(0x7efdb000);
    expect(formatAddress(space.ptr64(0x3000))).toBe("0xfffff8048b58334c");
    expect(space.withPointerSize(4).ptr(0x1008)).toBe(0x7efdb000);
  });

  it("reads values that span two adjacent ranges", () => {
    // 0x100e..0x1011 straddles the first range's end and the second range's start
    expect(space.u32(0x100e)).toBe(0x03040000);
    const buf = space.read(0x100c, 8);
    expect(buf && Array.from(buf)).toEqual([0, 0, 0, 0, 4, 3, 2, 1]);
  });

  it("reports holes with the missing address instead of zeros", () => {
    expect(space.u32(0x2000)).toBe(-1);
    expect(Number.isNaN(space.ptr(0x2000))).toBe(true);
    expect(space.u32(0x1016)).toBe(-1); // runs off the end of the second range
    expect(space.firstMissing(0x1010, 0x20)).toBe(0x1018);
    expect(space.firstMissing(0x1000, 0x18)).toBeUndefined();
    expect(space.isMapped(0x3000, 8)).toBe(true);
    expect(space.read(0x1014, 8)).toBeUndefined();
    expect(space.readInto(0x1014, new Uint8Array(8), 0, 8)).toBe(4);
  });

  it("gives zero-copy spans for tight loops", () => {
    const s = emptySpan();
    expect(space.span(0x1004, s)).toBe(true);
    expect(s.address).toBe(0x1004);
    expect(s.length).toBe(12);
    expect(s.view.getUint32(s.index, true)).toBe(0xaabbccdd);
    expect(space.span(0x5000, s)).toBe(false);
  });

  it("trims overlapping ranges, first one wins", () => {
    const bytes = new Uint8Array(32).fill(0xaa);
    bytes.fill(0xbb, 16);
    const src = new BufferSource(bytes);
    const s = new RangeAddressSpace(
      src,
      [
        { address: 0x100, size: 16, fileOffset: 0 },
        { address: 0x108, size: 16, fileOffset: 16 },
      ],
      8,
    );
    expect(s.ranges().length).toBe(2);
    expect(s.u8(0x107)).toBe(0xaa);
    expect(s.u8(0x110)).toBe(0xbb);
    expect(s.ranges()[1]!.address).toBe(0x110);
  });

  it("reads C strings", () => {
    const txt = new TextEncoder().encode("ntdll.dll\0junk");
    const s = new BytesAddressSpace([{ address: 0x10, bytes: txt }], 4);
    expect(s.cString(0x10)).toBe("ntdll.dll");
    expect(s.cString(0x99)).toBeUndefined();
  });
});
