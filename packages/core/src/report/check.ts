import { Kind, type TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import { Ajv, type ValidateFunction } from "ajv";
import { ReportOutputError } from "../errors.js";
import { type Report, ReportSchema } from "./schema.js";
import { validateReport } from "./validate.js";

/**
 * The check of the final report, after every `report` tap ran and before anything is written:
 * JSON-safe values only (no BigInt, function, symbol or cycle), the report schema, and each
 * plugin's own section schemas (`LeakscopePlugin.sections`, under `report.extensions`). A
 * failure names the plugin whose tap wrote the offending part, the JSON pointer and the reason.
 *
 * The fast path is TypeBox's compiled check (a few ms to compile); only a failing report goes
 * through ajv, whose verdict and message are the ones reported, so both agree on what is valid.
 */

/** Who wrote each top-level key and each `extensions` section (keys `name` and `extensions/name`). */
export type ReportOwners = Map<string, string>;

let reportCheck: TypeCheck<typeof ReportSchema> | undefined;
const sectionChecks = new WeakMap<object, (value: unknown) => string | undefined>();
const sectionAjv = new Ajv({ allErrors: false, strict: false });

/** Record which tap changed which part of the report (shallow: top-level keys and sections). */
export function recordReportOwners(owners: ReportOwners, before: Report, after: unknown, tap: string): void {
  if (after === null || typeof after !== "object") return;
  const a = after as Record<string, unknown>;
  const b = before as unknown as Record<string, unknown>;
  for (const key of Object.keys(a)) {
    if (key === "extensions") continue;
    if (a[key] !== b[key]) owners.set(key, tap);
  }
  const beforeExt = (b.extensions ?? {}) as Record<string, unknown>;
  const afterExt = a.extensions;
  if (afterExt !== null && typeof afterExt === "object") {
    for (const key of Object.keys(afterExt)) {
      if ((afterExt as Record<string, unknown>)[key] !== beforeExt[key]) owners.set(`extensions/${key}`, tap);
    }
  } else if (afterExt !== b.extensions) owners.set("extensions", tap);
}

/** A shallow copy of what {@link recordReportOwners} compares against (taps may mutate in place). */
export function snapshotForOwners(report: Report): Report {
  return { ...report, ...(report.extensions ? { extensions: { ...report.extensions } } : {}) };
}

function ownerOf(owners: ReportOwners, pointer: string): string {
  const parts = pointer.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (parts[0] === "extensions" && parts[1] !== undefined) {
    return owners.get(`extensions/${parts[1]}`) ?? owners.get("extensions") ?? "core";
  }
  return (parts[0] !== undefined ? owners.get(parts[0]) : undefined) ?? "core";
}

function pointerOf(path: readonly (string | number)[]): string {
  return path.map((p) => `/${String(p).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

/** A visited value and how it was reached (a parent chain, so paths cost nothing until needed). */
interface Visit {
  v: unknown;
  key: string | number | undefined;
  parent: Visit | undefined;
  exit?: boolean;
}

function pathOf(visit: Visit): string {
  const keys: (string | number)[] = [];
  for (let at: Visit | undefined = visit; at && at.key !== undefined; at = at.parent) keys.push(at.key);
  return pointerOf(keys.reverse());
}

/** The first value JSON cannot carry faithfully, with its path; iterative, cycle-safe. */
export function findUnserializable(value: unknown): { path: string; reason: string } | undefined {
  const onPath = new Set<object>();
  const stack: Visit[] = [{ v: value, key: undefined, parent: undefined }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    const v = item.v;
    if (item.exit) {
      onPath.delete(v as object);
      continue;
    }
    switch (typeof v) {
      case "bigint":
        return { path: pathOf(item), reason: `is a BigInt (${v}); JSON has no BigInt: write it as a number or a hex string such as "0x${v.toString(16)}"` };
      case "function":
        return { path: pathOf(item), reason: "is a function; reports hold JSON data only" };
      case "symbol":
        return { path: pathOf(item), reason: "is a symbol; reports hold JSON data only" };
      case "object": {
        if (v === null) break;
        if (onPath.has(v)) return { path: pathOf(item), reason: "refers back to an object that contains it (a cycle); JSON cannot hold cycles" };
        if (ArrayBuffer.isView(v)) return { path: pathOf(item), reason: "is a typed array; convert it to a plain array" };
        if (typeof (v as { toJSON?: unknown }).toJSON === "function") break; // Date and friends serialize themselves
        onPath.add(v);
        stack.push({ v, key: item.key, parent: item.parent, exit: true });
        if (Array.isArray(v)) {
          for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], key: i, parent: item });
        } else {
          const entries = Object.entries(v);
          for (let i = entries.length - 1; i >= 0; i--) stack.push({ v: entries[i]![1], key: entries[i]![0], parent: item });
        }
        break;
      }
      default:
        break;
    }
  }
  return undefined;
}

function checkSection(schema: object, value: unknown): string | undefined {
  let check = sectionChecks.get(schema);
  if (!check) {
    if (Kind in schema) {
      const compiled = TypeCompiler.Compile(schema as TSchema);
      check = (v) => {
        if (compiled.Check(v)) return undefined;
        const e = compiled.Errors(v).First();
        return e ? `${e.path || "/"} ${e.message}` : "/ is invalid";
      };
    } else {
      let validate: ValidateFunction;
      try {
        validate = sectionAjv.compile(schema);
      } catch (e) {
        const message = `its section schema does not compile: ${(e as Error).message}`;
        check = () => `/ ${message}`;
        sectionChecks.set(schema, check);
        return check(value);
      }
      check = (v) => {
        if (validate(v)) return undefined;
        const e = validate.errors?.[0];
        return e ? `${e.instancePath || "/"} ${e.message ?? "is invalid"}` : "/ is invalid";
      };
    }
    sectionChecks.set(schema, check);
  }
  return check(value);
}

/**
 * Check the final report. Throws {@link ReportOutputError} (exit 3) naming the plugin, the JSON
 * pointer and the reason; returns normally when the report can be written.
 */
export function checkReport(
  report: Report,
  owners: ReportOwners,
  sections: ReadonlyMap<string, { plugin: string; schema: object }>,
): void {
  const bad = findUnserializable(report);
  if (bad) throw new ReportOutputError(ownerOf(owners, bad.path), bad.path, bad.reason);
  reportCheck ??= TypeCompiler.Compile(ReportSchema);
  if (!reportCheck.Check(report)) {
    const result = validateReport(report);
    if (!result.valid) {
      const first = result.errors[0] ?? "/ is invalid";
      const space = first.indexOf(" ");
      const path = space > 0 ? first.slice(0, space) : "/";
      const reason = space > 0 ? first.slice(space + 1) : first;
      const top = path === "/" ? unknownTopLevel(report) : undefined;
      if (top) throw new ReportOutputError(owners.get(top) ?? "core", `/${top}`, "is not a report section; plugins put their sections under /extensions/<plugin name>");
      throw new ReportOutputError(ownerOf(owners, path), path, reason);
    }
  }
  const ext = report.extensions;
  if (!ext) return;
  for (const [name, { plugin, schema }] of sections) {
    if (!(name in ext)) continue;
    const problem = checkSection(schema, ext[name]);
    if (problem !== undefined) {
      const space = problem.indexOf(" ");
      const inner = problem.slice(0, space);
      const path = `${pointerOf(["extensions", name])}${inner === "/" ? "" : inner}`;
      throw new ReportOutputError(owners.get(`extensions/${name}`) ?? plugin, path, problem.slice(space + 1));
    }
  }
}

const KNOWN_KEYS = new Set(Object.keys(ReportSchema.properties));

function unknownTopLevel(report: Report): string | undefined {
  return Object.keys(report).find((k) => !KNOWN_KEYS.has(k));
}
