import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SymbolsOptions, symbolsCodes } from "../src/index.js";

/**
 * The README's options and diagnostics tables are generated from the schema and the code table.
 * `UPDATE_README=1 npx vitest run --project symbols test/readme.test.ts` rewrites them.
 */
const readmePath = join(__dirname, "..", "README.md");

function codesTable(): string {
  const rows = Object.entries(symbolsCodes).map(([code, d]) => `| \`${code}\` | ${d.severity} | ${d.description} |`);
  return ["| code | severity | meaning |", "| --- | --- | --- |", ...rows].join("\n");
}

function optionsTable(): string {
  const rows = Object.entries(SymbolsOptions.properties).map(([name, s]) => {
    const schema = s as { type: string; items?: { type: string }; default?: unknown; description?: string };
    const type = schema.type === "array" ? `${schema.items?.type}[]` : schema.type;
    return `| \`${name}\` | ${type} | \`${JSON.stringify(schema.default)}\` | ${schema.description ?? ""} |`;
  });
  return ["| option | type | default | description |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

function replaceBetween(text: string, tag: string, body: string): string {
  const re = new RegExp(`(<!-- ${tag}:start -->\\n)[\\s\\S]*?(\\n<!-- ${tag}:end -->)`);
  expect(re.test(text), `README lacks the ${tag} markers`).toBe(true);
  return text.replace(re, (_m, a: string, b: string) => a + body + b);
}

describe("README", () => {
  it("lists every diagnostic code and option exactly as declared", () => {
    const current = readFileSync(readmePath, "utf8");
    const wanted = replaceBetween(replaceBetween(current, "codes", codesTable()), "options", optionsTable());
    if (process.env.UPDATE_README === "1") writeFileSync(readmePath, wanted);
    else expect(current).toBe(wanted);
  });
});
