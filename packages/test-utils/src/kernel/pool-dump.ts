import { KernelDumpWriter, type KernelDumpLayout, PAGE, ascii, tagHash, tagKey } from "./writer.js";

/** Counters of one tracker-table slot. */
export interface TrackerCounts {
  nonPagedAllocs?: number;
  nonPagedFrees?: number;
  nonPagedBytes?: number;
  pagedAllocs?: number;
  pagedFrees?: number;
  pagedBytes?: number;
}

export interface PoolDumpSpec {
  /** Windows build: selects the _POOL_TRACKER_TABLE layout (0x28 < 16299 <= 0x38 < 22000 <= 0x50). Default 19041. */
  build?: number;
  processors?: number;
  layout?: KernelDumpLayout;
  /** Slots per tracker table, a power of two. Default 256. */
  tableSize?: number;
  /** Per tag, the counters of table 0 (global) and of each further processor's table. */
  tags: { tag: string; perCpu: (TrackerCounts | undefined)[] }[];
  /** Entries of PoolTrackTableExpansion. */
  expansion?: { tag: string; counts: TrackerCounts }[];
  /** Entries of PoolBigPageTable (Win10 0x18 layout below 22000, 0x20 from 22000). */
  bigPages?: { va: bigint; tag: string; bytes: number; paged?: boolean; free?: boolean }[];
  /** Slots of the big-page table. Default 64. */
  bigPageTableSize?: number;
  /** Driver images placed in one 2 MiB large page and listed in PsLoadedModuleList. */
  drivers?: { name: string; image: Uint8Array }[];
  /** Write the ExPoolTagTables array next to PoolTrackTable (default true). */
  perCpuArray?: boolean;
  /** Write the decoded KDBG copy (default true). */
  kdbg?: boolean;
  /** Physical pages filled with a chain of _POOL_HEADERs (for the header-scan fallback). */
  poolPages?: { blocks: { tag: string; size: number; paged?: boolean; free?: boolean }[] }[];
  bugCheckCode?: number;
}

export interface PoolDumpAddresses {
  kernBase: bigint;
  kdbg: bigint;
  psLoadedModuleList: bigint;
  poolTrackTableVar: bigint;
  poolTrackTableSizeVar: bigint;
  exPoolTagTables: bigint;
  expansionVar: bigint;
  expansionSizeVar: bigint;
  bigPageTableVar: bigint;
  bigPageTableSizeVar: bigint;
  /** VA of each tracker table (index 0 = global). */
  tables: bigint[];
  drivers: { name: string; base: bigint; size: number }[];
  /** A VA mapped by a 2 MiB large page (the driver area). */
  largePage: bigint;
}

export const SYNTH_KERN_BASE = 0xfffff80400000000n;
const GLOBALS = SYNTH_KERN_BASE + 0xc16000n;
const KDBG_VA = 0xffffc50900000080n;
const TABLES_VA = 0xffffc50a00000000n;
const LDR_VA = 0xffffc50b00000000n;
const DRIVERS_VA = 0xfffff80440000000n;

/** Size of one _POOL_TRACKER_TABLE entry for an x64 build. */
export function trackerEntrySize(build: number): number {
  return build < 16299 ? 0x28 : build < 22000 ? 0x38 : 0x50;
}

/** Encode one x64 tracker entry in the layout of `build`. */
export function encodeTrackerEntry(build: number, tag: string, c: TrackerCounts): Uint8Array {
  const size = trackerEntrySize(build);
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  v.setUint32(0, tagKey(tag), true);
  if (size === 0x28) {
    v.setUint32(4, c.nonPagedAllocs ?? 0, true);
    v.setUint32(8, c.nonPagedFrees ?? 0, true);
    v.setBigUint64(0x10, BigInt(c.nonPagedBytes ?? 0), true);
    v.setUint32(0x18, c.pagedAllocs ?? 0, true);
    v.setUint32(0x1c, c.pagedFrees ?? 0, true);
    v.setBigUint64(0x20, BigInt(c.pagedBytes ?? 0), true);
  } else {
    v.setBigUint64(0x08, BigInt(c.nonPagedBytes ?? 0), true);
    v.setBigUint64(0x10, BigInt(c.nonPagedAllocs ?? 0), true);
    v.setBigUint64(0x18, BigInt(c.nonPagedFrees ?? 0), true);
    v.setBigUint64(0x20, BigInt(c.pagedBytes ?? 0), true);
    v.setBigUint64(0x28, BigInt(c.pagedAllocs ?? 0), true);
    v.setBigUint64(0x30, BigInt(c.pagedFrees ?? 0), true);
  }
  return b;
}

