/**
 * @leakscope/groundtruth — the manifest written by tools/groundtruth/gtalloc, its JSON Schema and
 * validator, and the verifier that compares a manifest with what leakscope found in the dump.
 */
export * from "./codes.js";
export * from "./manifest.js";
export * from "./validate.js";
export * from "./verify.js";
export * from "./format.js";
