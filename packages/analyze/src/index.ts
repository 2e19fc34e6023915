export { leakAnalyzer, AnalyzeOptionsSchema } from "./plugin.js";
export {
  analyzeRun,
  prepareAnalysis,
  finishAnalysis,
  stackFrames,
  BUILTIN_DETECTORS,
  DEFAULT_ANALYZE_OPTIONS,
  type AnalyzeOptions,
  type PreparedAnalysis,
} from "./analyze.js";
export {
  type AnalysisContext,
  type AnalysisDetector,
  type DetectorOptions,
  type StackAggregate,
  type TypeAggregate,
  type UnreferencedClass,
  CollectingSink,
  EVIDENCE_FLOORS,
  causeKey,
  countRamp,
  ramp,
  groupBlocks,
} from "./detectors/context.js";
export { sizeClassDetector, classLinks, DOMINANCE_MAX } from "./detectors/size-class.js";
export { stackDetector, CONCENTRATION_MAX } from "./detectors/stack.js";
export { typeDetector, TYPE_COUNT_MAX } from "./detectors/types.js";
export { unreferencedDetector, unreferencedStrength, unreferencedBaseline, UNREFERENCED_MAX } from "./detectors/unreferenced.js";
export { heapDetector, FRAGMENTATION_MAX } from "./detectors/heap.js";
export { growthEvidence, GROWTH_MIN, GROWTH_MAX } from "./detectors/growth.js";
export { PROCESS_GROWTH_FLOORS, processGrowthEvidence } from "./detectors/process-growth.js";
export { mergeEvidence, scoreRecords, buildSuspect, suspectsOf, signalWords, CORROBORATION_BONUS, LISTED_SCORE_FLOOR, type Cause, type CardContext } from "./combine.js";
export { coverageOf, verdictOf, verdictLead, shownScore, capturedShare, TRUNCATION_CODES, MIN_CAPTURED, type Coverage } from "./verdict.js";
export { diffSnapshots, snapshotOfRun, emptySnapshot, analyzeDiff, snapshotHasFigures, type Snapshot } from "./diff.js";
export { RttiResolver, demangleTypeName, type RttiType } from "./rtti.js";
export { previewBlock, type BlockPreview } from "./preview.js";
export { findUnreferenced, sortedByBlockAddress, REACHABILITY_METHOD, type ReachabilityResult } from "./reachability.js";
export { sizeClasses, histogram, SizeClassCounter, type SizeClass, type SizeClassTable } from "./size-classes.js";
export { trendOfSnapshots, addTypesToSnapshot, classifySeries, linearFit, TREND_MIN_GROWTH_BYTES, TREND_MIN_GROWTH_SHARE, type TrendInput, type TrendOptions } from "./trend.js";
