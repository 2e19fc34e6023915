export { processCodes, type ProcessCode } from "./codes.js";
export {
  type AllocationGroup,
  type Composition,
  type CompositionInput,
  type CompositionResult,
  type HeapRef,
  type Usage,
  computeComposition,
  heapRefs,
  protectName,
} from "./composition.js";
export { GDI_QUOTA, GDI_TABLE_CELLS, PEB_GDI_TABLE, type GdiSummary, gdiTypeName, summarizeGdi } from "./gdi.js";
export { type HandleText, handleEntriesFromText, parseHandleText } from "./handle-text.js";
export {
  type HandleEntry,
  type HandleSummary,
  NO_TYPE,
  TYPICAL_HANDLE_COUNTS,
  TYPICAL_HANDLE_DEFAULT,
  TYPICAL_HANDLE_TOTAL,
  summarizeHandles,
  typicalCount,
} from "./handles.js";
export { handlesOfLog } from "./log-handles.js";
export { ProcessOptionsSchema, processFacts, processKinds, processSection } from "./plugin.js";
export { findReferrers } from "./referrers.js";
export { type ThreadSummary, summarizeThreads } from "./threads.js";
export { type ProcessFacts, TRIAGE_FLOORS, type TriageRow, handleEvidence, processEvidence, runtimesOf, triageRows } from "./triage.js";
export { diffProcess, processFigures } from "./diff.js";
