export * from "./builder.js";
export * from "./context.js";
export type { U64 as MinidumpU64 } from "./bytes.js";
export * from "./process.js";
export * from "./kinds.js";
