/**
 * Entry of the worker threads that walk NT heap segments (see `parallel.ts`): loaded by core's
 * SyncWorker bootstrap, which calls {@link walkNtSegments} for each task.
 */
import { SliceSpace, transferList } from "@leakscope/core";
import type { NtSegmentTask } from "./parallel.js";
import { NtHeapWalker } from "./walk.js";

const walker = new NtHeapWalker();

/** Walk one task's segments; the dump is opened for the task and closed after it (an idle worker holds no file). */
export function walkNtSegments(task: unknown, beat: () => void): { value: unknown; transfer: ArrayBuffer[] } {
  const t = task as NtSegmentTask;
  // a smaller cache than the main thread's: the walk is one sequential pass
  const space = SliceSpace.open(t.slice, { cacheBlocks: 64 });
  // alive while it reads: a segment of gigabytes on a slow disk takes minutes
  space.onTranslate = beat;
  try {
    const r = walker.walkTask(t, space, beat);
    return { value: r, transfer: transferList(r.pieces, r.free, r.hosts, r.internals) };
  } finally {
    space.close();
  }
}
