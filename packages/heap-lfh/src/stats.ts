import { type HeapRecord, formatAddress } from "@leakscope/core";
import type { LfhBucket, LfhHeapState } from "./state.js";

/** Per-bucket LFH statistics of a heap walked by heap-lfh (a copy), or undefined when it has no LFH state. */
export interface LfhBucketStats {
  heap: string;
  bitness: 32 | 64;
  family: LfhHeapState["family"];
  lfhHeap: string;
  /** RtlpLFHKey as hex, or null. */
  lfhKey: string | null;
  subsegments: number;
  busy: number;
  free: number;
  busyBytes: number;
  buckets: LfhBucket[];
}

export function lfhBucketStats(heap: HeapRecord): LfhBucketStats | undefined {
  const s = heap.data.lfh;
  if (!s) return undefined;
  return {
    heap: formatAddress(heap.address),
    bitness: heap.bitness,
    family: s.family,
    lfhHeap: formatAddress(s.lfhHeap),
    lfhKey: s.key === null ? null : keyHex(s.key),
    subsegments: s.subsegments,
    busy: s.busy,
    free: s.free,
    busyBytes: s.busyBytes,
    buckets: s.buckets.map((b) => ({ ...b })),
  };
}

export function keyHex(key: number): string {
  return `0x${(key >>> 0).toString(16).padStart(8, "0")}`;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * A fixed-width text table of {@link lfhBucketStats}: one header line for the heap, one row per
 * bucket (block size, subsegments, total/busy/free blocks, busy requested bytes), a total row.
 */
export function formatLfhBuckets(stats: LfhBucketStats): string {
  const head = `LFH of heap ${stats.heap} (${stats.bitness}-bit, ${stats.family}, _LFH_HEAP ${stats.lfhHeap}, key ${stats.lfhKey ?? "?"})`;
  const cols = ["block size", "subsegs", "blocks", "busy", "free", "busy bytes"];
  const rows = stats.buckets.map((b) => [
    hex(b.blockSize),
    String(b.subsegments),
    String(b.totalBlocks),
    String(b.busyBlocks),
    String(b.freeBlocks),
    hex(b.busyBytes),
  ]);
  const total = stats.buckets.reduce((n, b) => n + b.totalBlocks, 0);
  rows.push(["total", String(stats.subsegments), String(total), String(stats.busy), String(stats.free), hex(stats.busyBytes)]);
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((v, i) => v.padStart(widths[i]!)).join("  ");
  return [head, line(cols), ...rows.map(line)].join("\n");
}
