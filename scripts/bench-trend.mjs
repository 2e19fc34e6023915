#!/usr/bin/env node
// Memory of `leakscope trend` over many large inputs: the trend command run in this process on
// `--inputs` copies of one bench dump of `--millions` million blocks (the nt scenario), then the
// process' peak RSS (VmHWM) against the walk's budget (64 bytes per block + 200 MB) — one walk's,
// since trend walks one input at a time and keeps only its groups. Also run by `npm run bench`
// with `--trend`. Usage: node scripts/bench-trend.mjs [--inputs 10] [--millions 1]
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { bundleLeakscope, root } from "./lib/bundle.mjs";
import { peakRss } from "./lib/rss.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const inputs = Math.max(3, Number(opt("inputs", "10")) || 10);
const millions = Math.max(0.01, Number(opt("millions", "1")) || 1);
const blocks = Math.round(millions * 1e6);

const bundle = await bundleLeakscope("bench-trend", ['export { runCli } from "./packages/cli/src/program.js";']);
const { writeBenchDump, runCli } = await import(pathToFileURL(bundle).href);
const dir = join(root, ".tmp", "bench");
mkdirSync(dir, { recursive: true });
const file = join(dir, `nt-${millions}m.dmp`);
if (!existsSync(file)) await writeBenchDump("nt", blocks, file);

const t0 = performance.now();
let out = "";
const code = await runCli(["trend", ...Array.from({ length: inputs }, () => file), "--json"], {
  io: { stdout: (t) => void (out += t), stderr: (t) => process.stderr.write(t), stderrIsTTY: false, stdoutIsTTY: false, env: {} },
});
const secs = (performance.now() - t0) / 1000;
if (code !== 0) {
  console.error(`bench-trend: trend exited with ${code}`);
  process.exit(1);
}
const trend = JSON.parse(out).trend;
const hwm = peakRss();
const budget = 64 * blocks + 200e6;
const result = { inputs, blocks, secs, peakRssMB: Math.round(hwm / 1e6), budgetMB: Math.round(budget / 1e6), withinBudget: hwm <= budget, series: trend.series.length };
console.log(`trend over ${inputs} inputs of ${blocks.toLocaleString("en-US")} blocks: ${secs.toFixed(1)} s, peak RSS ${result.peakRssMB} MB (one walk's budget ${result.budgetMB} MB)${result.withinBudget ? "" : " — OVER BUDGET"}`);
console.log(JSON.stringify(result));
