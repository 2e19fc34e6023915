import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  type Address,
  type AddressSpace,
  type CodeViewInfo,
  Diagnostics,
  type FrameText,
  type ModuleInfo,
  type Target,
  formatAddress,
} from "@leakscope/core";
import { symbolStoreKey } from "./codeview.js";
import { symbolsCodes } from "./codes.js";
import { PdbFile } from "./pdb.js";
import { PeImage } from "./pe.js";

/** Where a symbolized name came from, best first. */
export type SymbolSource = "pdb" | "export" | "module" | "none";

export interface SymbolizedFrame {
  address: Address;
  /** WinDbg module name: the file name without its extension (`ntdll`). */
  module?: string;
  moduleBase?: Address;
  /** Offset from the module base (0 when no module contains the address). */
  offset: number;
  symbol?: string;
  /** Offset from the symbol's start. */
  symbolOffset?: number;
  source: SymbolSource;
  /** `ntdll!RtlAllocateHeap+0xad4`, `ntdll!RtlAllocateHeap`, `ntdll+0x1234` or `0x7ff6...`. */
  text: string;
}

export interface SymbolizerOptions {
  /** The target's modules (all bitnesses). */
  modules: readonly ModuleInfo[];
  /** Memory to read PE headers and export directories from, per module bitness. */
  spaces?: { 32?: AddressSpace; 64?: AddressSpace };
  /** Directories searched for `<pdb>` and `<pdb>/<GUIDAGE>/<pdb>` (symbol-store layout). */
  symbolPaths?: readonly string[];
  /** Where problems go (mismatched PDBs, unreadable exports). */
  diagnostics?: Diagnostics;
  /** Read export directories from memory (default true). */
  exports?: boolean;
}

/** Sorted symbol table of one kind: starts ascending, parallel ends (start when unsized) and names. */
interface Table {
  starts: Float64Array;
  ends: Float64Array;
  names: string[];
}

interface ModuleEntry {
  info: ModuleInfo;
  short: string;
  loaded: boolean;
  procs?: Table;
  publics?: Table;
  exports?: Table;
  /** The PDB used, when one matched. */
  pdbPath?: string;
}

/** Per-module summary for reports and `--json`. */
export interface ModuleSymbolStatus {
  module: string;
  base: Address;
  pdb?: string;
  procedures: number;
  publics: number;
  exports: number;
}

/**
 * Strip the C decoration of 32-bit x86 public symbols, as DbgHelp does with SYMOPT_UNDNAME:
 * `_name` (cdecl), `_name@12` (stdcall) and `@name@8` (fastcall) become `name`. C++ names
 * (`?name@@...`) and anything else are returned unchanged.
 */
export function undecorateX86(name: string): string {
  const m = /^_([A-Za-z_$][\w$]*?)(?:@\d+)?$/.exec(name) ?? /^@([A-Za-z_$][\w$]*)@\d+$/.exec(name);
  return m ? m[1]! : name;
}

/** WinDbg-style module name: file name without directory and extension. */
export function moduleShortName(name: string): string {
  return name.replace(/^.*[\\/]/, "").replace(/\.(dll|exe|sys|drv|ocx|cpl|efi|scr|mui)$/i, "");
}

function table(rows: { start: number; end: number; name: string }[]): Table {
  rows.sort((a, b) => a.start - b.start || b.end - a.end);
  const starts = new Float64Array(rows.length);
  const ends = new Float64Array(rows.length);
  const names: string[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    starts[i] = r.start;
    ends[i] = r.end;
    names[i] = r.name;
  }
  return { starts, ends, names };
}

/**
 * Index of the greatest start <= x, or -1. Among equal starts (aliases such as
 * `NtClose`/`ZwClose`) the first in table order wins, so names are deterministic.
 */
function floorIndex(starts: Float64Array, x: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid]! <= x) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  while (best > 0 && starts[best - 1] === starts[best]) best--;
  return best;
}

/** How far back to look for a containing procedure when the nearest start does not contain x. */
const CONTAIN_LOOKBACK = 16;

