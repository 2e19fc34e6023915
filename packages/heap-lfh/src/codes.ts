import { defineCodes } from "@leakscope/core";

/**
 * Every diagnostic code raised by `@leakscope/heap-lfh` (plugin name `heap-lfh`).
 * Codes never change meaning once released; add new ones, never rename.
 */
export const lfhCodes = defineCodes("heap-lfh", {
  LFH_NO_BACKEND_STATE: {
    severity: "warning",
    description:
      "A heap uses the LFH front end but the NT backend walker left no state for it (heap-nt missing or failed); its LFH blocks are not listed. Add the heap-nt plugin.",
  },
  LFH_NOT_CAPTURED: {
    severity: "warning",
    description:
      "Part of the LFH structures (LFH heap, zone, subsegment, user-data header, block) is not in the dump; what could be read is kept. Take a full-memory dump (procdump -ma).",
  },
  LFH_ZONE_LIST_BROKEN: {
    severity: "warning",
    description:
      "The LFH SubSegmentZones list has a null, misaligned or unreadable link, a cycle, or too many zones; the zones read before the break are kept.",
  },
  LFH_LAYOUT_PROBED: {
    severity: "info",
    description:
      "The heap's first LFH zone contradicts the _LFH_BLOCK_ZONE form of the dump's OS build (FreePointer/Limit on Windows 8 RTM 9200, NextIndex from 8.1) and fits the other form, which was used; the message names the build and the form taken.",
  },
  LFH_ZONE_BAD: {
    severity: "warning",
    description: "An LFH zone's subsegment count (FreePointer/Limit or NextIndex) is implausible; the zone is skipped.",
  },
  LFH_SUBSEGMENT_BAD: {
    severity: "warning",
    description:
      "A live LFH subsegment has a zero block size or count, or its blocks do not fit in the user blocks' host allocation; the blocks that fit are listed.",
  },
  LFH_USERDATA_BAD: {
    severity: "warning",
    description:
      "An LFH user-data header lacks the 0xF0E0D0C0 signature or its EncodedOffsets cannot be decoded to the subsegment's block size; that subsegment is skipped.",
  },
  LFH_HOST_MISSING: {
    severity: "warning",
    description:
      "A live LFH subsegment's user blocks lie in no backend host block (flag 0x08); its blocks are listed without a host, so the backend figures may count them twice.",
  },
  LFH_HOST_UNCLAIMED: {
    severity: "warning",
    description:
      "A backend host block (LFH user blocks) is not referenced by any subsegment of the zone list; it was walked from its own user-data header.",
  },
  LFH_SUBSEGMENT_DUPLICATE: {
    severity: "warning",
    description: "Two LFH subsegments claim the same user blocks; the second is skipped. The zone list or a subsegment is corrupt.",
  },
  LFH_KEY_NOT_FOUND: {
    severity: "warning",
    description:
      "RtlpLFHKey could not be recovered from the block headers of a subsegment; its blocks are listed but their headers are not checked.",
  },
  LFH_KEY_MISMATCH: {
    severity: "warning",
    description:
      "A subsegment's block headers decode with a different RtlpLFHKey than the rest of the heap (one key per process is expected): memory corruption or a misidentified structure.",
  },
  LFH_BLOCK_HEADER_BAD: {
    severity: "warning",
    description:
      "LFH block headers do not decode to their subsegment (SubSegmentCode check) or carry an impossible UnusedBytes; the blocks are listed and flagged CORRUPT.",
  },
  LFH_BITMAP_MISMATCH: {
    severity: "warning",
    description:
      "The Win8+ busy bitmap and the block headers disagree on which blocks are allocated; the bitmap is trusted. Possible heap corruption or a dump taken mid-allocation.",
  },
  LFH_BUSY_COUNT_MISMATCH: {
    severity: "warning",
    description:
      "The busy blocks found in a subsegment differ from its bookkeeping (BlockCount - AggregateExchg.Depth); possible corruption or a dump taken mid-operation.",
  },
  LFH_FREE_LIST_BAD: {
    severity: "warning",
    description:
      "The Windows 7 subsegment free list (FreeEntryOffset chain) leaves the user blocks, loops, or links a block whose header says busy; the header states are kept.",
  },
});

export type LfhCode = keyof typeof lfhCodes;
