export * from "./shared.js";
export * from "./kernel/index.js";
export * from "./fuzz.js";
export * from "./heap/nt/index.js";
export * from "./minidump/index.js";
export * from "./heap/segment/index.js";
export * from "./heap/lfh/index.js";
export * from "./process.js";
