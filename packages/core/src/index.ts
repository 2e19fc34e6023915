// Addresses, errors and diagnostics
export * from "./address.js";
export * from "./errors.js";
export * from "./diagnostics.js";
export * from "./codes.js";
export { VERSION } from "./version.js";
// Input and memory
export * from "./io/byte-source.js";
export * from "./memory/address-space.js";
export * from "./memory/scan.js";
export * from "./memory/slice.js";
export * from "./parallel/pool.js";
export * from "./parallel/lanes.js";
export * from "./parallel/prefault.js";
// Models
export * from "./model/target.js";
export * from "./model/codeview.js";
export * from "./model/peb.js";
export * from "./model/allocations.js";
export * from "./model/memory-target.js";
export * from "./model/traces.js";
// Pipeline
export * from "./engine/hooks.js";
export * from "./engine/evidence.js";
export * from "./engine/plugin.js";
export * from "./engine/run.js";
export * from "./engine/engine.js";
// Report
export * from "./report/schema.js";
export * from "./report/validate.js";
export * from "./report/batch.js";
export * from "./report/build.js";
export * from "./report/queries.js";
export * from "./minidump/index.js";
export { minidumpInput } from "./readers.js";
