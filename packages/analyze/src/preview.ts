import type { Address, AddressSpace } from "@leakscope/core";

export interface BlockPreview {
  ascii?: string;
  utf16?: string;
  hex: string;
}

const PRINTABLE = (b: number): boolean => b >= 0x20 && b < 0x7f;

/**
 * What a block holds, for a human: printable ASCII runs (4+ chars), UTF-16LE text and a hex
 * sample of the first bytes. Reads at most `length` bytes; missing memory gives undefined.
 */
export function previewBlock(space: AddressSpace, address: Address, size: number, length = 64): BlockPreview | undefined {
  const n = Math.max(0, Math.min(length, size));
  if (n === 0) return { hex: "" };
  const buf = new Uint8Array(n);
  const got = space.readInto(address, buf, 0, n);
  if (got === 0) return undefined;
  const bytes = buf.subarray(0, got);
  const hex = Array.from(bytes.subarray(0, 32), (b) => b.toString(16).padStart(2, "0")).join(" ");
  const out: BlockPreview = { hex };
  const runs: string[] = [];
  let cur = "";
  for (const b of bytes) {
    if (PRINTABLE(b)) cur += String.fromCharCode(b);
    else {
      if (cur.length >= 4) runs.push(cur);
      cur = "";
    }
  }
  if (cur.length >= 4) runs.push(cur);
  if (runs.length > 0) out.ascii = runs.join(" | ");
  let u16 = "";
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    const lo = bytes[i]!;
    const hi = bytes[i + 1]!;
    if (hi === 0 && PRINTABLE(lo)) u16 += String.fromCharCode(lo);
    else if (u16.length >= 4) break;
    else u16 = "";
  }
  if (u16.length >= 4) out.utf16 = u16;
  return out;
}
