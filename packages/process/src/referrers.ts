import { type MinidumpFile, type Target, formatAddress } from "@leakscope/core";
import { type AllocationGroup, type Composition, findGroup } from "./composition.js";
import { nameAddress, sortModules } from "./format.js";

/** Most bytes of captured memory read looking for pointers (module data and thread stacks). */
const MAX_SCAN_BYTES = 32 << 20;
/** Most referrers listed per size group. */
const MAX_REFERRERS = 4;

/**
 * Find which module data or thread stack holds a pointer into the allocations of the listed
 * private size groups ("who points at them"), reading only captured memory of images and
 * stacks, at most 32 MiB. Cheap on purpose: heaps are not scanned.
 */
export function findReferrers(target: Target, md: MinidumpFile | undefined, loose: readonly AllocationGroup[], composition: Composition): void {
  const rows = composition.privateGroups;
  if (!md || rows.length === 0 || loose.length === 0) return;
  const sizes = new Map<number, number>();
  rows.forEach((r, i) => sizes.set(r.size, i));
  const targets = loose.filter((g) => sizes.has(g.end - g.base)).sort((a, b) => a.base - b.base);
  if (targets.length === 0) return;
  const lo = targets[0]!.base;
  const hi = targets[targets.length - 1]!.end;
  const modules = sortModules(target.modules);
  const stacks = target.threads.map((t) => ({ lo: t.stack.address, hi: t.stack.address + t.stack.size, id: t.id }));
  const view = target.views[target.views.length - 1];
  if (!view) return;
  const ps = view.bitness === 64 ? 8 : 4;
  const found: Set<string>[] = rows.map(() => new Set<string>());
  let budget = MAX_SCAN_BYTES;
  for (const r of md.memory) {
    if (budget <= 0) break;
    const inModule = modules.some((m) => r.address >= m.base && r.address < m.base + m.size);
    const stack = stacks.find((s) => r.address < s.hi && r.address + r.size > s.lo);
    if (!inModule && !stack) continue;
    const n = Math.min(r.size, budget);
    budget -= n;
    const bytes = view.space.read(r.address, n);
    if (!bytes) continue;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = 0; at + ps <= bytes.length; at += ps) {
      const v = ps === 8 ? dv.getUint32(at + 4, true) * 4294967296 + dv.getUint32(at, true) : dv.getUint32(at, true);
      if (v < lo || v >= hi) continue;
      const k = findGroup(targets, v);
      if (k < 0) continue;
      const row = sizes.get(targets[k]!.end - targets[k]!.base)!;
      const set = found[row]!;
      if (set.size >= MAX_REFERRERS) continue;
      const where = r.address + at;
      set.add(stack && where >= stack.lo && where < stack.hi ? `stack of thread 0x${stack.id.toString(16)} at ${formatAddress(where)}` : nameAddress(modules, where));
    }
  }
  rows.forEach((r, i) => (r.referrers = [...found[i]!]));
}
