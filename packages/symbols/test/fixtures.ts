import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuiltImage, buildWindowsImage, windowsToolchain } from "@leakscope/test-utils";

export { mapPeImage, runTool, windowsToolchain } from "@leakscope/test-utils";

/** A small DLL: exported functions, a static helper (PDB only) and an internal function (publics only). */
export const DLL_SOURCE = `
static int helper(int x) { int s = 0; for (int i = 0; i < x; i++) s += i * x; return s; }
__declspec(dllexport) int AllocThing(int n) { return helper(n) + 7; }
__declspec(dllexport) int FreeThing(int n) { return helper(n * 2) - 3; }
int internal_only(int n) { int a = n * 3; a += helper(n); a ^= 0x55; return a + helper(a & 7); }
__declspec(dllexport) int CallInternal(int n) { return internal_only(n) + 1; }
__declspec(dllexport) int LeakData = 42;
`;

/** Forwarded exports linked into the x64 DLL (`/export:Name=dll.Function`). */
export const FORWARDERS: Readonly<Record<string, string>> = { MyHeapAlloc: "kernel32.HeapAlloc", ByOrd: "ntdll.#12" };

export const VERSION_RC = `
1 VERSIONINFO
FILEVERSION 10,0,19041,3636
PRODUCTVERSION 10,0,19041,3636
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904b0"
    BEGIN
      VALUE "FileDescription", "leakscope fixture"
    END
  END
END
`;

/** An EXE shaped like the user's ConsoleApplication4: main calls an allocator wrapper. */
export const EXE_SOURCE = `
void *my_alloc(unsigned n) { static char pool[4096]; static unsigned used; void *p = pool + used; used += n; return p; }
int main(void) { int total = 0; for (int i = 0; i < 10; i++) { char *p = my_alloc(16); p[0] = (char)i; total += p[0]; } return total; }
int start(void) { return main(); }
`;

export interface Fixtures {
  root: string;
  dll64: BuiltImage;
  dll32: BuiltImage;
  exe64: BuiltImage;
  /** Same names as dll64, different code: another GUID. */
  other64: BuiltImage;
  cleanup(): void;
}

export function buildFixtures(): Fixtures {
  const root = mkdtempSync(join(tmpdir(), "leakscope-symbols-"));
  const sub = (n: string) => join(root, n);
  const mk = (d: string) => {
    mkdirSync(d, { recursive: true });
    return d;
  };
  const dll64 = buildWindowsImage({ name: "leaktest", source: DLL_SOURCE, arch: "x64", exports: ["AliasFree=FreeThing", ...Object.entries(FORWARDERS).map(([k, v]) => `${k}=${v}`)], resources: VERSION_RC, dir: mk(sub("x64")) });
  const dll32 = buildWindowsImage({ name: "leaktest32", source: DLL_SOURCE, arch: "x86", exports: ["AliasFree=FreeThing"], dir: mk(sub("x86")) });
  const exe64 = buildWindowsImage({ name: "ConsoleApplication4", source: EXE_SOURCE, arch: "x64", kind: "exe", entry: "start", dir: mk(sub("exe")) });
  const other64 = buildWindowsImage({ name: "leaktest", source: DLL_SOURCE + "\nint extra_fn(int q) { return q * 5; }\n", arch: "x64", exports: ["AliasFree=FreeThing"], dir: mk(sub("other")) });
  return { root, dll64, dll32, exe64, other64, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

