import { copyFileSync, existsSync, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { Engine, FileSource, type Translation, minidumpInput } from "@leakscope/core";
import { allocationRows, writeBenchDump } from "@leakscope/test-utils";
import { heapNt } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "leakscope-nt-parallel-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Workers run the built worker (dist/nt-worker.js): the sources cannot be loaded by a plain thread.
const workerJs = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "nt-worker.js");
const built = existsSync(workerJs);
if (!built) {
  const reason = `${workerJs} is not built: parallel-walk tests skipped (run npm run build)`;
  if (process.env.CI === "true") throw new Error(`${reason}; CI=true requires it`);
  console.warn(reason);
}

type Walked = Awaited<ReturnType<typeof walk>>;

async function walk(file: string, workers: number) {
  const engine = new Engine({ plugins: [minidumpInput(), heapNt({ workers, parallelMinBytes: 0 })] });
  const open = await engine.openSource(FileSource.open(file), { command: "heaps", depth: "walk" });
  const blocks = allocationRows(open.run.allocations);
  const inWorkers = open.run.heaps.map((h) => h.data.nt?.walkedInWorkers ?? 0);
  const segments = open.run.heaps.map((h) => h.data.nt?.segmentWalks.map((w) => [w.base, w.blocks, w.busyBytes, w.freeBytes, w.ucrs, w.endedAtEnd]) ?? []);
  const freeList = open.run.heaps.map((h) => [h.data.nt?.freeListLength, h.data.nt?.freeListAgrees, h.data.nt?.checksumFailures, h.incomplete ?? false]);
  const result = { blocks, inWorkers, segments, freeList, diagnostics: open.report.diagnostics, heaps: open.report.heaps };
  open.close();
  return result;
}

function same(par: Walked, seq: Walked): void {
  expect(par.blocks.length).toBe(seq.blocks.length);
  const firstDiff = par.blocks.findIndex((b, i) => b.join() !== seq.blocks[i]!.join());
  expect(firstDiff).toBe(-1);
  expect(par.segments).toEqual(seq.segments);
  expect(par.freeList).toEqual(seq.freeList);
  expect(par.diagnostics).toEqual(seq.diagnostics);
  expect(par.heaps).toEqual(seq.heaps);
}

describe("NT heap segments walked on worker threads", () => {
  // 2 heaps of 4 segments (32,768 blocks each), free blocks, uncommitted tails, a virtual block
  const file = join(dir, "nt.dmp");
  writeBenchDump("nt", 200_000, file, { blocksPerHeap: 120_000, blocksPerVirtual: 150_000 });

  it.skipIf(!built)("gives the blocks, order, figures and diagnostics of a one-thread walk", async () => {
    const seq = await walk(file, 0);
    const par = await walk(file, 1);
    expect(seq.inWorkers.every((n) => n === 0)).toBe(true);
    // a worker took the second half of each heap's segments
    expect(par.inWorkers).toEqual(seq.segments.map((s) => Math.floor(s.length / 2)));
    expect(seq.diagnostics.filter((d) => d.severity !== "info")).toEqual([]);
    same(par, seq);
    // 3 workers: lanes of 1-2 segments each, same result
    same(await walk(file, 3), seq);
  });

  it.skipIf(!built)("replays a worker's diagnostics where a one-thread walk raises them", async () => {
    // corrupt a block header in the last segment of the first heap (a worker's lane)
    const bad = join(dir, "nt-corrupt.dmp");
    copyFileSync(file, bad);
    const seq0 = await walk(file, 0);
    const lastSeg = seq0.segments[0]!.at(-1)![0] as number;
    const victim = seq0.blocks.find((b) => b[2]! > lastSeg + 0x10000)!;
    const src = FileSource.open(file);
    const engine = new Engine({ plugins: [minidumpInput()] });
    const open = await engine.openSource(src, { command: "heaps", depth: "open" });
    const tr = { source: src, fileOffset: 0, contiguous: 0 } as Translation;
    expect(open.run.target.views[0]!.space.translate(victim[2]!, tr)).toBe(true);
    open.close();
    const fd = openSync(bad, "r+");
    const hdr = Buffer.alloc(16);
    readSync(fd, hdr, 0, 16, tr.fileOffset);
    hdr[8] = hdr[8]! ^ 0x5a; // the encoded size: fails the checksum
    writeSync(fd, hdr, 0, 16, tr.fileOffset);
    closeSync(fd);
    const seq = await walk(bad, 0);
    const par = await walk(bad, 1);
    expect(seq.diagnostics.map((d) => d.code)).toContain("NT_HEAP_ENTRY_CHECKSUM");
    expect(par.inWorkers[0]).toBeGreaterThan(0);
    same(par, seq);
  });

  it.skipIf(!built)("walks a worker's lane on the main thread when the worker cannot open the dump", async () => {
    const gone = join(dir, "nt-gone.dmp");
    copyFileSync(file, gone);
    const src = FileSource.open(gone);
    // the main thread holds the file open; a worker opening it by path finds nothing
    unlinkSync(gone);
    const engine = new Engine({ plugins: [minidumpInput(), heapNt({ workers: 1, parallelMinBytes: 0 })] });
    const open = await engine.openSource(src, { command: "heaps", depth: "walk" });
    const failed = open.report.diagnostics.filter((d) => d.code === "NT_HEAP_WORKER_FAILED");
    const count = open.run.allocations.count;
    expect(open.run.heaps.map((h) => h.data.nt?.walkedInWorkers)).toEqual([0, 0]);
    open.close();
    expect(failed.length).toBe(2);
    expect(failed[0]!.severity).toBe("info");
    expect(count).toBe((await walk(file, 0)).blocks.length);
  });
});
