import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { type Report, ReportSchema } from "./schema.js";

export interface ReportValidation {
  valid: boolean;
  /** `instancePath message` per problem. */
  errors: string[];
}

/**
 * A checker of values against `schema`, compiled on its first use and then kept: all problems
 * listed (`allErrors`), each as `instancePath message`. Serves the report and the batch line.
 */
export function schemaChecker(schema: object): (value: unknown) => ReportValidation {
  let v: ValidateFunction | undefined;
  return (value) => {
    if (!v) {
      const ajv = new Ajv({ allErrors: true, strict: false });
      addFormats(ajv);
      v = ajv.compile(schema);
    }
    const valid = v(value) as boolean;
    return { valid, errors: valid ? [] : (v.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "invalid"}`) };
  };
}

/** Check any value against the report schema (compiled once per process). */
export const validateReport: (value: unknown) => ReportValidation = schemaChecker(ReportSchema);

/** The JSON Schema document (what `schema/report.schema.json` contains). */
export function reportJsonSchema(): Record<string, unknown> {
  return JSON.parse(JSON.stringify(ReportSchema)) as Record<string, unknown>;
}

export function isReport(value: unknown): value is Report {
  return validateReport(value).valid;
}
