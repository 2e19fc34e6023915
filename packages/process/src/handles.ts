import type { ProcessSection } from "@leakscope/core";

export type HandleSummary = ProcessSection["handles"];

/** One handle as the dump's HandleData stream or a `!handle 0 f` listing gives it. */
export interface HandleEntry {
  typeName?: string | undefined;
  objectName?: string | undefined;
  handleCount?: number;
  pointerCount?: number;
}

/** Label for handles whose type name the dump did not record. */
export const NO_TYPE = "(no type name)";

/**
 * Counts of one object type a busy but healthy process rarely exceeds (desktop applications,
 * services, browsers hold a few hundred to a couple of thousand handles in all). A type above its
 * figure is flagged; a leak usually sits far above it (tens of thousands).
 */
export const TYPICAL_HANDLE_COUNTS: Readonly<Record<string, number>> = {
  Event: 2000,
  File: 1000,
  Key: 1000,
  Section: 1000,
  Semaphore: 1000,
  Mutant: 500,
  Thread: 500,
  Process: 200,
  Token: 200,
  Desktop: 20,
  WindowStation: 20,
  Directory: 100,
  IoCompletion: 200,
  "ALPC Port": 200,
  Timer: 500,
  IRTimer: 500,
  TpWorkerFactory: 100,
  WaitCompletionPacket: 1000,
  EtwRegistration: 2000,
  Job: 50,
  SymbolicLink: 100,
};
/** Typical count for a type not in {@link TYPICAL_HANDLE_COUNTS}. */
export const TYPICAL_HANDLE_DEFAULT = 1000;
/** Total handle count above which a process is flagged whatever the types. */
export const TYPICAL_HANDLE_TOTAL = 10000;

export function typicalCount(type: string): number {
  return TYPICAL_HANDLE_COUNTS[type] ?? TYPICAL_HANDLE_DEFAULT;
}

/**
 * Summarize handles: counts (and summed handle/pointer counts) by type, most frequent first,
 * the most repeated object names, and types above their typical count flagged.
 */
export function summarizeHandles(source: string, handles: readonly HandleEntry[], claimed?: number): HandleSummary {
  const byType = new Map<string, { count: number; handleCount: number; pointerCount: number }>();
  const names = new Map<string, { type: string; name: string; count: number }>();
  for (const h of handles) {
    const type = h.typeName && h.typeName.length > 0 ? h.typeName : NO_TYPE;
    const row = byType.get(type) ?? { count: 0, handleCount: 0, pointerCount: 0 };
    row.count++;
    row.handleCount += h.handleCount ?? 0;
    row.pointerCount += h.pointerCount ?? 0;
    byType.set(type, row);
    if (h.objectName && h.objectName.length > 0) {
      const k = `${type}\u0000${h.objectName}`;
      const n = names.get(k) ?? { type, name: h.objectName, count: 0 };
      n.count++;
      names.set(k, n);
    }
  }
  const notes: string[] = [];
  if (claimed !== undefined && claimed > handles.length) notes.push(`The stream claims ${claimed} handles; ${handles.length} could be read.`);
  return {
    source,
    total: handles.length,
    byType: [...byType.entries()]
      .map(([type, v]) => ({ type, ...v, ...(type !== NO_TYPE && v.count > typicalCount(type) ? { typical: typicalCount(type) } : {}) }))
      // handles without a recorded type are not a type: listed last
      .sort((a, b) => Number(a.type === NO_TYPE) - Number(b.type === NO_TYPE) || b.count - a.count || a.type.localeCompare(b.type)),
    names: [...names.values()].filter((n) => n.count >= 2).sort((a, b) => b.count - a.count || a.name.localeCompare(b.name)).slice(0, 10),
    notes,
  };
}
