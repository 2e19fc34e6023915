export * from "./process.js";
export * from "./scenarios.js";
export * from "./score.js";
export { buildModuleImage, codeAddress, IMAGE_LAYOUT, type ImageClass, type EvalModuleImage } from "./image.js";
