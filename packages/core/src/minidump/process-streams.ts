import type { Diagnostics } from "../diagnostics.js";
import { type ByteSource, readBytes } from "../io/byte-source.js";
import { minidumpCodes } from "./codes.js";
import { u64 } from "./bytes.js";
import type { MinidumpStreamEntry } from "./types.js";

/**
 * ProcessVmCounters (stream 22): MINIDUMP_PROCESS_VM_COUNTERS_1 (revision 1) or _2 (revision
 * 2, with a `Flags` word saying which groups are valid). Sizes are bytes.
 */
export interface MinidumpProcessVmCounters {
  revision: number;
  /** Revision 2: MINIDUMP_PROCESS_VM_COUNTERS (1), _VIRTUALSIZE (2), _EX (4), _EX2 (8), _JOB (0x10). */
  flags: number;
  pageFaultCount: number;
  peakWorkingSetSize: number;
  workingSetSize: number;
  quotaPeakPagedPoolUsage: number;
  quotaPagedPoolUsage: number;
  quotaPeakNonPagedPoolUsage: number;
  quotaNonPagedPoolUsage: number;
  /** Commit charge (Task Manager's "commit size"). */
  pagefileUsage: number;
  peakPagefileUsage: number;
  /** Private bytes (revision 1 always; revision 2 with the EX flag). */
  privateUsage?: number;
  peakVirtualSize?: number;
  virtualSize?: number;
  privateWorkingSetSize?: number;
  sharedCommitUsage?: number;
  jobSharedCommitUsage?: number;
  jobPrivateCommitUsage?: number;
  jobPeakPrivateCommitUsage?: number;
  jobPrivateCommitLimit?: number;
  jobTotalCommitLimit?: number;
}

/**
 * SystemMemoryInfo (stream 21), the parts leakscope shows: MINIDUMP_SYSTEM_BASIC_INFORMATION,
 * the file cache sizes and MINIDUMP_SYSTEM_BASIC_PERFORMANCE_INFORMATION (commit in pages).
 */
export interface MinidumpSystemMemoryInfo {
  revision: number;
  flags: number;
  pageSize: number;
  numberOfPhysicalPages: number;
  allocationGranularity: number;
  minimumUserModeAddress: number;
  maximumUserModeAddress: number;
  numberOfProcessors: number;
  fileCacheCurrentSize: number;
  fileCachePeakSize: number;
  /** Pages. */
  availablePages: number;
  committedPages: number;
  commitLimit: number;
  peakCommitment: number;
}

