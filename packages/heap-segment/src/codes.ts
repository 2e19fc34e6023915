import { defineCodes } from "@leakscope/core";

/**
 * Every diagnostic code raised by `@leakscope/heap-segment` (plugin name `heap-segment`).
 * Codes never change meaning once released; add new ones, never rename.
 */
export const segmentCodes = defineCodes("heap-segment", {
  SEGMENT_HEAP_UNCLASSIFIED: {
    severity: "info",
    description:
      "A PEB or descriptor list names a heap whose header is not in the dump, so it cannot be told whether it is a segment heap; take a full-memory dump (procdump -ma) to walk it.",
  },
  SEGMENT_HEAP_NOT_CAPTURED: {
    severity: "warning",
    description:
      "Part of a segment heap (header, page segment, subsegment, block, tree node) is not in the dump; what could be read is kept. Take a full-memory dump to walk it.",
  },
  SEGMENT_HEAP_NO_VIEW: {
    severity: "info",
    description: "A segment heap signature was found for a pointer size the dump has no process view for; it is not walked.",
  },
  SEGMENT_SCAN_LIMIT: {
    severity: "warning",
    description:
      "The page-by-page signature scan for segment heaps stopped at its page bound (option maxScanCandidates) at the reported address; segment heaps above it are found only if the PEB lists them. Raise maxScanCandidates to scan the rest.",
  },
  SEGMENT_SCAN_UNCONFIRMED: {
    severity: "info",
    description:
      "The signature scan found 0xDDEEDDEE on a page but no segment heap contexts after it (user data, or a header the dump captured only in part); it is not registered.",
  },
  SEGMENT_LAYOUT_PROBED: {
    severity: "info",
    description:
      "The heap's bytes contradict its build's segment-heap table (or the build has none) and another build's table fits them: both SegContexts point back at the heap, the first VS subsegments pass their signature check and the first LFH subsegments' owner or bucket is consistent. The message names the build and the layout used.",
  },
  SEGMENT_LAYOUT_UNKNOWN: {
    severity: "error",
    description:
      "No segment-heap table fits the heap (SegContexts back-pointers, VS subsegment signature, LFH subsegment owner): an unsupported build such as 1507-1703, a build without a public listing, or a damaged header. The message names the build and, per table, the structure that contradicted it; the heap is not walked and is marked incomplete.",
  },
  SEGMENT_LIST_BROKEN: {
    severity: "warning",
    description:
      "A list (page segments, VS subsegments, heap descriptors) has an unreadable or inconsistent link, a cycle or too many entries; the walk keeps what was reached before the break.",
  },
  SEGMENT_PAGE_SEGMENT_BAD: {
    severity: "warning",
    description:
      "A page segment is misaligned or its encoded signature disagrees with the heap key the other segments give; it is skipped and the other segments are walked.",
  },
  SEGMENT_HEAP_KEY_UNVERIFIED: {
    severity: "warning",
    description:
      "The HeapKey recovered from page-segment signatures could not be confirmed by decoding a VS chunk header; VS figures may be wrong.",
  },
  SEGMENT_KEY_CONSTANT_MISMATCH: {
    severity: "info",
    description:
      "The page-segment signature constant that fits is not the one expected for this build (0xA2E64EAD... before 24H2, 0 on 24H2); the one that decodes the data is used.",
  },
  SEGMENT_LFH_KEY_UNRECOVERED: {
    severity: "warning",
    description:
      "No LfhKey decodes the LFH subsegments' BlockOffsets to their bucket sizes; segment-LFH blocks of this heap are not listed.",
  },
  SEGMENT_DESCRIPTOR_BAD: {
    severity: "warning",
    description:
      "A page range descriptor is inconsistent (not a range head, zero or overrunning size, unknown flags); the rest of that page segment is skipped.",
  },
  SEGMENT_VS_SUBSEGMENT_BAD: {
    severity: "warning",
    description: "A VS subsegment fails its signature check (Signature ^ Size ^ 0x2BED) or overruns its page range; its chunks are not listed.",
  },
  SEGMENT_VS_CHUNK_BAD: {
    severity: "warning",
    description:
      "A VS chunk header decodes to an impossible size, or its previous-size or page-offset field disagrees; blocks after a size error in that subsegment are not listed, others are marked CORRUPT.",
  },
  SEGMENT_LFH_SUBSEGMENT_BAD: {
    severity: "warning",
    description:
      "A segment-LFH subsegment has an invalid bucket owner or BlockOffsets that do not decode to its bucket's block size; its blocks are not listed, other subsegments are.",
  },
  SEGMENT_UNUSED_BYTES_BAD: {
    severity: "warning",
    description: "A block's unused-bytes count is larger than the block; the block is listed with its usable size and marked CORRUPT.",
  },
  SEGMENT_LARGE_TREE_BAD: {
    severity: "warning",
    description:
      "The large-block RB tree has a cycle, a bad parent link, an impossible node or too many nodes; the nodes reached are kept.",
  },
  SEGMENT_VS_LIST_MISMATCH: {
    severity: "info",
    description: "The VS context's subsegment list and the page range descriptors disagree on the VS subsegments; the descriptors are used.",
  },
});
