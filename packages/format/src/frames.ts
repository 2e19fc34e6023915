import { type Frame, callSiteOf } from "@leakscope/core";

/** A stack with its allocator frames folded away. */
export interface FoldedStack {
  /** Frames inside the allocator (ntdll heap routines, the +ust intercept, CRT malloc, operator new). */
  folded: Frame[];
  /** The first caller frame and the frames below it. `shown[0]` is the call site. */
  shown: Frame[];
}

/**
 * Split an allocation stack at its call site (core's `callSiteOf`, the rule every output uses):
 * the allocator frames above it are folded, the call site is the first frame shown.
 */
export function foldAllocatorFrames(frames: readonly Frame[]): FoldedStack {
  const site = callSiteOf(frames);
  const at = site ? frames.indexOf(site) : 0;
  return { folded: frames.slice(0, at), shown: frames.slice(at) };
}

/** One line: `caller <- next <- …` with the number of folded allocator frames. */
export function stackLine(frames: readonly Frame[], shown = 3): string {
  const f = foldAllocatorFrames(frames);
  const head = f.shown.slice(0, shown).map((x) => x.text);
  if (head.length > 0) head[0] = `▶ ${head[0]}`;
  const more = f.shown.length > shown ? ` <- … ${f.shown.length - shown} more` : "";
  const folded = f.folded.length > 0 ? `  (${f.folded.length} allocator frame${f.folded.length === 1 ? "" : "s"} folded)` : "";
  return `${head.join(" <- ")}${more}${folded}`;
}
