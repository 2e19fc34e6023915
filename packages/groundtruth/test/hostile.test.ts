import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BytesAddressSpace, parseAddress } from "@leakscope/core";
import { INTERESTING_U32, Rng } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { type FoundAllocation, type Manifest, formatVerifyResult, parseManifest, validateManifest, verifyManifest } from "../src/index.js";

/**
 * Manifests and found lists are input: hand-edited manifests, buggy adapters, hostile dumps.
 * The verifier must never throw or hang, must keep its invariants, and must bound its work.
 */
const here = dirname(fileURLToPath(import.meta.url));
const sampleText = readFileSync(join(here, "fixtures", "sample-manifest.json"), "utf8");

const WEIRD_NUMBERS = [...INTERESTING_U32, Number.NaN, -1, -0x7fb74a7ccb4, 2 ** 53, Number.MAX_SAFE_INTEGER, 0.5];

describe("hostile inputs", () => {
  it("random found lists and odd (schema-valid) manifests never throw; counts stay consistent", () => {
    const rng = new Rng(0x6774);
    const base = parseManifest(sampleText);
    const space = new BytesAddressSpace(
      base.allocations.map((a) => ({ address: parseAddress(a.address), bytes: new Uint8Array(Math.min(a.size, 4096)).fill(a.fill) })),
      8,
    );
    for (let round = 0; round < 300; round++) {
      const m = JSON.parse(sampleText) as Manifest;
      for (const a of m.allocations) {
        if (rng.below(4) === 0) a.size = rng.pick(INTERESTING_U32);
        if (rng.below(6) === 0) a.fillOffset = rng.pick(INTERESTING_U32);
        if (rng.below(8) === 0) a.address = m.allocations[rng.below(m.allocations.length)]!.address;
      }
      expect(validateManifest(m).valid).toBe(true);
      const found: FoundAllocation[] = [];
      const n = rng.below(40);
      for (let i = 0; i < n; i++) {
        const known = m.allocations[rng.below(m.allocations.length)]!;
        found.push({
          userAddress: rng.below(2) ? parseAddress(known.address) : rng.pick(WEIRD_NUMBERS),
          requestedSize: rng.pick(WEIRD_NUMBERS),
          busy: rng.below(2) === 0,
          heapAddress: rng.below(2) ? parseAddress(known.heap) : rng.pick(WEIRD_NUMBERS),
          stackTopFrame: rng.pick([undefined, "", "!", "+0x", "gtalloc!", "a!b!c+0xzz", known.site]),
          stack: rng.pick([undefined, [], ["ntdll!RtlAllocateHeap"], ["", "!+"]]),
          typeName: rng.pick([undefined, "", ".?AV@@", "class ", known.typeName]),
          sizeInexact: rng.below(2) === 0,
        });
      }
      const r = verifyManifest(m, found, { space, maxContentBytes: 1 << 16 });
      const unique = new Set(m.allocations.map((a) => a.address)).size;
      expect(r.summary.total).toBe(unique);
      expect(r.summary.passed + r.summary.failed).toBe(unique);
      expect(r.summary.matched + r.summary.missing).toBe(unique);
      expect(r.ok).toBe(r.summary.failed === 0);
      expect(typeof formatVerifyResult(r)).toBe("string");
    }
  });

  it("a manifest claiming a 2^52-byte block is compared over at most maxContentBytes", () => {
    const m = parseManifest(sampleText);
    m.allocations[0]!.size = 2 ** 52;
    const a = m.allocations[0]!;
    const big = new Uint8Array(0x20000).fill(a.fill);
    const space = new BytesAddressSpace([{ address: parseAddress(a.address), bytes: big }], 8);
    const r = verifyManifest(m, [], { space, maxContentBytes: 0x10000 });
    // the first 64 KiB are all fill bytes and present: no content difference, no missing memory
    expect(r.allocations[0]!.differences.map((d) => d.code)).toEqual(["GT_ALLOCATION_MISSING"]);
  });
});
