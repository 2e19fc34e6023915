import type { ProcessGrowthRow, ProcessSection } from "@leakscope/core";

/** The figures of one snapshot `diff` compares, by key. */
export function processFigures(p: ProcessSection): Map<string, { kind: ProcessGrowthRow["kind"]; value: number }> {
  const out = new Map<string, { kind: ProcessGrowthRow["kind"]; value: number }>();
  const c = p.composition;
  out.set("memory:committed", { kind: "memory", value: c.committed });
  out.set("memory:image", { kind: "memory", value: c.committedByType.image });
  out.set("memory:mapped", { kind: "memory", value: c.committedByType.mapped });
  out.set("memory:private", { kind: "memory", value: c.committedByType.private });
  out.set("memory:heaps", { kind: "memory", value: c.heaps.reduce((s, h) => s + h.committed, 0) });
  const unknown = c.usage.find((u) => u.name === "<unknown>");
  out.set("memory:outside-heaps", { kind: "memory", value: unknown?.committed ?? 0 });
  for (const [k, v] of Object.entries(p.composition.vmCounters ?? {})) {
    if (k === "privateUsage" || k === "pagefileUsage") out.set(`memory:counter:${k}`, { kind: "memory", value: v });
  }
  if (p.handles.source !== "none") {
    out.set("handles:total", { kind: "handles", value: p.handles.total });
    for (const t of p.handles.byType) out.set(`handles:${t.type}`, { kind: "handles", value: t.count });
  }
  if (p.gdi.status === "present") {
    out.set("gdi:total", { kind: "gdi", value: p.gdi.total });
    for (const t of p.gdi.byType) out.set(`gdi:${t.type}`, { kind: "gdi", value: t.count });
  }
  out.set("threads:total", { kind: "threads", value: p.threads.count });
  for (const g of p.threads.groups) out.set(`threads:${g.start}`, { kind: "threads", value: (out.get(`threads:${g.start}`)?.value ?? 0) + g.count });
  return out;
}

/**
 * Compare the process figures of two snapshots: committed bytes (by type, in heaps, outside
 * them), handles by type, GDI objects by type and threads by start address. Only changed
 * figures are listed, largest relative growth first (a type from 20 to 20,000 handles before a
 * megabyte more of image). Figures one snapshot lacks (no HandleData, no GDI table) are left out.
 */
export function diffProcess(before: ProcessSection, after: ProcessSection, top = 50): ProcessGrowthRow[] {
  const b = processFigures(before);
  const a = processFigures(after);
  const rows: ProcessGrowthRow[] = [];
  const kindsOf = (m: typeof b): Set<ProcessGrowthRow["kind"]> => new Set([...m.values()].map((x) => x.kind));
  const kb = kindsOf(b);
  const ka = kindsOf(a);
  const bothHave = (kind: ProcessGrowthRow["kind"]): boolean => kind === "memory" || kind === "threads" || (kb.has(kind) && ka.has(kind));
  for (const key of new Set([...b.keys(), ...a.keys()])) {
    const kind = (a.get(key) ?? b.get(key))!.kind;
    if (!bothHave(kind)) continue;
    const bv = b.get(key)?.value ?? 0;
    const av = a.get(key)?.value ?? 0;
    if (bv === av) continue;
    rows.push({ key, kind, before: bv, after: av, delta: av - bv });
  }
  const rel = (r: ProcessGrowthRow): number => r.delta / Math.max(1, r.before);
  rows.sort((x, y) => rel(y) - rel(x) || y.delta - x.delta || x.key.localeCompare(y.key));
  return rows.slice(0, top);
}
