#!/usr/bin/env node
// The one-thread floor of a heap walk, for bench.mjs: the least any JavaScript walk of this dump
// does, measured in its own fresh process as a real walk is.
//
// It reads the whole file sequentially with 128 KiB `readSync` calls into 16 rotating page-aligned
// blocks (as @leakscope/core's FileSource does), reads one 8-byte header per block at the dump's
// average block stride (file bytes / blocks), and appends a 40-byte row per block to columns laid
// out as the allocation table's (4 float64, 2 uint16, 1 int32 per row in 65,536-row chunks). It
// validates nothing, follows no list and decodes nothing. The columns are allocated and paged in
// before the clock starts (what the page-touching helper does at best, on the other CPU), so the
// figure is a lower bound for one thread on this machine and this file, not an estimate.
//
// usage: bench-floor.mjs FILE BLOCKS  ->  one JSON line {secs, rows, bytes}
import { closeSync, openSync, readSync, statSync } from "node:fs";

const file = process.argv[2];
const blocks = Number(process.argv[3]);
if (!file || !(blocks > 0)) {
  console.error("usage: bench-floor.mjs FILE BLOCKS");
  process.exit(2);
}
const size = statSync(file).size;
const stride = size / blocks;

const BLOCK = 128 * 1024;
const SLOTS = 16;
const memory = new WebAssembly.Memory({ initial: (BLOCK * SLOTS) / 65536, maximum: (BLOCK * SLOTS) / 65536 }).buffer;
const slots = [];
for (let i = 0; i < SLOTS; i++) slots.push({ bytes: new Uint8Array(memory, i * BLOCK, BLOCK), view: new DataView(memory, i * BLOCK, BLOCK) });

const ROWS = 65536;
class Chunk {
  constructor(buf) {
    this.userAddress = new Float64Array(buf, 0, ROWS);
    this.blockAddress = new Float64Array(buf, ROWS * 8, ROWS);
    this.requestedSize = new Float64Array(buf, ROWS * 16, ROWS);
    this.blockSize = new Float64Array(buf, ROWS * 24, ROWS);
    this.heap = new Uint16Array(buf, ROWS * 32, ROWS);
    this.flags = new Uint16Array(buf, ROWS * 34, ROWS);
    this.host = new Int32Array(buf, ROWS * 36, ROWS);
  }
}
const chunks = [];
for (let rows = 0; rows < blocks + ROWS; rows += ROWS) {
  const buf = new ArrayBuffer(ROWS * 40);
  new Uint8Array(buf).fill(1); // paged in ahead
  chunks.push(new Chunk(buf));
}

const fd = openSync(file, "r");
const t0 = process.hrtime.bigint();
let rows = 0;
let check = 0;
let pos = 0;
let slot = 0;
let next = 0; // file offset of the next header
let c = chunks[0];
while (pos < size) {
  const { bytes, view } = slots[slot];
  slot = (slot + 1) % SLOTS;
  const got = readSync(fd, bytes, 0, BLOCK, pos);
  if (got <= 0) break;
  for (let o = Math.floor(next) - pos; o + 8 <= got; o = Math.floor(next) - pos) {
    const lo = view.getInt32(o, true);
    const u = bytes[o + 7];
    const k = rows & (ROWS - 1);
    if (k === 0) c = chunks[rows / ROWS];
    const h = pos + o;
    c.userAddress[k] = h + 16;
    c.blockAddress[k] = h;
    c.requestedSize[k] = (lo & 0xffff) * 16 - (u & 0x3f);
    c.blockSize[k] = (lo & 0xffff) * 16;
    c.heap[k] = 1;
    c.flags[k] = (u >>> 6) | 1;
    c.host[k] = -1;
    check ^= lo;
    rows++;
    next += stride;
  }
  // a header straddling the end of the read is skipped (one in 128 KiB)
  while (Math.floor(next) < pos + got) next += stride;
  pos += got;
}
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
closeSync(fd);
process.stdout.write(`${JSON.stringify({ secs, rows, bytes: size, check: check & 1 })}\n`);
