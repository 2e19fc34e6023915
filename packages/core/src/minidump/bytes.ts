/** A little-endian u64 at `at` as a number (exact below 2^53). Internal to the minidump reader. */
export function u64(view: DataView, at: number): number {
  return view.getUint32(at + 4, true) * 4294967296 + view.getUint32(at, true);
}
