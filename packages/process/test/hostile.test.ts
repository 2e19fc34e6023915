import { BufferSource, Engine, type Report, minidumpInput } from "@leakscope/core";
import { MinidumpBuilder, PEB_GDI_SHARED_HANDLE_TABLE, gdiSharedHandleTable } from "@leakscope/test-utils";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { processKinds } from "../src/index.js";

async function info(bytes: Uint8Array): Promise<Report> {
  const engine = new Engine({ plugins: [minidumpInput(), processKinds()] });
  const open = await engine.openSource(new BufferSource(bytes, "h.dmp"), { command: "info", depth: "open" });
  open.close();
  return open.report;
}

describe("hostile input", () => {
  it("absurd, overlapping and reversed regions never throw; counts stay the stream's", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            base: fc.nat({ max: 2 ** 47 }),
            size: fc.oneof(fc.nat({ max: 2 ** 40 }), fc.constant(2 ** 53 - 1)),
            allocationBase: fc.nat({ max: 2 ** 47 }),
            state: fc.constantFrom(0x1000, 0x2000, 0x10000, 7),
            type: fc.constantFrom(0x20000, 0x40000, 0x1000000, 0, 3),
          }),
          { maxLength: 40 },
        ),
        async (regions) => {
          const b = new MinidumpBuilder();
          b.nativeProcess({ bitness: 64 });
          for (const r of regions) b.memoryInfo({ ...r, protect: 4 });
          const r = await info(b.build());
          const c = r.process!.composition;
          const kept = regions.filter((x) => x.size > 0).length;
          if (kept > 0) expect(c.regions).toBe(kept);
          else expect(c.source).toBe("memory-ranges");
          expect(Number.isFinite(c.committed)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("a GDI table pointer into uncaptured or partly captured memory is a diagnostic with its address", async () => {
    const b = new MinidumpBuilder();
    const p = b.nativeProcess({ bitness: 64 });
    new DataView(p.pebBytes.buffer).setUint32(PEB_GDI_SHARED_HANDLE_TABLE[64], 0x50000000, true);
    b.miscInfo({ pid: 8 });
    const r = await info(b.build());
    expect(r.process!.gdi.status).toBe("not-captured");
    expect(r.diagnostics.find((d) => d.code === "PROCESS_GDI_TABLE_NOT_CAPTURED")!.location!.address).toBe("0x50000000");

    const b2 = new MinidumpBuilder();
    const p2 = b2.nativeProcess({ bitness: 64 });
    new DataView(p2.pebBytes.buffer).setUint32(PEB_GDI_SHARED_HANDLE_TABLE[64], 0x50000000, true);
    b2.miscInfo({ pid: 8 });
    b2.memory(0x50000000, gdiSharedHandleTable(64, [{ index: 3, processId: 8, type: 0x10 }], 2048));
    const r2 = await info(b2.build());
    expect(r2.process!.gdi).toMatchObject({ status: "present", total: 1, byType: [{ type: "Brush", count: 1 }] });
    expect(r2.diagnostics.map((d) => d.code)).toContain("PROCESS_GDI_TABLE_NOT_CAPTURED");
  });

  it("a HandleData stream claiming more handles than it holds keeps what it holds, with a note", async () => {
    const b = new MinidumpBuilder();
    b.nativeProcess({ bitness: 64 });
    b.handles([{ handle: 4, typeName: "Event" }, { handle: 8 }]);
    const bytes = b.buildWithLayout();
    // bump NumberOfDescriptors of the HandleData stream (header: size, descriptor size, count)
    const dir = new DataView(bytes.bytes.buffer);
    const n = dir.getUint32(8, true);
    const rva = dir.getUint32(12, true);
    for (let i = 0; i < n; i++) {
      if (dir.getUint32(rva + i * 12, true) === 12) dir.setUint32(dir.getUint32(rva + i * 12 + 8, true) + 8, 100000, true);
    }
    const r = await info(bytes.bytes);
    expect(r.process!.handles.total).toBe(2);
    expect(r.process!.handles.notes[0]).toMatch(/claims 100000 handles; 2 could be read/);
    expect(r.diagnostics.map((d) => d.code)).toContain("MINIDUMP_STREAM_TRUNCATED");
  });
});
