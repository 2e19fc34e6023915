/** The accessors of an allocation set that {@link allocationRows} reads (core's `AllocationSet`). */
export interface AllocationRowSource {
  readonly count: number;
  heap(i: number): number;
  userAddress(i: number): number;
  blockAddress(i: number): number;
  requestedSize(i: number): number;
  blockSize(i: number): number;
  flags(i: number): number;
  tracePointer(i: number): number;
  host(i: number): number;
}

/**
 * Every column of every block, in order, as `[heap, userAddress, blockAddress, requestedSize,
 * blockSize, flags, tracePointer, host]`: what tests compare between two walks of one dump
 * (threads or none, file or memory, plugin orders).
 */
export function allocationRows(set: AllocationRowSource): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < set.count; i++) {
    out.push([set.heap(i), set.userAddress(i), set.blockAddress(i), set.requestedSize(i), set.blockSize(i), set.flags(i), set.tracePointer(i), set.host(i)]);
  }
  return out;
}
