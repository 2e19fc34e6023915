#!/usr/bin/env node
// Writes the bundled example (examples/data/example.dmp and leaky.exe's PDB leaky.pdb) with
// @leakscope/test-utils: a synthetic WoW64 process with a planted leak. Generated, never committed.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { buildExampleDump, buildExamplePdb, EXAMPLE_FACTS } = await import(join(root, "packages/test-utils/dist/index.js"));
const out = join(root, "examples", "data", "example.dmp");
mkdirSync(dirname(out), { recursive: true });
const bytes = buildExampleDump();
writeFileSync(out, bytes);
const pdb = join(dirname(out), EXAMPLE_FACTS.pdbName);
writeFileSync(pdb, buildExamplePdb());
console.log(`wrote ${out} (${bytes.length} bytes) and ${pdb}`);
