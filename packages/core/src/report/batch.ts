import { type Static, Type } from "@sinclair/typebox";
import { type ReportValidation, schemaChecker } from "./validate.js";

/**
 * `leakscope batch`: one NDJSON line per input of a fleet, and the fleet view that
 * `leakscope batch --summarize` merges from such files. Lines are independent (a run can be
 * resumed, sharded and concatenated) and carry no time-dependent field in the fleet view.
 */
export const BATCH_LINE_SCHEMA_VERSION = 1 as const;

const Hex = Type.String({ pattern: "^0x[0-9a-f]+$" });
const Count = Type.Integer({ minimum: 0 });
const CountBytes = Type.Object({ count: Count, bytes: Type.Number({ minimum: 0 }) }, { additionalProperties: false });

export const BatchSuspectSchema = Type.Object(
  {
    rank: Type.Integer({ minimum: 1 }),
    kind: Type.String(),
    title: Type.String(),
    score: Type.Number({ minimum: 0, maximum: 1 }),
    count: Count,
    bytes: Type.Number({ minimum: 0 }),
    size: Type.Optional(Type.Number({ minimum: 0 })),
    typeName: Type.Optional(Type.String()),
    callSite: Type.Optional(Type.String()),
    tag: Type.Optional(Type.String()),
    /** What identifies the cause across dumps: the call site, else the type, the pool tag, or kind and size. */
    cause: Type.String(),
  },
  { additionalProperties: false },
);

export const BatchLineSchema = Type.Object(
  {
    schemaVersion: Type.Literal(BATCH_LINE_SCHEMA_VERSION),
    /** The input as found under the folder or glob given (the resume and shard key). */
    input: Type.Object({ path: Type.String(), size: Count }, { additionalProperties: false }),
    status: Type.Union([Type.Literal("ok"), Type.Literal("error")]),
    /** Why there is no analysis: the error code, its message, and the exit code `analyze` would give. */
    error: Type.Optional(
      Type.Object({ code: Type.String(), message: Type.String(), exitCode: Type.Integer() }, { additionalProperties: false }),
    ),
    target: Type.Optional(
      Type.Object(
        {
          kind: Type.String(),
          format: Type.String(),
          arch: Type.String(),
          /** `major.minor.build`. */
          os: Type.String(),
          wow64: Type.Boolean(),
          /** Main module: the program the dump is of. */
          program: Type.Optional(
            Type.Object(
              { name: Type.String(), version: Type.Optional(Type.String()), timestamp: Type.Optional(Hex) },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    verdict: Type.Optional(Type.Union([Type.Literal("leak-suspected"), Type.Literal("no-leak-evidence"), Type.Literal("cannot-judge")])),
    verdictReason: Type.Optional(Type.String()),
    leakKind: Type.Optional(Type.String()),
    suspects: Type.Optional(Type.Array(BatchSuspectSchema)),
    heaps: Type.Optional(
      Type.Object({ count: Count, busy: CountBytes, free: CountBytes, committed: Type.Number({ minimum: 0 }) }, { additionalProperties: false }),
    ),
    /** Diagnostic codes and how often each was reported. */
    diagnostics: Type.Record(Type.String(), Count),
    durationMs: Type.Number({ minimum: 0 }),
    tool: Type.String(),
  },
  {
    additionalProperties: false,
    $id: "https://leakscope.dev/schema/batch-line.schema.json",
    title: "leakscope batch line",
    description: "One line of `leakscope batch` NDJSON output: one input of a fleet.",
  },
);

export type BatchLine = Static<typeof BatchLineSchema>;
export type BatchSuspect = Static<typeof BatchSuspectSchema>;

/** Check a parsed NDJSON line against the batch line schema. */
export const validateBatchLine: (value: unknown) => ReportValidation = schemaChecker(BatchLineSchema);

/** The JSON Schema document of a batch line (`schema/batch-line.schema.json`). */
export function batchLineJsonSchema(): Record<string, unknown> {
  return JSON.parse(JSON.stringify(BatchLineSchema)) as Record<string, unknown>;
}
