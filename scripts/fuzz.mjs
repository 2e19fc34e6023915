#!/usr/bin/env node
// `npm run fuzz -- --cases 20000 --seed 1`: the long fuzz run of the whole default pipeline.
//
// Each case is fully determined by (seed, case number): it picks an input from the corpus (the real
// dumps and WinDbg logs in ../shared, plus synthetic x64 and WoW64 minidumps with NT heaps), applies
// 1-3 seeded mutations (truncation, bit flips, interesting u32/u64 values, self-pointers, copied
// blocks, overlapping or huge Memory64List entries) and runs the default plugins at depth "walk" (or
// "analyze" for every fourth case); WinDbg logs go through parseWindbgLog. Cases run in worker
// threads with a per-case time-out (a hang) and a heap limit (an unbounded allocation); a thrown
// error that is not a LeakscopeError (or is an InternalError, or a PluginError wrapping either) is a
// crash. Every finding is printed with the command that reproduces it:
//   npm run fuzz -- --seed 1 --case 1234        (runs that one case in-process and prints the stack)
//
// Options: --cases N (default 2000)  --seed S (default 1)  --workers W (default: cores)
//          --timeout MS per case (default 20000)  --heap-mb MB per worker (default 1536)
//          --case K (reproduce one case)  --json FILE (write the summary)
// No build needed: the script bundles leakscope from the sources with esbuild (into .tmp/scripts).
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bundleLeakscope } from "./lib/bundle.mjs";
import { Worker, isMainThread, parentPort, threadId, workerData } from "node:worker_threads";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

// ---- the corpus and one case (shared by main thread and workers) --------------------------------


function corpusFiles(shared) {
  const files = [];
  const add = (dir, filter) => {
    const d = join(shared, dir);
    if (!existsSync(d)) return;
    for (const name of readdirSync(d).sort()) if (filter(name)) files.push({ path: join(d, name), text: !name.endsWith(".dmp") });
  };
  add("dumps/user", (n) => n.endsWith(".dmp"));
  add("dumps/kernel", (n) => n.endsWith(".dmp"));
  add("seeds", (n) => n.endsWith(".txt"));
  add("data/windbg-samples", (n) => n.endsWith(".txt"));
  add("data/poolused-samples", (n) => n.endsWith(".txt"));
  return files;
}

async function loadCorpus(tuFile) {
  const tu = await import(pathToFileURL(tuFile).href);
  const shared = process.env.LEAKSCOPE_SHARED ?? resolve(root, "..", "shared");
  const items = corpusFiles(shared).map((f) => ({ name: f.path, text: f.text, bytes: new Uint8Array(readFileSync(f.path)) }));
  for (const kind of ["x64", "wow64"]) {
    const rng = new tu.Rng(kind === "x64" ? 64 : 32);
    const blocks = (n) => Array.from({ length: n }, (_, i) => ({ size: 8 + rng.below(400), ...(i % 7 === 3 ? { free: true } : {}), ...(i % 9 === 4 ? { trace: 0x7000 + i * 8 } : {}) }));
    const dump = tu.buildProcessDump({
      layout: kind === "x64" ? "win10-1709" : "win7",
      kind,
      heaps: [
        {
          base: kind === "x64" ? 0x1f0000000 : 0x500000,
          ust: true,
          segments: [{ blocks: blocks(80), uncommitted: [{ after: 30, pages: 2 }] }, { blocks: blocks(50), tailUncommittedPages: 2 }],
          virtualBlocks: [{ size: 0x23456, trace: 0x7ff0 }],
        },
        { base: kind === "x64" ? 0x2f0000000 : 0x900000, segments: [{ blocks: blocks(40) }] },
      ],
      globalFlag: 0x1000,
    });
    items.push({ name: `synthetic-${kind}`, text: false, bytes: dump.builder.build() });
  }
  {
    // a segment heap (VS, LFH, backend, large blocks) in an x64 process
    const rng = new tu.Rng(0x5e6);
    const allocations = [];
    for (let i = 0; i < 24; i++) allocations.push({ kind: "vs", size: 0x40 + rng.below(0x300), ...(i % 6 === 5 ? { free: true } : {}) });
    for (let i = 0; i < 30; i++) allocations.push({ kind: "lfh", size: 0x10 + rng.below(0x30), ...(i % 7 === 6 ? { free: true } : {}) });
    allocations.push({ kind: "backend", size: 0x3000 }, { kind: "backend", size: 0x2000, free: true }, { kind: "large", size: 0x30000 });
    const seg = tu.writeSegmentHeap({ layout: "21H2", bitness: 64, base: 0x2a0000000, allocations });
    const builder = new tu.MinidumpBuilder({ flags: 0x1826 });
    builder.systemInfo({ arch: "x64", major: 10, minor: 0, build: tu.SEGMENT_LAYOUT_BUILD["21H2"] });
    const l = builder.nativeProcess({ bitness: 64, pebSize: 0x1000, systemInfo: false });
    l.pebBytes.set(tu.writePeb({ bitness: 64, address: l.peb, heaps: [seg.address] }).bytes.subarray(0, l.pebBytes.length));
    for (const p of seg.pieces) builder.memory(p.address, p.bytes);
    items.push({ name: "synthetic-segment-heap", text: false, bytes: builder.build() });
  }
  return { items, tu };
}

