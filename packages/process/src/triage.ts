import { type AnalysisSection, type Evidence, type ProcessSection, SUSPECT_SCORE_FLOOR } from "@leakscope/core";
import type { CompositionResult } from "./composition.js";
import { human, thousands } from "./format.js";
import type { GdiSummary } from "./gdi.js";
import { type HandleSummary, NO_TYPE, TYPICAL_HANDLE_TOTAL, typicalCount } from "./handles.js";
import type { ThreadSummary } from "./threads.js";

export type TriageRow = ProcessSection["triage"][number];

/** Floors of the triage (what counts as an abnormal share), exported for the README and tests. */
export const TRIAGE_FLOORS = {
  /** Private bytes in no heap, stack, TEB or PEB: at least this much... */
  looseBytes: 64 << 20,
  /** ...and at least this share of the committed private bytes. */
  looseShare: 0.5,
  /** Or one size of loose private allocations repeated this often, holding `groupBytes`. */
  groupCount: 32,
  groupBytes: 32 << 20,
  /** GDI objects: this share of the quota. */
  gdiShare: 0.5,
  /**
   * Threads: at least this many in one group, and the group at least `threadShare` of all
   * threads (thread pools park tens of idle workers at one wait in healthy processes).
   */
  threadGroup: 100,
  threadShare: 0.5,
} as const;

const clamp = (x: number): number => Math.round(Math.max(0, Math.min(0.95, x)) * 100) / 100;

/** The process facts the triage reads. */
export interface ProcessFacts {
  composition: CompositionResult;
  handles: HandleSummary;
  gdi: GdiSummary;
  threads: ThreadSummary;
  /**
   * Runtimes whose own heaps live in VirtualAlloc'd memory (`.NET`, `Java`): their memory outside
   * the NT heaps is expected, so it counts less, and the next step names the runtime's tools.
   */
  runtimes: string[];
}

const RUNTIME_MODULES: [RegExp, string, string][] = [
  [/^(clr|coreclr|mscorwks|mscorsvr)\.dll$/i, ".NET", "the managed heap with SOS (`!dumpheap -stat`) or dotnet-dump analyze"],
  [/^jvm\.dll$/i, "Java", "the Java heap with a heap dump (jcmd GC.heap_dump) and a heap analyzer"],
];

/** The runtimes with their own heaps among module names. */
export function runtimesOf(moduleNames: readonly string[]): string[] {
  const out = new Set<string>();
  for (const n of moduleNames) for (const [re, name] of RUNTIME_MODULES) if (re.test(n)) out.add(name);
  return [...out];
}

/**
 * Evidence about the non-heap kinds of leak: handle types far above their typical count, GDI
 * objects near the quota, many threads parked at one place, private memory VirtualAlloc'd outside
 * any heap. Each record names its cause (`handles:<type>`, `gdi:<type>`, `threads:<start>`,
 * `region:<base>`) and carries `leakKind`.
 */
