import { type Address, formatAddress } from "./address.js";

/**
 * Diagnostics are data, not exceptions: what could not be read, what failed a consistency
 * check, what is missing from a dump. Each has a stable `code` (SCREAMING_SNAKE, never reused
 * for another meaning) that tests and `--json` consumers key on; messages may be reworded.
 *
 * Every package declares its codes in one file (`src/codes.ts`) with {@link defineCodes}, so
 * codes are greppable and documented; a repository test checks that no two packages declare the
 * same code.
 */
export type Severity = "error" | "warning" | "info";

export interface DiagnosticLocation {
  /** The input file the diagnostic is about. */
  file?: string;
  /** Byte offset in that file. */
  fileOffset?: number;
  /** Virtual address, as `0x` hex text. */
  address?: string;
  /** Named part of the input: a minidump stream, a WinDbg command, a heap. */
  where?: string;
  /** 1-based line number in a text input. */
  line?: number;
}

export interface Diagnostic {
  code: string;
  severity: Severity;
  /** Package or plugin that raised it (`core`, `heap-nt`, ...). */
  source: string;
  message: string;
  location?: DiagnosticLocation;
}

export interface CodeDefinition {
  severity: Severity;
  /** One sentence for the README's diagnostics table: what it means, what to do. */
  description: string;
}

export type CodeTable = Readonly<Record<string, CodeDefinition>>;

/** All code tables declared in this process, for documentation and uniqueness checks. */
const registry = new Map<string, { source: string; definition: CodeDefinition }>();

/**
 * Declare a package's diagnostic codes. Returns the table unchanged, typed, so builders can use
 * `codes.HEAP_ENTRY_CHECKSUM` and the compiler rejects unknown codes.
 */
export function defineCodes<const T extends CodeTable>(source: string, table: T): T {
  for (const [code, definition] of Object.entries(table)) {
    const seen = registry.get(code);
    if (seen && seen.source !== source) {
      throw new Error(`diagnostic code ${code} is declared by both ${seen.source} and ${source}`);
    }
    registry.set(code, { source, definition });
  }
  return table;
}

/** Every code declared so far (by the packages loaded in this process). */
export function declaredCodes(): ReadonlyMap<string, { source: string; definition: CodeDefinition }> {
  return registry;
}

/** Location helper: an address as hex text, plus optional extras. */
export function at(address: Address, extra: Omit<DiagnosticLocation, "address"> = {}): DiagnosticLocation {
  return { ...extra, address: formatAddress(address) };
}

export interface DiagnosticsOptions {
  /** Most diagnostics kept per code; the rest are counted. Default 200. */
  perCodeLimit?: number;
  /** Most diagnostics kept in all. Default 10,000. */
  totalLimit?: number;
}

/**
 * A bounded collector. Hostile dumps can raise millions of identical problems: each code keeps
 * its first `perCodeLimit` entries, the rest are counted and summarised by {@link list} as one
 * `DIAGNOSTICS_SUPPRESSED` entry per code, so memory never grows with the damage.
 */
export class Diagnostics {
  private readonly items: Diagnostic[] = [];
  private readonly perCode = new Map<string, number>();
  private readonly suppressed = new Map<string, number>();
  private readonly perCodeLimit: number;
  private readonly totalLimit: number;

  constructor(options: DiagnosticsOptions = {}) {
    this.perCodeLimit = options.perCodeLimit ?? 200;
    this.totalLimit = options.totalLimit ?? 10_000;
  }

  add(diagnostic: Diagnostic): void {
    const n = this.perCode.get(diagnostic.code) ?? 0;
    this.perCode.set(diagnostic.code, n + 1);
    if (n >= this.perCodeLimit || this.items.length >= this.totalLimit) {
      this.suppressed.set(diagnostic.code, (this.suppressed.get(diagnostic.code) ?? 0) + 1);
      return;
    }
    this.items.push(diagnostic);
  }

  /** Shorthand for {@link add}. */
  report(
    source: string,
    code: string,
    severity: Severity,
    message: string,
    location?: DiagnosticLocation,
  ): void {
    this.add(location === undefined ? { code, severity, source, message } : { code, severity, source, message, location });
  }

  addAll(diagnostics: Iterable<Diagnostic>): void {
    for (const d of diagnostics) this.add(d);
  }

  /** How many times a code was raised, suppressed ones included. */
  count(code: string): number {
    return this.perCode.get(code) ?? 0;
  }

  has(code: string): boolean {
    return this.count(code) > 0;
  }

  get size(): number {
    return this.items.length;
  }

  get errorCount(): number {
    let n = 0;
    for (const d of this.items) if (d.severity === "error") n++;
    return n;
  }

  /** The kept diagnostics, followed by one summary per code that hit its limit. */
  list(): Diagnostic[] {
    const out = this.items.slice();
    for (const [code, n] of this.suppressed) {
      out.push({
        code: "DIAGNOSTICS_SUPPRESSED",
        severity: "info",
        source: "core",
        message: `${n} more ${code} diagnostics were not listed`,
        location: { where: code },
      });
    }
    return out;
  }
}
