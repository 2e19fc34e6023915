#!/usr/bin/env node
// `npm run release`: version the packages from the pending changesets, build, test, publish.
//   1. changeset version      — bump versions, write CHANGELOGs, consume .changeset/*.md
//   2. npm install --package-lock-only — the lockfile follows the new versions (changesets leaves it)
//   3. npm test               — builds and typechecks every package, runs every test (the pack
//                               test installs the packed tarballs into a fresh project)
//   4. changeset publish      — publishes every package whose version is not on the registry yet
//                               (tags are created; push them with `git push --follow-tags`)
// Stops at the first failing step. `--dry-run` stops before publishing (and lists the tarballs).
// The versions bumped in step 1 stay in the working tree either way: commit them.
import { spawnSync } from "node:child_process";

const dryRun = process.argv.includes("--dry-run");
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" };

function step(title, command, args) {
  console.log(`\n== ${title}: ${command} ${args.join(" ")}`);
  const r = spawnSync(command, args, { stdio: "inherit", env });
  if (r.status !== 0) {
    console.error(`release stopped: "${title}" failed (exit ${r.status ?? r.signal}). Fix it and run npm run release again.`);
    process.exit(r.status ?? 1);
  }
}

step("version", "npx", ["changeset", "version"]);
step("lockfile", "npm", ["install", "--package-lock-only", "--no-audit", "--no-fund"]);
step("build and test", "npm", ["test"]);
if (dryRun) {
  step("pack (dry run)", "npm", ["pack", "--dry-run", "--workspaces", "--ignore-scripts"]);
  console.log("\ndry run: nothing published. Commit the version bumps, then run npm run release.");
} else {
  step("publish", "npx", ["changeset", "publish"]);
}
