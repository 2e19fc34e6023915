#!/usr/bin/env node
// `npm run eval`: how well `leakscope analyze` finds leaks, measured on processes whose truth is
// known (docs/eval.md).
//
// It writes seeded synthetic dumps with @leakscope/test-utils (healthy workloads, planted leaks
// of 4 forms at 0.5-50% of the busy bytes, growth pairs, dumps without heap memory, truncated
// dumps; cached in .tmp/eval), adds the real inputs of ../shared, runs the leakscope command line
// on each (`analyze --json`; `diff --json` for pairs) from the sources (bundled with esbuild, as
// the benchmark does), matches the suspects to the ground truth and prints per family: top-1
// accuracy, precision and recall of suspects scoring >= 0.3, false suspects on healthy
// processes, the verdict confusion matrix and the targets. Results go to
// eval-results/latest.json and a timestamped copy.
//
// Options: --quick (CI size: fewer and smaller scenarios)  --only <text> (scenarios whose id
// contains it)  --fresh (rewrite cached dumps)  --verbose (one line per scenario)  --strict (exit
// 1 when a target fails; default: exit 0 whatever the figures)
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { bundleLeakscope, root } from "./lib/bundle.mjs";

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes("--quick");
const strict = args.includes("--strict");
const fresh = args.includes("--fresh");
const verbose = args.includes("--verbose");
const only = opt("only");

const t0 = Date.now();
const bundle = await bundleLeakscope("eval", [
  'export { runCli } from "./packages/cli/src/program.js";',
  'export * from "./packages/test-utils/src/eval/index.js";',
]);
const L = await import(pathToFileURL(bundle).href);

const sharedCandidates = [process.env.LEAKSCOPE_SHARED, resolve(root, "..", "shared"), resolve(root, "..", "..", "shared")].filter(Boolean);
const sharedRoot = sharedCandidates.find((d) => existsSync(d));
const dir = join(root, ".tmp", "eval", quick ? "quick" : "full");
mkdirSync(dir, { recursive: true });

