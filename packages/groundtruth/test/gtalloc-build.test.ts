import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { repoRoot } from "@leakscope/test-utils";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { AllocationKindSchema, AllocatorSchema, ManifestHeapSchema } from "../src/index.js";

/**
 * Build tools/groundtruth/gtalloc.cpp for x86 and x64 with clang-cl + lld-link, without the
 * Windows SDK (GT_NO_SDK + import libraries made from nosdk/*.def with llvm-dlltool), and check
 * the PE with llvm-readobj. Debian: apt-get install -y --no-install-recommends clang-14 lld-14 llvm-14.
 */
const toolDir = resolve(repoRoot, "tools", "groundtruth");
const source = join(toolDir, "gtalloc.cpp");

function works(cmd: string, args: string[], anyStatus: boolean): boolean {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return r.error === undefined && (anyStatus || r.status === 0);
}

/**
 * The first candidate that runs `--version` successfully; with `anyStatus` (llvm-dlltool, which
 * has no --version and exits 1 after its usage text) the first one that starts at all.
 */
function pick(candidates: [string, string[]][], anyStatus = false): [string, string[]] | undefined {
  return candidates.find(([cmd, pre]) => works(cmd, anyStatus ? pre : [...pre, "--version"], anyStatus));
}

const clangCl = pick([
  ["clang-cl-14", []],
  ["clang-14", ["--driver-mode=cl"]],
  ["clang-cl", []],
  ["clang", ["--driver-mode=cl"]],
]);
const lldLink = pick([["lld-link-14", []], ["lld-link", []]]);
const dlltool = pick([["llvm-dlltool-14", []], ["llvm-dlltool", []]], true);
const readobj = pick([["llvm-readobj-14", []], ["llvm-readobj", []]]);
const haveTools = clangCl !== undefined && lldLink !== undefined && dlltool !== undefined && readobj !== undefined;
if (!haveTools) {
  const reason =
    "clang-cl/lld-link/llvm-dlltool/llvm-readobj not found: gtalloc build test skipped " +
    "(apt-get install -y --no-install-recommends clang-14 lld-14 llvm-14)";
  if (process.env.CI === "true") throw new Error(`${reason}; CI=true requires them`);
  console.warn(`[leakscope tests] NOTICE: ${reason}`);
}

