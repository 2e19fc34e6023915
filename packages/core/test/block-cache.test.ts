import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BufferSource, BytesAddressSpace, Engine, FileSource, MAX_MEMORY_CLAIMS, RangeAddressSpace, emptySpan, emptyWindow, scanAligned } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "leakscope-cache-"));

/** A file whose every u32 at offset o holds o / 4 (so any read can be checked against its offset). */
function countingFile(name: string, bytes: number): string {
  const p = join(dir, name);
  const u32 = new Uint32Array(bytes / 4);
  for (let i = 0; i < u32.length; i++) u32[i] = i;
  writeFileSync(p, new Uint8Array(u32.buffer));
  return p;
}

describe("FileSource block cache", () => {
  const BLOCK = 1024;
  const path = countingFile("count.bin", 256 * BLOCK);

  it("cycles a sequential pass through the queue and keeps nothing", () => {
    const src = FileSource.open(path, { blockSize: BLOCK, cacheBlocks: 64 });
    const w = emptyWindow();
    for (let off = 0; off < src.size; off += BLOCK) {
      expect(src.window(off, w)).toBe(true);
      expect(w.view.getUint32(w.index, true)).toBe(off / 4);
    }
    // 64 blocks: a queue of 4, the rest for blocks read again
    expect(src.cacheState.queued).toBe(4);
    expect(src.cacheState.kept).toBe(0);
    src.close();
  });

  it("marks recycled windows stale, and address spaces re-read them", () => {
    const src = FileSource.open(path, { blockSize: BLOCK, cacheBlocks: 16 });
    const first = emptyWindow();
    expect(src.window(0, first)).toBe(true);
    expect(first.lease.stale).toBe(false);
    const space = new RangeAddressSpace(src, [{ address: 0x10000, size: src.size, fileOffset: 0 }], 8);
    expect(space.u32(0x10000 + 8)).toBe(2); // the space's window now points into block 0
    const w = emptyWindow();
    for (let off = BLOCK; off < 64 * BLOCK; off += BLOCK) src.window(off, w);
    expect(first.lease.stale).toBe(true);
    // block 0's memory now holds another block; the space must not serve it from its old window
    expect(space.u32(0x10000 + 12)).toBe(3);
    const span = emptySpan();
    expect(space.span(0x10000 + 16, span)).toBe(true);
    expect(span.view.getUint32(span.index, true)).toBe(4);
    expect(span.lease.stale).toBe(false);
    src.close();
    expect(span.lease.stale).toBe(true);
  });

  it("keeps a block read again after it left the queue through later passes", () => {
    const src = FileSource.open(path, { blockSize: BLOCK, cacheBlocks: 32 });
    const w = emptyWindow();
    const header = 200 * BLOCK;
    src.window(header, w); // first read: queued
    for (let off = 0; off < 10 * BLOCK; off += BLOCK) src.window(off, w);
    src.window(header, w); // read again after leaving the queue: kept
    expect(src.cacheState.kept).toBe(1);
    const held = emptyWindow();
    src.window(header, held);
    for (let pass = 0; pass < 3; pass++) for (let off = 0; off < 150 * BLOCK; off += BLOCK) src.window(off, w);
    expect(held.lease.stale).toBe(false);
    expect(held.view.getUint32(held.index, true)).toBe(header / 4);
    const before = src.bytesRead;
    src.window(header + 4, w);
    expect(src.bytesRead).toBe(before); // served from the cache
    src.close();
  });

  it("serves random reads correctly whatever the eviction order (property check against the file)", () => {
    const src = FileSource.open(path, { blockSize: BLOCK, cacheBlocks: 8 });
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    const space = new RangeAddressSpace(src, [{ address: 0x400000, size: src.size, fileOffset: 0 }], 4);
    const span = emptySpan();
    for (let i = 0; i < 5000; i++) {
      const off = rnd(src.size / 4) * 4;
      expect(space.u32(0x400000 + off)).toBe(off / 4);
      if (i % 7 === 0 && space.span(0x400000 + off, span)) expect(span.view.getUint32(span.index, true)).toBe(off / 4);
    }
    src.close();
  });
});

