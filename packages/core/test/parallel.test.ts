import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MessageChannel, receiveMessageOnPort } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import {
  AllocFlags,
  AllocationSet,
  BufferSource,
  FileSource,
  InputError,
  SliceSpace,
  SyncWorker,
  DiagnosticRecorder,
  Diagnostics,
  PrefaultQueue,
  closePrefaultHelper,
  defaultTaskWorkerCount,
  defaultWorkerCount,
  planLanes,
  replayDiagnostics,
  openMinidumpTarget,
  sliceSpace,
  transferList,
} from "@leakscope/core";
import { MinidumpBuilder } from "@leakscope/test-utils";

const dir = mkdtempSync(join(tmpdir(), "leakscope-parallel-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

describe("SliceSpace: a part of a dump's memory for another thread", () => {
  const b = new MinidumpBuilder();
  b.systemInfo({ arch: "x64", major: 10, minor: 0, build: 19041 });
  b.memory(0x10000, pattern(0x3000, 1));
  b.memory(0x13000, pattern(0x1000, 2)); // adjacent to the first range
  b.memory(0x40000, pattern(0x2000, 3));
  b.memory(0x2_0000_0000, pattern(0x1000, 4)); // above 2^32
  const bytes = b.build();
  const file = join(dir, "slice.dmp");
  writeFileSync(file, bytes);

  it("reads what the original space reads, and nothing outside the intervals", () => {
    const src = FileSource.open(file);
    const space = openMinidumpTarget(src).views[0]!.space;
    const slice = sliceSpace(space, [0x12000, 0x14800, 0x40800, 0x41000, 0x2_0000_0800, 0x2_0000_0900])!;
    expect(slice).toBeDefined();
    expect(slice.file).toBe(file);
    // the two adjacent ranges were captured at adjacent file offsets: one piece
    expect(Array.from(slice.ranges).length / 3).toBe(3);
    const s = SliceSpace.open(slice);
    try {
      for (const [va, n] of [
        [0x12000, 0x2800],
        [0x40800, 0x800],
        [0x2_0000_0800, 0x100],
      ] as const) {
        expect(s.read(va, n)).toEqual(space.read(va, n));
      }
      expect(s.u32(0x11ffc)).toBe(-1); // captured, but not in the slice
      expect(s.u32(0x41000)).toBe(-1);
      expect(s.firstMissing(0x13800, 0x1000)).toBe(0x14000);
      expect(s.withPointerSize(4).ptr(0x12000)).toBe(space.withPointerSize(4).ptr(0x12000));
      // the whole space: every range, described once
      const all = sliceSpace(space)!;
      expect(sliceSpace(space)).toBe(all);
      const w = SliceSpace.open(all);
      for (const r of space.ranges()) expect(w.read(r.address, r.size)).toEqual(space.read(r.address, r.size));
      expect(w.ranges().reduce((n, r) => n + r.size, 0)).toBe(space.ranges().reduce((n, r) => n + r.size, 0));
      w.close();
    } finally {
      s.close();
      src.close();
    }
  });

  it("is refused for memory that is not in a file, and when the file changed", () => {
    const mem = openMinidumpTarget(new BufferSource(bytes, "mem.dmp")).views[0]!.space;
    expect(sliceSpace(mem, [0x10000, 0x11000])).toBeUndefined();
    const copy = join(dir, "changed.dmp");
    writeFileSync(copy, bytes);
    const src = FileSource.open(copy);
    const slice = sliceSpace(openMinidumpTarget(src).views[0]!.space, [0x10000, 0x11000])!;
    src.close();
    // same path, same size, other file
    rmSync(copy);
    writeFileSync(copy, bytes);
    let err: unknown;
    try {
      SliceSpace.open(slice).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe("INPUT_UNREADABLE");
    rmSync(copy);
    expect(() => SliceSpace.open(slice)).toThrow(InputError);
  });
});

describe("AllocationSet columns between threads", () => {
  function filled(n: number, start = 0): AllocationSet {
    const a = new AllocationSet();
    for (let i = 0; i < n; i++) {
      const v = start + i;
      a.add(v % 3, 0x1000 + v * 16, 0x1000 + v * 16 - 16, v % 100, 32, AllocFlags.BUSY, v % 7 === 0 ? 0x5000 + v : 0, v % 5 === 1 ? i - 1 : -1);
    }
    return a;
  }
  const rows = (a: AllocationSet): number[][] =>
    Array.from({ length: a.count }, (_, i) => [a.heap(i), a.userAddress(i), a.blockAddress(i), a.requestedSize(i), a.blockSize(i), a.flags(i), a.tracePointer(i), a.host(i)]);

  it("appends a whole set chunk by chunk into a set that is half a chunk in", () => {
    const src = filled(150_000);
    const expected = filled(30_000);
    for (let i = 0; i < 150_000; i++) {
      // rebased hosts: the row before, now 30,000 further
      expected.add(src.heap(i), src.userAddress(i), src.blockAddress(i), src.requestedSize(i), src.blockSize(i), src.flags(i), src.tracePointer(i), src.host(i) >= 0 ? src.host(i) + 30_000 : -1);
    }
    // hosts within a piece rebase, a host in an earlier piece cannot be named
    const pieces = filled(150_000).chunkColumns();
    expect(pieces.map((p) => p.count)).toEqual([65536, 65536, 150_000 - 131072]);
    const byPiece = filled(30_000);
    const firsts = pieces.map((p) => byPiece.appendColumns(p));
    expect(firsts).toEqual([30_000, 30_000 + 65536, 30_000 + 131072]);
    const got = rows(byPiece);
    const want = rows(expected);
    // (src row 65536 names row 65535 as its host: in the first piece, so lost)
    for (const start of [30_000 + 65536, 30_000 + 131072]) if (src.host(start - 30_000) >= 0) want[start]![7] = -1;
    const diff = got.flatMap((r, i) => (r.join() === want[i]!.join() ? [] : [[i, r, want[i]]]));
    expect(diff.slice(0, 3)).toEqual([]);
  });

  it("reuses recycled columns for later chunks without showing their old traces", () => {
    const src = filled(65536);
    const [piece] = src.chunkColumns();
    const dst = new AllocationSet();
    dst.appendColumns(piece!);
    dst.recycle(piece!);
    // the next chunk is the recycled memory: its old rows (with traces) must not show
    for (let i = 0; i < 10; i++) dst.add(1, 0x900000 + i, 0x900000 + i, 1, 16, AllocFlags.FREE);
    for (let i = 65536; i < 65546; i++) {
      expect(dst.tracePointer(i)).toBe(0);
      expect(dst.host(i)).toBe(-1);
      expect(dst.heap(i)).toBe(1);
    }
    expect(dst.tracePointer(7)).toBe(0x5007);
    // the rows went into the recycled memory itself
    expect(piece!.heap[0]).toBe(1);
    expect(piece!.userAddress[9]).toBe(0x900009);
    // columns shorter than a chunk are not taken: the next chunk is new memory
    const small = {
      count: 10,
      userAddress: new Float64Array(10),
      blockAddress: new Float64Array(10),
      requestedSize: new Float64Array(10),
      blockSize: new Float64Array(10),
      tracePointer: new Float64Array(0),
      heap: new Uint16Array(10),
      flags: new Uint16Array(10),
      host: new Int32Array(10).fill(-1),
    };
    dst.recycle(small);
    while (dst.count < 2 * 65536 + 1) dst.add(2, 0xa00000, 0xa00000, 1, 16, AllocFlags.FREE);
    expect(dst.heap(2 * 65536)).toBe(2);
    expect(Array.from(small.heap)).toEqual(new Array(10).fill(0));
  });
});

describe("SyncWorker", () => {
  const mod = join(dir, "task.mjs");
  writeFileSync(
    mod,
    `export function run(task, beat) {
       if (task.fail) throw new Error("task failed on purpose");
       beat();
       const out = new Float64Array(task.n);
       for (let i = 0; i < task.n; i++) out[i] = i * task.k;
       return { value: { out, echo: task.echo }, transfer: [out.buffer] };
     }`,
  );

  it("runs tasks beside the calling thread and hands results back in any order", () => {
    const w = new SyncWorker(pathToFileURL(mod), "run");
    try {
      const a = w.submit({ n: 5, k: 2, echo: "a" });
      const b = w.submit({ n: 3, k: 10, echo: "b" });
      const rb = w.wait(b);
      const ra = w.wait(a);
      expect(rb).toEqual({ ok: true, value: { out: new Float64Array([0, 10, 20]), echo: "b" } });
      expect(ra.ok && Array.from((ra.value as { out: Float64Array }).out)).toEqual([0, 2, 4, 6, 8]);
      const bad = w.wait(w.submit({ fail: true }));
      expect(bad.ok).toBe(false);
      expect(!bad.ok && bad.reason).toContain("task failed on purpose");
      // still serving after a failed task
      expect(w.wait(w.submit({ n: 1, k: 1, echo: "c" })).ok).toBe(true);
      // a forgotten task's result is dropped, later tasks are unaffected
      w.forget(w.submit({ n: 2, k: 1, echo: "dropped" }));
      const e = w.wait(w.submit({ n: 1, k: 1, echo: "e" }));
      expect(e.ok && (e.value as { echo: string }).echo).toBe("e");
    } finally {
      void w.terminate();
    }
  });

  it("reports a module that cannot load, or that lacks the function, as a failed task", () => {
    const missing = new SyncWorker(pathToFileURL(join(dir, "nowhere.mjs")), "run");
    const r = missing.wait(missing.submit({}));
    expect(r.ok).toBe(false);
    expect(missing.usable).toBe(false);
    const noFn = new SyncWorker(pathToFileURL(mod), "absent");
    expect(noFn.wait(noFn.submit({})).ok).toBe(false);
    void missing.terminate();
    void noFn.terminate();
  });

  it("takes its default count from LEAKSCOPE_WORKERS", () => {
    const saved = process.env.LEAKSCOPE_WORKERS;
    try {
      process.env.LEAKSCOPE_WORKERS = "0";
      expect(defaultWorkerCount()).toBe(0);
      process.env.LEAKSCOPE_WORKERS = "5";
      expect(defaultWorkerCount()).toBe(5);
      expect(defaultTaskWorkerCount()).toBe(5);
      process.env.LEAKSCOPE_WORKERS = "0";
      expect(defaultTaskWorkerCount()).toBe(0);
      process.env.LEAKSCOPE_WORKERS = "many";
      expect(defaultWorkerCount()).toBeLessThanOrEqual(3);
      // without a usable override: one CPU fewer for task workers than for helpers (the helper
      // that pages in the allocation table takes one)
      const cpus = availableParallelism();
      expect(defaultWorkerCount()).toBe(Math.max(0, Math.min(3, cpus - 1)));
      expect(defaultTaskWorkerCount()).toBe(Math.max(0, Math.min(3, cpus - 2)));
    } finally {
      if (saved === undefined) delete process.env.LEAKSCOPE_WORKERS;
      else process.env.LEAKSCOPE_WORKERS = saved;
    }
  });
});

describe("planLanes", () => {
  const MiB = 1 << 20;
  const many = (n: number, bytes: number) => Array.from({ length: n }, () => bytes);

  it("cuts contiguous lanes of about equal bytes, only for pieces big enough in all", () => {
    expect(planLanes(many(8, 8 * MiB), 1)).toEqual([0, 4, 8]);
    expect(planLanes(many(8, 8 * MiB), 3)).toEqual([0, 2, 4, 6, 8]);
    expect(planLanes(many(8, 8 * MiB), 0)).toEqual([0, 8]);
    // below the threshold (32 MiB by default): one lane
    expect(planLanes(many(3, 8 * MiB), 1)).toEqual([0, 3]);
    // one big piece cannot be cut
    expect(planLanes([512 * MiB], 3)).toEqual([0, 1]);
    // lanes never below a quarter of the threshold
    expect(planLanes(many(40, MiB), 3)).toEqual([0, 10, 20, 30, 40]);
    expect(planLanes(many(40, MiB), 3, 64 * MiB)).toEqual([0, 40]);
    // a big piece first: the lanes after it share the rest
    expect(planLanes([96 * MiB, 16 * MiB, 16 * MiB], 2)).toEqual([0, 1, 2, 3]);
    // negative or NaN sizes count as empty
    expect(planLanes([Number.NaN, -5, 40 * MiB, 40 * MiB], 1)).toEqual([0, 3, 4]);
  });
});

describe("DiagnosticRecorder", () => {
  it("records reports with the block count, and replays them up to a count", () => {
    let blocks = 0;
    const r = new DiagnosticRecorder(() => blocks);
    r.report("p", "A", "warning", "first", { address: "0x10" });
    blocks = 5;
    r.report("p", "B", "info", "second");
    const d = new Diagnostics();
    expect(replayDiagnostics(d, "p", r.list, 0, 4)).toBe(1);
    expect(d.list().map((x) => x.code)).toEqual(["A"]);
    expect(replayDiagnostics(d, "p", r.list, 1)).toBe(2);
    expect(d.list().map((x) => [x.code, x.severity, x.message])).toEqual([
      ["A", "warning", "first"],
      ["B", "info", "second"],
    ]);
  });
});

describe("memory paged in by a helper thread", () => {
  const helper = defaultWorkerCount() > 0;
  if (!helper) console.warn("one CPU (or LEAKSCOPE_WORKERS=0): no page-touching helper, its tests are skipped");
  const CHUNK_BYTES = 65536 * 40;
  const settle = () => new Promise((r) => setTimeout(r, 400));

  it.skipIf(!helper)("never changes a value the walk wrote first, wherever the helper is", async () => {
    const q = new PrefaultQueue(1 << 20);
    const taken: Int32Array[] = [];
    for (let k = 0; k < 48; k++) {
      const sab = q.take();
      expect(sab).toBeInstanceOf(SharedArrayBuffer);
      const a = new Int32Array(sab!);
      // the very words the helper writes (one per 4 KiB), written while it may still be behind
      for (let i = 0; i < a.length; i += 1024) a[i] = (k << 16) | (i >>> 10) | 1;
      taken.push(a);
    }
    await settle();
    for (let k = 0; k < taken.length; k++) {
      const a = taken[k]!;
      for (let i = 0; i < a.length; i += 1024) if (a[i] !== ((k << 16) | (i >>> 10) | 1)) expect.fail(`buffer ${k}, word ${i}: ${a[i]}`);
    }
  });

  it.skipIf(!helper || !existsSync("/proc/thread-self/stat"))("pages the buffers in without the caller touching them, again after the helper stopped", async () => {
    // Page faults per thread (Linux: minflt in /proc/thread-self/stat, the whole process in
    // /proc/self/stat), not the process's RSS, which the garbage collector moves by more than a
    // buffer. Buffers of 33 MiB: glibc maps anything above 32 MiB fresh, so neither the queue's
    // buffers nor the control reuse memory an earlier test left resident.
    const minflt = (path: string) => {
      const st = readFileSync(path, "utf8");
      return Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[7]);
    };
    const thisThread = () => minflt("/proc/thread-self/stat");
    const otherThreads = () => minflt("/proc/self/stat") - thisThread();
    const touch = (sab: SharedArrayBuffer) => {
      const a = new Int32Array(sab);
      for (let i = 0; i < a.length; i += 1024) a[i] = 1;
    };
    const bytes = 33 << 20;
    const pages = bytes / 4096;
    for (const round of [1, 2]) {
      const control = new SharedArrayBuffer(bytes);
      let f = thisThread();
      touch(control);
      const controlFaults = thisThread() - f;
      const q = new PrefaultQueue(bytes, 1);
      const others = otherThreads();
      const held = q.take()!;
      expect(held.byteLength).toBe(bytes);
      // the taken buffer and the one queued behind it go to the helper in that order: wait until
      // other threads took half again the taken buffer's faults (up to 10 s: the helper's thread
      // starts slowly on a loaded machine)
      for (let t = 0; t < 100 && otherThreads() - others < pages * 1.5; t++) await new Promise((r) => setTimeout(r, 100));
      f = thisThread();
      touch(held);
      const heldFaults = thisThread() - f;
      expect(controlFaults, `round ${round}: a fresh buffer cost ${controlFaults} faults`).toBeGreaterThan(pages / 2);
      expect(heldFaults, `round ${round}: ${heldFaults} faults on the paged-in buffer, ${controlFaults} on a fresh one`).toBeLessThan(controlFaults / 8);
      await closePrefaultHelper();
    }
  });

  it.skipIf(!helper)("holds an allocation set's chunks from the fourth on, with the same rows", () => {
    const set = new AllocationSet();
    const n = 5 * 65536 + 123;
    for (let i = 0; i < n; i++) set.add(i % 7, 0x10000 + i * 16, 0x10000 + i * 16 - 8, i % 100, 16 * ((i % 5) + 1), AllocFlags.BUSY, i % 3 === 0 ? 0x7000 + i : 0, i > 0 && i % 11 === 0 ? i - 1 : -1);
    const shared: boolean[] = [];
    set.forEachChunk((c) => {
      shared.push(c.userAddress.buffer instanceof SharedArrayBuffer);
      expect(c.userAddress.buffer.byteLength === CHUNK_BYTES || !(c.userAddress.buffer instanceof SharedArrayBuffer)).toBe(true);
    });
    expect(shared).toEqual([false, false, false, true, true, true]);
    for (const i of [0, 65535, 3 * 65536 - 1, 3 * 65536, 3 * 65536 + 1, 4 * 65536 + 77, n - 1]) {
      expect([set.heap(i), set.userAddress(i), set.blockAddress(i), set.requestedSize(i), set.blockSize(i), set.flags(i), set.tracePointer(i), set.host(i)]).toEqual([
        i % 7, 0x10000 + i * 16, 0x10000 + i * 16 - 8, i % 100, 16 * ((i % 5) + 1), AllocFlags.BUSY, i % 3 === 0 ? 0x7000 + i : 0, i > 0 && i % 11 === 0 ? i - 1 : -1,
      ]);
    }
    // shared chunks are left out of transfer lists (posting shares them) and still post
    const pieces = set.chunkColumns();
    const list = transferList(pieces);
    expect(list.every((b) => b instanceof ArrayBuffer)).toBe(true);
    expect(new Set(list).size).toBe(list.length);
    const { port1, port2 } = new MessageChannel();
    try {
      port1.postMessage(pieces[4], transferList([pieces[4]!]));
      const got = receiveMessageOnPort(port2)!.message as { userAddress: Float64Array; count: number };
      expect(got.userAddress[77]).toBe(0x10000 + (4 * 65536 + 77) * 16);
    } finally {
      port1.close();
    }
  });

  // a task worker runs the built core: the sources cannot be loaded by a plain thread
  const coreJs = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "index.js");
  const built = existsSync(coreJs);
  if (!built) {
    const reason = `${coreJs} is not built: the task-worker test of the page-touching helper is skipped (run npm run build)`;
    if (process.env.CI === "true") throw new Error(`${reason}; CI=true requires it`);
    console.warn(reason);
  }

  it.skipIf(!built)("starts no helper in a task worker, whose work already fills the other CPUs", () => {
    const mod = join(dir, "chunks.mjs");
    writeFileSync(
      mod,
      `import { AllocationSet } from ${JSON.stringify(pathToFileURL(coreJs).href)};
       export function run(task) {
         const set = new AllocationSet();
         for (let i = 0; i < task.n; i++) set.add(0, i, i, 1, 16, 1);
         const shared = [];
         set.forEachChunk((c) => shared.push(c.userAddress.buffer instanceof SharedArrayBuffer));
         return { value: shared };
       }`,
    );
    const w = new SyncWorker(pathToFileURL(mod), "run");
    try {
      const r = w.wait(w.submit({ n: 5 * 65536 }));
      expect(r).toEqual({ ok: true, value: [false, false, false, false, false] });
    } finally {
      void w.terminate();
    }
  });
});