function run(tool: [string, string[]], args: string[], cwd: string): string {
  const r = spawnSync(tool[0], [...tool[1], ...args], { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${tool[0]} ${args.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

const machines = [
  { name: "x86", target: "i686-pc-windows-msvc", dlltool: "i386", link: "X86", coff: "IMAGE_FILE_MACHINE_I386", format: "COFF-i386" },
  { name: "x64", target: "x86_64-pc-windows-msvc", dlltool: "i386:x86-64", link: "X64", coff: "IMAGE_FILE_MACHINE_AMD64", format: "COFF-x86-64" },
] as const;

/** Imports per DLL, from `llvm-readobj --coff-imports` output. */
function importsOf(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split("\n")) {
    const dll = /^\s*Name:\s*(\S+\.dll)\s*$/i.exec(line);
    if (dll?.[1] !== undefined) {
      current = [];
      out.set(dll[1].toLowerCase(), current);
      continue;
    }
    const sym = /^\s*Symbol:\s*(\S+)/.exec(line);
    if (sym?.[1] !== undefined && current) current.push(sym[1]);
  }
  return out;
}

describe("gtalloc builds without the Windows SDK (clang-cl + lld-link)", () => {
  for (const m of machines) {
    it.skipIf(!haveTools)(`builds a ${m.name} PE that imports HeapAlloc and MiniDumpWriteDump`, () => {
      const dir = mkdtempSync(join(tmpdir(), `gtalloc-${m.name}-`));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const libs: string[] = [];
      for (const dll of ["kernel32", "dbghelp", "ucrtbase"]) {
        let def = readFileSync(join(toolDir, "nosdk", `${dll}.def`), "utf8");
        if (m.name === "x64") def = def.replace(/@\d+$/gm, "");
        writeFileSync(join(dir, `${dll}.def`), def);
        run(dlltool!, ["-m", m.dlltool, ...(m.name === "x86" ? ["-k"] : []), "-d", `${dll}.def`, "-l", `${dll}.lib`], dir);
        libs.push(`${dll}.lib`);
      }
      const compileLog = run(
        clangCl!,
        [`--target=${m.target}`, "/nologo", "/DGT_NO_SDK", "/O2", "/Gy", "/GS-", "/GR-", "/W4", "/c", "/Fogtalloc.obj", "--", source],
        dir,
      );
      expect(compileLog).not.toMatch(/warning:/);
      run(
        lldLink!,
        [
          "/nologo",
          "/nodefaultlib",
          "/entry:gt_entry",
          "/subsystem:console",
          `/machine:${m.link}`,
          "/opt:ref,icf",
          "/map:gtalloc.map",
          "/out:gtalloc.exe",
          "gtalloc.obj",
          ...libs,
        ],
        dir,
      );
      const info = run(readobj!, ["--file-headers", "--coff-imports", "gtalloc.exe"], dir);
      expect(info).toContain(`Format: ${m.format}`);
      expect(info).toContain(m.coff);
      const imports = importsOf(info);
      expect([...imports.keys()].sort()).toEqual(["dbghelp.dll", "kernel32.dll", "ucrtbase.dll"]);
      expect(imports.get("dbghelp.dll")).toEqual(["MiniDumpWriteDump"]);
      expect(imports.get("kernel32.dll")).toEqual(expect.arrayContaining(["HeapAlloc", "HeapCreate", "HeapFree", "GetProcessHeap", "CreateFileW"]));
      expect(imports.get("ucrtbase.dll")).toEqual(expect.arrayContaining(["malloc", "_get_heap_handle"]));
      // undecorated import names: the loader would not find HeapAlloc@12
      for (const names of imports.values()) for (const n of names) expect(n).not.toMatch(/@/);
      // every allocation site survives identical-code folding as its own function (+ust frames name it)
      const map = readFileSync(join(dir, "gtalloc.map"), "utf8");
      const sites = [...map.matchAll(/^\s*\S+\s+_?(gt_(?:alloc|leaky|new)_?[a-z_]*)\s+([0-9a-f]{8,16})\s/gm)];
      const addressBySite = new Map(sites.map((x) => [x[1]!, x[2]!]));
      expect([...addressBySite.keys()].sort()).toEqual([
        "gt_alloc_large",
        "gt_alloc_lfh_burst",
        "gt_alloc_malloc",
        "gt_alloc_private_heap",
        "gt_alloc_process_heap",
        "gt_alloc_then_free",
        "gt_leaky_function",
        "gt_new_gadget",
        "gt_new_widget",
      ]);
      expect(new Set(addressBySite.values()).size).toBe(9);
    });
  }
});

describe("gtalloc source agrees with the manifest schema", () => {
  const text = readFileSync(source, "utf8");
  const literals = (schema: { anyOf: { const: string }[] }) => schema.anyOf.map((s) => s.const).sort();
  const table = (name: string): string[] => {
    const m = new RegExp(`${name}\\[\\]\\s*=\\s*\\{([^}]*)\\}`).exec(text);
    expect(m, name).not.toBeNull();
    return [...m![1]!.matchAll(/"([^"]+)"/g)].map((x) => x[1]!).sort();
  };

  it("allocator and kind names are the schema's literals", () => {
    expect(table("kAllocatorNames")).toEqual(literals(AllocatorSchema as never));
    expect(table("kKindNames")).toEqual(literals(AllocationKindSchema as never));
  });

  it("every site named in a record is an extern \"C\" allocation function of the program", () => {
    const sites = new Set([...text.matchAll(/"(gt_[a-z_]+)"[,)]/g)].map((x) => x[1]!));
    expect(sites.size).toBeGreaterThanOrEqual(8);
    for (const site of sites) expect(text, site).toMatch(new RegExp(`GT_NOINLINE void \\*${site}\\(`));
  });

  it("heap kinds and roles written by the program are the schema's literals", () => {
    const kinds = literals((ManifestHeapSchema.properties.kind as never));
    for (const k of ["nt", "segment", "unknown"]) {
      expect(kinds).toContain(k);
      expect(text).toContain(`return "${k}";`);
    }
    for (const role of literals(ManifestHeapSchema.properties.role as never)) expect(text).toContain(`\\"role\\": \\"${role}\\"`);
  });
});

/**
 * Run the allocation plan natively on Linux (GT_POSIX: heaps over malloc, no dump) and check the
 * manifest the program writes: valid JSON, valid against the schema, the planned counts.
 */
const cxx = pick([["clang++-14", []], ["clang++", []], ["g++", []]]);
if (cxx === undefined) {
  const reason = "no C++ compiler (clang++-14, clang++, g++): native gtalloc run skipped";
  if (process.env.CI === "true") throw new Error(`${reason}; CI=true requires one`);
  console.warn(`[leakscope tests] NOTICE: ${reason}`);
}

describe.skipIf(cxx === undefined)("gtalloc's manifest (native run through the GT_POSIX shim)", () => {
  let dir = "";
  let exe = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "gtalloc-posix-"));
    exe = join(dir, "gtalloc");
    run(cxx!, ["-DGT_POSIX", "-fshort-wchar", "-O1", "-o", exe, "-x", "c++", source], dir);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const gtalloc = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(exe, args, { cwd: dir, encoding: "utf8", env: { ...process.env, ...env } });

  it("writes a schema-valid manifest with every planned allocation (scale 2, +ust)", async () => {
    const { parseManifest } = await import("../src/index.js");
    const r = gtalloc(["--out", dir, "--label", "p2", "--scale", "2"], { GT_FAKE_GLOBALFLAG: String(0x1000) });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const m = parseManifest(readFileSync(join(dir, "p2.json"), "utf8"));
    expect(m).toMatchObject({ label: "p2", scale: 2, pointerSize: 8, stackTraces: true, pageHeap: false, complete: true, dumpFile: "p2.dmp" });
    expect(readFileSync(join(dir, "p2.dmp"), "utf8")).toBe("GTALLOC-POSIX-PLACEHOLDER");
    const byKind = new Map<string, number>();
    for (const a of m.allocations) byKind.set(a.kind, (byKind.get(a.kind) ?? 0) + 1);
    // 2 x 9 + 3 x 5 + 3 x 4 sizes, times scale 2, plus the 10 kept of 20 blocks of which every other was freed
    expect(Object.fromEntries(byKind)).toEqual({ pattern: 100, "lfh-burst": 192, large: 3, leak: 400, object: 16 });
    expect(m.freed).toHaveLength(18);
    expect(new Set(m.allocations.map((a) => a.address)).size).toBe(m.allocations.length);
    const freedAddresses = new Set(m.freed.map((f) => f.address));
    // a freed block's address may be reused by a later live allocation, but never listed twice as freed
    expect(freedAddresses.size).toBe(18);
    const leaks = m.allocations.filter((a) => a.kind === "leak");
    expect(leaks.every((a) => a.size === 0x120 && a.fill === 0x4c && a.site === "gt_leaky_function")).toBe(true);
    const objects = m.allocations.filter((a) => a.kind === "object");
    expect(objects.every((a) => a.allocator === "new" && a.fillOffset === 8 && a.vtable !== undefined)).toBe(true);
    expect(objects.filter((a) => a.typeName === "GtWidget")).toHaveLength(10);
    expect(objects.filter((a) => a.typeName === "GtGadget")).toHaveLength(6);
    expect(new Set(objects.filter((a) => a.typeName === "GtWidget").map((a) => a.vtable)).size).toBe(1);
    expect(m.allocations.filter((a) => a.kind === "large").map((a) => a.size).sort((x, y) => x - y)).toEqual([0x140000, 0x180000, 0x210123]);
    const heaps = new Set(m.heaps.map((h) => h.address));
    expect(m.allocations.every((a) => heaps.has(a.heap))).toBe(true);
    expect(m.heaps.map((h) => h.kind)).toEqual(["nt", "nt", "nt"]);
  });

  it("records +hpa, --no-dump, and rejects bad arguments with exit code 2", async () => {
    const { parseManifest } = await import("../src/index.js");
    const r = gtalloc(["--out", dir, "--label", "hpa", "--no-dump"], { GT_FAKE_GLOBALFLAG: String(0x02001000) });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const m = parseManifest(readFileSync(join(dir, "hpa.json"), "utf8"));
    expect(m).toMatchObject({ stackTraces: true, pageHeap: true, ntGlobalFlag: 0x02001000, dumpFile: null, scale: 1 });
    // scale 1: 55 patterns, 96 LFH, 3 large, 200 leaked, 8 objects
    expect(m.allocations.length).toBe(55 + 96 + 3 + 200 + 8);
    for (const bad of [["--scale", "0"], ["--scale", "101"], ["--scale", "x"], ["--label", "a\\b"], ["--bogus"]]) {
      expect(gtalloc(bad).status, bad.join(" ")).toBe(2);
    }
    expect(gtalloc(["--help"]).status).toBe(0);
  });
});