describe("scanAligned", () => {
  function page(sig: number, at: number): Uint8Array {
    const b = new Uint8Array(0x1000);
    new DataView(b.buffer).setUint32(at, sig, true);
    return b;
  }

  it("visits every aligned address with its probe bytes, across ranges and cache blocks", () => {
    // three ranges: one starting off-alignment, one spanning several 1 KiB cache blocks
    const pieces = [
      { address: 0x10800, bytes: new Uint8Array(0x2800) }, // aligned candidates 0x11000, 0x12000
      { address: 0x20000, bytes: new Uint8Array(0x4000) },
      { address: 0x30000, bytes: new Uint8Array(0x10) }, // too short for the probe
    ];
    new DataView(pieces[0]!.bytes.buffer).setUint32(0x1800 + 0x10, 0xddeeddee, true);
    new DataView(pieces[1]!.bytes.buffer).setUint32(0x3000 + 0x08, 0xffeeffee, true);
    const mem = new BytesAddressSpace(pieces, 8);
    const seen: [number, number, number][] = [];
    const r = scanAligned(mem, { step: 0x1000, probe: 0x20, maxCandidates: 100 }, (va, dv, i) => {
      seen.push([va, dv.getUint32(i + 0x08, true), dv.getUint32(i + 0x10, true)]);
    });
    expect(r).toEqual({ visited: 6, stopped: false });
    expect(seen.map((s) => s[0])).toEqual([0x11000, 0x12000, 0x20000, 0x21000, 0x22000, 0x23000]);
    expect(seen.find((s) => s[0] === 0x12000)![2]).toBe(0xddeeddee);
    expect(seen.find((s) => s[0] === 0x23000)![1]).toBe(0xffeeffee);

    // the same memory from a file with 1 KiB blocks and file offsets that are not page-aligned
    const bytes = new Uint8Array(0x10 + 0x2800 + 0x4000);
    bytes.set(pieces[0]!.bytes, 0x10);
    bytes.set(pieces[1]!.bytes, 0x10 + 0x2800);
    const p = join(dir, "scan.bin");
    writeFileSync(p, bytes);
    const src = FileSource.open(p, { blockSize: 1024, cacheBlocks: 4 });
    const fileSpace = new RangeAddressSpace(
      src,
      [
        { address: 0x10800, size: 0x2800, fileOffset: 0x10 },
        { address: 0x20000, size: 0x4000, fileOffset: 0x2810 },
      ],
      8,
    );
    const again: [number, number, number][] = [];
    scanAligned(fileSpace, { step: 0x1000, probe: 0x20, maxCandidates: 100 }, (va, dv, i) => {
      again.push([va, dv.getUint32(i + 0x08, true), dv.getUint32(i + 0x10, true)]);
    });
    expect(again).toEqual(seen);
    src.close();
  });

  it("probes sparse steps one candidate at a time and stops at its bound", () => {
    const pieces = Array.from({ length: 8 }, (_, k) => ({ address: 0x100000 + k * 0x10000, bytes: page(0xffeeffee + 0 * k, 0x10) }));
    const mem = new BytesAddressSpace(pieces, 8);
    let n = 0;
    const r = scanAligned(mem, { step: 0x10000, probe: 0x100, maxCandidates: 5 }, (_va, dv, i) => {
      expect(dv.getUint32(i + 0x10, true)).toBe(0xffeeffee);
      n++;
    });
    expect(r.stopped).toBe(true);
    expect(n).toBe(5);
    const early = scanAligned(mem, { step: 0x10000, probe: 0x100, maxCandidates: 100 }, (va) => va < 0x120000);
    expect(early).toEqual({ visited: 3, stopped: true });
  });

  it("reads 16 MiB in bulk after slow sparse probes (a dump read from disk), then probes again; the visits are the same", () => {
    const STEP = 0x10000;
    const n = 600;
    const bytes = new Uint8Array(n * STEP);
    const dv = new DataView(bytes.buffer);
    for (let k = 0; k < n; k++) dv.setUint32(k * STEP + 8, 0xa000 + k, true);
    /** A source whose probes below `slowBelow` wait `peekMs` (a disk seek), counting probes and window reads. */
    class DiskLike extends BufferSource {
      peeks = 0;
      windows = 0;
      constructor(
        private readonly peekMs: number,
        private readonly slowBelow: number,
      ) {
        super(bytes);
      }
      override window(offset: number, out: ReturnType<typeof emptyWindow>): boolean {
        this.windows++;
        return super.window(offset, out);
      }
      peek(offset: number, dst: Uint8Array, length: number): number {
        this.peeks++;
        if (offset < this.slowBelow) {
          const until = performance.now() + this.peekMs;
          while (performance.now() < until) {
            // busy wait: the probe's latency
          }
        }
        return this.readInto(offset, dst, 0, length);
      }
    }
    const scan = (src: DiskLike): number[] => {
      const space = new RangeAddressSpace(src, [{ address: 0x7f0000000000, size: n * STEP, fileOffset: 0 }], 8);
      const seen: number[] = [];
      const r = scanAligned(space, { step: STEP, probe: 0x20, maxCandidates: 1000 }, (_va, view, i) => {
        seen.push(view.getUint32(i + 8, true));
      });
      expect(r).toEqual({ visited: n, stopped: false });
      return seen;
    };
    const expected = Array.from({ length: n }, (_, k) => 0xa000 + k);
    // every probe slow (0.5 ms, far above the 0.066 ms that reading 64 KiB in bulk takes at 1 GB/s):
    // 14 probes, 256 candidates (16 MiB) in bulk, 14 probes, 256 in bulk, 14 probes, the rest in bulk
    const disk = new DiskLike(0.5, Number.POSITIVE_INFINITY);
    expect(scan(disk)).toEqual(expected);
    expect(disk.peeks).toBe(42);
    expect(disk.windows).toBeGreaterThan(0);
    // only the first 64 candidates slow (pages the page cache had dropped): one stretch in bulk,
    // then probing resumes at candidate 270 and stays sparse
    const patchy = new DiskLike(0.5, 64 * STEP);
    expect(scan(patchy)).toEqual(expected);
    expect(patchy.peeks).toBe(14 + (n - 270));
    // the in-memory source itself stays with one probe per candidate
    const fast = new DiskLike(0, 0);
    expect(scan(fast)).toEqual(expected);
    expect(fast.peeks).toBe(n);
    expect(fast.windows).toBe(0);
  });

  it("skips claimed memory without reading it", () => {
    const PAGE = 0x1000;
    const bytes = new Uint8Array(64 * PAGE);
    const p = join(dir, "skip.bin");
    writeFileSync(p, bytes);
    const src = FileSource.open(p, { blockSize: 4 * PAGE, cacheBlocks: 16 });
    const space = new RangeAddressSpace(src, [{ address: 0x100000, size: 64 * PAGE, fileOffset: 0 }], 8);
    const skip = { starts: Float64Array.from([0x100000 + 8 * PAGE, 0x100000 + 20 * PAGE + 0x10]), ends: Float64Array.from([0x100000 + 16 * PAGE, 0x100000 + 60 * PAGE]) };
    const seen: number[] = [];
    scanAligned(space, { step: PAGE, probe: 0x20, maxCandidates: 1000, skip }, (va) => {
      seen.push((va - 0x100000) / PAGE);
    });
    // pages 8..15 and 21..59 are skipped (page 20 starts before the second range does)
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 60, 61, 62, 63]);
    // only the 4-page blocks holding visited pages were read: 0-7, 16-23, 60-63
    expect(src.bytesRead).toBe(5 * 4 * PAGE);
    src.close();
  });

  it("refuses steps that are not powers of two and probes longer than a step", () => {
    const mem = new BytesAddressSpace([{ address: 0, bytes: new Uint8Array(16) }], 4);
    expect(() => scanAligned(mem, { step: 3000, probe: 4, maxCandidates: 1 }, () => {})).toThrow(RangeError);
    expect(() => scanAligned(mem, { step: 0x1000, probe: 0x2000, maxCandidates: 1 }, () => {})).toThrow(RangeError);
  });

  it("works over in-memory sources without copying", () => {
    const src = new BufferSource(page(0xddeeddee, 0x10));
    const space = new RangeAddressSpace(src, [{ address: 0x7000, size: 0x1000, fileOffset: 0 }], 8);
    const hits: number[] = [];
    scanAligned(space, { step: 0x1000, probe: 0x20, maxCandidates: 10 }, (va, dv, i) => {
      if (dv.getUint32(i + 0x10, true) === 0xddeeddee) hits.push(va);
    });
    expect(hits).toEqual([0x7000]);
  });
});