/** Slot of each tag: hash & mask, then linear probing (the same assignment in every table). */
export function assignSlots(tags: readonly string[], tableSize: number): Map<string, number> {
  const used = new Set<number>();
  const out = new Map<string, number>();
  for (const t of tags) {
    let idx = tagHash(tagKey(t)) & (tableSize - 1);
    for (let n = 0; used.has(idx); n++) {
      if (n >= tableSize) throw new Error("tracker table full");
      idx = (idx + 1) & (tableSize - 1);
    }
    used.add(idx);
    out.set(t, idx);
  }
  return out;
}

function utf16(s: string): Uint8Array {
  const b = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) new DataView(b.buffer).setUint16(i * 2, s.charCodeAt(i), true);
  return b;
}

/**
 * A synthetic x64 kernel dump with KDBG, PsLoadedModuleList, driver images in a large page,
 * global + per-processor tracker tables, the expansion table and the big-page table.
 */
export function buildPoolDump(spec: PoolDumpSpec): { bytes: Uint8Array; writer: KernelDumpWriter; addresses: PoolDumpAddresses } {
  const build = spec.build ?? 19041;
  const processors = spec.processors ?? 1;
  const tableSize = spec.tableSize ?? 256;
  const entry = trackerEntrySize(build);
  const w = new KernelDumpWriter({
    build,
    processors,
    kdDebuggerDataBlock: spec.kdbg === false ? 0n : KDBG_VA,
    psLoadedModuleList: GLOBALS + 0xd00n,
    bugCheckCode: spec.bugCheckCode ?? 0xe2,
    dtbLowBits: 0x2,
  });
  const addresses: PoolDumpAddresses = {
    kernBase: SYNTH_KERN_BASE,
    kdbg: KDBG_VA,
    psLoadedModuleList: GLOBALS + 0xd00n,
    poolTrackTableVar: GLOBALS + 0x8a8n,
    poolTrackTableSizeVar: GLOBALS + 0x100n,
    exPoolTagTables: GLOBALS + 0x900n,
    expansionVar: GLOBALS + 0xc00n,
    expansionSizeVar: GLOBALS + 0xc08n,
    bigPageTableVar: GLOBALS + 0xc10n,
    bigPageTableSizeVar: GLOBALS + 0xc18n,
    tables: [],
    drivers: [],
    largePage: DRIVERS_VA,
  };
  // Globals page (and one on each side, so heuristics scan real memory).
  w.writeVirtual(GLOBALS - 0x1000n, new Uint8Array(0x3000));
  w.writeU64(addresses.poolTrackTableSizeVar, BigInt(tableSize));

  // Tracker tables.
  const slots = assignSlots(spec.tags.map((t) => t.tag), tableSize);
  const tableBytes = BigInt(Math.ceil((tableSize * entry) / PAGE) * PAGE);
  const nTables = Math.max(1, ...spec.tags.map((t) => t.perCpu.length), processors);
  for (let cpu = 0; cpu < nTables; cpu++) {
    const va = TABLES_VA + BigInt(cpu) * (tableBytes + 0x10000n);
    addresses.tables.push(va);
    w.writeVirtual(va, new Uint8Array(Number(tableBytes)));
    for (const t of spec.tags) {
      const c = t.perCpu[cpu];
      if (!c) continue;
      w.writeVirtual(va + BigInt(slots.get(t.tag)! * entry), encodeTrackerEntry(build, t.tag, c));
    }
  }
  w.writeU64(addresses.poolTrackTableVar, addresses.tables[0]!);
  if (spec.perCpuArray !== false) {
    for (let i = 0; i < processors; i++) w.writeU64(addresses.exPoolTagTables + BigInt(i * 8), addresses.tables[i] ?? 0n);
  }

  // Expansion table.
  const exp = spec.expansion ?? [];
  const expVa = 0xffffc50c00000000n;
  w.writeVirtual(expVa, new Uint8Array(Math.max(PAGE, Math.ceil((exp.length * entry) / PAGE) * PAGE)));
  exp.forEach((e, i) => w.writeVirtual(expVa + BigInt(i * entry), encodeTrackerEntry(build, e.tag, e.counts)));
  w.writeU64(addresses.expansionVar, expVa);
  w.writeU64(addresses.expansionSizeVar, BigInt(exp.length));

  // Big-page table.
  const bigSize = spec.bigPageTableSize ?? 64;
  const bigEntry = build >= 22000 ? 0x20 : 0x18;
  const bigVa = 0xffffc50d00000000n;
  const big = new Uint8Array(Math.ceil((bigSize * bigEntry) / PAGE) * PAGE);
  const bv = new DataView(big.buffer);
  for (let i = 0; i < bigSize; i++) bv.setBigUint64(i * bigEntry, 1n, true); // free
  (spec.bigPages ?? []).forEach((b, i) => {
    if (i >= bigSize) throw new Error("big-page table too small");
    bv.setBigUint64(i * bigEntry, b.va | (b.free ? 1n : 0n), true);
    bv.setUint32(i * bigEntry + 8, tagKey(b.tag), true);
    bv.setUint32(i * bigEntry + 12, (b.paged ? 1 : 0) << 8, true);
    bv.setBigUint64(i * bigEntry + 16, BigInt(b.bytes), true);
  });
  w.writeVirtual(bigVa, big);
  w.writeU64(addresses.bigPageTableVar, bigVa);
  w.writeU64(addresses.bigPageTableSizeVar, BigInt(bigSize));

  // Drivers: nt first (no image bytes), then the given images inside one 2 MiB large page.
  const drivers = spec.drivers ?? [];
  if (drivers.length > 0) w.mapLarge2M(DRIVERS_VA);
  const mods: { name: string; base: bigint; size: number }[] = [{ name: "ntoskrnl.exe", base: SYNTH_KERN_BASE, size: 0x1000000 }];
  let off = 0n;
  for (const d of drivers) {
    const size = Math.ceil(d.image.length / PAGE) * PAGE;
    if (off + BigInt(size) > 0x200000n) throw new Error("driver images exceed the 2 MiB large page");
    w.writeVirtual(DRIVERS_VA + off, d.image);
    mods.push({ name: d.name, base: DRIVERS_VA + off, size });
    off += BigInt(size);
  }
  addresses.drivers = mods.slice(1);
  // PsLoadedModuleList: circular list of KLDR_DATA_TABLE_ENTRY.
  const head = addresses.psLoadedModuleList;
  const entryVa = (i: number): bigint => LDR_VA + BigInt(i * 0x200);
  mods.forEach((m, i) => {
    const e = entryVa(i);
    const next = i + 1 < mods.length ? entryVa(i + 1) : head;
    const prev = i > 0 ? entryVa(i - 1) : head;
    w.writeU64(e, next);
    w.writeU64(e + 8n, prev);
    w.writeU64(e + 0x30n, m.base);
    w.writeU32(e + 0x40n, m.size);
    const full = utf16(`\\SystemRoot\\system32\\drivers\\${m.name}`);
    const base = utf16(m.name);
    const fullVa = e + 0x100n;
    const baseVa = e + 0x180n;
    w.writeVirtual(fullVa, full);
    w.writeVirtual(baseVa, base);
    const us = (at: bigint, bytes: Uint8Array, va: bigint): void => {
      const b = new Uint8Array(16);
      const v = new DataView(b.buffer);
      v.setUint16(0, bytes.length, true);
      v.setUint16(2, bytes.length, true);
      v.setBigUint64(8, va, true);
      w.writeVirtual(at, b);
    };
    us(e + 0x48n, full, fullVa);
    us(e + 0x58n, base, baseVa);
  });
  w.writeU64(head, mods.length ? entryVa(0) : head);
  w.writeU64(head + 8n, mods.length ? entryVa(mods.length - 1) : head);

  // KDBG copy.
  if (spec.kdbg !== false) {
    const k = new Uint8Array(0x380);
    const v = new DataView(k.buffer);
    k.set(ascii("KDBG"), 0x10);
    v.setUint32(0x14, 0x380, true);
    v.setBigUint64(0x18, SYNTH_KERN_BASE, true);
    v.setBigUint64(0x48, head, true);
    v.setBigUint64(0x1b8, addresses.poolTrackTableVar, true);
    w.writeVirtual(KDBG_VA, k);
  }

  // Pool pages for the header scan (physical pages, not mapped).
  for (const p of spec.poolPages ?? []) {
    const pfn = w.allocPfn();
    const page = w.page(pfn);
    let at = 0;
    let prev = 0;
    for (const b of p.blocks) {
      const units = b.size / 16;
      page[at] = prev;
      page[at + 1] = 0;
      page[at + 2] = units;
      page[at + 3] = b.free ? 0 : b.paged ? 2 : 1;
      new DataView(page.buffer).setUint32(at + 4, tagKey(b.tag), true);
      prev = units;
      at += b.size;
    }
    if (at !== PAGE) throw new Error("pool page blocks must add up to 4096 bytes");
  }
  return { bytes: w.build(spec.layout ?? "full"), writer: w, addresses };
}
