import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Real dumps and data live in `../shared` beside the repository and are never copied into it.
 * Tests ask for a file with {@link sharedFile}: without `../shared` they skip with a visible
 * notice; under `CI=true` a missing file is a failure.
 */
const here = dirname(fileURLToPath(import.meta.url));
/** Repository root (this file is packages/test-utils/src/shared.ts). */
export const repoRoot = resolve(here, "..", "..", "..");
/** The shared folder: `$LEAKSCOPE_SHARED`, else `<repo>/../shared`. */
export const sharedRoot = process.env.LEAKSCOPE_SHARED ?? resolve(repoRoot, "..", "shared");

export interface SharedFile {
  /** Absolute path. */
  path: string;
  /** True when present. */
  present: boolean;
  /** Reason to show when skipping. */
  reason: string;
}

const warned = new Set<string>();

/**
 * Locate `../shared/<relative>`. Under `CI=true` a missing file throws (the test fails);
 * otherwise it returns `present: false` and prints one notice per file, so the caller can
 * `it.skipIf(!f.present)`.
 */
export function sharedFile(relative: string): SharedFile {
  const path = join(sharedRoot, relative);
  const present = existsSync(path);
  const reason = `shared file ${relative} not found at ${path}: test skipped (set LEAKSCOPE_SHARED)`;
  if (!present) {
    if (process.env.CI === "true") {
      throw new Error(`${reason}; CI=true requires it`);
    }
    if (!warned.has(path)) {
      warned.add(path);
      console.warn(`[leakscope tests] NOTICE: ${reason}`);
    }
  }
  return { path, present, reason };
}
