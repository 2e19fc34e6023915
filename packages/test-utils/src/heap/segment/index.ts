export * from "./writer.js";
