import type { Address, AddressSpace, ModuleInfo } from "@leakscope/core";
import { demangleMsvcType } from "./demangle.js";

/** A C++ class recovered from a vtable, without symbols. */
export interface RttiType {
  /** Demangled, e.g. `class Session` or `struct net::Packet`. */
  name: string;
  /** Decorated name as stored in the type descriptor (`.?AVSession@@`). */
  decorated: string;
  module: string;
  vtable: Address;
}

/**
 * Turn an MSVC type-descriptor name (`.?AVInner@Outer@@`) into `class Outer::Inner`, templates
 * included (`class std::vector<int,class std::allocator<int> >`); a name that does not parse is
 * kept decorated.
 */
export function demangleTypeName(decorated: string): string {
  return demangleMsvcType(decorated) ?? decorated;
}

interface ModuleRange {
  start: number;
  end: number;
  module: ModuleInfo;
}

/**
 * Resolve vtable pointers to class names through MSVC RTTI (x86 and x64):
 * object -> vtable (inside a module image) -> complete object locator (vtable[-1]) ->
 * type descriptor -> decorated name. Every step is range-checked against the module image, and
 * results are cached per vtable, so resolving millions of objects costs one lookup each.
 */
export class RttiResolver {
  private readonly ranges: ModuleRange[];
  private readonly starts: Float64Array;
  private readonly cache = new Map<number, RttiType | null>();
  private readonly pointerSize: 4 | 8;

  constructor(
    private readonly space: AddressSpace,
    modules: readonly ModuleInfo[],
  ) {
    this.pointerSize = space.pointerSize;
    this.ranges = modules
      .filter((m) => m.size > 0 && m.base === m.base)
      .map((m) => ({ start: m.base, end: m.base + m.size, module: m }))
      .sort((a, b) => a.start - b.start);
    this.starts = new Float64Array(this.ranges.map((r) => r.start));
  }

  /** The module whose image contains `va`, if any. */
  moduleAt(va: Address): ModuleRange | undefined {
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid]! <= va) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const r = best >= 0 ? this.ranges[best] : undefined;
    return r && va < r.end ? r : undefined;
  }

  /** The class of the object at `objectAddress` (its first pointer is the vtable), if any. */
  typeOfObject(objectAddress: Address): RttiType | undefined {
    const vt = this.space.ptr(objectAddress);
    return vt === vt ? this.typeOfVtable(vt) : undefined;
  }

  typeOfVtable(vtable: Address): RttiType | undefined {
    const cached = this.cache.get(vtable);
    if (cached !== undefined) return cached ?? undefined;
    const t = this.resolve(vtable);
    if (this.cache.size < 1_000_000) this.cache.set(vtable, t ?? null);
    return t;
  }

  private resolve(vtable: Address): RttiType | undefined {
    const ps = this.pointerSize;
    if (vtable % ps !== 0) return undefined;
    const mod = this.moduleAt(vtable);
    if (!mod) return undefined;
    const col = this.space.ptr(vtable - ps);
    if (!(col === col) || col < mod.start || col + 0x18 > mod.end) return undefined;
    const signature = this.space.u32(col);
    let td: number;
    if (ps === 8) {
      if (signature !== 1) return undefined;
      const tdRva = this.space.u32(col + 0x0c);
      const selfRva = this.space.u32(col + 0x14);
      if (tdRva < 0 || selfRva < 0) return undefined;
      const imageBase = col - selfRva;
      if (imageBase !== mod.start) return undefined;
      td = imageBase + tdRva;
    } else {
      if (signature !== 0) return undefined;
      td = this.space.ptr32(col + 0x0c);
    }
    if (!(td === td) || td < mod.start || td >= mod.end) return undefined;
    const nameAt = td + 2 * ps;
    const decorated = this.space.cString(nameAt, 512);
    if (!decorated || !decorated.startsWith(".?A")) return undefined;
    return { name: demangleTypeName(decorated), decorated, module: mod.module.name, vtable };
  }
}