/** Run the command line in this process; returns its exit code and parsed JSON report. */
async function leakscope(argv) {
  let out = "";
  let err = "";
  const io = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), stderrIsTTY: false, stdoutIsTTY: false, env: {} };
  const started = process.hrtime.bigint();
  let code;
  let report;
  let error;
  try {
    code = await L.runCli(argv, { io });
    if (code <= 1) report = JSON.parse(out);
    else error = err.trim().split("\n")[0] || `exit code ${code}`;
  } catch (e) {
    code = 3;
    error = String(e?.stack ?? e).split("\n")[0];
  }
  return { code, report, error, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/** A generated scenario's files and truth, from the cache when its spec and the generator are unchanged. */
function generated(s) {
  const key = createHash("sha256").update(JSON.stringify({ v: L.EVAL_GENERATOR_VERSION, spec: s.spec, truncate: s.truncate ?? null, example: s.example ?? false })).digest("hex").slice(0, 16);
  const prefix = join(dir, s.id);
  const truthFile = `${prefix}.truth.json`;
  if (!fresh && existsSync(truthFile)) {
    try {
      const t = JSON.parse(readFileSync(truthFile, "utf8"));
      if (t.key === key && t.files.every((f) => existsSync(f))) return t;
    } catch {
      // rewrite below
    }
  }
  const w = L.writeEvalScenario(s, prefix);
  const { planted, ...rest } = w;
  const t = { key, ...rest, plantedSample: planted.slice(0, 20) };
  writeFileSync(truthFile, `${JSON.stringify(t, null, 1)}\n`);
  return t;
}

const all = L.evalScenarios({ quick });
const scenarios = all.filter((s) => !only || s.id.includes(only));
const results = [];
const notices = [];
let genSeconds = 0;
for (const s of scenarios) {
  if (s.skip) {
    notices.push(`skipped ${s.id}: ${s.skip}`);
    continue;
  }
  let files;
  let expected = s.expected;
  let truth;
  if (s.shared) {
    if (!sharedRoot) {
      notices.push(`skipped ${s.id}: ../shared not found (set LEAKSCOPE_SHARED)`);
      continue;
    }
    files = s.shared.map((f) => join(sharedRoot, f));
    const missing = files.find((f) => !existsSync(f));
    if (missing) {
      notices.push(`skipped ${s.id}: ${missing} is missing`);
      continue;
    }
  } else {
    const g0 = Date.now();
    try {
      truth = generated(s);
    } catch (e) {
      notices.push(`skipped ${s.id}: generating it failed (${String(e?.message ?? e)})`);
      continue;
    }
    genSeconds += (Date.now() - g0) / 1000;
    files = truth.files;
    expected = truth.expected;
  }
  const argv = s.command === "diff" ? ["diff", "--json", "--top", "20", ...files] : ["analyze", "--json", "--top", "20", ...files];
  const run = await leakscope(argv);
  const r = L.scoreReport({ ...s, expected }, run.report, run.code, Math.round(run.seconds * 1000) / 1000, run.error);
  if (truth) {
    r.busy = truth.busy;
    r.leaked = truth.leaked;
    // blocks the walk found against the blocks written (analyze's summary)
    const walked = run.report?.analysis?.summary?.busy;
    if (walked && truth.busy.count > 0 && s.family !== "truncated" && s.family !== "no-heap") r.walkedAsWritten = walked.count === truth.busy.count && walked.bytes === truth.busy.bytes;
  }
  r.description = s.description;
  r.input = s.example
    ? { example: true }
    : s.spec
    ? { arch: s.spec.arch, backend: s.spec.backend, layout: s.spec.backend === "segment" ? "21H2 segment heap" : (s.spec.layout ?? "win10-1709"), ust: s.spec.ust, shape: s.spec.shape, blocks: s.spec.blocks }
    : { shared: s.shared };
  results.push(r);
  if (verbose) {
    const top = r.suspects[0];
    console.log(
      `${r.id.padEnd(44)} ${r.verdict.padEnd(17)} ${r.top1 === undefined ? "     " : r.top1 ? "top1 " : "miss "} above ${String(r.above).padStart(2)} matched ${String(r.aboveMatched).padStart(2)}  ${top ? `#1 ${top.kind} ${top.score} ${top.callSite ?? top.typeName ?? (top.size !== undefined ? `size ${top.size}` : "")}${top.match ? ` = ${top.match}` : ""}` : "(no suspect)"}${r.error ? `  ERROR ${r.error}` : ""}`,
    );
  }
}

// ---- report
const fmt = (v) => (v === null || v === undefined ? "  -  " : `${(v * 100).toFixed(1).padStart(5)}%`);
const families = ["healthy", "leak", "growth", "no-heap", "truncated", "real", "example"];
const summaries = families.map((f) => L.summarize(f, results.filter((r) => r.family === f))).filter((x) => x.scenarios > 0);
const overall = L.summarize("overall", results);
console.log(`\nleakscope eval (${quick ? "quick" : "full"}): ${results.length} scenarios run, ${notices.length} skipped, ${((Date.now() - t0) / 1000).toFixed(1)} s (generation ${genSeconds.toFixed(1)} s)\n`);
console.log("family      scenarios   top-1  precision  recall  false-susp  verdict-ok");
for (const x of [...summaries, overall]) {
  console.log(`${x.family.padEnd(12)}${String(x.scenarios).padStart(9)}  ${fmt(x.top1)}     ${fmt(x.precision)}  ${fmt(x.recall)}      ${fmt(x.falseSuspectRate)}      ${fmt(x.verdictAccuracy)}`);
}
const leaks = results.filter((r) => r.family === "leak");
if (leaks.length > 0) {
  const fr = [...new Set(leaks.map((r) => r.fraction))].sort((a, b) => a - b);
  const forms = [...new Set(leaks.map((r) => r.form))];
  console.log(`\ntop-1 of planted leaks by size (share of busy bytes) and form`);
  console.log(`${"form".padEnd(26)}${fr.map((f) => `${(f * 100).toString().padStart(6)}%`).join("")}`);
  for (const form of forms) {
    console.log(`${form.padEnd(26)}${fr.map((f) => {
      const r = leaks.find((x) => x.form === form && x.fraction === f);
      return (r ? (r.top1 ? "hit" : "miss") : "-").padStart(7);
    }).join("")}`);
  }
}
const matrix = L.confusionMatrix(results);
console.log(`\nverdict confusion (rows expected, columns actual)`);
console.log(`${"".padEnd(18)}${L.VERDICTS.map((v) => v.padStart(17)).join("")}`);
for (const [e, row] of Object.entries(matrix)) console.log(`${e.padEnd(18)}${L.VERDICTS.map((v) => String(row[v]).padStart(17)).join("")}`);
const targets = L.evalTargets(results);
console.log(`\ntargets`);
for (const t of targets) console.log(`  ${t.pass ? "PASS" : "FAIL"}  ${t.name}: ${t.detail}`);
const walkMismatch = results.filter((r) => r.walkedAsWritten === false);
if (walkMismatch.length > 0) console.log(`\nwalks that did not find every written block: ${walkMismatch.map((r) => r.id).join(", ")}`);
for (const n of notices) console.log(`note: ${n}`);

const out = {
  when: new Date().toISOString(),
  mode: quick ? "quick" : "full",
  node: process.version,
  cpus: cpus().length,
  seconds: (Date.now() - t0) / 1000,
  generationSeconds: genSeconds,
  families: summaries,
  overall,
  confusion: matrix,
  targets,
  skipped: notices,
  scenarios: results,
};
const resDir = join(root, "eval-results");
mkdirSync(resDir, { recursive: true });
const json = `${JSON.stringify(out, null, 2)}\n`;
writeFileSync(join(resDir, "latest.json"), json);
writeFileSync(join(resDir, `eval-${out.when.replace(/[:.]/g, "-")}.json`), json);
console.log(`\nwrote eval-results/latest.json`);
process.exit(strict && targets.some((t) => !t.pass) ? 1 : 0);
