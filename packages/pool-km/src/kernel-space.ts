import { type Address, AddressSpace, type MemoryRange, type Translation, addressHigh, addressLow } from "@leakscope/core";
import { PAGE_SIZE, type PhysicalMemory } from "./physical.js";

/** How virtual addresses are translated. */
export type PagingMode = "x64" | "pae" | "x86";

export interface KernelSpaceOptions {
  /** Decode transition PTEs (valid bit clear, transition bit set) as WinDbg does. Default true. */
  transitionPtes?: boolean;
  /** Entries of the direct-mapped translation cache (a power of two). Default 4096. */
  cacheEntries?: number;
  /** Most leaf pages {@link KernelAddressSpace.ranges} enumerates. Default 4,000,000. */
  rangePageLimit?: number;
}

const TWO_32 = 4294967296;
const FRAME_HI_MASK = 0xfffff; // bits 32..51 of a page-table entry

/**
 * Kernel virtual memory of a full, bitmap or RDMP dump: a page-table walk from the directory
 * table base over {@link PhysicalMemory}. x64 4-level paging with 1 GiB and 2 MiB pages,
 * x86 PAE and plain x86 paging; transition PTEs decoded when enabled. Translation allocates
 * nothing: results go to a direct-mapped cache of page frames.
 */
export class KernelAddressSpace extends AddressSpace {
  readonly phys: PhysicalMemory;
  readonly mode: PagingMode;
  /** Masked page-table root (physical address). */
  readonly dtb: number;
  private readonly options: Required<KernelSpaceOptions>;
  private readonly cacheMask: number;
  private readonly cacheVa: Float64Array;
  private readonly cachePa: Float64Array;
  private readonly e = { lo: 0, hi: 0 };
  private rangeList: MemoryRange[] | undefined;
  /** True when {@link ranges} stopped at its page limit. */
  rangesTruncated = false;

  constructor(phys: PhysicalMemory, dtb: number, mode: PagingMode, options: KernelSpaceOptions = {}) {
    super(mode === "x64" ? 8 : 4, phys.source);
    this.phys = phys;
    this.mode = mode;
    this.dtb = mode === "x64" ? maskFrame(dtb) : mode === "pae" ? dtb - (dtb % 32) : dtb - (dtb % PAGE_SIZE);
    const entries = options.cacheEntries ?? 4096;
    this.options = {
      transitionPtes: options.transitionPtes ?? true,
      cacheEntries: entries,
      rangePageLimit: options.rangePageLimit ?? 4_000_000,
    };
    this.cacheMask = entries - 1;
    this.cacheVa = new Float64Array(entries).fill(Number.NaN);
    this.cachePa = new Float64Array(entries);
  }

  /** Physical address of `va`, or -1 when a table or the page is not present or not captured. */
  physicalAddress(va: Address): number {
    if (!(va === va)) return -1;
    const page = Math.floor(va / PAGE_SIZE);
    const slot = (page - Math.floor(page / 65536) * 65536) & this.cacheMask;
    const within = va - page * PAGE_SIZE;
    if (this.cacheVa[slot] === page) return this.cachePa[slot]! + within;
    const pa = this.walk(va);
    if (pa < 0) return -1;
    const pageBase = pa - within;
    this.cacheVa[slot] = page;
    this.cachePa[slot] = pageBase;
    return pa;
  }

  translate(va: Address, out: Translation): boolean {
    const pa = this.physicalAddress(va);
    if (pa < 0) return false;
    const off = this.phys.fileOffset(pa);
    if (off < 0) return false;
    const inPage = PAGE_SIZE - (pa % PAGE_SIZE);
    out.source = this.phys.source;
    out.fileOffset = off;
    out.contiguous = Math.min(inPage, this.phys.source.size - off);
    return out.contiguous > 0;
  }

  private entry64(pa: number): boolean {
    return this.phys.u64Parts(pa, this.e);
  }

  private walk(va: Address): number {
    if (this.mode === "x64") return this.walk64(va);
    if (this.mode === "pae") return this.walkPae(va);
    return this.walk32(va);
  }

  private walk64(va: Address): number {
    const hi = addressHigh(va);
    const lo = addressLow(va);
    const e = this.e;
    // PML4
    if (!this.entry64(this.dtb + ((hi >>> 7) & 0x1ff) * 8) || (e.lo & 1) === 0) return -1;
    // PDPT
    const pdpt = frame(e.lo, e.hi);
    if (!this.entry64(pdpt + ((((hi & 0x7f) << 2) | (lo >>> 30)) & 0x1ff) * 8) || (e.lo & 1) === 0) return -1;
    if (e.lo & 0x80) return (e.hi & FRAME_HI_MASK) * TWO_32 + ((e.lo & 0xc0000000) >>> 0) + (lo & 0x3fffffff);
    // PD, PT
    return this.walkPd(frame(e.lo, e.hi), lo);
  }