describe("AddressSpace windows", () => {
  it("keeps two windows, so alternating between two places does not refill one on every read", () => {
    const BLOCK = 1024;
    const path = countingFile("alternate.bin", 64 * BLOCK);
    const src = FileSource.open(path, { blockSize: BLOCK, cacheBlocks: 16 });
    let windows = 0;
    const counted = {
      name: src.name,
      size: src.size,
      window: (offset: number, out: ReturnType<typeof emptyWindow>) => {
        windows++;
        return src.window(offset, out);
      },
      readInto: src.readInto.bind(src),
      close: () => src.close(),
    };
    const space = new RangeAddressSpace(counted, [{ address: 0x10000, size: src.size, fileOffset: 0 }], 8);
    const bitmap = 0x10000 + 2 * BLOCK;
    const blocks = 0x10000 + 40 * BLOCK;
    for (let i = 0; i < 200; i++) {
      expect(space.u32(bitmap + (i % 64) * 4)).toBe((2 * BLOCK) / 4 + (i % 64));
      expect(space.u32(blocks + i * 4)).toBe((40 * BLOCK) / 4 + i);
    }
    expect(windows).toBe(2);
    // a third place evicts the older window, and the values stay right
    expect(space.u32(0x10000 + 60 * BLOCK)).toBe((60 * BLOCK) / 4);
    expect(space.u32(bitmap)).toBe((2 * BLOCK) / 4);
    expect(windows).toBe(4);
    src.close();
  });
});