export function processEvidence(facts: ProcessFacts): Evidence[] {
  const out: Evidence[] = handleEvidence(facts.handles);
  const g = facts.gdi;
  if (g.status === "present" && g.total >= g.quota * TRIAGE_FLOORS.gdiShare && g.byType[0]) {
    const top = g.byType[0];
    out.push({
      detector: "gdi",
      signal: "count",
      keys: [`gdi:${top.type}`],
      strength: clamp(0.4 + (g.total / g.quota - TRIAGE_FLOORS.gdiShare) * 1.1),
      count: g.total,
      bytes: 0,
      leakKind: "gdi",
      title: `${thousands(g.total)} GDI objects (${top.type} ${thousands(top.count)})`,
      text: `The process owns ${thousands(g.total)} GDI objects, ${Math.round((g.total / g.quota) * 100)}% of the ${thousands(g.quota)} per-process quota; ${g.byType
        .slice(0, 4)
        .map((t) => `${t.type} ${thousands(t.count)}`)
        .join(", ")}.`,
      nextStep: `Find what creates the ${top.type} objects and never deletes them (DeleteObject, DeleteDC, ReleaseDC): watch the GDI objects column in Task Manager or GDIView while the leak runs.`,
      source: "PEB.GdiSharedHandleTable",
    });
  }
  const th = facts.threads;
  const tg = th.groups[0];
  if (tg && tg.count >= TRIAGE_FLOORS.threadGroup && tg.count >= th.count * TRIAGE_FLOORS.threadShare) {
    out.push({
      detector: "threads",
      signal: "count",
      keys: [`threads:${tg.start}`],
      strength: clamp(0.3 + 0.15 * Math.log2(tg.count / 50)),
      count: tg.count,
      bytes: 0,
      leakKind: "threads",
      title: `${thousands(tg.count)} threads parked at ${tg.top}`,
      text:
        `${thousands(tg.count)} of the ${thousands(th.count)} threads started at ${tg.start} and wait at ${tg.top}` +
        (tg.created && tg.created.first !== tg.created.last ? `; they were created from ${tg.created.first} to ${tg.created.last}.` : "."),
      nextStep: `Look at the parking stack (\`~*k\` and the threads ${tg.ids
        .slice(0, 3)
        .map((i) => `0x${i.toString(16)}`)
        .join(", ")}): who creates threads starting at ${tg.start} and why they never end (a wait that is never signalled, a pool that only grows).`,
      source: "ThreadList/ThreadInfoList",
    });
  }
  const c = facts.composition.composition;
  const privateCommitted = c.committedByType.private;
  const loose = facts.composition.loose.reduce((s, x) => s + x.committed, 0);
  const pg = c.privateGroups[0];
  const shareOk = loose >= TRIAGE_FLOORS.looseBytes && loose >= privateCommitted * TRIAGE_FLOORS.looseShare;
  const groupOk = pg !== undefined && pg.count >= TRIAGE_FLOORS.groupCount && pg.committed >= TRIAGE_FLOORS.groupBytes;
  if ((shareOk || groupOk) && pg) {
    const share = privateCommitted > 0 ? loose / privateCommitted : 0;
    const runtime = RUNTIME_MODULES.find(([, name]) => facts.runtimes.includes(name));
    out.push({
      detector: "virtual-memory",
      signal: "dominance",
      keys: [`region:${pg.samples[0]}`],
      // a runtime's own heap is expected there: 0.2 less, after the cap
      strength: clamp(clamp(0.3 + 0.5 * share + (groupOk ? 0.1 * Math.log2(pg.count / TRIAGE_FLOORS.groupCount + 1) : 0)) - (runtime ? 0.2 : 0)),
      count: pg.count,
      bytes: pg.committed,
      leakKind: "virtual-memory",
      title: `${thousands(pg.count)} private allocations of ${human(pg.size)} outside the heaps`,
      text:
        `${human(loose)} of the ${human(privateCommitted)} committed private bytes (${Math.round(share * 100)}%) belong to no heap, stack or TEB: memory allocated with VirtualAlloc directly; ` +
        `the largest group is ${thousands(pg.count)} allocations of ${human(pg.size)} (${human(pg.committed)} committed, e.g. ${pg.samples.slice(0, 2).join(", ")}).` +
        (pg.referrers.length > 0 ? ` Pointers to them are held at ${pg.referrers.slice(0, 2).join(", ")}.` : "") +
        (runtime ? ` The process runs ${runtime[1]}, whose heap lives in such memory.` : ""),
      nextStep: `${runtime ? `Look at ${runtime[2]}; for the rest, look at` : "Look at"} the allocation bases (\`!address ${pg.samples[0] ?? ""}\`) and at who points at them${pg.referrers[0] ? ` (${pg.referrers[0]})` : ""}; find the VirtualAlloc calls of ${human(pg.size)} without VirtualFree (a breakpoint on KERNELBASE!VirtualAlloc, or ETW VirtualAlloc events).`,
      samples: pg.samples,
      source: "MemoryInfoList",
    });
  }
  return out;
}

/**
 * Evidence about handles: types far above their typical count (or, when none is, the largest
 * type of a process above {@link TYPICAL_HANDLE_TOTAL} handles), keyed `handles:<type>`. From
 * a dump's HandleData or a log's `!handle` output alike.
 */
export function handleEvidence(h: HandleSummary): Evidence[] {
  const out: Evidence[] = [];
  const flagged = h.byType.filter((t) => t.typical !== undefined);
  const heavy = flagged.length > 0 ? flagged : h.total > TYPICAL_HANDLE_TOTAL && h.byType[0] ? [h.byType[0]] : [];
  for (const t of heavy) {
    const typical = t.typical ?? typicalCount(t.type);
    const name = h.names.find((n) => n.type === t.type);
    const typeArg = t.type === NO_TYPE ? "" : ` ${t.type}`;
    out.push({
      detector: "handles",
      signal: "count",
      keys: [`handles:${t.type}`],
      strength: clamp(0.35 + 0.15 * Math.log2(Math.max(1, t.count / typical))),
      count: t.count,
      bytes: 0,
      leakKind: "handles",
      title: `${thousands(t.count)} ${t.type} handles`,
      text:
        `The process holds ${thousands(t.count)} ${t.type} handles (${thousands(h.total)} in all; a process rarely needs more than ${thousands(typical)}).` +
        (name ? ` ${thousands(name.count)} of them name "${name.name}".` : ""),
      nextStep: `List the${typeArg} handles with their names (\`!handle 0 f${typeArg}\`); find the code that opens them without closing them: \`!htrace -enable\`, run until more leak, then \`!htrace -diff\`, or Application Verifier's Handles check.`,
      source: h.source,
    });
  }
  return out;
}

