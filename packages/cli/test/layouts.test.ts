import { describe, expect, it } from "vitest";
import { runCli } from "../src/index.js";
import { capture } from "./helpers.js";

/**
 * The offsets of shared/docs/layout-evidence.md (PDB-derived listings: AndreyBazhan/SymStore by
 * build, ntdiff/headers), per build and architecture. `undefined`: the field does not exist on that
 * build (it must be absent from the JSON). Facts the page marks "not found" are left out.
 */
type Row = Partial<Record<string, number | undefined>>;
const EVIDENCE: Record<string, Row> = {
  // D1 table: 9200-9600 and 10240/10586 share the tail; D6: 9200 zones hold FreePointer/Limit
  "9200 x64": { "_HEAP.Signature": 0x98, "_HEAP.FrontEndHeap": 0x170, "_HEAP.FrontEndHeapType": 0x17a, "_LFH_BLOCK_ZONE.FreePointer": 0x10, "_LFH_BLOCK_ZONE.NextIndex": undefined, "_SEGMENT_HEAP.SegContexts": undefined, "_POOL_TRACKER_BIG_PAGES.size": 0x18 },
  "9200 x86": { "_HEAP.Signature": 0x60, "_HEAP.FrontEndHeap": 0xd0, "_HEAP.FrontEndHeapType": 0xd6, "_LFH_BLOCK_ZONE.FreePointer": 0x08, "_LFH_BLOCK_ZONE.NextIndex": undefined, "_SEGMENT_HEAP.SegContexts": undefined, "_POOL_TRACKER_BIG_PAGES.size": 0x10 },
  "10240 x64": { "_HEAP.Signature": 0x98, "_HEAP.FrontEndHeap": 0x170, "_HEAP.FrontEndHeapType": 0x17a, "_LFH_BLOCK_ZONE.NextIndex": 0x10, "_LFH_BLOCK_ZONE.FreePointer": undefined, "_SEGMENT_HEAP.SegContexts": undefined, "_POOL_TRACKER_BIG_PAGES.size": 0x18 },
  "10240 x86": { "_HEAP.Signature": 0x60, "_HEAP.FrontEndHeap": 0xd0, "_HEAP.FrontEndHeapType": 0xd6, "_LFH_BLOCK_ZONE.NextIndex": 0x08, "_LFH_BLOCK_ZONE.FreePointer": undefined, "_POOL_TRACKER_BIG_PAGES.size": 0x10 },
  // D2: 16299/17134 keep the 14393 tail; D5: [ND] 1709 x64 _SEGMENT_HEAP SegContexts 0x70
  "16299 x64": { "_HEAP.Signature": 0x98, "_HEAP.FrontEndHeap": 0x178, "_HEAP.FrontEndHeapType": 0x182, "_LFH_BLOCK_ZONE.NextIndex": 0x10, "_SEGMENT_HEAP.SegContexts": 0x70, "_HEAP_VS_SUBSEGMENT.Signature": 0x22, "_HEAP_LFH_SUBSEGMENT.BlockBitmap": 0x30, "_POOL_TRACKER_BIG_PAGES.size": 0x18 },
  "16299 x86": { "_HEAP.Signature": 0x60, "_HEAP.FrontEndHeap": 0xd4, "_HEAP.FrontEndHeapType": 0xda, "_LFH_BLOCK_ZONE.NextIndex": 0x08, "_POOL_TRACKER_BIG_PAGES.size": 0x10 },
  // 17763 .. 19045: CommitLimitData moved the tail; the 2004 segment heap
  "17763 x64": { "_HEAP.FrontEndHeap": 0x198, "_HEAP.FrontEndHeapType": 0x1a2, "_SEGMENT_HEAP.SegContexts": 0x100, "_SEGMENT_HEAP.LargeAllocMetadata": 0x48, "_HEAP_SEG_CONTEXT.Heap": 0x38, "_HEAP_VS_SUBSEGMENT.Signature": 0x22, "_HEAP_LFH_SUBSEGMENT.BlockBitmap": 0x30 },
  "17763 x86": { "_HEAP.FrontEndHeap": 0xe4, "_HEAP.FrontEndHeapType": 0xea, "_SEGMENT_HEAP.SegContexts": 0x100, "_SEGMENT_HEAP.LargeAllocMetadata": 0x44, "_HEAP_SEG_CONTEXT.Heap": 0x24, "_HEAP_VS_SUBSEGMENT.Signature": 0x16, "_HEAP_LFH_SUBSEGMENT.BlockBitmap": 0x20 },
  "19041 x64": { "_HEAP.Signature": 0x98, "_HEAP.FrontEndHeap": 0x198, "_HEAP.FrontEndHeapType": 0x1a2, "_LFH_BLOCK_ZONE.NextIndex": 0x10, "_SEGMENT_HEAP.SegContexts": 0x100, "_SEGMENT_HEAP.LargeAllocMetadata": 0x48, "_HEAP_SEG_CONTEXT.Heap": 0x38, "_HEAP_VS_SUBSEGMENT.Signature": 0x22, "_HEAP_LFH_SUBSEGMENT.BlockBitmap": 0x30, "_POOL_TRACKER_BIG_PAGES.size": 0x18 },
  "19041 x86": { "_HEAP.Signature": 0x60, "_HEAP.FrontEndHeap": 0xe4, "_HEAP.FrontEndHeapType": 0xea, "_LFH_BLOCK_ZONE.NextIndex": 0x08, "_SEGMENT_HEAP.SegContexts": 0x100, "_SEGMENT_HEAP.LargeAllocMetadata": 0x44, "_HEAP_SEG_CONTEXT.Heap": 0x24, "_HEAP_VS_SUBSEGMENT.Signature": 0x16, "_HEAP_LFH_SUBSEGMENT.BlockBitmap": 0x20, "_POOL_TRACKER_BIG_PAGES.size": 0x10 },
  // D3: SegContexts 0x140 on Windows 11 x64, LargeAllocMetadata still 0x48; big pages 0x20 from 22000 (x86 22000: not found)
  "22000 x64": { "_HEAP.Signature": 0x98, "_HEAP.FrontEndHeap": 0x198, "_HEAP.FrontEndHeapType": 0x1a2, "_LFH_BLOCK_ZONE.NextIndex": 0x10, "_SEGMENT_HEAP.SegContexts": 0x140, "_SEGMENT_HEAP.LargeAllocMetadata": 0x48, "_HEAP_SEG_CONTEXT.Heap": 0x38, "_HEAP_VS_SUBSEGMENT.Signature": 0x22, "_HEAP_LFH_SUBSEGMENT.BlockBitmap": 0x30, "_POOL_TRACKER_BIG_PAGES.size": 0x20 },
  "22000 x86": { "_HEAP.Signature": 0x60, "_LFH_BLOCK_ZONE.NextIndex": 0x08, "_POOL_TRACKER_BIG_PAGES.size": 0x10 },
};

