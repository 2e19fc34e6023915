/**
 * Seeded input mutators for fuzzing leakscope's readers and walkers. Pure bytes: no dependency on
 * @leakscope/core. Every case is reproducible from (seed file, case number).
 */

/** xorshift32: small, fast, deterministic. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
  /** Shuffle `items` in place (Fisher-Yates, from the end) and return it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}

/** Values that break size and count arithmetic. */
export const INTERESTING_U32 = [
  0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
] as const;

export type MutationKind =
  | "truncate"
  | "bit-flip"
  | "byte-set"
  | "u32-interesting"
  | "u32-header"
  | "u64-huge"
  | "zero-block"
  | "copy-block"
  | "self-pointer";

export interface Mutation {
  kind: MutationKind;
  offset: number;
  /** Bytes of the mutated input. */
  bytes: Uint8Array;
}

/**
 * One mutation of `input`, chosen by `rng`. Header-directed mutations hit the first 4 KiB more
 * often, where containers keep their directories, counts and sizes.
 */
export function mutate(input: Uint8Array, rng: Rng): Mutation {
  const kinds: MutationKind[] = [
    "truncate",
    "bit-flip",
    "byte-set",
    "u32-interesting",
    "u32-header",
    "u32-header",
    "u64-huge",
    "zero-block",
    "copy-block",
    "self-pointer",
  ];
  const kind = rng.pick(kinds);
  const n = input.length;
  const headerEnd = Math.min(n, 0x1000);
  const anyOffset = () => rng.below(Math.max(1, n));
  const headerOffset = () => rng.below(Math.max(1, headerEnd)) & ~3;
  if (kind === "truncate") {
    const cut = rng.below(Math.max(1, n));
    return { kind, offset: cut, bytes: input.slice(0, cut) };
  }
  const out = input.slice();
  const dv = new DataView(out.buffer);
  let offset = 0;
  switch (kind) {
    case "bit-flip":
      offset = rng.below(3) === 0 ? headerOffset() : anyOffset();
      if (offset < n) out[offset]! ^= 1 << rng.below(8);
      break;
    case "byte-set":
      offset = anyOffset();
      if (offset < n) out[offset] = rng.pick([0, 0xff, 0x7f, 0x80]);
      break;
    case "u32-interesting":
    case "u32-header":
      offset = kind === "u32-header" ? headerOffset() : anyOffset() & ~3;
      if (offset + 4 <= n) dv.setUint32(offset, rng.pick(INTERESTING_U32), true);
      break;
    case "u64-huge":
      offset = headerOffset() & ~7;
      if (offset + 8 <= n) {
        dv.setUint32(offset, rng.next(), true);
        dv.setUint32(offset + 4, rng.pick([0x7fffffff, 0xffffffff, 0x00100000, 0x40000000]), true);
      }
      break;
    case "zero-block": {
      offset = anyOffset();
      const len = Math.min(n - offset, 1 + rng.below(4096));
      out.fill(0, offset, offset + len);
      break;
    }
    case "copy-block": {
      offset = anyOffset();
      const from = anyOffset();
      const len = Math.min(n - offset, n - from, 1 + rng.below(512));
      if (len > 0) out.copyWithin(offset, from, from + len);
      break;
    }
    case "self-pointer": {
      // write a value that, read as a pointer or RVA, points at itself (cycles in lists)
      offset = anyOffset() & ~7;
      if (offset + 8 <= n) {
        dv.setUint32(offset, offset, true);
        dv.setUint32(offset + 4, 0, true);
      }
      break;
    }
  }
  return { kind, offset, bytes: out };
}
