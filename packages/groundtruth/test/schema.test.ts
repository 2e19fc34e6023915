import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { InputError } from "@leakscope/core";
import { describe, expect, it } from "vitest";
import { type Manifest, isManifest, manifestJsonSchema, parseManifest, validateManifest } from "../src/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const samplePath = join(here, "fixtures", "sample-manifest.json");
const sampleText = readFileSync(samplePath, "utf8");
const sample = (): Manifest => JSON.parse(sampleText) as Manifest;
const schemaFiles = [
  resolve(here, "..", "schema", "manifest.schema.json"),
  resolve(here, "..", "..", "..", "tools", "groundtruth", "manifest.schema.json"),
];

describe("manifest schema", () => {
  it("accepts the sample manifest (as gtalloc writes it)", () => {
    const r = validateManifest(sample());
    expect(r.errors).toEqual([]);
    expect(r.valid).toBe(true);
    expect(parseManifest(sampleText, samplePath).allocations).toHaveLength(5);
  });

  it("rejects broken manifests and names the place", () => {
    const cases: [string, (m: Record<string, unknown>) => void, string][] = [
      ["missing allocations", (m) => delete m.allocations, "/"],
      ["uppercase hex address", (m) => ((m.allocations as { address: string }[])[0]!.address = "0x1D2C"), "/allocations/0/address"],
      ["fill above 255", (m) => ((m.allocations as { fill: number }[])[0]!.fill = 256), "/allocations/0/fill"],
      ["negative size", (m) => ((m.allocations as { size: number }[])[0]!.size = -1), "/allocations/0/size"],
      ["unknown allocator", (m) => ((m.allocations as { allocator: string }[])[0]!.allocator = "VirtualAlloc"), "/allocations/0/allocator"],
      ["extra property", (m) => ((m.allocations as Record<string, unknown>[])[1]!.colour = "red"), "/allocations/1"],
      ["wrong schemaVersion", (m) => (m.schemaVersion = 2), "/schemaVersion"],
      ["pointer size 2", (m) => (m.pointerSize = 2), "/pointerSize"],
      ["address over 64 bits", (m) => ((m.heaps as { address: string }[])[0]!.address = "0x10000000000000000"), "/heaps/0/address"],
    ];
    for (const [name, mutate, path] of cases) {
      const m = sample() as unknown as Record<string, unknown>;
      mutate(m);
      const r = validateManifest(m);
      expect(r.valid, name).toBe(false);
      expect(r.errors.some((e) => e.startsWith(path)), `${name}: ${r.errors.join("; ")}`).toBe(true);
      expect(isManifest(m)).toBe(false);
    }
  });

  it("parseManifest throws InputError GT_MANIFEST_INVALID for non-JSON and schema failures", () => {
    for (const bad of ["{not json", '{"schemaVersion": 1}', "", "[]"]) {
      let caught: unknown;
      try {
        parseManifest(bad, "m.json");
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(InputError);
      expect((caught as InputError).code).toBe("GT_MANIFEST_INVALID");
      expect((caught as InputError).file).toBe("m.json");
    }
  });

  it("accepts a UTF-8 byte-order mark (PowerShell writes one)", () => {
    expect(parseManifest("\ufeff" + sampleText).label).toBe("x64-nt-ust");
  });

  it("checked-in schema files match the TypeBox definitions (UPDATE_SCHEMA=1 rewrites them)", () => {
    const text = JSON.stringify(manifestJsonSchema(), null, 2) + "\n";
    for (const file of schemaFiles) {
      if (process.env.UPDATE_SCHEMA === "1") writeFileSync(file, text);
      expect(existsSync(file), file).toBe(true);
      expect(readFileSync(file, "utf8"), file).toBe(text);
    }
  });

  it("the JSON Schema document itself validates the sample with a fresh ajv", async () => {
    const { Ajv } = await import("ajv");
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(JSON.parse(readFileSync(schemaFiles[1]!, "utf8")) as object);
    expect(validate(sample())).toBe(true);
    const broken = sample() as unknown as { allocations: unknown };
    broken.allocations = "none";
    expect(validate(broken)).toBe(false);
  });
});
