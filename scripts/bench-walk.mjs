#!/usr/bin/env node
// One measured walk (or walk + analyze) for bench.mjs, in its own process so peak RSS belongs to it alone.
import { join, resolve, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { peakRss } from "./lib/rss.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const file = process.argv[2];
// argv[3]: the bundle bench.mjs built from the sources; without it, the packages' dist
const bundle = process.argv[3];
const core = bundle ? await import(pathToFileURL(bundle).href) : await import(join(root, "packages/core/dist/index.js"));
const { Engine, isUserAllocation, SUSPECT_SCORE_FLOOR } = core;
const { defaultPlugins } = bundle ? core : await import(join(root, "packages/cli/dist/index.js"));
// argv[4] "analyze": the whole of `leakscope analyze` (reachability, C++ types, stacks, the
// combiner and the verdict) after the walk, as the command line runs it
const analyze = process.argv[4] === "analyze";
const { leakAnalyzer } = analyze ? (bundle ? core : await import(join(root, "packages/analyze/dist/index.js"))) : {};
const baseRssBytes = process.memoryUsage().rss;
const t0 = process.hrtime.bigint();
const engine = new Engine({ plugins: analyze ? [...defaultPlugins(), leakAnalyzer({})] : defaultPlugins() });
// Phase times from the engine's progress reports: "discovering heaps" (PEB lists, signature
// scans) and "walking heaps" (the allocator walkers alone).
const phases = {};
let phase;
let phaseStart = 0n;
const progress = {
  start(label) {
    phase = label;
    phaseStart = process.hrtime.bigint();
  },
  update() {},
  end() {
    if (phase !== undefined) phases[phase] = (phases[phase] ?? 0) + Number(process.hrtime.bigint() - phaseStart) / 1e9;
    phase = undefined;
  },
};
const open = await engine.open(file, { command: analyze ? "analyze" : "bench", depth: analyze ? "analyze" : "walk", progress });
const analysis = open.run.data.analysis;
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
const maxRssBytes = peakRss();
const walkSecs = phases["walking heaps"] ?? secs;
const discoverSecs = phases["discovering heaps"] ?? 0;
const extra = analysis
  ? {
      analyzeSecs: phases.analyzing ?? 0,
      verdict: analysis.verdict,
      strongSuspects: analysis.suspects.filter((s) => s.score >= SUSPECT_SCORE_FLOOR).length,
      unreferenced: analysis.reachability?.unreferenced.count ?? null,
    }
  : {};
process.stdout.write(`${JSON.stringify({ secs, walkSecs, discoverSecs, blocks, liveBlocks, heapBytes, maxRssBytes, baseRssBytes, ...extra })}\n`);
