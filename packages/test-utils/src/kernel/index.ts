export { KernelDumpWriter, type KernelDumpLayout, type KernelHeaderFields, tagHash, tagKey, toRuns as kernelRuns } from "./writer.js";
export {
  SYNTH_KERN_BASE,
  type PoolDumpAddresses,
  type PoolDumpSpec,
  type TrackerCounts,
  assignSlots,
  buildPoolDump,
  encodeTrackerEntry,
  trackerEntrySize,
} from "./pool-dump.js";
