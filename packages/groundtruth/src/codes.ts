import { defineCodes } from "@leakscope/core";

/**
 * Every diagnostic and difference code raised by `@leakscope/groundtruth`. Codes never change
 * meaning once released; add new ones, never rename. All carry the `GT_` prefix.
 */
export const groundtruthCodes = defineCodes("groundtruth", {
  // ---- the manifest ---------------------------------------------------------------------------
  GT_MANIFEST_INVALID: {
    severity: "error",
    description: "The manifest is not JSON or does not match manifest.schema.json; regenerate it with gtalloc.",
  },
  GT_MANIFEST_INCOMPLETE: {
    severity: "warning",
    description: "gtalloc could not record every allocation (allocation failure or full table); rerun with a smaller --scale.",
  },
  GT_MANIFEST_DUPLICATE_ADDRESS: {
    severity: "warning",
    description: "Two manifest allocations share one address; only the first is checked. The manifest was edited or is corrupt.",
  },
  GT_MANIFEST_BAD_FILL_OFFSET: {
    severity: "warning",
    description: "An allocation's fillOffset is larger than its size; its contents are not checked.",
  },
  GT_FOUND_DUPLICATE_ADDRESS: {
    severity: "warning",
    description: "leakscope reported two allocations at one user address; the busy one (or the first) was compared.",
  },
  // ---- differences between the manifest and leakscope -----------------------------------------
  GT_ALLOCATION_MISSING: {
    severity: "error",
    description: "A live allocation of the manifest was not found at its user address: the heap walk missed it.",
  },
  GT_SIZE_MISMATCH: {
    severity: "error",
    description: "leakscope's requested size differs from the size the program asked for.",
  },
  GT_SIZE_INEXACT: {
    severity: "info",
    description: "leakscope marked the size inexact and it lies within the allowed slack above the requested size.",
  },
  GT_NOT_BUSY: {
    severity: "error",
    description: "leakscope found the block but reports it free, while the program still held it.",
  },
  GT_CONTENT_MISMATCH: {
    severity: "error",
    description: "The bytes at the allocation's address are not the fill pattern (or vtable) the program wrote: address translation or the dump reader is wrong.",
  },
  GT_CONTENT_NOT_CAPTURED: {
    severity: "warning",
    description: "The dump lacks memory of the allocation, so its contents could not be checked; take a full-memory dump.",
  },
  GT_STACK_MISMATCH: {
    severity: "error",
    description: "The allocation's top stack frame in gtalloc is not the function that allocated it.",
  },
  GT_STACK_MISSING: {
    severity: "error",
    description: "The manifest says stack traces were on (+ust) but leakscope gave no stack for the allocation.",
  },
  GT_TYPE_MISMATCH: {
    severity: "error",
    description: "leakscope's C++ type name for the object differs from the class the program created.",
  },
  GT_TYPE_MISSING: {
    severity: "warning",
    description: "leakscope gave no C++ type for an object with a vtable; an error only with requireTypes.",
  },
  GT_HEAP_MISMATCH: {
    severity: "warning",
    description: "leakscope attributes the allocation to another heap than the handle the program used (expected under page heap).",
  },
  GT_EXTRA_ALLOCATION: {
    severity: "info",
    description: "leakscope found a busy allocation in one of the manifest's heaps that the manifest does not list (CRT, loader or dbghelp blocks).",
  },
  GT_FREED_REUSED: {
    severity: "info",
    description: "A block the program freed is busy again in the dump; the heap reused it (often for dbghelp while dumping).",
  },
});

export type GroundtruthCode = keyof typeof groundtruthCodes;