  /**
   * The page-directory and page-table steps shared by x64 and PAE (8-byte entries): 2 MiB large
   * pages, then 4 KiB pages with transition PTEs when enabled. -1 when not present.
   */
  private walkPd(pd: number, lo: number): number {
    const e = this.e;
    if (!this.entry64(pd + ((lo >>> 21) & 0x1ff) * 8) || (e.lo & 1) === 0) return -1;
    if (e.lo & 0x80) return (e.hi & FRAME_HI_MASK) * TWO_32 + ((e.lo & 0xffe00000) >>> 0) + (lo & 0x1fffff);
    const pt = frame(e.lo, e.hi);
    if (!this.entry64(pt + ((lo >>> 12) & 0x1ff) * 8)) return -1;
    if ((e.lo & 1) === 0 && !(this.options.transitionPtes && (e.lo & 0x800) !== 0 && (e.lo & 0x400) === 0)) return -1;
    return frame(e.lo, e.hi) + (lo & 0xfff);
  }

  private walkPae(va: Address): number {
    const lo = va >>> 0;
    const e = this.e;
    if (!this.entry64(this.dtb + (lo >>> 30) * 8) || (e.lo & 1) === 0) return -1;
    return this.walkPd(frame(e.lo, e.hi), lo);
  }

  private walk32(va: Address): number {
    const lo = va >>> 0;
    const pde = this.phys.u32(this.dtb + (lo >>> 22) * 4);
    if (pde < 0 || (pde & 1) === 0) return -1;
    if (pde & 0x80) return ((pde & 0xffc00000) >>> 0) + (lo & 0x3fffff);
    const pte = this.phys.u32(((pde & 0xfffff000) >>> 0) + ((lo >>> 12) & 0x3ff) * 4);
    if (pte < 0) return -1;
    if ((pte & 1) === 0 && !(this.options.transitionPtes && (pte & 0x800) !== 0 && (pte & 0x400) === 0)) return -1;
    return ((pte & 0xfffff000) >>> 0) + (lo & 0xfff);
  }

  /**
   * Mapped kernel ranges (x64: the upper half; 32-bit modes: everything), merged, found by walking
   * the page tables. Bounded by `rangePageLimit` leaf pages (then {@link rangesTruncated} is set);
   * cycles through self-referencing tables cannot make it loop, since every walk is four levels deep.
   */
  ranges(): readonly MemoryRange[] {
    if (this.rangeList) return this.rangeList;
    const out: MemoryRange[] = [];
    let budget = this.options.rangePageLimit;
    const add = (va: number, size: number): void => {
      const last = out[out.length - 1];
      if (last && last.address + last.size === va) last.size += size;
      else out.push({ address: va, size });
    };
    const e = this.e;
    const readEntry = (pa: number): boolean => this.entry64(pa) && (e.lo & 1) === 1;
    if (this.mode === "x64") {
      for (let i4 = 256; i4 < 512 && budget > 0; i4++) {
        if (!readEntry(this.dtb + i4 * 8)) continue;
        const t3 = frame(e.lo, e.hi);
        const base4 = (i4 - 512) * 2 ** 39;
        for (let i3 = 0; i3 < 512 && budget > 0; i3++) {
          if (!readEntry(t3 + i3 * 8)) continue;
          const base3 = base4 + i3 * 2 ** 30;
          if (e.lo & 0x80) {
            add(base3, 2 ** 30);
            budget -= 1;
            continue;
          }
          const t2 = frame(e.lo, e.hi);
          for (let i2 = 0; i2 < 512 && budget > 0; i2++) {
            if (!readEntry(t2 + i2 * 8)) continue;
            const base2 = base3 + i2 * 2 ** 21;
            if (e.lo & 0x80) {
              add(base2, 2 ** 21);
              budget -= 1;
              continue;
            }
            const t1 = frame(e.lo, e.hi);
            for (let i1 = 0; i1 < 512 && budget > 0; i1++) {
              budget--;
              if (this.physicalAddress(base2 + i1 * PAGE_SIZE) < 0) continue;
              add(base2 + i1 * PAGE_SIZE, PAGE_SIZE);
            }
            void t1;
          }
        }
      }
    } else {
      for (let p = 0; p < 0x100000 && budget > 0; p++, budget--) {
        if (this.physicalAddress(p * PAGE_SIZE) >= 0) add(p * PAGE_SIZE, PAGE_SIZE);
      }
    }
    this.rangesTruncated = budget <= 0;
    this.rangeList = out;
    return out;
  }

  withPointerSize(_pointerSize: 4 | 8): KernelAddressSpace {
    return new KernelAddressSpace(this.phys, this.dtb, this.mode, this.options);
  }
}

function frame(lo: number, hi: number): number {
  return (hi & FRAME_HI_MASK) * TWO_32 + ((lo & 0xfffff000) >>> 0);
}

/** Mask a DTB / entry to its page frame (bits 12..51). */
export function maskFrame(v: number): number {
  const hi = Math.floor(v / TWO_32);
  const lo = v - hi * TWO_32;
  return frame(lo >>> 0, hi);
}
