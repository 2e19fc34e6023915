import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { type Report, ReportSchema } from "./schema.js";

let validator: ValidateFunction | undefined;

function compile(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    validator = ajv.compile(ReportSchema);
  }
  return validator;
}

export interface ReportValidation {
  valid: boolean;
  /** `instancePath message` per problem. */
  errors: string[];
}

/** Check any value against the report schema (compiled once per process). */
export function validateReport(value: unknown): ReportValidation {
  const v = compile();
  const valid = v(value) as boolean;
  return {
    valid,
    errors: valid ? [] : (v.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "invalid"}`),
  };
}

/** The JSON Schema document (what `schema/report.schema.json` contains). */
export function reportJsonSchema(): Record<string, unknown> {
  return JSON.parse(JSON.stringify(ReportSchema)) as Record<string, unknown>;
}

export function isReport(value: unknown): value is Report {
  return validateReport(value).valid;
}
