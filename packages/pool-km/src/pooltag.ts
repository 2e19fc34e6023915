import * as fs from "node:fs";
import type { Diagnostics } from "@leakscope/core";

/** One entry of a pooltag.txt file. */
export interface PoolTagEntry {
  /** The tag field, space-padded to 4 characters; may contain `?` and `*` wildcards. */
  tag: string;
  /** Binary name (`tcpip.sys`, `nt!ps`), or undefined for `<unknown>` and two-field lines. */
  binary?: string;
  /** Description, trimmed. */
  description: string;
  /** 1-based line number. */
  line: number;
}

/**
 * A parsed pooltag.txt: exact entries first, then wildcard entries in file order. Duplicate exact
 * tags keep the first entry (the others stay in {@link entries}).
 */
export class PoolTagDatabase {
  readonly entries: PoolTagEntry[];
  private readonly exact = new Map<string, PoolTagEntry>();
  private readonly wildcards: { entry: PoolTagEntry; re: RegExp }[] = [];

  constructor(entries: PoolTagEntry[]) {
    this.entries = entries;
    for (const e of entries) {
      if (/[?*]/.test(e.tag)) {
        const src = e.tag.replace(/\*.*$/, "*");
        let re = "^";
        for (const ch of src) re += ch === "?" ? "." : ch === "*" ? ".*" : ch.replace(/[\\^$.|+()[\]{}]/g, "\\$&");
        // Trailing padding spaces after a '*' are irrelevant; otherwise the tag is exactly 4 chars.
        this.wildcards.push({ entry: e, re: new RegExp(src.includes("*") ? re.trimEnd() : `${re}$`, "s") });
      } else if (!this.exact.has(e.tag)) this.exact.set(e.tag, e);
    }
  }

  /** The entry for a 4-character tag: an exact entry, else the first matching wildcard entry. */
  lookup(tag: string): PoolTagEntry | undefined {
    const t = tag.padEnd(4, " ").slice(0, 4);
    const hit = this.exact.get(t);
    if (hit) return hit;
    for (const w of this.wildcards) if (w.re.test(t)) return w.entry;
    return undefined;
  }

  /**
   * The `!poolused` description column: `desc , Binary: bin`, `desc ` when the binary is unknown,
   * or `UNKNOWN pooltag 'XXXX', please update pooltag.txt`. `raw` is the tag's raw bytes.
   */
  describe(tag: string, raw: string = tag): string {
    const e = this.lookup(tag);
    if (!e) return `UNKNOWN pooltag '${raw}', please update pooltag.txt`;
    return e.binary ? `${e.description} , Binary: ${e.binary}` : `${e.description} `;
  }

  get size(): number {
    return this.entries.length;
  }
}

/**
 * Parse pooltag.txt text: `<Tag> - <binary> - <Description>` (split on the first two " - "),
 * comment lines (`rem`, `REM`, `//`), blank lines, CRLF, a trailing 0x1A, short space-padded
 * tags, two-field lines, `<unknown>` binaries and indented descriptions. Unparseable lines are
 * skipped with `POOLTAG_LINE_SKIPPED`.
 */
export function parsePoolTagText(text: string, diagnostics?: Diagnostics, file = "pooltag.txt"): PoolTagDatabase {
  const entries: PoolTagEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\x1a/g, "").replace(/\r$/, "");
    const trimmed = raw.trim();
    if (trimmed === "" || /^rem(\s|$)/i.test(trimmed) || trimmed.startsWith("//")) continue;
    const first = raw.indexOf(" - ");
    if (first <= 0 || first > 5 || /^\s/.test(raw)) {
      diagnostics?.report("pool-km", "POOLTAG_LINE_SKIPPED", "info", `line ${i + 1} is not a pooltag entry`, { file, line: i + 1 });
      continue;
    }
    const tag = raw.slice(0, first).padEnd(4, " ").slice(0, 4);
    const rest = raw.slice(first + 3);
    const second = rest.indexOf(" - ");
    let binary: string | undefined;
    let description: string;
    if (second >= 0) {
      const b = rest.slice(0, second).trim();
      binary = b === "<unknown>" || b === "" ? undefined : b;
      description = rest.slice(second + 3).trim();
    } else {
      description = rest.trim();
    }
    const e: PoolTagEntry = { tag, description, line: i + 1 };
    if (binary !== undefined) e.binary = binary;
    entries.push(e);
  }
  return new PoolTagDatabase(entries);
}

/** Read and parse a pooltag.txt file the user has (never bundled with leakscope). */
export function loadPoolTagFile(path: string, diagnostics?: Diagnostics): PoolTagDatabase {
  return parsePoolTagText(fs.readFileSync(path, "latin1"), diagnostics, path);
}

/** Where Debugging Tools for Windows installs pooltag.txt (x64 first). */
export function defaultPoolTagPaths(env: Record<string, string | undefined> = process.env): string[] {
  const pf86 = env["ProgramFiles(x86)"] ?? "C:\\Program Files (x86)";
  const pf = env.ProgramFiles ?? "C:\\Program Files";
  return [
    `${pf86}\\Windows Kits\\10\\Debuggers\\x64\\triage\\pooltag.txt`,
    `${pf86}\\Windows Kits\\10\\Debuggers\\x86\\triage\\pooltag.txt`,
    `${pf86}\\Windows Kits\\10\\Debuggers\\arm64\\triage\\pooltag.txt`,
    `${pf86}\\Windows Kits\\8.1\\Debuggers\\x64\\triage\\pooltag.txt`,
    `${pf}\\Debugging Tools for Windows (x64)\\triage\\pooltag.txt`,
  ];
}

/** The first existing default pooltag.txt, or undefined. */
export function findPoolTagFile(exists: (p: string) => boolean = fs.existsSync, env?: Record<string, string | undefined>): string | undefined {
  return defaultPoolTagPaths(env).find((p) => exists(p));
}
