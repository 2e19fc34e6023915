#!/usr/bin/env node
// `npm run bench`: throughput and memory of leakscope's heap walks at dump scale.
//
// For each scenario (NT backend, LFH-heavy, segment heap, WoW64) and size (1, 4, 16 million
// blocks by default) it writes a synthetic dump with @leakscope/test-utils (cached in
// .tmp/bench), measures the raw sequential read speed of that file, then runs the whole pipeline
// (`depth: walk`) in a fresh child process and reports wall time, blocks/s, heap MB/s, the ratio
// of heap MB/s to the raw read speed measured in the same run (for the whole pipeline and for
// the heap walks alone), the one-thread floor of a walk of that file (bench-floor.mjs: the same
// reads, one header word and one allocation-table row per block, nothing validated) and the walks'
// time as a multiple of it, and peak RSS against the target of 64 bytes per live block + 200 MB;
// then `leakscope analyze` end to end (the walk plus reachability, C++ types, stacks, the combiner
// and the verdict) in fresh processes: its time, ratio to the raw read and peak RSS against the
// same budget.
// Results go to bench-results/latest.json and a timestamped
// copy, so runs can be compared between commits.
//
// Options: --sizes 1,4,16 (millions)  --scenarios nt,lfh,segment,wow64  --runs 3 (walks per
// dump, each in a fresh process; the median is reported, all pipeline times are in the JSON)
// --keep (keep dumps)  --cold (drop the page cache before every raw read and every walk, so both
// read the dump from the disk, as a freshly copied dump is read; Linux, as root)
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bundleLeakscope } from "./lib/bundle.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const sizes = opt("sizes", "1,4,16").split(",").map(Number).filter((n) => n > 0);
const scenarios = opt("scenarios", "nt,lfh,segment,wow64").split(",");
const keep = args.includes("--keep");
const runs = Math.max(1, Number(opt("runs", "3")) || 3);
const cold = args.includes("--cold");

/**
 * Empty the page cache (Linux: sync, then write 1 to /proc/sys/vm/drop_caches), so the next read
 * of a dump comes from the disk. Exits with a message when the process may not do it.
 */
function dropPageCache() {
  spawnSync("sync");
  try {
    writeFileSync("/proc/sys/vm/drop_caches", "1\n");
  } catch (e) {
    console.error(`bench: --cold empties the page cache through /proc/sys/vm/drop_caches, which failed (${e.code ?? e.message}); run it as root on Linux, or without --cold`);
    process.exit(1);
  }
}
if (cold) dropPageCache();



const bundle = await bundleLeakscope("bench", ['export { leakAnalyzer } from "@leakscope/analyze";', 'export { SUSPECT_SCORE_FLOOR } from "@leakscope/core";']);
const { benchScenarios, writeBenchDump } = await import(pathToFileURL(bundle).href);
const known = new Set(Object.keys(benchScenarios));

const dir = join(root, ".tmp", "bench");
mkdirSync(dir, { recursive: true });

/** One sequential pass over `file` with reads of `chunk` bytes into one reused buffer. */
function readPass(file, chunk) {
  const buf = Buffer.allocUnsafe(chunk);
  const fd = openSync(file, "r");
  const size = statSync(file).size;
  const t0 = process.hrtime.bigint();
  let pos = 0;
  while (pos < size) {
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (n <= 0) break;
    pos += n;
  }
  closeSync(fd);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { bytes: size, secs, mbps: size / 1e6 / secs };
}

/**
 * Raw sequential read speed of `file`: the fastest of passes with 8 MiB and 128 KiB reads (the
 * latter is leakscope's cache block size; small reads into a buffer that stays in the CPU cache
 * are often the faster ones), so the ratio below is never flattered by a slow baseline.
 */
function rawRead(file) {
  const chunks = [8 << 20, 128 << 10, 8 << 20, 128 << 10];
  const passes = chunks.map((chunk) => {
    if (cold) dropPageCache();
    return readPass(file, chunk);
  });
  return passes.reduce((a, b) => (b.mbps > a.mbps ? b : a));
}

/**
 * `runs` runs of `script` with `args`, each in a fresh process (the page cache dropped first with
 * --cold), sorted by their `secs`: the last JSON line each printed. Undefined when one failed
 * (its stderr is printed, headed by `what`).
 */
