/**
 * The schema builders of the plugin API. Plugins build their options schemas (and the schemas of
 * their report sections) with these, so there is one TypeBox in an installation: the one core
 * depends on. A plugin that pinned its own copy could get a different `[Kind]` symbol and
 * untyped options.
 */
export { Type, type Static, type TSchema, type TObject, type TProperties } from "@sinclair/typebox";
