export * from "./state.js";
