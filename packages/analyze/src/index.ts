export { leakAnalyzer, AnalyzeOptionsSchema } from "./plugin.js";
export { analyzeRun, stackFrames, DEFAULT_ANALYZE_OPTIONS, type AnalyzeOptions } from "./analyze.js";
export { diffSnapshots, snapshotOfRun, emptySnapshot, type Snapshot } from "./diff.js";
export { RttiResolver, demangleTypeName, type RttiType } from "./rtti.js";
export { previewBlock, type BlockPreview } from "./preview.js";
export { findUnreferenced, REACHABILITY_METHOD, type ReachabilityResult } from "./reachability.js";
export { sizeClasses, histogram, type SizeClass, type SizeClassTable } from "./size-classes.js";
export { trendOfSnapshots, addTypesToSnapshot, classifySeries, linearFit, TREND_MIN_GROWTH_BYTES, TREND_MIN_GROWTH_SHARE, type TrendInput, type TrendOptions } from "./trend.js";
