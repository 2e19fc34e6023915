import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { AllocFlags, Engine, FileSource, type Translation, minidumpInput } from "@leakscope/core";
import { heapNt } from "@leakscope/heap-nt";
import { allocationRows, writeBenchDump } from "@leakscope/test-utils";
import { heapLfh, lfhLayout } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "leakscope-lfh-parallel-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// heap-nt's workers run its built worker (dist/nt-worker.js)
const workerJs = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "heap-nt", "dist", "nt-worker.js");
const built = existsSync(workerJs);
if (!built) {
  const reason = `${workerJs} is not built: parallel-walk tests skipped (run npm run build)`;
  if (process.env.CI === "true") throw new Error(`${reason}; CI=true requires it`);
  console.warn(reason);
}

async function walk(file: string, workers: number) {
  const engine = new Engine({ plugins: [minidumpInput(), heapNt({ workers, parallelMinBytes: 0 }), heapLfh()] });
  const open = await engine.openSource(FileSource.open(file), { command: "heaps", depth: "walk" });
  const result = {
    blocks: allocationRows(open.run.allocations),
    inWorkers: open.run.heaps.map((h) => h.data.nt?.walkedInWorkers ?? 0),
    segments: open.run.heaps.map((h) => h.data.nt?.segments.length ?? 0),
    diagnostics: open.report.diagnostics,
    heaps: open.report.heaps,
  };
  open.close();
  return result;
}

/** File offset of virtual address `va` in the dump. */
async function fileOffset(file: string, va: number): Promise<number> {
  const src = FileSource.open(file);
  const open = await new Engine({ plugins: [minidumpInput()] }).openSource(src, { command: "heaps", depth: "open" });
  const tr = { source: src, fileOffset: 0, contiguous: 0 } as Translation;
  const ok = open.run.target.views[0]!.space.translate(va, tr);
  open.close();
  expect(ok).toBe(true);
  return tr.fileOffset;
}

function xorByte(file: string, offset: number, mask: number): void {
  const fd = openSync(file, "r+");
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, offset);
  b[0] = b[0]! ^ mask;
  writeSync(fd, b, 0, 1, offset);
  closeSync(fd);
}

describe("LFH hosts found by heap-nt's worker threads", () => {
  // one LFH heap of 10 segments, 8 hosts (512-block subsegments) each
  const file = join(dir, "lfh.dmp");
  writeBenchDump("lfh", 40_000, file, { lfhHostsPerSegment: 8 });

  it.skipIf(!built)("walks them in the order and with the diagnostics of a one-thread walk", async () => {
    const seq = await walk(file, 0);
    expect(seq.segments[0]).toBeGreaterThanOrEqual(8);
    expect(seq.diagnostics.filter((d) => d.severity !== "info")).toEqual([]);
    // corrupt, in the worker's half, the first host's EncodedOffsets (an LFH diagnostic raised on
    // the main thread while it merges) and, after it, a backend block header (raised in the worker)
    const hosts = seq.blocks.filter((b) => (b[5]! & AllocFlags.HOST) !== 0);
    const host = hosts[Math.floor(hosts.length * 0.75)]!;
    const later = seq.blocks.find((b) => b[2]! > host[2]! + host[4]! && (b[5]! & (AllocFlags.LFH | AllocFlags.HOST)) === 0 && (b[5]! & AllocFlags.BUSY) !== 0);
    const bad = join(dir, "lfh-corrupt.dmp");
    copyFileSync(file, bad);
    xorByte(bad, await fileOffset(bad, host[1]! + lfhLayout("win8", 64).udEncodedOffsets), 0xff);
    const victim = later ?? hosts.at(-1)!;
    xorByte(bad, (await fileOffset(bad, victim[2]!)) + 8, 0x5a);

    const s = await walk(bad, 0);
    const p = await walk(bad, 1);
    const codes = s.diagnostics.map((d) => d.code);
    expect(codes).toContain("LFH_USERDATA_BAD");
    expect(codes).toContain("NT_HEAP_ENTRY_CHECKSUM");
    expect(codes.indexOf("LFH_USERDATA_BAD")).toBeLessThan(codes.indexOf("NT_HEAP_ENTRY_CHECKSUM"));
    expect(p.inWorkers[0]).toBeGreaterThan(0);
    expect(p.diagnostics).toEqual(s.diagnostics);
    expect(p.blocks.length).toBe(s.blocks.length);
    expect(p.blocks.findIndex((b, i) => b.join() !== s.blocks[i]!.join())).toBe(-1);
    expect(p.heaps).toEqual(s.heaps);
    // and the clean dump
    const q = await walk(file, 1);
    expect(q.inWorkers[0]).toBeGreaterThan(0);
    expect(q.blocks.findIndex((b, i) => b.join() !== seq.blocks[i]!.join())).toBe(-1);
    expect(q.heaps).toEqual(seq.heaps);
  });
});
