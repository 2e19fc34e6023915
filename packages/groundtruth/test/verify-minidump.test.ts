import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BufferSource, openMinidumpTarget, parseAddress } from "@leakscope/core";
import { MinidumpBuilder } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { type FoundAllocation, type Manifest, formatVerifyResult, parseManifest, verifyManifest } from "../src/index.js";

/**
 * End to end through a synthetic minidump: the sample manifest's blocks are written into a
 * full-memory MDMP with leakscope's test writer, read back with core's minidump reader, and the
 * verifier checks contents through the dump's address space.
 */
const here = dirname(fileURLToPath(import.meta.url));
const manifestText = readFileSync(join(here, "fixtures", "sample-manifest.json"), "utf8");

function blockBytes(a: Manifest["allocations"][number], pointerSize: 4 | 8): Uint8Array {
  const bytes = new Uint8Array(a.size).fill(a.fill);
  if (a.vtable !== undefined) {
    const view = new DataView(bytes.buffer);
    if (pointerSize === 8) view.setBigUint64(0, BigInt(a.vtable), true);
    else view.setUint32(0, Number(BigInt(a.vtable)), true);
  }
  return bytes;
}

function dumpOf(manifest: Manifest, options: { skip?: number; corrupt?: { index: number; offset: number } } = {}): Uint8Array {
  const b = new MinidumpBuilder({ flags: 0x1826 }).systemInfo({ arch: manifest.machine === "x86" ? "x86" : "x64", major: 10, minor: 0, build: 22631 });
  manifest.allocations.forEach((a, i) => {
    if (i === options.skip) return;
    const bytes = blockBytes(a, manifest.pointerSize);
    if (options.corrupt?.index === i) bytes[options.corrupt.offset] = 0x00;
    b.memory(parseAddress(a.address), bytes);
  });
  return b.build();
}

function foundOf(manifest: Manifest): FoundAllocation[] {
  return manifest.allocations.map((a) => ({
    userAddress: parseAddress(a.address),
    requestedSize: a.size,
    busy: true,
    heapAddress: parseAddress(a.heap),
    stackTopFrame: `gtalloc!${a.site}+0x1c`,
    typeName: a.typeName,
  }));
}

function verifyDump(manifest: Manifest, dump: Uint8Array) {
  const target = openMinidumpTarget(new BufferSource(dump, "synthetic.dmp"));
  try {
    const space = target.views[0]!.space;
    return verifyManifest(manifest, foundOf(manifest), { space });
  } finally {
    target.close();
  }
}

describe("verify against a synthetic minidump", () => {
  it("passes when the dump holds exactly the manifest's patterns (x64, 1.5 MiB large block included)", () => {
    const m = parseManifest(manifestText);
    const r = verifyDump(m, dumpOf(m));
    expect(r.allocations.flatMap((c) => c.differences.map((d) => d.code))).toEqual([]);
    expect(r.summary).toMatchObject({ total: 5, passed: 5, contentChecked: 5, contentMismatches: 0 });
    expect(formatVerifyResult(r).trimEnd().split("\n").at(-1)).toBe("result: PASS");
  });

  it("fails with GT_CONTENT_MISMATCH at the byte that differs in the dump", () => {
    const m = parseManifest(manifestText);
    const r = verifyDump(m, dumpOf(m, { corrupt: { index: 4, offset: 0x123456 } }));
    expect(r.ok).toBe(false);
    const d = r.allocations[4]!.differences;
    expect(d.map((x) => [x.code, x.offset])).toEqual([["GT_CONTENT_MISMATCH", 0x123456]]);
  });

  it("reports a block the dump did not capture as GT_CONTENT_NOT_CAPTURED", () => {
    const m = parseManifest(manifestText);
    const r = verifyDump(m, dumpOf(m, { skip: 1 }));
    expect(r.summary.contentNotCaptured).toBe(1);
    expect(r.allocations[1]!.differences.map((x) => x.code)).toEqual(["GT_CONTENT_NOT_CAPTURED"]);
  });

  it("checks a 4-byte vtable pointer in a 32-bit manifest", () => {
    const m = parseManifest(manifestText);
    m.machine = "x86";
    m.pointerSize = 4;
    for (const a of m.allocations) {
      a.address = "0x" + (parseAddress(a.address) % 0x80000000).toString(16);
      a.heap = "0x" + (parseAddress(a.heap) % 0x80000000).toString(16);
      if (a.vtable !== undefined) {
        a.vtable = "0x401370";
        a.fillOffset = 4;
      }
    }
    m.heaps = m.heaps.map((h) => ({ ...h, address: "0x" + (parseAddress(h.address) % 0x80000000).toString(16) }));
    const ok = verifyDump(m, dumpOf(m));
    expect(ok.allocations.flatMap((c) => c.differences.map((d) => d.code))).toEqual([]);
    const bad = verifyDump(m, dumpOf(m, { corrupt: { index: 2, offset: 1 } }));
    expect(bad.allocations[2]!.differences.map((d) => [d.code, d.offset])).toEqual([["GT_CONTENT_MISMATCH", 0]]);
  });
});
