export { stackTraces, groupByStack, StacksOptions } from "./plugin.js";
export {
  buildTraceTable,
  readTraceEntry,
  readGlobalFlags,
  moduleOffsetText,
  moduleShortName,
  ModuleMap,
  PEB_NTGLOBALFLAG,
  TRACE_ENTRY,
  FLG_USER_STACK_TRACE_DB,
  FLG_HEAP_PAGE_ALLOCS,
  MAX_FRAMES,
  type GlobalFlags,
} from "./traces.js";
export { findTraceDatabase, resolveLegacyIndex, readLegacyEntry, TRACE_DB, type TraceDatabase } from "./tracedb.js";