function containing(t: Table, x: number): number {
  let i = floorIndex(t.starts, x);
  while (i >= 0 && i + 1 < t.starts.length && t.starts[i + 1] === t.starts[i]) i++;
  for (let k = i; k >= 0 && k > i - CONTAIN_LOOKBACK; k--) {
    if (x < t.ends[k]!) return k;
  }
  return -1;
}

/**
 * Turns addresses into `module!symbol+0xoff` text without a network: PDB procedures and publics
 * (from `symbolPaths`, matched by the module's RSDS GUID and age), else the nearest export read
 * from the PE export directory in dump memory, else `module+0xoff`. Each module's tables are
 * built once, on first use, as sorted arrays searched by bisection.
 */
export class Symbolizer {
  readonly diagnostics: Diagnostics;
  private readonly entries: ModuleEntry[];
  private readonly bases: Float64Array;
  private readonly ends: Float64Array;
  private readonly spaces: { 32?: AddressSpace; 64?: AddressSpace };
  private readonly symbolPaths: readonly string[];
  private readonly useExports: boolean;

  constructor(options: SymbolizerOptions) {
    this.diagnostics = options.diagnostics ?? new Diagnostics();
    this.spaces = options.spaces ?? {};
    this.symbolPaths = options.symbolPaths ?? [];
    this.useExports = options.exports ?? true;
    const mods = options.modules
      .filter((m) => m.base === m.base && m.size > 0)
      .slice()
      .sort((a, b) => a.base - b.base);
    this.entries = [];
    let prevEnd = -Infinity;
    for (const m of mods) {
      if (m.base < prevEnd) continue; // overlapping duplicate (same module listed in two views)
      this.entries.push({ info: m, short: moduleShortName(m.name || m.path), loaded: false });
      prevEnd = m.base + m.size;
    }
    // WinDbg names a second module with the same name `<name>_<base>` (the 32-bit ntdll of a
    // WoW64 process is `ntdll_77cc0000`): the 64-bit one, else the lowest, keeps the plain name.
    const byName = new Map<string, ModuleEntry[]>();
    for (const e of this.entries) {
      const k = e.short.toLowerCase();
      const list = byName.get(k);
      if (list) list.push(e);
      else byName.set(k, [e]);
    }
    for (const list of byName.values()) {
      if (list.length < 2) continue;
      const keep = list.find((e) => e.info.bitness === 64) ?? list[0]!;
      for (const e of list) if (e !== keep) e.short = `${e.short}_${formatAddress(e.info.base).slice(2).padStart(8, "0")}`;
    }
    this.bases = new Float64Array(this.entries.map((e) => e.info.base));
    this.ends = new Float64Array(this.entries.map((e) => e.info.base + e.info.size));
  }

  /** A symbolizer for an opened target: its views' modules and address spaces. */
  static forTarget(target: Target, options: Omit<SymbolizerOptions, "modules" | "spaces"> = {}): Symbolizer {
    const spaces: { 32?: AddressSpace; 64?: AddressSpace } = {};
    const modules: ModuleInfo[] = [];
    for (const v of target.views) {
      spaces[v.bitness] ??= v.space;
      modules.push(...v.modules);
    }
    if (modules.length === 0) modules.push(...target.modules);
    return new Symbolizer({ ...options, modules, spaces, diagnostics: options.diagnostics ?? target.diagnostics });
  }

  /** The module containing `address`, if any. */
  moduleAt(address: Address): ModuleInfo | undefined {
    const i = this.entryIndex(address);
    return i >= 0 ? this.entries[i]!.info : undefined;
  }

  private entryIndex(address: Address): number {
    const i = floorIndex(this.bases, address);
    return i >= 0 && address < this.ends[i]! ? i : -1;
  }