function memory64At(bytes) {
  if (bytes.length < 32) return -1;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getUint32(8, true);
  const dir = dv.getUint32(12, true);
  for (let i = 0; i < Math.min(n, 64); i++) {
    const d = dir + i * 12;
    if (d + 12 > bytes.length) return -1;
    if (dv.getUint32(d, true) === 9) {
      const at = dv.getUint32(d + 8, true);
      return at + 32 <= bytes.length ? at : -1;
    }
  }
  return -1;
}

/** Overlapping / huge Memory64List entries (structural). */
function mutateRanges(bytes, rng) {
  const at = memory64At(bytes);
  if (at < 0) return "no-memory64";
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = Number(dv.getBigUint64(at, true));
  const max = Math.max(1, Math.min(count, Math.floor((bytes.length - at - 16) / 16)));
  const e = (i) => at + 16 + i * 16;
  const i = rng.below(max);
  const j = rng.below(max);
  switch (rng.below(5)) {
    case 0:
      dv.setBigUint64(e(i), dv.getBigUint64(e(j), true), true);
      return `range ${i} = range ${j}`;
    case 1:
      dv.setBigUint64(e(i), dv.getBigUint64(e(j), true) + 0x800n, true);
      return `range ${i} overlaps ${j}`;
    case 2:
      dv.setBigUint64(at, rng.below(2) ? 0xffffffffn : 0xffffffffffffffffn, true);
      return "huge count";
    case 3:
      dv.setBigUint64(e(i) + 8, rng.below(2) ? 0xfffff000n : 0xfffffffffffff000n, true);
      return `range ${i} huge size`;
    default:
      dv.setBigUint64(at + 8, 0xffffffffffff0000n, true);
      return "base RVA near 2^64";
  }
}

function makeCase(corpus, tu, seed, k) {
  const rng = new tu.Rng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(k + 1, 0x85ebca6b)) >>> 0);
  const item = corpus[k % corpus.length];
  let bytes = item.bytes;
  const what = [];
  if (!item.text && rng.below(5) === 0) {
    bytes = bytes.slice();
    what.push(mutateRanges(bytes, rng));
  }
  const rounds = 1 + rng.below(3);
  for (let r = 0; r < rounds; r++) {
    const m = tu.mutate(bytes, rng);
    bytes = m.bytes;
    what.push(`${m.kind}@0x${m.offset.toString(16)}`);
  }
  // every 8th dump case is read from a file with heap-nt's segment walks forced onto a worker
  // thread, so the parallel path meets the same hostile input
  const threads = !item.text && k % 8 === 5;
  return { name: item.name, text: item.text, bytes, what: what.join("+") + (threads ? " (file, worker threads)" : ""), depth: k % 4 === 3 ? "analyze" : "walk", threads };
}

function makeRunner(core, cli, wt) {
  const acceptable = (e) => {
    if (!(e instanceof core.LeakscopeError) || e instanceof core.InternalError) return false;
    if (e instanceof core.PluginError) return acceptable(e.cause);
    return true;
  };
  const describe = (e) =>
    e instanceof core.PluginError ? `PluginError(${e.plugin}/${e.hook}) <- ${describe(e.cause)}` : e instanceof Error ? `${e.constructor.name}: ${e.message.slice(0, 300)}` : String(e);
  return async (c) => {
    try {
      // logs: the parser alone, then (like dumps) the whole pipeline, which reads them too
      if (c.text) wt.parseWindbgLog(c.bytes, { file: c.name });
      let plugins = cli.defaultPlugins();
      let source = new core.BufferSource(c.bytes, c.name);
      let file;
      if (c.threads) {
        plugins = plugins.map((p) => (p.name === "heap-nt" ? cli.heapNt({ workers: 1, parallelMinBytes: 0 }) : p));
        file = join(tmpdir(), `leakscope-fuzz-${process.pid}-${threadId}.dmp`);
        writeFileSync(file, c.bytes);
        source = core.FileSource.open(file);
      }
      try {
        const engine = new core.Engine({ plugins });
        const open = await engine.openSource(source, { command: "fuzz", depth: c.depth });
        open.close();
      } finally {
        source.close();
        if (file) rmSync(file, { force: true });
      }
      return { ok: true };
    } catch (e) {
      if (acceptable(e)) return { ok: true, refused: e.code };
      return { ok: false, error: describe(e), stack: e instanceof Error ? e.stack : undefined };
    }
  };
}

async function loadAll(tuFile) {
  const corpus = await loadCorpus(tuFile);
  const lib = corpus.tu;
  return { run: makeRunner(lib, lib, lib), corpus: corpus.items, tu: lib };
}

// ---- worker ---------------------------------------------------------------------------------------

