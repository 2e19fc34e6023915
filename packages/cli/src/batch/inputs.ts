import { type Dirent, readdirSync, statSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { InputError } from "@leakscope/core";

/** Most inputs one batch run expands to; past it the run stops with a usage error. */
export const MAX_BATCH_INPUTS = 1_000_000;

/** `K/N`: this run takes shard K (1-based) of N. */
export interface Shard {
  index: number;
  count: number;
}

export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!(count >= 1 && index >= 1 && index <= count)) {
    throw new InputError("CLI_BATCH_BAD_SHARD", `--shard "${text}" must be K/N with 1 <= K <= N, e.g. --shard 2/8 (array jobs: --shard $((SLURM_ARRAY_TASK_ID))/8)`);
  }
  return { index, count };
}

/** FNV-1a of a string, 32-bit: stable across machines and Node versions. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Whether an input belongs to a shard. The key is the input's path relative to the folder or
 * glob base it was found under, so that machines that mount the fleet elsewhere agree, and
 * adding files never moves the others to another shard.
 */
export function inShard(key: string, shard: Shard | undefined): boolean {
  return shard === undefined || fnv1a(key.split(sep).join("/")) % shard.count === shard.index - 1;
}

/** A glob pattern (`*`, `?`, `**`, `[abc]`) as a regular expression over `/`-separated paths. */
export function globToRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "*") {
      if (pattern[i + 1] === "*") {
        const slash = pattern[i + 2] === "/";
        re += slash ? "(?:.*/)?" : ".*";
        i += slash ? 2 : 1;
      } else re += "[^/]*";
    } else if (ch === "?") re += "[^/]";
    else if (ch === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += /[.+^${}()|\\]/.test(ch) ? `\\${ch}` : ch;
  }
  return new RegExp(`^${re}$`);
}

function hasMagic(s: string): boolean {
  return /[*?[]/.test(s);
}

/** Every file below `dir` (hidden entries skipped, links not followed), sorted. */
function walk(dir: string, out: string[], limit: number): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out, limit);
    else if (e.isFile()) out.push(p);
    if (out.length > limit) return;
  }
}

export interface BatchInput {
  /** Path to open. */
  path: string;
  /** Path relative to the folder or glob base (the shard key). */
  key: string;
  size: number;
}

/**
 * Expand folders (every file below them) and globs (`dumps/**\/*.dmp`) into inputs, each once,
 * in a stable order. A missing folder or a glob that matches nothing is a usage error.
 */
export function expandInputs(specs: readonly string[]): BatchInput[] {
  const seen = new Set<string>();
  const out: BatchInput[] = [];
  for (const spec of specs) {
    const found: { path: string; base: string }[] = [];
    if (hasMagic(spec)) {
      const norm = spec.split("\\").join("/");
      const parts = norm.split("/");
      const firstMagic = parts.findIndex(hasMagic);
      const base = parts.slice(0, firstMagic).join("/") || ".";
      const re = globToRegExp(parts.slice(firstMagic).join("/"));
      const files: string[] = [];
      walk(base, files, MAX_BATCH_INPUTS);
      for (const f of files) if (re.test(relative(base, f).split(sep).join("/"))) found.push({ path: f, base });
      if (found.length === 0) throw new InputError("CLI_BATCH_NO_INPUT", `${spec} matches no file: check the pattern (quote it so the shell does not expand it)`);
    } else {
      let st;
      try {
        st = statSync(spec);
      } catch {
        throw new InputError("CLI_BATCH_NO_INPUT", `${spec} does not exist: pass folders, files or glob patterns of dumps`);
      }
      if (st.isDirectory()) {
        const files: string[] = [];
        walk(spec, files, MAX_BATCH_INPUTS);
        for (const f of files) found.push({ path: f, base: spec });
      } else found.push({ path: spec, base: resolve(spec, "..") });
    }
    for (const f of found) {
      const abs = resolve(f.path);
      if (seen.has(abs)) continue;
      seen.add(abs);
      let size = 0;
      try {
        size = statSync(f.path).size;
      } catch {
        // vanished since the walk: its line will say so
      }
      out.push({ path: f.path, key: relative(resolve(f.base), abs).split(sep).join("/"), size });
      if (out.length > MAX_BATCH_INPUTS) throw new InputError("CLI_BATCH_NO_INPUT", `more than ${MAX_BATCH_INPUTS} inputs: split the fleet with --shard K/N`);
    }
  }
  return out;
}