/**
 * The default (Windows SDK) code path, syntax-checked against the MinGW-w64 headers, the only
 * Windows headers Debian has (apt-get install mingw-w64-x86-64-dev mingw-w64-i686-dev). Optional:
 * it skips with a notice when the headers are absent, also in CI (which does not install them).
 */
describe("gtalloc's SDK code path", () => {
  for (const t of ["x86_64", "i686"]) {
    const include = `/usr/${t}-w64-mingw32/include`;
    const present = clangCl !== undefined && existsSync(join(include, "windows.h")) && existsSync(join(include, "dbghelp.h"));
    if (!present) console.warn(`[leakscope tests] NOTICE: ${include}/windows.h or clang not found: SDK-path syntax check for ${t} skipped`);
    it.skipIf(!present)(`compiles with windows.h + dbghelp.h for ${t}`, () => {
      const r = spawnSync(
        "clang-14",
        [`--target=${t}-w64-windows-gnu`, "-x", "c++", "-std=c++14", "-fsyntax-only", "-Wall", "-Wextra", "-Wno-unknown-pragmas", "-nostdinc++", "-isystem", include, source],
        { encoding: "utf8" },
      );
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/warning:/);
    });
  }
});

describe("run-groundtruth.ps1 registry hygiene (static checks; PowerShell does not run here)", () => {
  const ps1 = readFileSync(join(toolDir, "run-groundtruth.ps1"), "utf8");
  it("sets only GlobalFlag, PageHeapFlags and FrontEndHeapDebugOptions", () => {
    const names = [...ps1.matchAll(/(?:Set|Remove)-ItemProperty[^\n]*-Name (\$?\w+)/g)].map((x) => x[1]!);
    // literal names, plus $name inside loops over $ManagedValues
    expect(new Set(names)).toEqual(new Set(["GlobalFlag", "PageHeapFlags", "FrontEndHeapDebugOptions", "$name"]));
    expect(ps1.match(/foreach \(\$name in \$ManagedValues\)/g)?.length).toBe(3);
    expect(ps1).toMatch(/\$ManagedValues = @\('GlobalFlag', 'PageHeapFlags', 'FrontEndHeapDebugOptions'\)/);
  });
  it("changes IFEO only inside try, and restores it in the matching finally", () => {
    const set = ps1.indexOf("Set-IfeoValues $exeName");
    const tryAt = ps1.lastIndexOf("try {", set);
    const save = ps1.lastIndexOf("Save-IfeoState $exeName", set);
    const fin = ps1.indexOf("} finally {", set);
    const restore = ps1.indexOf("Restore-IfeoState $saved", fin);
    expect(save).toBeGreaterThan(0);
    expect(tryAt).toBeGreaterThan(save);
    expect(fin).toBeGreaterThan(set);
    expect(restore - fin).toBeLessThan(120);
  });
  it("uses the documented flag values", () => {
    expect(ps1).toContain("'ust' = 0x1000");
    expect(ps1).toContain("'hpa' = 0x02000000");
    expect(ps1).toContain("-Name FrontEndHeapDebugOptions -Value 8");
    expect(ps1).toContain("-Name PageHeapFlags -Value 3");
  });
});
