#!/usr/bin/env node
// The `leakscope` command. A committed file, so npm links it at install time even in a fresh
// clone where the build (the root `prepare` script) has not written dist/ yet.
import { existsSync } from "node:fs";

const bin = new URL("../dist/bin.js", import.meta.url);
if (existsSync(bin)) {
  await import(bin.href);
} else {
  process.stderr.write("leakscope: the command is not built yet: run `npm run build` at the repository root (npm install does it)\n");
  process.exitCode = 2;
}