describe("Run.claimMemory", () => {
  it("sorts and merges claims, ignores invalid ones and stops at its bound", async () => {
    const engine = new Engine({ plugins: [] });
    let claimedAfter: { starts: number[]; ends: number[] } | undefined;
    engine.hooks.resolveReader.tap("test", () => ({
      name: "test",
      open: (_probe, run) => {
        run.claimMemory(0x5000, 0x6000);
        run.claimMemory(0x1000, 0x2000);
        run.claimMemory(0x1800, 0x3000); // overlaps
        run.claimMemory(0x3000, 0x4000); // touches
        run.claimMemory(0x9000, 0x9000); // empty
        run.claimMemory(Number.NaN, 0x10000); // invalid
        const r = run.claimedMemory();
        claimedAfter = { starts: Array.from(r.starts), ends: Array.from(r.ends) };
        for (let i = 0; i < MAX_MEMORY_CLAIMS + 10; i++) run.claimMemory(0x100000 + i * 0x2000, 0x100000 + i * 0x2000 + 0x1000);
        // 4 claims were kept above (2 ranges once merged); the bound counts claims, not ranges
        expect(run.claimedMemory().starts.length).toBe(2 + MAX_MEMORY_CLAIMS - 4);
        throw new Error("stop here");
      },
    }));
    await expect(engine.openSource(new BufferSource(new Uint8Array(8)), { command: "info", depth: "open" })).rejects.toThrow("stop here");
    expect(claimedAfter).toEqual({ starts: [0x1000, 0x5000], ends: [0x4000, 0x6000] });
  });
});

describe("AddressSpace peeks (sparse reads that load no cache block)", () => {
  const BLOCK = 1024;
  const path = countingFile("peek.bin", 64 * BLOCK);

  it("reads values directly, from the current window or a cached block when they hold them", () => {
    const src = FileSource.open(path, { blockSize: BLOCK, cacheBlocks: 8 });
    // two ranges adjacent in memory but not in the file: 0x10000.. is file 0..32K, 0x18000.. is file 48K..
    const space = new RangeAddressSpace(
      src,
      [
        { address: 0x10000, size: 32 * BLOCK, fileOffset: 0 },
        { address: 0x18000, size: 16 * BLOCK, fileOffset: 48 * BLOCK },
      ],
      8,
    );
    // a pointer per block, none cached: each read straight from the file
    for (let b = 0; b < 32; b++) expect(space.peekPtr(0x10000 + b * BLOCK + 8)).toBe((b * BLOCK + 8) / 4 + ((b * BLOCK + 12) / 4) * 2 ** 32);
    expect(src.cacheState.queued + src.cacheState.kept).toBe(0);
    expect(src.bytesRead).toBe(32 * 8);
    // the 32-bit view reads 4 bytes
    expect(space.withPointerSize(4).peekPtr(0x10000 + 0x100)).toBe(0x40);
    // a block the space has loaded serves the peek, without another read
    expect(space.u32(0x10000 + 5 * BLOCK)).toBe((5 * BLOCK) / 4);
    const before = src.bytesRead;
    const dst = new Uint8Array(16);
    expect(space.peekInto(0x10000 + 5 * BLOCK + 64, dst, 16)).toBe(16);
    expect(Array.from(new Uint32Array(dst.buffer))).toEqual([16 + 5 * 256, 17 + 5 * 256, 18 + 5 * 256, 19 + 5 * 256]);
    expect(src.bytesRead).toBe(before);
    // across the two ranges: read piecewise through the cache, what the file holds at each side
    expect(space.peekInto(0x18000 - 4, dst, 8)).toBe(8);
    expect(Array.from(new Uint32Array(dst.buffer, 0, 2))).toEqual([(32 * BLOCK - 4) / 4, (48 * BLOCK) / 4]);
    // missing memory
    expect(space.peekPtr(0x30000)).toBeNaN();
    expect(space.peekInto(0x1c000 - 4, dst, 8)).toBe(4);
    src.close();
  });

  it("reads in-memory sources the same way", () => {
    const bytes = new Uint8Array(0x2000);
    new DataView(bytes.buffer).setUint32(0x1008, 0x12345678, true);
    const space = new RangeAddressSpace(new BufferSource(bytes), [{ address: 0x7000, size: 0x2000, fileOffset: 0 }], 4);
    expect(space.peekPtr(0x8008)).toBe(0x12345678);
    expect(space.peekPtr(0x9000)).toBeNaN();
  });
});
