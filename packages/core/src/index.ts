export * from "./address.js";
export * from "./errors.js";
export * from "./diagnostics.js";
export * from "./codes.js";
export * from "./io/byte-source.js";
export * from "./memory/address-space.js";
export * from "./model/target.js";