async function layouts(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = capture();
  const code = await runCli(["layouts", ...args], { io: c.io });
  return { code, out: c.out(), err: c.err() };
}

describe("leakscope layouts", () => {
  for (const [key, row] of Object.entries(EVIDENCE)) {
    const [build, arch] = key.split(" ") as [string, "x64" | "x86"];
    it(`${build} ${arch}: --json agrees with layout-evidence.md`, async () => {
      const r = await layouts(["--build", build, "--arch", arch, "--json"]);
      expect(r.code).toBe(0);
      const json = JSON.parse(r.out) as Record<string, number>;
      for (const v of Object.values(json)) expect(typeof v).toBe("number");
      for (const [field, want] of Object.entries(row)) {
        if (want === undefined) expect(json, field).not.toHaveProperty([field]);
        else expect(json[field], field).toBe(want);
      }
    });
  }

  it("the required keys are present where the structure exists (19041 x64)", async () => {
    const json = JSON.parse((await layouts(["--build", "19041", "--arch", "x64", "--json"])).out) as Record<string, number>;
    for (const k of ["_HEAP.FrontEndHeap", "_HEAP.FrontEndHeapType", "_HEAP.Signature", "_LFH_BLOCK_ZONE.NextIndex", "_SEGMENT_HEAP.SegContexts", "_SEGMENT_HEAP.LargeAllocMetadata", "_HEAP_SEG_CONTEXT.Heap", "_HEAP_VS_SUBSEGMENT.Signature", "_HEAP_LFH_SUBSEGMENT.BlockBitmap", "_POOL_TRACKER_BIG_PAGES.size"]) {
      expect(json, k).toHaveProperty([k]);
    }
  });

  it("the newest segment-heap layout (26100 x64): VS Signature 0x24, LFH bitmap 0x40, no Owner, no VS SubsegmentList", async () => {
    const json = JSON.parse((await layouts(["--build", "26100", "--arch", "x64", "--json"])).out) as Record<string, number>;
    expect(json["_HEAP_VS_SUBSEGMENT.Signature"]).toBe(0x24);
    expect(json["_HEAP_LFH_SUBSEGMENT.BlockBitmap"]).toBe(0x40);
    expect(json).not.toHaveProperty(["_HEAP_LFH_SUBSEGMENT.Owner"]);
    expect(json).not.toHaveProperty(["_HEAP_VS_CONTEXT.SubsegmentList"]);
    expect(json["_SEGMENT_HEAP.LargeAllocMetadata"]).toBe(0x48);
  });

  it("text output names the tables and lists every offset in hex", async () => {
    const r = await layouts(["--build", "16299", "--arch", "x64"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("NT heap table win10-1607, segment heap table 1709");
    expect(r.out).toMatch(/_HEAP\.FrontEndHeap\s+0x178\n/);
  });

  it("a bad build or arch is a usage error (exit 2)", async () => {
    expect((await layouts(["--build", "abc"])).code).toBe(2);
    expect((await layouts(["--build", "19041", "--arch", "arm64"])).code).toBe(2);
  });
});
