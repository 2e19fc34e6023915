import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { declaredCodes } from "@leakscope/core";
import { describe, expect, it } from "vitest";

const packagesDir = resolve(__dirname, "..", "..");

describe("diagnostic codes across the repository", () => {
  it("are unique, well-formed and documented in the README of the package that declares them", async () => {
    const withCodes: { dir: string; source: string }[] = [];
    for (const dir of readdirSync(packagesDir)) {
      const index = join(packagesDir, dir, "src", "index.ts");
      if (!existsSync(index)) continue;
      // importing a package runs its defineCodes(); a code declared by two packages throws here
      await import(index);
      withCodes.push({ dir, source: dir });
    }
    const codes = declaredCodes();
    expect(codes.size).toBeGreaterThan(10);
    const undocumented: string[] = [];
    for (const [code, { source, definition }] of codes) {
      if (code.startsWith("TEST_ONLY_")) continue;
      expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(definition.description.length).toBeGreaterThan(10);
      // the README of the declaring package lists the code (core also documents its minidump codes)
      const candidates = [source, source.replace(/^core-/, ""), "core"].map((d) => join(packagesDir, d, "README.md"));
      const documented = candidates.some((f) => existsSync(f) && readFileSync(f, "utf8").includes(code));
      if (!documented) undocumented.push(`${source}:${code}`);
    }
    expect(undocumented).toEqual([]);
  });
});
