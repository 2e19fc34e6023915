import { type Address, INVALID_ADDRESS, addressFromParts } from "@leakscope/core";

/** 'KDBG' as the OwnerTag u32. */
export const KDBG_TAG = 0x4742444b;

/**
 * A decoded KDDEBUGGER_DATA64 block. Apart from {@link kernBase}, every field is the address of
 * the named nt global, not its value. NaN when the block is too short for the field.
 */
export interface Kdbg {
  /** Where the copy was found: a VA, or a triage file offset. */
  origin: { kind: "va"; address: Address } | { kind: "file"; fileOffset: number };
  ownerTag: string;
  size: number;
  kernBase: Address;
  breakpointWithStatus: Address;
  psLoadedModuleList: Address;
  psActiveProcessHead: Address;
  pspCidTable: Address;
  expPagedPoolDescriptor: Address;
  expNumberOfPagedPools: Address;
  mmPfnDatabase: Address;
  mmNumberOfPhysicalPages: Address;
  mmNonPagedPoolStart: Address;
  mmPagedPoolStart: Address;
  mmSizeOfPagedPoolInBytes: Address;
  /** Address of nt!PoolTrackTable (the variable holding the table pointer). */
  poolTrackTable: Address;
  nonPagedPoolDescriptor: Address;
  mmHighestUserAddress: Address;
  ntBuildLab: Address;
  kiProcessorBlock: Address;
  mmUnloadedDrivers: Address;
  mmAllocatedNonPagedPool: Address;
  mmPhysicalMemoryBlock: Address;
  iopNumTriageDumpDataBlocks: Address;
  iopTriageDumpDataBlocks: Address;
  /** The raw bytes of the block (at most 0x1000). */
  bytes: Uint8Array;
}

/** Field offsets of KDDEBUGGER_DATA64 used by {@link decodeKdbg}. */
export const KDBG_OFFSETS = {
  kernBase: 0x18,
  breakpointWithStatus: 0x20,
  psLoadedModuleList: 0x48,
  psActiveProcessHead: 0x50,
  pspCidTable: 0x58,
  expPagedPoolDescriptor: 0x68,
  expNumberOfPagedPools: 0x70,
  mmPfnDatabase: 0xc0,
  mmNumberOfPhysicalPages: 0xf8,
  mmNonPagedPoolStart: 0x110,
  mmPagedPoolStart: 0x120,
  mmSizeOfPagedPoolInBytes: 0x140,
  poolTrackTable: 0x1b8,
  nonPagedPoolDescriptor: 0x1c0,
  mmHighestUserAddress: 0x1c8,
  ntBuildLab: 0x208,
  kiProcessorBlock: 0x218,
  mmUnloadedDrivers: 0x220,
  mmAllocatedNonPagedPool: 0x250,
  mmPhysicalMemoryBlock: 0x270,
  iopNumTriageDumpDataBlocks: 0x308,
  iopTriageDumpDataBlocks: 0x310,
} as const;

/**
 * Decode a KDDEBUGGER_DATA64 copy (64-bit fields; kernel {@link Address}es are sign-extended on
 * x64, and the low 32 bits are kept for `pointerSize` 4).
 * Returns undefined when the OwnerTag is not 'KDBG' (an encoded or foreign block).
 */
export function decodeKdbg(bytes: Uint8Array, origin: Kdbg["origin"], pointerSize: 4 | 8 = 8): Kdbg | undefined {
  if (bytes.length < 0x20) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0x10, true) !== KDBG_TAG) return undefined;
  const size = v.getUint32(0x14, true);
  const limit = Math.min(bytes.length, size > 0 ? size : bytes.length);
  // 32-bit kernels store sign-extended 64-bit fields: keep the low half as the unsigned 32-bit address.
  const p = (off: number): Address =>
    off + 8 > limit ? INVALID_ADDRESS : pointerSize === 4 ? v.getUint32(off, true) : addressFromParts(v.getUint32(off, true), v.getUint32(off + 4, true));
  const out = { origin, ownerTag: "KDBG", size, bytes: bytes.slice(0, limit) } as Partial<Kdbg> & Record<string, unknown>;
  for (const [name, off] of Object.entries(KDBG_OFFSETS)) out[name] = p(off);
  return out as Kdbg;
}