  /** Symbolize one address. */
  symbolize(address: Address): SymbolizedFrame {
    const i = this.entryIndex(address);
    if (i < 0) return { address, offset: 0, source: "none", text: formatAddress(address) };
    const e = this.entries[i]!;
    if (!e.loaded) this.load(e);
    const base = e.info.base;
    const rva = address - base;
    let hit: Table | undefined;
    let k = -1;
    let source: SymbolSource = "module";
    if (e.procs && (k = containing(e.procs, rva)) >= 0) {
      hit = e.procs;
      source = "pdb";
    } else if (e.publics && (k = floorIndex(e.publics.starts, rva)) >= 0) {
      hit = e.publics;
      source = "pdb";
    } else if (e.exports && (k = floorIndex(e.exports.starts, rva)) >= 0) {
      hit = e.exports;
      source = "export";
    }
    if (!hit) return { address, module: e.short, moduleBase: base, offset: rva, source: "module", text: `${e.short}+0x${rva.toString(16)}` };
    const symbol = hit.names[k]!;
    const symbolOffset = rva - hit.starts[k]!;
    const text = symbolOffset === 0 ? `${e.short}!${symbol}` : `${e.short}!${symbol}+0x${symbolOffset.toString(16)}`;
    return { address, module: e.short, moduleBase: base, offset: rva, symbol, symbolOffset, source, text };
  }

  /**
   * Symbolize many addresses (stack frames): one result per input, in order; repeated addresses
   * share one result object.
   */
  symbolizeMany(addresses: ArrayLike<Address>): SymbolizedFrame[] {
    const memo = new Map<Address, SymbolizedFrame>();
    const out: SymbolizedFrame[] = new Array(addresses.length);
    for (let i = 0; i < addresses.length; i++) {
      const a = addresses[i]!;
      let r = memo.get(a);
      if (!r) memo.set(a, (r = this.symbolize(a)));
      out[i] = r;
    }
    return out;
  }

  /** Per-module state: which PDB matched, table sizes. Loads every module's tables. */
  status(): ModuleSymbolStatus[] {
    return this.entries.map((e) => {
      if (!e.loaded) this.load(e);
      const s: ModuleSymbolStatus = {
        module: e.short,
        base: e.info.base,
        procedures: e.procs?.names.length ?? 0,
        publics: e.publics?.names.length ?? 0,
        exports: e.exports?.names.length ?? 0,
      };
      if (e.pdbPath !== undefined) s.pdb = e.pdbPath;
      return s;
    });
  }

  private report(code: keyof typeof symbolsCodes, message: string, location?: { file?: string; address?: string }): void {
    this.diagnostics.report("symbols", code, symbolsCodes[code].severity, message, location);
  }

  private load(e: ModuleEntry): void {
    e.loaded = true;
    const m = e.info;
    const space = this.spaces[m.bitness] ?? this.spaces[m.bitness === 32 ? 64 : 32];
    const image = space ? PeImage.fromMemory(space, m.base, { diagnostics: this.diagnostics, label: m.name }) : undefined;
    if (image && this.useExports) {
      const ex = image.exports();
      if (ex) {
        const rows: { start: number; end: number; name: string }[] = [];
        for (const x of ex.entries) {
          if (x.forwarder !== undefined || x.rva >= m.size) continue;
          rows.push({ start: x.rva, end: x.rva, name: x.name ?? `Ordinal${x.ordinal}` });
        }
        if (rows.length > 0) e.exports = table(rows);
      }
    }
    if (this.symbolPaths.length === 0) return;
    // The dump's module record first, then the image's own debug directory when it differs
    // (dumpers sometimes record another build's CodeView than the mapped image carries).
    const cvs: CodeViewInfo[] = [];
    for (const cv of [m.codeView, image?.codeView()]) {
      if (cv && !cvs.some((c) => c.guid.toLowerCase() === cv.guid.toLowerCase() && c.age === cv.age && c.pdbName === cv.pdbName)) cvs.push(cv);
    }
    if (cvs.length > 0) this.loadPdb(e, cvs, image);
  }