/** The suspect kinds of the process facts: any other suspect kind is a heap one. */
const NON_HEAP_KINDS = new Set(["handles", "gdi", "threads", "virtual-memory"]);

/**
 * The triage table: one row per kind (heap, private virtual memory, handles, GDI objects,
 * threads), abnormal ones first (strongest first), each with its figures and next step.
 */
export function triageRows(facts: ProcessFacts, evidence: readonly Evidence[], analysis: AnalysisSection | undefined): TriageRow[] {
  const rows: (TriageRow & { strength: number })[] = [];
  const c = facts.composition.composition;
  const heapCommitted = c.heaps.reduce((s, x) => s + x.committed, 0);
  // heaps are private memory, but the CSRSS shared heap is a mapped view
  const heapShare = `heaps hold ${human(heapCommitted)} of the ${human(c.committedByType.private + c.committedByType.mapped)} committed private and mapped bytes`;
  const heapLead = analysis?.suspects.find((s) => !NON_HEAP_KINDS.has(s.kind) && s.score >= SUSPECT_SCORE_FLOOR);
  rows.push({
    kind: "heap",
    abnormal: heapLead !== undefined,
    strength: heapLead?.score ?? 0,
    text: heapLead
      ? `Heap suspect #${heapLead.rank}: ${heapLead.title} (score ${heapLead.score}); ${heapShare}.`
      : `${c.heaps.length} heap(s); ${heapShare}.`,
    nextStep: heapLead ? heapLead.nextStep || "Look at the heap suspects of `leakscope analyze`." : "Run `leakscope analyze` for the heap suspects (heaps, size classes, allocation stacks).",
  });
  const byKind = new Map<string, Evidence>();
  for (const e of evidence) if (e.leakKind && !byKind.has(e.leakKind)) byKind.set(e.leakKind, e);
  const h = facts.handles;
  const g = facts.gdi;
  const th = facts.threads;
  const loose = facts.composition.loose.reduce((s, x) => s + x.committed, 0);
  const plain: Record<"virtual-memory" | "handles" | "gdi" | "threads", { text: string; next: string }> = {
    "virtual-memory": {
      text: `${human(loose)} of committed private memory belongs to no heap, stack or TEB (${facts.composition.loose.length} allocations).`,
      next: "Nothing to do unless it grows between two dumps (`leakscope diff`).",
    },
    handles: {
      text:
        h.source === "none"
          ? "The dump has no HandleData stream: handles cannot be judged (take the dump with procdump -ma)."
          : `${thousands(h.total)} handles${h.byType.length ? `: ${h.byType.slice(0, 4).map((t) => `${t.type} ${t.count}`).join(", ")}` : ""}.`,
      next: h.source === "none" ? "Take the dump with handle data (procdump -ma)." : "Nothing to do unless a type grows between two dumps.",
    },
    gdi: { text: g.note, next: g.status === "not-captured" ? "Take a full-memory dump to count GDI objects." : "Nothing to do unless the count grows toward the quota." },
    threads: {
      text: `${thousands(th.count)} thread(s)${th.groups[0] ? `; the largest group, ${th.groups[0].count}, started at ${th.groups[0].start}` : ""}.`,
      next: "Nothing to do unless the count grows between two dumps.",
    },
  };
  for (const kind of ["virtual-memory", "handles", "gdi", "threads"] as const) {
    const e = byKind.get(kind);
    rows.push(
      e
        ? { kind, abnormal: true, strength: e.strength, text: e.text, key: e.keys[0]!, nextStep: e.nextStep ?? "" }
        : { kind, abnormal: false, strength: 0, text: plain[kind].text, nextStep: plain[kind].next },
    );
  }
  rows.sort((a, b) => Number(b.abnormal) - Number(a.abnormal) || b.strength - a.strength);
  return rows.map(({ strength: _s, ...r }) => r);
}
