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
  /**
   * The sections this plugin writes under `report.extensions`, each with its schema (TypeBox, or
   * plain JSON Schema). The engine checks them, with the rest of the report, after the `report`
   * hook: a section that fails ends the run with `REPORT_INVALID` (exit 3) naming this plugin.
   */
  readonly sections?: Readonly<Record<string, TSchema | Record<string, unknown>>>;
}

/**
 * What a plugin factory made by {@link definePlugin} accepts: the options object with every
 * property optional (defaults fill them), and no property the schema does not have, so a
 * misspelled option is a compile error (and an options error at run time).
 */
export type PluginOptionsInput<S extends TSchema> = Static<S> extends Record<string, unknown> ? Partial<Static<S>> : Static<S>;

/** A plugin factory: validates its options, returns the plugin. */
export type PluginFactory<S extends TSchema, Api = unknown> = (options?: PluginOptionsInput<S>) => LeakscopePlugin<Api>;

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
 * myPlugin({ tpo: 5 }); // a compile error (and a PluginOptionsError at run time)
 * ```
 */
export function definePlugin<S extends TSchema, Api = unknown>(definition: {
  name: string;
  options: S;
  /** Schemas of the sections the plugin writes under `report.extensions` (see {@link LeakscopePlugin.sections}). */
  sections?: Readonly<Record<string, TSchema | Record<string, unknown>>>;
  setup: (options: Static<S>) => { apply(engine: Engine): void; api?: Api };
}): PluginFactory<S, Api> {
  return (input) => {
    const options = parsePluginOptions(definition.name, definition.options, input);
    const made = definition.setup(options);
    const plugin: LeakscopePlugin<Api> = {
      name: definition.name,
      apply: made.apply,
      ...(made.api === undefined ? {} : { api: made.api }),
      ...(definition.sections === undefined ? {} : { sections: definition.sections }),
    };
    return Object.freeze(plugin);
  };
}