function streamView(source: ByteSource, s: MinidumpStreamEntry): DataView | undefined {
  if (s.rva >= source.size) return undefined;
  const bytes = readBytes(source, s.rva, Math.min(s.size, source.size - s.rva, 4096));
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function tooShort(diagnostics: Diagnostics, file: string, s: MinidumpStreamEntry, have: number, need: number): undefined {
  diagnostics.report(
    "minidump",
    "MINIDUMP_STREAM_MALFORMED",
    minidumpCodes.MINIDUMP_STREAM_MALFORMED.severity,
    `stream ${s.name} has ${have} bytes, its revision needs ${need}; skipped`,
    { file, fileOffset: s.rva, where: s.name },
  );
  return undefined;
}

/**
 * Read a ProcessVmCounters stream. Revision 1 is 80 bytes (78 when its writer packed
 * `PageFaultCount` right after `Revision`); revision 2 is 152 bytes, fields outside its `Flags`
 * left out. Anything shorter or of another revision is a `MINIDUMP_STREAM_MALFORMED` diagnostic.
 */
export function readProcessVmCounters(source: ByteSource, s: MinidumpStreamEntry, diagnostics: Diagnostics): MinidumpProcessVmCounters | undefined {
  const v = streamView(source, s);
  const have = v?.byteLength ?? 0;
  if (!v || have < 2) return tooShort(diagnostics, source.name, s, have, 80);
  const revision = v.getUint16(0, true);
  if (revision === 1) {
    const packed = have >= 78 && have < 80;
    if (have < 78) return tooShort(diagnostics, source.name, s, have, 80);
    const b = packed ? 6 : 8;
    return {
      revision,
      flags: 1,
      pageFaultCount: v.getUint32(packed ? 2 : 4, true),
      peakWorkingSetSize: u64(v, b),
      workingSetSize: u64(v, b + 8),
      quotaPeakPagedPoolUsage: u64(v, b + 16),
      quotaPagedPoolUsage: u64(v, b + 24),
      quotaPeakNonPagedPoolUsage: u64(v, b + 32),
      quotaNonPagedPoolUsage: u64(v, b + 40),
      pagefileUsage: u64(v, b + 48),
      peakPagefileUsage: u64(v, b + 56),
      privateUsage: u64(v, b + 64),
    };
  }
  if (revision !== 2) return tooShort(diagnostics, source.name, s, have, 152);
  if (have < 80) return tooShort(diagnostics, source.name, s, have, 152);
  const flags = v.getUint16(2, true);
  const out: MinidumpProcessVmCounters = {
    revision,
    flags,
    pageFaultCount: v.getUint32(4, true),
    peakWorkingSetSize: u64(v, 8),
    workingSetSize: u64(v, 16),
    quotaPeakPagedPoolUsage: u64(v, 24),
    quotaPagedPoolUsage: u64(v, 32),
    quotaPeakNonPagedPoolUsage: u64(v, 40),
    quotaNonPagedPoolUsage: u64(v, 48),
    pagefileUsage: u64(v, 56),
    peakPagefileUsage: u64(v, 64),
  };
  const field = (at: number): number | undefined => (at + 8 <= have ? u64(v, at) : undefined);
  const set = <K extends keyof MinidumpProcessVmCounters>(key: K, value: number | undefined): void => {
    if (value !== undefined) (out as unknown as Record<string, number>)[key] = value;
  };
  if (flags & 0x2) {
    set("peakVirtualSize", field(72));
    set("virtualSize", field(80));
  }
  if (flags & 0x4) set("privateUsage", field(88));
  if (flags & 0x8) {
    set("privateWorkingSetSize", field(96));
    set("sharedCommitUsage", field(104));
  }
  if (flags & 0x10) {
    set("jobSharedCommitUsage", field(112));
    set("jobPrivateCommitUsage", field(120));
    set("jobPeakPrivateCommitUsage", field(128));
    set("jobPrivateCommitLimit", field(136));
    set("jobTotalCommitLimit", field(144));
  }
  return out;
}

/** Bytes of the SystemMemoryInfo prefix read (up to the basic performance information). */
const SYSTEM_MEMORY_INFO_PREFIX = 148;

/**
 * Read the leading parts of a SystemMemoryInfo stream (MINIDUMP_SYSTEM_MEMORY_INFO_1, packed to
 * 4 bytes): basic information, file cache sizes, commit figures. The large performance block
 * after them is not read.
 */
export function readSystemMemoryInfo(source: ByteSource, s: MinidumpStreamEntry, diagnostics: Diagnostics): MinidumpSystemMemoryInfo | undefined {
  const v = streamView(source, s);
  const have = v?.byteLength ?? 0;
  if (!v || have < SYSTEM_MEMORY_INFO_PREFIX) return tooShort(diagnostics, source.name, s, have, SYSTEM_MEMORY_INFO_PREFIX);
  return {
    revision: v.getUint16(0, true),
    flags: v.getUint16(2, true),
    pageSize: v.getUint32(8, true),
    numberOfPhysicalPages: v.getUint32(12, true),
    allocationGranularity: v.getUint32(24, true),
    minimumUserModeAddress: u64(v, 28),
    maximumUserModeAddress: u64(v, 36),
    numberOfProcessors: v.getUint32(52, true),
    fileCacheCurrentSize: u64(v, 56),
    fileCachePeakSize: u64(v, 64),
    availablePages: u64(v, 116),
    committedPages: u64(v, 124),
    commitLimit: u64(v, 132),
    peakCommitment: u64(v, 140),
  };
}