  /** Candidate PDB paths for a CodeView record, in search order. */
  candidates(cv: CodeViewInfo): string[] {
    const name = cv.pdbName.replace(/^.*[\\/]/, "");
    if (!name) return [];
    const key = symbolStoreKey(cv);
    const names = name.toLowerCase() === name ? [name] : [name, name.toLowerCase()];
    const out: string[] = [];
    for (const dir of this.symbolPaths) {
      for (const n of names) {
        out.push(join(dir, n), join(dir, n, key, n));
      }
    }
    return out;
  }

  private loadPdb(e: ModuleEntry, cvs: readonly CodeViewInfo[], image: PeImage | undefined): void {
    let mismatched = false;
    const tried = new Set<string>();
    for (const cv of cvs) {
      for (const path of this.candidates(cv)) {
        if (tried.has(path)) continue;
        tried.add(path);
        let isFile = false;
        try {
          isFile = existsSync(path) && statSync(path).isFile();
        } catch {
          isFile = false;
        }
        if (!isFile) continue;
        const pdb = PdbFile.openFile(path, { diagnostics: this.diagnostics });
        if (!pdb) continue;
        try {
          if (!cvs.some((c) => pdbMatches(pdb, c))) {
            mismatched = true;
            const want = cvs.map((c) => `${c.guid} age ${c.age}`).join(" or ");
            this.report(
              "SYMBOLS_PDB_MISMATCH",
              `${path} has GUID ${pdb.info.guid} age ${pdb.matchAge}, module ${e.info.name} wants ${want}: not used`,
              { file: path, address: formatAddress(e.info.base) },
            );
            continue;
          }
          this.usePdb(e, pdb, path, image);
          return;
        } finally {
          pdb.close();
        }
      }
    }
    if (!mismatched) {
      const cv = cvs[0]!;
      this.report("SYMBOLS_PDB_NOT_FOUND", `no ${cv.pdbName} for ${e.info.name} (${symbolStoreKey(cv)}) in ${this.symbolPaths.join(", ")}`, {
        address: formatAddress(e.info.base),
      });
    }
  }

  private usePdb(e: ModuleEntry, pdb: PdbFile, path: string, image: PeImage | undefined): void {
    if (pdb.sections.length === 0 && image) pdb.sections = image.sections;
    const size = e.info.size;
    const procRows: { start: number; end: number; name: string }[] = [];
    for (const p of pdb.allProcs()) {
      if (p.rva < 0 || p.rva >= size) continue;
      procRows.push({ start: p.rva, end: p.rva + Math.max(p.size, 1), name: p.name });
    }
    const pubRows: { start: number; end: number; name: string }[] = [];
    const x86 = (image?.machine ?? (e.info.bitness === 32 ? 0x14c : 0)) === 0x14c;
    for (const p of pdb.publics()) {
      if (p.rva < 0 || p.rva >= size) continue;
      pubRows.push({ start: p.rva, end: p.rva, name: x86 ? undecorateX86(p.name) : p.name });
    }
    if (procRows.length > 0) e.procs = table(procRows);
    if (pubRows.length > 0) e.publics = table(pubRows);
    e.pdbPath = path;
  }
}

/**
 * A PDB matches an image when the GUID (RSDS) or 32-bit signature (NB10) is equal and the age
 * the DBI stream records equals the image's (the info stream's age when there is no DBI).
 */
export function pdbMatches(pdb: PdbFile, cv: CodeViewInfo): boolean {
  const id = cv.format === "RSDS" ? pdb.info.guid : pdb.info.signature.toString(16).padStart(8, "0");
  return id.toLowerCase() === cv.guid.toLowerCase() && pdb.matchAge === cv.age;
}

/** The core model's frame text for a symbolized frame. */
export function toFrameText(f: SymbolizedFrame): FrameText {
  const t: FrameText = { text: f.text };
  if (f.module !== undefined) t.module = f.module;
  if (f.symbol !== undefined) t.symbol = f.symbol;
  if (f.module !== undefined) t.offset = f.symbol !== undefined ? (f.symbolOffset ?? 0) : f.offset;
  return t;
}