function freshRuns(script, args, what) {
  const out = [];
  for (let k = 0; k < runs; k++) {
    if (cold) dropPageCache();
    const child = spawnSync(process.execPath, ["--max-old-space-size=8192", join(root, "scripts", script), ...args], {
      encoding: "utf8",
      maxBuffer: 1 << 20,
    });
    if (child.status !== 0) {
      console.error(`bench: ${what} failed:\n${child.stderr}`);
      return undefined;
    }
    out.push(JSON.parse(child.stdout.trim().split("\n").pop()));
  }
  return out.sort((a, b) => a.secs - b.secs);
}

/** The median of runs sorted by {@link freshRuns}. */
const median = (sorted) => sorted[(sorted.length - 1) >> 1];

const results = [];
for (const scenario of scenarios) {
  if (!known.has(scenario)) {
    console.log(`bench: scenario ${scenario} is not available (have: ${[...known].join(", ")})`);
    continue;
  }
  for (const millions of sizes) {
    const blocks = Math.round(millions * 1e6);
    if (blocks > benchScenarios[scenario].maxBlocks) {
      console.log(`bench: ${scenario} supports at most ${benchScenarios[scenario].maxBlocks} blocks; skipping ${millions}M`);
      continue;
    }
    const file = join(dir, `${scenario}-${millions}m.dmp`);
    if (!existsSync(file)) {
      const t0 = Date.now();
      const info = await writeBenchDump(scenario, blocks, file);
      console.log(`generated ${file} (${(statSync(file).size / 1e6).toFixed(0)} MB, ${info.blocks} blocks) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    if (!cold) readPass(file, 8 << 20); // warm the page cache so both measurements read from memory
    const raw = rawRead(file);
    // `runs` walks, each in a fresh process; the one with the median pipeline time is reported
    const walks = freshRuns("bench-walk.mjs", [file, bundle], `walk of ${file}`);
    if (walks === undefined) {
      process.exitCode = 1;
      continue;
    }
    const walk = median(walks);
    // the one-thread floor of a walk of this file (bench-floor.mjs): the same reads, one header
    // word and one 40-byte row per block, nothing validated
    const floors = freshRuns("bench-floor.mjs", [file, String(walk.blocks)], `floor pass over ${file}`);
    const floor = floors === undefined ? undefined : median(floors).secs;
    // `leakscope analyze` end to end (walk, reachability, types, stacks, combiner, verdict), `runs`
    // times in fresh processes, against the same memory budget as the walk
    const analyses = freshRuns("bench-walk.mjs", [file, bundle, "analyze"], `analyze of ${file}`);
    const analysis = analyses === undefined ? undefined : median(analyses);
    if (analyses === undefined) process.exitCode = 1;
    const heapMBps = walk.heapBytes / 1e6 / walk.secs;
    const walkMBps = walk.heapBytes / 1e6 / walk.walkSecs;
    const budget = 64 * walk.liveBlocks + 200e6;
    const r = {
      scenario,
      cache: cold ? "cold" : "warm",
      runs,
      pipelineSecsAllRuns: walks.map((w) => Number(w.secs.toFixed(3))),
      blocks: walk.blocks,
      liveBlocks: walk.liveBlocks,
      fileMB: Math.round(raw.bytes / 1e6),
      rawReadMBps: Math.round(raw.mbps),
      pipelineSecs: Number(walk.secs.toFixed(3)),
      discoverSecs: Number(walk.discoverSecs.toFixed(3)),
      walkSecs: Number(walk.walkSecs.toFixed(3)),
      blocksPerSec: Math.round(walk.blocks / walk.secs),
      heapMBps: Math.round(heapMBps),
      ratioToRawRead: Number((heapMBps / raw.mbps).toFixed(3)),
      walkBlocksPerSec: Math.round(walk.blocks / walk.walkSecs),
      walkHeapMBps: Math.round(walkMBps),
      walkRatioToRawRead: Number((walkMBps / raw.mbps).toFixed(3)),
      floorSecs: floor === undefined ? null : Number(floor.toFixed(3)),
      floorRatioToRawRead: floor === undefined ? null : Number((walk.heapBytes / 1e6 / floor / raw.mbps).toFixed(3)),
      walkOverFloor: floor === undefined ? null : Number((walk.walkSecs / floor).toFixed(2)),
      peakRssMB: Math.round(walk.maxRssBytes / 1e6),
      rssBudgetMB: Math.round(budget / 1e6),
      rssWithinBudget: walk.maxRssBytes <= budget,
      bytesPerBlockAboveBase: Number(((walk.maxRssBytes - walk.baseRssBytes) / Math.max(1, walk.liveBlocks)).toFixed(1)),
      analyze:
        analysis === undefined
          ? null
          : {
              pipelineSecsAllRuns: analyses.map((a) => Number(a.secs.toFixed(3))),
              pipelineSecs: Number(analysis.secs.toFixed(3)),
              analyzeSecs: Number(analysis.analyzeSecs.toFixed(3)),
              ratioToRawRead: Number((analysis.heapBytes / 1e6 / analysis.secs / raw.mbps).toFixed(3)),
              peakRssMB: Math.round(analysis.maxRssBytes / 1e6),
              rssWithinBudget: analysis.maxRssBytes <= budget,
              bytesPerBlockAboveBase: Number(((analysis.maxRssBytes - analysis.baseRssBytes) / Math.max(1, analysis.liveBlocks)).toFixed(1)),
              verdict: analysis.verdict,
              suspectsAtOrAbove03: analysis.strongSuspects,
              unreferenced: analysis.unreferenced,
            },
    };
    results.push(r);
    console.log(
      `${scenario.padEnd(8)} ${String(millions).padStart(3)}M blocks: pipeline ${r.pipelineSecs}s (${(r.blocksPerSec / 1e6).toFixed(2)}M blocks/s, ` +
        `heap ${r.heapMBps} MB/s, ratio ${r.ratioToRawRead}), of which discovery ${r.discoverSecs}s and heap walks ${r.walkSecs}s ` +
        `(${(r.walkBlocksPerSec / 1e6).toFixed(2)}M blocks/s, ${r.walkHeapMBps} MB/s, ratio ${r.walkRatioToRawRead}); ` +
        `one-thread floor ${r.floorSecs}s (ratio ${r.floorRatioToRawRead}; walks ${r.walkOverFloor}x it); raw read ${r.rawReadMBps} MB/s; ` +
        `peak RSS ${r.peakRssMB} MB (budget ${r.rssBudgetMB} MB)${cold ? " [cold page cache]" : ""}`,
    );
    if (r.analyze) {
      const a = r.analyze;
      console.log(
        `${"".padEnd(8)} ${String(millions).padStart(3)}M analyze: ${a.pipelineSecs}s end to end (analysis ${a.analyzeSecs}s; ratio ${a.ratioToRawRead}); ` +
          `peak RSS ${a.peakRssMB} MB (budget ${r.rssBudgetMB} MB, ${a.bytesPerBlockAboveBase} B/block above base)${a.rssWithinBudget ? "" : " OVER BUDGET"}; ` +
          `verdict ${a.verdict}, ${a.suspectsAtOrAbove03} suspect(s) >= 0.3`,
      );
    }
    if (!keep && millions >= 16) rmSync(file, { force: true });
  }
}

// Linear scaling: blocks/s at the largest size relative to the smallest, per scenario.
const scaling = {};
for (const s of scenarios) {
  const rs = results.filter((r) => r.scenario === s).sort((a, b) => a.blocks - b.blocks);
  if (rs.length >= 2) scaling[s] = Number((rs.at(-1).blocksPerSec / rs[0].blocksPerSec).toFixed(3));
}
const out = {
  date: new Date().toISOString(),
  cache: cold ? "cold: page cache dropped before every raw read and walk" : "warm: the dump in the page cache",
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? "?", memoryGB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform },
  results,
  scaling: { note: "blocks/s at the largest size divided by blocks/s at the smallest (1.0 = perfectly linear)", ...scaling },
};
mkdirSync(join(root, "bench-results"), { recursive: true });
const tag = cold ? "-cold" : "";
writeFileSync(join(root, "bench-results", `latest${tag}.json`), `${JSON.stringify(out, null, 2)}\n`);
writeFileSync(join(root, "bench-results", `bench-${out.date.replace(/[:.]/g, "-")}${tag}.json`), `${JSON.stringify(out, null, 2)}\n`);
console.log(`scaling (1.0 = linear): ${JSON.stringify(scaling)}`);
console.log(`results: bench-results/latest${tag}.json`);
rmSync(dirname(bundle), { recursive: true, force: true }); // the bundle and its worker
