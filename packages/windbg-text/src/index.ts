/**
 * `@leakscope/windbg-text`: parsers for WinDbg / kd, UMDH and poolmon text into typed data.
 * @packageDocumentation
 */
export { parseWindbgLog, type ParseWindbgLogOptions } from "./session.js";
export { isWindbgText, detectEncoding, decodeText } from "./decode.js";
export { recomputeRangeTable, type RecomputedRange } from "./recompute.js";
export { parseFrame } from "./util.js";
export { windbgTextCodes, type WindbgTextCode } from "./codes.js";
export type * from "./model.js";
export { blocksOfKind } from "./model.js";
export { scanFacts } from "./session.js";
export {
  detectLogEvidence,
  poolEvidence,
  poolTagGroups,
  statTableBusy,
  umdhComparison,
  umdhSnapshotTotals,
  logCallSite,
  type PoolFacts,
  type PoolSnapshotFacts,
  type UmdhRecordFacts,
} from "./evidence.js";
export {
  windbgText,
  WindbgTextOptions,
  poolRowsOf,
  claimsWindbgText,
  sessionTarget,
  logPoolSection,
  logStackGroups,
  logStatSection,
  logDiffGroups,
  type LogDiffGroups,
  type WindbgPoolRow,
  type WindbgPoolData,
  type PoolUsageRowLike,
} from "./plugin.js";
