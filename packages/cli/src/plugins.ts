import { type LeakscopePlugin, minidumpInput } from "@leakscope/core";
import { pageHeap } from "@leakscope/heap-page";
import { heapNt } from "@leakscope/heap-nt";
import { heapLfh } from "@leakscope/heap-lfh";
import { heapSegment } from "@leakscope/heap-segment";
import { stackTraces } from "@leakscope/stacks";
import { poolKm } from "@leakscope/pool-km";
import { processKinds } from "@leakscope/process";
import { symbols } from "@leakscope/symbols";
import { windbgText } from "@leakscope/windbg-text";

/**
 * The plugins the `leakscope` command uses, in no particular order (stages order the taps).
 * The CLI is the only package that wires plugins together.
 */
export function defaultPlugins(): LeakscopePlugin[] {
  return [minidumpInput(), poolKm(), windbgText(), heapNt(), heapLfh(), heapSegment(), pageHeap(), stackTraces(), symbols(), processKinds()];
}
