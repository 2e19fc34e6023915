import { describe, expect, it } from "vitest";
import { BufferSource, Engine, minidumpInput } from "@leakscope/core";
import { MinidumpBuilder, SEGMENT_LAYOUT_BUILD, writeSegmentHeap } from "@leakscope/test-utils";
import { heapSegment } from "../src/index.js";
import { actualBlocks, richAllocations, sortExpected } from "./helpers.js";

function pebHeaps(peb: Uint8Array, pebAddress: number, bitness: 32 | 64, heaps: number[]): void {
  const v = new DataView(peb.buffer, peb.byteOffset, peb.byteLength);
  const array = pebAddress + 0x800;
  const put = (o: number, x: number) => (bitness === 64 ? v.setBigUint64(o, BigInt(x), true) : v.setUint32(o, x, true));
  put(bitness === 64 ? 0x30 : 0x18, heaps[0]!);
  v.setUint32(bitness === 64 ? 0xe8 : 0x88, heaps.length, true);
  v.setUint32(bitness === 64 ? 0xec : 0x8c, 16, true);
  put(bitness === 64 ? 0xf0 : 0x90, array);
  heaps.forEach((h, i) => put(0x800 + i * (bitness / 8), h));
}

// The whole pipeline over a minidump in memory: the core minidump reader, both PEBs of a WoW64
// process, and the segment heaps of each bitness.
describe("segment heaps in a WoW64 minidump", () => {
  it("22H2: both processes' segment heaps are found from their PEBs and round-trip exactly", async () => {
    const b = new MinidumpBuilder();
    b.systemInfo({ arch: "x64", major: 10, minor: 0, build: SEGMENT_LAYOUT_BUILD["22H2"], cpus: 4 });
    const p = b.wow64Process();
    const h64 = writeSegmentHeap({ layout: "22H2", bitness: 64, base: 0x2_3450_0000, allocations: richAllocations(64) });
    const h32 = writeSegmentHeap({ layout: "22H2", bitness: 32, base: 0x0090_0000, allocations: richAllocations(32, 1) });
    pebHeaps(p.peb64Bytes, p.peb64, 64, [h64.address]);
    pebHeaps(p.peb32Bytes, p.peb32, 32, [h32.address]);
    for (const piece of [...h64.pieces, ...h32.pieces]) b.memory(piece.address, piece.bytes);
    const engine = new Engine({ plugins: [minidumpInput(), heapSegment()] });
    const open = await engine.openSource(new BufferSource(b.build(), "wow64-segment.dmp"), { command: "heaps", depth: "walk" });
    const run = open.run;
    try {
      expect(run.allDiagnostics().filter((d) => d.source === "heap-segment")).toEqual([]);
      expect(run.heaps.map((h) => [h.address, h.bitness, h.kind, h.foundBy])).toEqual([
        [h64.address, 64, "segment", ["peb", "signature-scan"]],
        [h32.address, 32, "segment", ["peb32", "signature-scan"]],
      ]);
      expect(actualBlocks(run, h64.address, 64)).toEqual(sortExpected(h64.expected));
      expect(actualBlocks(run, h32.address, 32)).toEqual(sortExpected(h32.expected));
    } finally {
      open.close();
    }
  });
});
