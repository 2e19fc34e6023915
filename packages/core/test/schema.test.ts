import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { VERSION, batchLineJsonSchema, declaredCodes, reportJsonSchema, validateReport } from "../src/index.js";

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const schemaFile = join(pkgDir, "schema", "report.schema.json");

describe("report schema file", () => {
  it("is generated from the TypeBox definitions (run `npm run schema` to refresh)", () => {
    const expected = `${JSON.stringify(reportJsonSchema(), null, 2)}\n`;
    if (process.env.UPDATE_SCHEMA === "1") writeFileSync(schemaFile, expected);
    expect(readFileSync(schemaFile, "utf8")).toBe(expected);
  });

  it("batch-line.schema.json is generated from the TypeBox definition too", () => {
    const file = join(pkgDir, "schema", "batch-line.schema.json");
    const expected = `${JSON.stringify(batchLineJsonSchema(), null, 2)}\n`;
    if (process.env.UPDATE_SCHEMA === "1") writeFileSync(file, expected);
    expect(readFileSync(file, "utf8")).toBe(expected);
  });

  it("rejects reports that break the contract", () => {
    const ok = {
      schemaVersion: 1,
      tool: { name: "leakscope", version: VERSION },
      command: "heaps",
      input: { path: "x.dmp", size: 10, kind: "user", format: "minidump" },
      heaps: [
        {
          address: "0x700000",
          bitness: 32,
          kind: "nt",
          foundBy: ["peb32"],
          busy: { count: 1, bytes: 2 },
          free: { count: 0, bytes: 0 },
          reserved: 0,
          committed: 0,
          incomplete: false,
          summary: { lfh: true },
        },
      ],
      diagnostics: [{ code: "MEMORY_NOT_CAPTURED", severity: "warning", source: "core", message: "m" }],
    };
    expect(validateReport(ok)).toEqual({ valid: true, errors: [] });
    const bad = structuredClone(ok) as { heaps: { address: string }[] };
    bad.heaps[0]!.address = "7000000";
    expect(validateReport(bad).valid).toBe(false);
    expect(validateReport({ ...ok, surprise: 1 }).valid).toBe(false);
  });

  it("keeps VERSION in sync with package.json", () => {
    const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });

  it("declares core's diagnostic codes", () => {
    expect(declaredCodes().get("MEMORY_NOT_CAPTURED")?.source).toBe("core");
  });
});
