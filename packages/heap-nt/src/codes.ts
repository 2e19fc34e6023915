import { defineCodes } from "@leakscope/core";

/**
 * Every diagnostic code raised by `@leakscope/heap-nt` (plugin name `heap-nt`).
 * Codes never change meaning once released; add new ones, never rename.
 */
export const ntCodes = defineCodes("heap-nt", {
  NT_HEAP_NOT_CAPTURED: {
    severity: "warning",
    description:
      "Part of an NT heap (header, segment, block, list entry) is not in the dump; what could be read is kept. Take a full-memory dump (procdump -ma) to walk it.",
  },
  NT_HEAP_SCAN_LIMIT: {
    severity: "warning",
    description:
      "The 64 KiB signature scan for heap bases stopped at its candidate bound (option maxScanCandidates) at the reported address; heaps above it are found only if the PEB lists them. Raise maxScanCandidates to scan the rest.",
  },
  NT_HEAP_WORKER_FAILED: {
    severity: "info",
    description:
      "A worker thread could not walk its share of a heap's segments (it failed to start, could not reopen the dump, or stopped answering); the main thread walked them instead, so the figures are complete. Set the heap-nt option workers to 0 (or LEAKSCOPE_WORKERS=0) to walk on one thread.",
  },
  NT_HEAP_PEB_INCONSISTENT: {
    severity: "warning",
    description:
      "The PEB heap list fails a sanity check (NumberOfHeaps > MaximumNumberOfHeaps, ProcessHeaps[0] != ProcessHeap, unreadable array); the signature scan still runs.",
  },
  NT_HEAP_BAD_SIGNATURE: {
    severity: "warning",
    description: "An address listed as a heap does not carry the NT or segment heap signatures; it is not walked.",
  },
  NT_HEAP_LAYOUT_UNKNOWN: {
    severity: "info",
    description: "The OS build is not in the layout table; the _HEAP layout whose front end the heap's bytes prove was used. Check the figures against WinDbg.",
  },
  NT_HEAP_LAYOUT_PROBE_MISMATCH: {
    severity: "warning",
    description: "Retired (no longer raised): a _HEAP that contradicts its build's layout is now reported as HEAP_LAYOUT_PROBED or NT_HEAP_LAYOUT_NONE.",
  },
  HEAP_LAYOUT_PROBED: {
    severity: "info",
    description:
      "The _HEAP layout of the dump's OS build is contradicted by the heap's own bytes (or the build has no table); another build's layout fits them (FrontEndHeap points to an _LFH_HEAP that points back) and was used. The message names the build and the layout taken.",
  },
  NT_HEAP_LAYOUT_NONE: {
    severity: "warning",
    description:
      "No known _HEAP layout fits the heap's front end (FrontEndHeapType and an _LFH_HEAP pointing back): the backend is walked, LFH blocks are not, and the heap is marked incomplete. Report the build (the message names it) so its layout can be added.",
  },
  NT_HEAP_ENTRY_CHECKSUM: {
    severity: "warning",
    description: "A heap entry fails its checksum after decoding with the heap's Encoding: heap corruption (or a wrong layout). The segment walk stops at that block.",
  },
  NT_HEAP_ENTRY_SIZE_ZERO: {
    severity: "warning",
    description: "A heap entry has size 0, so the walk cannot step past it: heap corruption. The rest of the segment after the next uncommitted range is still walked.",
  },
  NT_HEAP_PREVIOUS_SIZE_MISMATCH: {
    severity: "warning",
    description: "A heap entry's PreviousSize differs from the size of the block before it: heap corruption near that address. The walk continues.",
  },
  NT_HEAP_SEGMENT_OVERRUN: {
    severity: "warning",
    description: "A segment walk did not end exactly at LastValidEntry (a block runs past it, or blocks plus uncommitted ranges do not add up to the segment span).",
  },
  NT_HEAP_SEGMENT_BAD: {
    severity: "warning",
    description: "A heap segment header is not valid (signature, FirstEntry/LastValidEntry out of order or out of range); the segment is skipped.",
  },
  NT_HEAP_LIST_CYCLE: {
    severity: "warning",
    description: "A heap list (segments, uncommitted ranges, virtual blocks, free list, descriptor list) loops or runs past its bound; the walk kept the entries before the loop.",
  },
  NT_HEAP_POINTER_OUT_OF_RANGE: {
    severity: "warning",
    description: "A list link or descriptor of the heap points outside the heap's memory or is misaligned; that list is cut there.",
  },
  NT_HEAP_FREE_LIST_MISMATCH: {
    severity: "warning",
    description: "The heap's free list does not hold exactly the free blocks found by the segment walk: heap corruption, or a dump taken while the heap was being changed.",
  },
  NT_HEAP_VIRTUAL_BLOCK_BAD: {
    severity: "warning",
    description: "A VirtualAlloc'd block header fails its checks (checksum, unused bytes larger than the commit size); it is reported as corrupt.",
  },
  NT_HEAP_NO_VIEW: {
    severity: "info",
    description: "A heap of a bitness the dump has no process view for was found by the signature scan; it is not walked (open the dump with a reader that builds the WoW64 view).",
  },
  NT_HEAP_ORPHAN_SEGMENT: {
    severity: "info",
    description: "The signature scan found a heap segment whose owning heap was not found or does not list it.",
  },
});
