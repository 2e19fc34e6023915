import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/**
 * Real PE images and PDBs for tests, built offline with Debian's clang-14 + lld-14 + llvm-14
 * (`apt-get install -y --no-install-recommends clang-14 lld-14 llvm-14`; llvm-rc-14 is in llvm-14). With `/Brepro` and
 * `/pdbaltpath` the outputs are byte-identical across rebuilds. The llvm tools (pdbutil, readobj)
 * serve as oracles for leakscope's own readers.
 */

export interface WindowsToolchain {
  available: boolean;
  /** Why not available (shown when tests skip). */
  reason: string;
  clang: string;
  lldLink: string;
  pdbutil: string;
  readobj: string;
  rc: string;
}

const TOOLS = { clang: "clang-14", lldLink: "lld-link-14", pdbutil: "llvm-pdbutil-14", readobj: "llvm-readobj-14", rc: "llvm-rc-14" } as const;

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return undefined;
}

let cached: WindowsToolchain | undefined;

/**
 * Locate the tools. When one is missing: under `CI=true` this throws (the test fails), otherwise
 * it prints one notice and returns `available: false` so tests can `it.skipIf(!tc.available)`.
 */
export function windowsToolchain(): WindowsToolchain {
  if (cached) return cached;
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const [key, cmd] of Object.entries(TOOLS)) {
    const p = which(cmd);
    if (p) found[key] = p;
    else missing.push(cmd);
  }
  const reason = missing.length
    ? `${missing.join(", ")} not found: PE/PDB fixture tests skipped (apt-get install -y --no-install-recommends clang-14 lld-14 llvm-14)`
    : "";
  if (missing.length) {
    if (process.env.CI === "true") throw new Error(`${reason}; CI=true requires them`);
    console.warn(`[leakscope tests] NOTICE: ${reason}`);
  }
  cached = {
    available: missing.length === 0,
    reason,
    clang: found.clang ?? TOOLS.clang,
    lldLink: found.lldLink ?? TOOLS.lldLink,
    pdbutil: found.pdbutil ?? TOOLS.pdbutil,
    readobj: found.readobj ?? TOOLS.readobj,
    rc: found.rc ?? TOOLS.rc,
  };
  return cached;
}

export interface BuildImageOptions {
  /** Base name: produces `<name>.dll|exe` and `<name>.pdb`. */
  name: string;
  /** C source text. */
  source: string;
  arch: "x64" | "x86";
  /** DLL (default) or EXE; an EXE needs an entry function named by `entry`. */
  kind?: "dll" | "exe";
  entry?: string;
  /** Extra `/export:` specifications (`Name` or `Alias=Function`). */
  exports?: readonly string[];
  /** Preferred image base (`/base:`). */
  base?: number;
  /** Directory to build in (a fresh temp dir when omitted). */
  dir?: string;
  /** Extra clang arguments (e.g. `-O2`). */
  cflags?: readonly string[];
  /** More C translation units (`name` -> text), each its own object file and PDB module. */
  extraSources?: Readonly<Record<string, string>>;
  /** Resource script text (`.rc`), compiled with llvm-rc-14 and linked in (e.g. a VERSIONINFO). */
  resources?: string;
}

export interface BuiltImage {
  dir: string;
  imagePath: string;
  pdbPath: string;
  /** The image file's bytes (file layout). */
  bytes: Uint8Array;
  /** Remove the build directory. */
  cleanup(): void;
}

/** Compile and link a Windows image with its PDB. Throws when the tools fail. */
export function buildWindowsImage(options: BuildImageOptions): BuiltImage {
  const tc = windowsToolchain();
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "leakscope-pe-"));
  const kind = options.kind ?? "dll";
  const src = join(dir, `${options.name}.c`);
  const obj = join(dir, `${options.name}.obj`);
  const imagePath = join(dir, `${options.name}.${kind}`);
  const pdbName = `${options.name}.pdb`;
  writeFileSync(src, options.source);
  const target = options.arch === "x64" ? "x86_64-pc-windows-msvc" : "i686-pc-windows-msvc";
  const objs = [obj];
  const compile = (c: string, o: string) =>
    execFileSync(tc.clang, [`--target=${target}`, "-g", "-gcodeview", "-O0", "-fno-stack-protector", ...(options.cflags ?? []), "-c", c, "-o", o], {
      cwd: dir,
      stdio: "pipe",
    });
  compile(src, obj);
  for (const [name, text] of Object.entries(options.extraSources ?? {})) {
    const c = join(dir, `${name}.c`);
    const o = join(dir, `${name}.obj`);
    writeFileSync(c, text);
    compile(c, o);
    objs.push(o);
  }
  const link = [
    kind === "dll" ? "/dll" : "/subsystem:console",
    ...(kind === "dll" ? ["/noentry"] : [`/entry:${options.entry ?? "start"}`]),
    "/nodefaultlib",
    "/debug",
    "/Brepro",
    `/pdb:${pdbName}`,
    `/pdbaltpath:${pdbName}`,
    `/machine:${options.arch === "x64" ? "x64" : "x86"}`,
    `/out:${imagePath}`,
    ...(options.base !== undefined ? [`/base:0x${options.base.toString(16)}`] : []),
    ...(options.exports ?? []).map((e) => `/export:${e}`),
    ...objs,
  ];
  if (options.resources !== undefined) {
    const rc = join(dir, `${options.name}.rc`);
    const res = join(dir, `${options.name}.res`);
    writeFileSync(rc, options.resources);
    execFileSync(tc.rc, ["/FO", res, rc], { cwd: dir, stdio: "pipe" });
    link.push(res);
  }
  execFileSync(tc.lldLink, link, { cwd: dir, stdio: "pipe" });
  return {
    dir,
    imagePath,
    pdbPath: join(dir, pdbName),
    bytes: new Uint8Array(readFileSync(imagePath)),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Run an llvm tool and return its stdout. */
export function runTool(tool: string, args: readonly string[]): string {
  return execFileSync(tool, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
}

/**
 * Lay a PE file out as the Windows loader would (independently of leakscope's PE reader): a
 * buffer of SizeOfImage bytes holding the headers at 0 and each section's raw data at its
 * VirtualAddress. Map it at a base with `new BytesAddressSpace([{ address: base, bytes }], ps)`.
 */
export function mapPeImage(file: Uint8Array): Uint8Array {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const nt = v.getUint32(0x3c, true);
  const nSections = v.getUint16(nt + 6, true);
  const optSize = v.getUint16(nt + 20, true);
  const opt = nt + 24;
  const sizeOfImage = v.getUint32(opt + 56, true);
  const sizeOfHeaders = v.getUint32(opt + 60, true);
  const out = new Uint8Array(sizeOfImage);
  out.set(file.subarray(0, Math.min(sizeOfHeaders, file.length)), 0);
  for (let i = 0; i < nSections; i++) {
    const s = opt + optSize + i * 40;
    const vsize = v.getUint32(s + 8, true);
    const va = v.getUint32(s + 12, true);
    const rawSize = v.getUint32(s + 16, true);
    const rawPtr = v.getUint32(s + 20, true);
    const n = Math.min(rawSize, vsize || rawSize, sizeOfImage - va);
    out.set(file.subarray(rawPtr, rawPtr + n), va);
  }
  return out;
}
export * from "./writer.js";
