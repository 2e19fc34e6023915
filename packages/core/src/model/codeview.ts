/** CodeView debug records (the PDB identity of a module), shared by the minidump reader and the symbolizer. */
import type { CodeViewInfo } from "./target.js";

const RSDS = 0x53445352;
const NB10 = 0x3031424e;

/** `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (lowercase) from the 16 GUID bytes as stored (Data1..3 little-endian). */
export function formatGuid(b: Uint8Array, at = 0): string {
  const v = new DataView(b.buffer, b.byteOffset + at, 16);
  const d4 = Array.from(b.subarray(at + 8, at + 16), (x) => x.toString(16).padStart(2, "0")).join("");
  return (
    v.getUint32(0, true).toString(16).padStart(8, "0") +
    "-" +
    v.getUint16(4, true).toString(16).padStart(4, "0") +
    "-" +
    v.getUint16(6, true).toString(16).padStart(4, "0") +
    "-" +
    d4.slice(0, 4) +
    "-" +
    d4.slice(4)
  );
}

/**
 * Parse a CodeView debug record: `RSDS` (signature, GUID, age, UTF-8 path) or `NB10` (signature,
 * offset, 32-bit signature, age, path). Undefined for anything else or a short record.
 */
export function parseCodeView(rec: Uint8Array): CodeViewInfo | undefined {
  if (rec.length < 16) return undefined;
  const v = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  const sig = v.getUint32(0, true);
  if (sig === RSDS && rec.length >= 24) {
    return { format: "RSDS", guid: formatGuid(rec, 4), age: v.getUint32(20, true), pdbName: cstr(rec, 24, "utf8") };
  }
  if (sig === NB10) {
    return { format: "NB10", guid: v.getUint32(8, true).toString(16).padStart(8, "0"), age: v.getUint32(12, true), pdbName: cstr(rec, 16, "latin1") };
  }
  return undefined;
}

function cstr(b: Uint8Array, at: number, enc: "utf8" | "latin1"): string {
  let end = at;
  while (end < b.length && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + at, end - at).toString(enc);
}
