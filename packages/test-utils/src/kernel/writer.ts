/**
 * Synthetic Windows kernel dumps for tests: x64 DUMP_HEADER64 with full (run-based) or bitmap
 * layout, real 4-level page tables (4 KiB, 2 MiB and 1 GiB pages), and helpers to place bytes at
 * kernel virtual addresses. Writes plain bytes; addresses are bigints (unsigned 64-bit).
 *
 * This module must not import @leakscope/core: it produces inputs for the readers under test.
 */

export const PAGE = 0x1000;
const MASK64 = (1n << 64n) - 1n;

/** Header fields a test may set. Unset fields keep the 'PAGE' fill, as Windows leaves them. */
export interface KernelHeaderFields {
  build?: number;
  majorVersion?: number;
  machine?: number;
  processors?: number;
  bugCheckCode?: number;
  bugCheckParameters?: bigint[];
  kdDebuggerDataBlock?: bigint;
  psLoadedModuleList?: bigint;
  psActiveProcessHead?: bigint;
  pfnDataBase?: bigint;
  /** Bits OR-ed into the stored DirectoryTableBase (Windows sets low bits; readers must mask). */
  dtbLowBits?: number;
  comment?: string;
}

/** Page layouts: run-based full (DumpType 1), bitmap (5), RDMP kernel memory (8). */
export type KernelDumpLayout = "full" | "bitmap" | "rdmp";

/**
 * Builds physical memory and x64 page tables. Page frames are handed out in order from 0x10;
 * the PML4 lives in its own frame. Call {@link build} to get the dump file bytes.
 */
export class KernelDumpWriter {
  readonly pages = new Map<number, Uint8Array>();
  readonly pml4Pfn: number;
  private nextPfn = 0x10;
  fields: KernelHeaderFields;

  constructor(fields: KernelHeaderFields = {}) {
    this.fields = fields;
    this.pml4Pfn = this.allocPfn();
  }

  /** A fresh zeroed physical page; returns its frame number. */
  allocPfn(): number {
    const pfn = this.nextPfn++;
    this.page(pfn);
    return pfn;
  }

  /** `count` consecutive frames aligned to `align` frames (for large pages). */
  allocAligned(count: number, align: number, materialize = true): number {
    const start = Math.ceil(this.nextPfn / align) * align;
    this.nextPfn = start + count;
    if (materialize) for (let i = 0; i < count; i++) this.page(start + i);
    return start;
  }

  /** The bytes of physical page `pfn` (created zeroed on first use). */
  page(pfn: number): Uint8Array {
    let p = this.pages.get(pfn);
    if (!p) {
      p = new Uint8Array(PAGE);
      this.pages.set(pfn, p);
    }
    return p;
  }

  get dtb(): number {
    return this.pml4Pfn * PAGE;
  }

  private readEntry(pfn: number, index: number): bigint {
    return new DataView(this.page(pfn).buffer).getBigUint64(index * 8, true);
  }

  /** Write a raw page-table entry. */
  writeEntry(pfn: number, index: number, value: bigint): void {
    new DataView(this.page(pfn).buffer).setBigUint64(index * 8, value & MASK64, true);
  }

  private table(pfn: number, index: number): number {
    const e = this.readEntry(pfn, index);
    if (e & 1n) {
      if (e & 0x80n) throw new Error("a large page is already mapped there");
      return Number((e >> 12n) & 0xffffffffffn);
    }
    const next = this.allocPfn();
    this.writeEntry(pfn, index, (BigInt(next) << 12n) | 0x63n);
    return next;
  }

  private static indices(va: bigint): [number, number, number, number] {
    return [Number((va >> 39n) & 0x1ffn), Number((va >> 30n) & 0x1ffn), Number((va >> 21n) & 0x1ffn), Number((va >> 12n) & 0x1ffn)];
  }

  /** Map the 4 KiB page containing `va` to `pfn` (a fresh frame by default); returns the frame. */
  mapPage(va: bigint, pfn?: number): number {
    const [i4, i3, i2, i1] = KernelDumpWriter.indices(va);
    const pdpt = this.table(this.pml4Pfn, i4);
    const pd = this.table(pdpt, i3);
    const pt = this.table(pd, i2);
    const e = this.readEntry(pt, i1);
    if (e & 1n) return Number((e >> 12n) & 0xffffffffffn);
    const frame = pfn ?? this.allocPfn();
    this.writeEntry(pt, i1, (BigInt(frame) << 12n) | 0x63n);
    return frame;
  }

