#!/usr/bin/env node
// `npm test`: build and typecheck every package (turbo), run every vitest project once, and end
// with a plain "N passed, N failed" line read from vitest's JSON report. Exit code = vitest's.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";

const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" };
const extra = process.argv.slice(2);

const build = spawnSync("npx", ["turbo", "run", "build", "typecheck", "--output-logs=errors-only"], { stdio: "inherit", env });
if (build.status !== 0) {
  console.log("0 passed, 1 failed");
  console.error("build or typecheck failed: see the errors above");
  process.exit(build.status ?? 1);
}

const results = "vitest-results.json";
rmSync(results, { force: true });
const vt = spawnSync(
  "npx",
  ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${results}`, ...extra],
  { stdio: "inherit", env },
);
let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(results)) {
  const r = JSON.parse(readFileSync(results, "utf8"));
  passed = r.numPassedTests ?? 0;
  // A file that fails to load has no test results: count each such suite as one failure.
  const brokenSuites = (r.testResults ?? []).filter((t) => t.status === "failed" && (t.assertionResults ?? []).length === 0).length;
  failed = (r.numFailedTests ?? 0) + brokenSuites;
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
} else if (vt.status !== 0) {
  failed = 1;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(vt.status ?? 1);
