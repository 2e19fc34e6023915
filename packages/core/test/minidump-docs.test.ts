import { readFileSync } from "node:fs";
import { join } from "node:path";
import { minidumpCodes } from "@leakscope/core";
import { describe, expect, it } from "vitest";

describe("minidump diagnostics documentation", () => {
  it("every MINIDUMP_* code is in the reader's README table with its severity and description", () => {
    const readme = readFileSync(join(__dirname, "..", "src", "minidump", "README.md"), "utf8");
    const missing: string[] = [];
    for (const [code, def] of Object.entries(minidumpCodes)) {
      expect(code).toMatch(/^MINIDUMP_[A-Z0-9_]+$/);
      const row = `| \`${code}\` | ${def.severity} | ${def.description} |`;
      if (!readme.includes(row)) missing.push(code);
    }
    expect(missing).toEqual([]);
  });
});
