import type { MinidumpFile, ProcessSection, Target, ThreadInfo } from "@leakscope/core";
import { nameAddress, sortModules } from "./format.js";

export type ThreadSummary = ProcessSection["threads"];

/** Stack words scanned per thread for return addresses (a heuristic, like `dps`). */
const STACK_WORDS = 512;
/** Frames kept in a group's `top`: the instruction pointer and the first return addresses. */
const TOP_FRAMES = 3;

/**
 * Thread count, and threads grouped by start address (ThreadInfoList) and top frames (the
 * instruction pointer, then the first words of the stack that point into a module): a thread
 * leak shows as many threads parked at the same place.
 */
export function summarizeThreads(target: Target, md: MinidumpFile | undefined): ThreadSummary {
  const modules = sortModules(target.modules);
  const starts = new Map<number, number>();
  const created = new Map<number, number>();
  for (const i of md?.threadInfos ?? []) {
    starts.set(i.threadId >>> 0, i.startAddress);
    if (i.createTime > 0) created.set(i.threadId >>> 0, i.createTime);
  }
  const groups = new Map<string, { start: string; top: string; count: number; ids: number[]; first: number; last: number }>();
  for (const t of target.threads) {
    const sa = starts.get(t.id >>> 0);
    const start = sa !== undefined && sa !== 0 ? nameAddress(modules, sa) : "?";
    const top = topFrames(target, t, modules).join(" < ") || "?";
    const k = `${start}\u0000${top}`;
    const g = groups.get(k) ?? { start, top, count: 0, ids: [], first: Infinity, last: -Infinity };
    g.count++;
    const ct = created.get(t.id >>> 0);
    if (ct !== undefined) {
      g.first = Math.min(g.first, ct);
      g.last = Math.max(g.last, ct);
    }
    if (g.ids.length < 16) g.ids.push(t.id >>> 0);
    groups.set(k, g);
  }
  const notes: string[] = [];
  if ((md?.threadInfos.length ?? 0) === 0 && target.threads.length > 0) notes.push("The dump has no ThreadInfoList: threads are grouped by their top frames only.");
  return {
    count: target.threads.length,
    groups: [...groups.values()]
      .sort((a, b) => b.count - a.count)
      .slice(0, 20)
      .map(({ first, last, ...g }) => {
        const from = first <= last ? isoOfFiletime(first) : undefined;
        const to = from ? isoOfFiletime(last) : undefined;
        return from && to ? { ...g, created: { first: from, last: to } } : g;
      }),
    notes,
  };
}

function topFrames(target: Target, t: ThreadInfo, modules: ReturnType<typeof sortModules>): string[] {
  const ctx = t.wow64Context ?? t.context;
  if (!ctx || !(ctx.ip === ctx.ip) || ctx.ip === 0) return [];
  const out = [nameAddress(modules, ctx.ip)];
  const view = t.wow64Context ? target.views.find((v) => v.role === "wow64") : target.views.find((v) => v.role === "native");
  if (!view || !(ctx.sp === ctx.sp)) return out;
  const ps = view.bitness / 8;
  const bytes = view.space.read(ctx.sp, STACK_WORDS * ps) ?? view.space.read(ctx.sp, 64 * ps);
  if (!bytes) return out;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at + ps <= bytes.length && out.length < TOP_FRAMES; at += ps) {
    const v = ps === 8 ? dv.getUint32(at + 4, true) * 4294967296 + dv.getUint32(at, true) : dv.getUint32(at, true);
    if (v === 0) continue;
    const name = nameAddress(modules, v);
    if (name.startsWith("0x")) continue;
    out.push(name);
  }
  return out;
}

/** FILETIME (100 ns since 1601) as ISO 8601, undefined when out of range. */
export function isoOfFiletime(ft: number): string | undefined {
  const ms = ft / 10000 - 11644473600000;
  if (!(ms > 0 && ms < 8.64e15)) return undefined;
  return new Date(ms).toISOString();
}
