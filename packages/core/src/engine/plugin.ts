import type { Static, TSchema } from "@sinclair/typebox";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { PluginOptionsError } from "../errors.js";
import type { Engine } from "./engine.js";

/**
 * A plugin: a stable kebab-case `name` (the tap name, the `source` of its diagnostics) and an
 * `apply` that taps the engine's hooks. Services for other plugins go in the typed `api`.
 * Plugins are made by factories that validate their options, e.g. `heapNt({ ... })`.
 */
export interface LeakscopePlugin<Api = unknown> {
  readonly name: string;
  apply(engine: Engine): void;
  readonly api?: Api;
}

// validateSchema off: ajv would compile its meta-schema (50 ms, every run) only to check that each
// options schema is well-formed, which TypeBox's builders already ensure
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, validateSchema: false });
const compiled = new WeakMap<TSchema, ValidateFunction>();

function formatErrors(plugin: string, errors: ErrorObject[] | null | undefined): { text: string; paths: string[] } {
  const list = errors ?? [];
  const paths = list.map((e) => e.instancePath || "/");
  const text = list
    .map((e) => {
      const where = `options${e.instancePath}`;
      if (e.keyword === "additionalProperties") {
        return `${where} has unknown option "${String((e.params as { additionalProperty?: string }).additionalProperty)}"`;
      }
      return `${where} ${e.message ?? "is invalid"}`;
    })
    .join("; ");
  return { text: text || `${plugin}: invalid options`, paths };
}

/**
 * Validate (and default) a plugin's options against its TypeBox schema. The schema is compiled
 * once per process. Throws {@link PluginOptionsError} naming the plugin and the failing paths.
 * `input` is not modified; a defaulted copy is returned.
 */
export function parsePluginOptions<S extends TSchema>(plugin: string, schema: S, input: unknown): Static<S> {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  const copy: unknown = input === undefined ? {} : structuredClone(input);
  if (!validate(copy)) {
    const { text, paths } = formatErrors(plugin, validate.errors);
    throw new PluginOptionsError(plugin, text, paths);
  }
  return copy as Static<S>;
}

/**
 * Build a plugin factory from a name, an options schema and a setup function:
 *
 * ```ts
 * export const myPlugin = definePlugin({
 *   name: "my-plugin",
 *   options: Type.Object({ top: Type.Integer({ minimum: 1, default: 10 }) }, { additionalProperties: false }),
 *   setup: (options) => ({ apply(engine) { engine.hooks.analyze.tapPromise("my-plugin", async (run) => {}) } }),
 * });
 * const p = myPlugin({ top: 5 }); // options validated here, before any dump is opened
 * ```
 */
export function definePlugin<S extends TSchema, Api = unknown>(definition: {
  name: string;
  options: S;
  setup: (options: Static<S>) => { apply(engine: Engine): void; api?: Api };
}): (options?: Static<S> | Record<string, unknown>) => LeakscopePlugin<Api> {
  return (input) => {
    const options = parsePluginOptions(definition.name, definition.options, input);
    const made = definition.setup(options);
    const plugin: LeakscopePlugin<Api> =
      made.api === undefined
        ? { name: definition.name, apply: made.apply }
        : { name: definition.name, apply: made.apply, api: made.api };
    return Object.freeze(plugin);
  };
}