if (!isMainThread) {
  const { seed, tuFile } = workerData;
  const { run, corpus, tu } = await loadAll(tuFile);
  parentPort.on("message", async (k) => {
    const c = makeCase(corpus, tu, seed, k);
    const r = await run(c);
    parentPort.postMessage({ k, name: c.name, what: c.what, depth: c.depth, ...r });
  });
  parentPort.postMessage({ ready: true });
} else {
  await main();
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
  };
  const seed = Number(opt("seed", "1")) >>> 0;
  const total = Number(opt("cases", "2000"));
  const workers = Math.max(1, Number(opt("workers", String(cpus().length))));
  const timeoutMs = Number(opt("timeout", "20000"));
  const heapMb = Number(opt("heap-mb", "1536"));
  const one = opt("case", undefined);
  const jsonOut = opt("json", undefined);

  const tuFile = await bundleLeakscope("fuzz", [
    'export { parseWindbgLog } from "@leakscope/windbg-text";',
    'export { heapNt } from "@leakscope/heap-nt";',
    'export { FileSource } from "@leakscope/core";',
    'export { MinidumpBuilder } from "./packages/test-utils/src/minidump/index.js";',
    'export { writePeb } from "./packages/test-utils/src/heap/nt/index.js";',
    'export { writeSegmentHeap, SEGMENT_LAYOUT_BUILD } from "./packages/test-utils/src/heap/segment/index.js";',
  ]);
  if (one !== undefined) {
    const { run, corpus, tu } = await loadAll(tuFile);
    const c = makeCase(corpus, tu, seed, Number(one));
    console.log(`case ${one} (seed ${seed}): ${c.name} [${c.depth}] ${c.what}`);
    const r = await run(c);
    console.log(r.ok ? `ok${r.refused ? ` (refused: ${r.refused})` : ""}` : `CRASH ${r.error}\n${r.stack ?? ""}`);
    rmSync(dirname(tuFile), { recursive: true, force: true });
    process.exit(r.ok ? 0 : 1);
  }

  const findings = [];
  let done = 0;
  let refused = 0;
  let next = 0;
  const t0 = Date.now();
  let lastPrint = t0;
  const repro = (k) => `npm run fuzz -- --seed ${seed} --case ${k}`;

  await new Promise((resolveAll) => {
    let live = 0;
    const start = () => {
      live++;
      const w = new Worker(fileURLToPath(import.meta.url), { workerData: { seed, tuFile }, resourceLimits: { maxOldGenerationSizeMb: heapMb } });
      let current = -1;
      let timer;
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        live--;
        if (next < total) start();
        else if (live === 0) resolveAll();
      };
      const dispatch = () => {
        if (next >= total) {
          void w.terminate();
          return;
        }
        current = next++;
        timer = setTimeout(() => {
          findings.push({ kind: "hang", case: current, detail: `no answer in ${timeoutMs} ms`, repro: repro(current) });
          done++;
          current = -1;
          void w.terminate();
        }, timeoutMs);
        w.postMessage(current);
      };
      w.on("message", (m) => {
        if (m.ready) return dispatch();
        clearTimeout(timer);
        done++;
        current = -1;
        if (!m.ok) findings.push({ kind: "crash", case: m.k, input: m.name, mutation: m.what, depth: m.depth, detail: m.error, repro: repro(m.k) });
        else if (m.refused) refused++;
        const now = Date.now();
        if (now - lastPrint > 10000) {
          lastPrint = now;
          console.log(`fuzz: ${done}/${total} cases, ${findings.length} findings, ${((done / (now - t0)) * 1000).toFixed(0)} cases/s`);
        }
        dispatch();
      });
      w.on("error", (e) => {
        if (current >= 0) {
          const oom = /out of memory|ERR_WORKER_OUT_OF_MEMORY/i.test(`${e.code ?? ""} ${e.message}`);
          findings.push({ kind: oom ? "unbounded-allocation" : "worker-crash", case: current, detail: `${e.code ?? ""} ${e.message}`, repro: repro(current) });
          done++;
          current = -1;
        }
      });
      w.on("exit", finish);
    };
    for (let i = 0; i < Math.min(workers, total); i++) start();
    if (total <= 0) resolveAll();
  });

  const secs = (Date.now() - t0) / 1000;
  const summary = { seed, cases: done, refused, seconds: Number(secs.toFixed(1)), findings };
  for (const f of findings) console.log(`${f.kind.toUpperCase()} case ${f.case}${f.input ? ` (${f.input} [${f.depth}] ${f.mutation})` : ""}: ${f.detail}\n  reproduce: ${f.repro}`);
  console.log(`fuzz: ${done} cases tried in ${secs.toFixed(1)} s (seed ${seed}, ${refused} refused with a LeakscopeError): ${findings.filter((f) => f.kind === "crash" || f.kind === "worker-crash").length} crashes, ${findings.filter((f) => f.kind === "hang").length} hangs, ${findings.filter((f) => f.kind === "unbounded-allocation").length} unbounded allocations`);
  if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify(summary, null, 2)}\n`);
  rmSync(dirname(tuFile), { recursive: true, force: true });
  process.exitCode = findings.length > 0 ? 1 : 0;
}