  /** Write the raw PTE of `va` (e.g. a transition PTE), creating the upper tables. */
  setPte(va: bigint, value: bigint): void {
    const [i4, i3, i2, i1] = KernelDumpWriter.indices(va);
    const pt = this.table(this.table(this.table(this.pml4Pfn, i4), i3), i2);
    this.writeEntry(pt, i1, value);
  }

  /** Map a 2 MiB large page at `va` (2 MiB aligned); frames are allocated (and stored) unless given. */
  mapLarge2M(va: bigint, basePfn?: number): number {
    const [i4, i3, i2] = KernelDumpWriter.indices(va);
    const pd = this.table(this.table(this.pml4Pfn, i4), i3);
    const base = basePfn ?? this.allocAligned(512, 512);
    this.writeEntry(pd, i2, (BigInt(base) << 12n) | 0xe3n);
    return base;
  }

  /** Map a 1 GiB page at `va`; its frames are NOT stored in the dump unless written. */
  mapLarge1G(va: bigint, basePfn: number): void {
    const [i4, i3] = KernelDumpWriter.indices(va);
    const pdpt = this.table(this.pml4Pfn, i4);
    this.writeEntry(pdpt, i3, (BigInt(basePfn) << 12n) | 0xe3n);
  }

  /** Physical address of `va` by walking the tables this writer built (undefined if unmapped). */
  physical(va: bigint): number | undefined {
    const [i4, i3, i2, i1] = KernelDumpWriter.indices(va);
    const e4 = this.readEntry(this.pml4Pfn, i4);
    if (!(e4 & 1n)) return undefined;
    const e3 = this.readEntry(Number((e4 >> 12n) & 0xffffffffffn), i3);
    if (!(e3 & 1n)) return undefined;
    if (e3 & 0x80n) return Number(((e3 >> 30n) << 30n) & 0xffffffffff000n) + Number(va & 0x3fffffffn);
    const e2 = this.readEntry(Number((e3 >> 12n) & 0xffffffffffn), i2);
    if (!(e2 & 1n)) return undefined;
    if (e2 & 0x80n) return Number(((e2 >> 21n) << 21n) & 0xffffffffff000n) + Number(va & 0x1fffffn);
    const e1 = this.readEntry(Number((e2 >> 12n) & 0xffffffffffn), i1);
    if (!(e1 & 1n)) return undefined;
    return Number(e1 & 0xffffffffff000n) + Number(va & 0xfffn);
  }

