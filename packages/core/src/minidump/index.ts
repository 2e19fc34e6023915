export * from "./codes.js";
export * from "./constants.js";
export * from "./context.js";
export * from "./types.js";
export { parseMinidump } from "./reader.js";
export * from "./process-streams.js";
export * from "./target.js";
