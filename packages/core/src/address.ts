/**
 * Virtual addresses as plain JavaScript numbers.
 *
 * leakscope never allocates a BigInt per value on hot paths. An {@link Address} is a `number`:
 *
 * - 32-bit addresses and 64-bit user-mode addresses (below 2^53, which covers the 47-bit and
 *   56-bit user ranges of every Windows build) are their unsigned value.
 * - 64-bit kernel addresses (the canonical upper half, `0xFFFF8000_00000000` and above) are the
 *   **sign-extended** value: `0xFFFFF804_8B58334C` is `-0x7FB74A7CCB4`. Every canonical x64
 *   address is exact, ordering is preserved inside each half, and the upper half sorts below the
 *   lower one.
 * - A 64-bit value that is neither (a non-canonical or garbage pointer, magnitude >= 2^53) is
 *   {@link INVALID_ADDRESS} (`NaN`): it cannot be followed, and every comparison with it fails.
 *
 * Convert to text only for output ({@link formatAddress}); parse user input with
 * {@link parseAddress}. Both are off the hot path and may use BigInt.
 */
export type Address = number;

/** The value of a 64-bit pointer that is not an exact address (see {@link Address}). */
export const INVALID_ADDRESS = Number.NaN;

const TWO_32 = 4294967296;

/**
 * Combine the two 32-bit halves of a little-endian u64 pointer into an {@link Address}.
 * `lo` and `hi` are unsigned 32-bit values. Returns `NaN` when the value is not exact.
 */
export function addressFromParts(lo: number, hi: number): Address {
  if (hi <= 0x001fffff) return hi * TWO_32 + lo;
  if (hi >= 0xffe00000) return (hi - TWO_32) * TWO_32 + lo;
  return INVALID_ADDRESS;
}

/** True when `a` is an exact address (not NaN). */
export function isValidAddress(a: Address): boolean {
  return a === a;
}

/** True for addresses in the 64-bit kernel half (stored negative). */
export function isKernelAddress(a: Address): boolean {
  return a < 0;
}

/** The unsigned high and low 32-bit halves of an address, as the CPU stores it. */
export function addressHigh(a: Address): number {
  return Math.floor(a / TWO_32) >>> 0;
}

export function addressLow(a: Address): number {
  return (a - Math.floor(a / TWO_32) * TWO_32) >>> 0;
}

/**
 * Hex text for an address: `0x` + lowercase digits. `width` pads to 8 or 16 digits (pass the
 * pointer size in bits to get WinDbg-like fixed-width columns); by default no padding.
 */
export function formatAddress(a: Address, width: 0 | 32 | 64 = 0): string {
  if (!isValidAddress(a)) return "0x?";
  const hi = addressHigh(a);
  const lo = addressLow(a);
  let digits: string;
  if (hi === 0) digits = lo.toString(16);
  else digits = hi.toString(16) + lo.toString(16).padStart(8, "0");
  const pad = width === 64 ? 16 : width === 32 ? 8 : 0;
  return "0x" + digits.padStart(pad, "0");
}

/** Hex digits without the `0x` prefix, padded like WinDbg does (8 or 16 digits). */
export function hexDigits(a: Address, bits: 32 | 64): string {
  return formatAddress(a, bits).slice(2);
}

/**
 * Parse an address typed by a user or printed by WinDbg: `0x7ffe0000`, `7ffe0000`,
 * `00000000007b4d80`, the backtick form `fffff804`8b58334c`, or decimal `0n1234`.
 * Returns `NaN` for text that is not a number or not an exact address.
 */
export function parseAddress(text: string): Address {
  let t = text.trim().replace(/`/g, "").replace(/_/g, "");
  if (t.length === 0) return INVALID_ADDRESS;
  let big: bigint;
  try {
    if (/^0n[0-9]+$/i.test(t)) big = BigInt(t.slice(2));
    else {
      if (/^0x/i.test(t)) t = t.slice(2);
      if (!/^[0-9a-f]+$/i.test(t) || t.length > 16) return INVALID_ADDRESS;
      big = BigInt("0x" + t);
    }
  } catch {
    return INVALID_ADDRESS;
  }
  if (big > 0xffffffffffffffffn) return INVALID_ADDRESS;
  const lo = Number(big & 0xffffffffn);
  const hi = Number(big >> 32n);
  return addressFromParts(lo, hi);
}

/** Convert to a BigInt (for output formats that want exact 64-bit integers). Not for hot paths. */
export function addressToBigInt(a: Address): bigint {
  const b = BigInt(a);
  return b < 0n ? b + (1n << 64n) : b;
}

/** Convert a BigInt (as read by `DataView#getBigUint64`) to an {@link Address}. */
export function addressFromBigInt(v: bigint): Address {
  const u = BigInt.asUintN(64, v);
  return addressFromParts(Number(u & 0xffffffffn), Number(u >> 32n));
}