  /** Write bytes at a virtual address, mapping 4 KiB pages on demand (large pages are reused). */
  writeVirtual(va: bigint, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const cur = va + BigInt(done);
      let pa = this.physical(cur);
      if (pa === undefined) {
        this.mapPage(cur);
        pa = this.physical(cur)!;
      }
      const inPage = PAGE - (pa % PAGE);
      const n = Math.min(inPage, data.length - done);
      this.page(Math.floor(pa / PAGE)).set(data.subarray(done, done + n), pa % PAGE);
      done += n;
    }
  }

  writeU32(va: bigint, v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    this.writeVirtual(va, b);
  }

  writeU64(va: bigint, v: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v & MASK64, true);
    this.writeVirtual(va, b);
  }

  /** Write bytes at a physical address (pages created as needed). */
  writePhysical(pa: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) this.page(Math.floor((pa + i) / PAGE))[(pa + i) % PAGE] = data[i]!;
  }

  /** The sorted page frames stored in the dump. */
  frames(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b);
  }

  /** Serialize: DUMP_HEADER64 + pages in the chosen layout. */
  build(layout: KernelDumpLayout = "full"): Uint8Array {
    const frames = this.frames();
    const header = this.header(layout, frames);
    if (layout === "full") {
      const out = new Uint8Array(0x2000 + frames.length * PAGE);
      out.set(header, 0);
      frames.forEach((pfn, i) => out.set(this.pages.get(pfn)!, 0x2000 + i * PAGE));
      return out;
    }
    if (layout === "rdmp") {
      const runs = toRuns(frames);
      const firstPage = Math.ceil((0x2030 + runs.length * 16 + 16) / PAGE) * PAGE;
      const out = new Uint8Array(firstPage + frames.length * PAGE);
      out.set(header, 0);
      const v = new DataView(out.buffer);
      v.setUint32(0x2000, 0x40, true);
      out.set(ascii("RDMPDUMP"), 0x2004);
      v.setBigUint64(0x2010, BigInt(runs.length * 16), true);
      v.setBigUint64(0x2018, BigInt(firstPage), true);
      runs.forEach((r, i) => {
        v.setBigUint64(0x2030 + i * 16, BigInt(r.basePage), true);
        v.setBigUint64(0x2038 + i * 16, BigInt(r.pageCount), true);
      });
      frames.forEach((pfn, i) => out.set(this.pages.get(pfn)!, firstPage + i * PAGE));
      return out;
    }
    const maxPfn = frames.length ? frames[frames.length - 1]! + 1 : 0;
    const bits = Math.ceil((maxPfn + 1) / 64) * 64;
    const bitmapBytes = bits / 8;
    const firstPage = Math.ceil((0x2038 + bitmapBytes) / PAGE) * PAGE;
    const out = new Uint8Array(firstPage + frames.length * PAGE);
    out.set(header, 0);
    const v = new DataView(out.buffer);
    out.set(ascii("SDMPDUMP"), 0x2000);
    v.setBigUint64(0x2020, BigInt(firstPage), true);
    v.setBigUint64(0x2028, BigInt(frames.length), true);
    v.setBigUint64(0x2030, BigInt(bits), true);
    frames.forEach((pfn, i) => {
      out[0x2038 + (pfn >> 3)]! |= 1 << (pfn & 7);
      out.set(this.pages.get(pfn)!, firstPage + i * PAGE);
    });
    return out;
  }

  private header(layout: KernelDumpLayout, frames: number[]): Uint8Array {
    const f = this.fields;
    const h = new Uint8Array(0x2000);
    const v = new DataView(h.buffer);
    for (let i = 0; i < 0x2000; i += 4) v.setUint32(i, 0x45474150, true);
    h.set(ascii("PAGEDU64"), 0);
    v.setUint32(8, f.majorVersion ?? 0xf, true);
    v.setUint32(0xc, f.build ?? 19041, true);
    v.setBigUint64(0x10, BigInt(this.dtb | (f.dtbLowBits ?? 0)), true);
    v.setBigUint64(0x18, f.pfnDataBase ?? 0n, true);
    v.setBigUint64(0x20, f.psLoadedModuleList ?? 0n, true);
    v.setBigUint64(0x28, f.psActiveProcessHead ?? 0n, true);
    v.setUint32(0x30, f.machine ?? 0x8664, true);
    v.setUint32(0x34, f.processors ?? 1, true);
    v.setUint32(0x38, f.bugCheckCode ?? 0xe2, true);
    v.setUint32(0x3c, 0, true);
    for (let i = 0; i < 4; i++) v.setBigUint64(0x40 + i * 8, (f.bugCheckParameters?.[i] ?? 0n) & MASK64, true);
    v.setBigUint64(0x80, (f.kdDebuggerDataBlock ?? 0n) & MASK64, true);
    if (layout === "full") {
      const runs = toRuns(frames);
      if (runs.length > 43) throw new Error("too many runs for DUMP_HEADER64");
      v.setUint32(0x88, runs.length, true);
      v.setUint32(0x8c, 0, true);
      v.setBigUint64(0x90, BigInt(frames.length), true);
      runs.forEach((r, i) => {
        v.setBigUint64(0x98 + i * 16, BigInt(r.basePage), true);
        v.setBigUint64(0xa0 + i * 16, BigInt(r.pageCount), true);
      });
    }
    v.setUint32(0xf98, layout === "full" ? 1 : layout === "bitmap" ? 5 : 8, true);
    const fileSize = layout === "full" ? 0x2000 + frames.length * PAGE : 0;
    v.setBigUint64(0xfa0, BigInt(fileSize), true);
    if (f.comment !== undefined) {
      h.fill(0, 0xfb0, 0xfb0 + 128);
      h.set(ascii(f.comment.slice(0, 127)), 0xfb0);
    }
    return h;
  }
}

export function toRuns(frames: readonly number[]): { basePage: number; pageCount: number }[] {
  const runs: { basePage: number; pageCount: number }[] = [];
  for (const pfn of frames) {
    const last = runs[runs.length - 1];
    if (last && last.basePage + last.pageCount === pfn) last.pageCount++;
    else runs.push({ basePage: pfn, pageCount: 1 });
  }
  return runs;
}

export function ascii(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

/** A pool tag as the u32 the kernel stores ('Proc' -> 0x636f7250). Short tags are space-padded. */
export function tagKey(tag: string): number {
  const t = tag.padEnd(4, " ");
  return (t.charCodeAt(0) | (t.charCodeAt(1) << 8) | (t.charCodeAt(2) << 16) | (t.charCodeAt(3) << 24)) >>> 0;
}

/** ExpComputeHashForTag before masking: r = 0x9E5F * tag; r ^ (r >> 32), low 32 bits. */
export function tagHash(key: number): number {
  const r = 0x9e5f * key; // < 2^48: exact
  const hi = Math.floor(r / 4294967296);
  const lo = r - hi * 4294967296;
  return (lo ^ hi) >>> 0;
}
