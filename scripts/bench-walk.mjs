#!/usr/bin/env node
// One measured walk for bench.mjs, in its own process so peak RSS belongs to this walk alone.
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const file = process.argv[2];
const { Engine, isUserAllocation } = await import(join(root, "packages/core/dist/index.js"));
const { defaultPlugins } = await import(join(root, "packages/cli/dist/index.js"));
const baseRssBytes = process.memoryUsage().rss;
const t0 = process.hrtime.bigint();
const engine = new Engine({ plugins: defaultPlugins() });
const open = await engine.open(file, { command: "bench", depth: "walk" });
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
let heapBytes = 0;
let liveBlocks = 0;
open.run.allocations.forEachChunk((c, n) => {
  for (let i = 0; i < n; i++) {
    if ((c.flags[i] & 0x10) === 0) heapBytes += c.blockSize[i]; // hosts' bytes are their LFH blocks'
    if (isUserAllocation(c.flags[i])) liveBlocks++;
  }
});
const blocks = open.run.allocations.count;
open.close();
const maxRssBytes = process.resourceUsage().maxRSS * 1024;
process.stdout.write(`${JSON.stringify({ secs, blocks, liveBlocks, heapBytes, maxRssBytes, baseRssBytes })}\n`);
