import { InputError } from "@leakscope/core";
import { Ajv, type ValidateFunction } from "ajv";
import { type Manifest, ManifestSchema } from "./manifest.js";

let validator: ValidateFunction | undefined;

function compile(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    validator = ajv.compile(ManifestSchema);
  }
  return validator;
}

export interface ManifestValidation {
  valid: boolean;
  /** `instancePath message` per problem (at most 50). */
  errors: string[];
}

/** Check any value against the manifest schema (compiled once per process). */
export function validateManifest(value: unknown): ManifestValidation {
  const v = compile();
  const valid = v(value) as boolean;
  const errors = valid
    ? []
    : (v.errors ?? []).slice(0, 50).map((e) => `${e.instancePath || "/"} ${e.message ?? "invalid"}`);
  return { valid, errors };
}

export function isManifest(value: unknown): value is Manifest {
  return validateManifest(value).valid;
}

/**
 * Parse manifest text (or an already parsed value) and validate it.
 * @throws InputError with code `GT_MANIFEST_INVALID` when the text is not JSON or does not match.
 */
export function parseManifest(input: string | unknown, file?: string): Manifest {
  let value: unknown = input;
  const where = file === undefined ? {} : { file };
  if (typeof input === "string") {
    try {
      value = JSON.parse(input.charCodeAt(0) === 0xfeff ? input.slice(1) : input) as unknown;
    } catch (e) {
      throw new InputError("GT_MANIFEST_INVALID", `manifest is not JSON: ${(e as Error).message}`, where);
    }
  }
  const result = validateManifest(value);
  if (!result.valid) {
    throw new InputError(
      "GT_MANIFEST_INVALID",
      `manifest does not match its schema: ${result.errors.slice(0, 5).join("; ")}`,
      where,
    );
  }
  return value as Manifest;
}

/**
 * The JSON Schema document of the manifest (what `schema/manifest.schema.json` and
 * `tools/groundtruth/manifest.schema.json` contain).
 */
export function manifestJsonSchema(): Record<string, unknown> {
  const plain = JSON.parse(JSON.stringify(ManifestSchema)) as Record<string, unknown>;
  return { $schema: "http://json-schema.org/draft-07/schema#", ...plain };
}
