import { type Evidence, type EvidenceSignal, type LeakKind, SUSPECT_SCORE_FLOOR, type Suspect } from "@leakscope/core";
import { hex, pct } from "./detectors/context.js";

/** Signals that only say "much of the memory is here": correlated, so they do not add up. */
const STRUCTURAL: readonly EvidenceSignal[] = ["dominance", "concentration", "count"];
/** Signals that say "this memory is lost or growing": independent of the structural ones. */
const LEAK: readonly EvidenceSignal[] = ["unreferenced", "growth", "reported"];
/** Each structural signal beyond the strongest adds this much (corroboration, not evidence). */
export const CORROBORATION_BONUS = 0.04;
/** Merged causes scoring below this are noise and not listed. */
export const LISTED_SCORE_FLOOR = 0.02;

/** One merged cause: the records about it and its score. */
export interface Cause {
  keys: string[];
  records: Evidence[];
  score: number;
  leakKind: LeakKind;
}

/**
 * The score of a merged cause, from the strongest record of each signal:
 *
 *   S = max(structural) + 0.04 × (number of other structural signals present)
 *   score = 1 − (1 − S) × (1 − unreferenced) × (1 − growth) × (1 − reported)
 *
 * Structural signals (dominance, concentration, count) describe the same blocks from three sides,
 * so they corroborate rather than add; the built-in ones stay below 0.3 together, because a
 * healthy program also keeps most of its memory in a few classes, stacks and types. The leak
 * signals are independent evidence and combine like independent probabilities.
 */
export function scoreRecords(records: readonly Evidence[]): number {
  const best = new Map<EvidenceSignal, number>();
  for (const r of records) {
    const s = Number.isFinite(r.strength) ? Math.max(0, Math.min(1, r.strength)) : 0;
    if (s > (best.get(r.signal) ?? 0)) best.set(r.signal, s);
  }
  const structural = STRUCTURAL.map((s) => best.get(s) ?? 0).filter((s) => s > 0).sort((a, b) => b - a);
  const s = structural.length > 0 ? Math.min(1, structural[0]! + CORROBORATION_BONUS * (structural.length - 1)) : 0;
  let keep = 1 - s;
  for (const sig of LEAK) keep *= 1 - (best.get(sig) ?? 0);
  return Math.max(0, Math.min(1, 1 - keep));
}

/**
 * Merge records whose cause keys intersect (union-find over keys): a size class whose blocks come
 * from one stack and are one C++ type carries `class:`, `stack:` and `type:` keys, so its records,
 * the stack's and the type's become one cause; `class:*:<size>` meets that size in every heap.
 * `size` records are never causes.
 */
export function mergeEvidence(records: readonly Evidence[]): Cause[] {
  const usable = records.filter((r) => r.signal !== "size" && r.keys.length > 0);
  const parent = new Map<string, string>();
  const find = (k: string): string => {
    let root = k;
    while (parent.get(root) !== root) root = parent.get(root)!;
    let cur = k;
    while (cur !== root) {
      const next = parent.get(cur)!;
      parent.set(cur, root);
      cur = next;
    }
    return root;
  };
  for (const r of usable) {
    for (const k of r.keys) if (!parent.has(k)) parent.set(k, k);
    const first = find(r.keys[0]!);
    for (const k of r.keys.slice(1)) {
      const other = find(k);
      if (other !== first) parent.set(other, first);
    }
  }
  // `class:*:<size>` (a size in any heap, as logs often give it) meets every `class:<heap>:<size>`
  const anyHeap = [...parent.keys()].filter((k) => k.startsWith("class:*:"));
  for (const k of anyHeap) {
    const size = k.slice("class:*:".length);
    for (const other of parent.keys()) {
      if (other !== k && other.startsWith("class:") && other.endsWith(`:${size}`) && find(other) !== find(k)) parent.set(find(other), find(k));
    }
  }
  const byRoot = new Map<string, Cause>();
  for (const r of usable) {
    const root = find(r.keys[0]!);
    let c = byRoot.get(root);
    if (!c) byRoot.set(root, (c = { keys: [], records: [], score: 0, leakKind: "heap" }));
    c.records.push(r);
    for (const k of r.keys) if (!c.keys.includes(k)) c.keys.push(k);
  }
  const causes = [...byRoot.values()];
  for (const c of causes) {
    c.score = scoreRecords(c.records);
    c.leakKind = c.records.find((r) => r.leakKind !== undefined && r.leakKind !== "heap")?.leakKind ?? (c.records.some((r) => r.tag !== undefined) ? "pool" : "heap");
  }
  return causes.sort((a, b) => b.score - a.score || maxBytes(b) - maxBytes(a));
}

const SIGNAL_WORDS: Record<EvidenceSignal, string> = {
  unreferenced: "unreferenced blocks",
  growth: "growth between snapshots",
  reported: "figures the input reported",
  dominance: "a dominant size class",
  concentration: "one allocation stack",
  count: "a C++ type in numbers",
  size: "size",
};

/** What a non-heap kind's own records (not growth) rest on, in words. */
const KIND_WORDS: Partial<Record<LeakKind, string>> = {
  handles: "a handle count far above the usual",
  gdi: "GDI objects near the quota",
  threads: "many threads parked at one place",
  "virtual-memory": "private memory outside the heaps",
};

/** What a cause rests on, strongest signal first, in words (for the verdict's reason). */
export function signalWords(cause: Cause): string[] {
  const best = new Map<EvidenceSignal, number>();
  for (const r of cause.records) best.set(r.signal, Math.max(best.get(r.signal) ?? 0, r.strength));
  return [...best.entries()]
    .filter(([sig, v]) => sig !== "size" && v > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([sig]) => (sig !== "growth" && KIND_WORDS[cause.leakKind]) || SIGNAL_WORDS[sig]);
}

/** {@link signalWords} of the cause behind a card built by {@link suspectsOf}. */
export function signalWordsOf(causes: readonly Cause[], s: Suspect): string[] {
  const c = causes.find((x) => x.keys === s.keys);
  return c ? signalWords(c) : [];
}

function maxBytes(c: Cause): number {
  return Math.max(0, ...c.records.map((r) => r.bytes));
}

/** What the card builder needs from the run. */
export interface CardContext {
  /** Busy bytes of the process (percent of cards other than size classes). */
  totalBytes: number;
  /** Busy bytes of a heap by its address (percent of size-class cards). */
  heapBytes(heap: string): number;
  /** The stack id of `analysis.stacks` a `stack:` key names, if listed there. */
  stackId(key: string): number | undefined;
  /** Generic next step when the input has no allocation stacks (said once in the report, referred to here). */
  noStackStep: string;
}

const byStrength = (a: Evidence, b: Evidence) => b.strength - a.strength;

/** One card per cause: the kind, title and facts are taken from all of its records. */
export function buildSuspect(cause: Cause, ctx: CardContext): Suspect {
  const rs = [...cause.records].sort(byStrength);
  const classKeys = cause.keys.filter((k) => k.startsWith("class:"));
  const stackKey = cause.keys.find((k) => k.startsWith("stack:"));
  const withStack = rs.find((r) => r.stack && r.stack.length > 0 && r.detector !== "size-class") ?? rs.find((r) => r.stack && r.stack.length > 0);
  const typeName = rs.find((r) => r.typeName)?.typeName;
  const tag = rs.find((r) => r.tag)?.tag;
  const sizes = [...new Set(rs.flatMap((r) => (r.size !== undefined ? [r.size] : (r.sizes ?? []))))].sort((a, b) => a - b);
  const classRecord = rs.find((r) => r.detector === "size-class") ?? rs.find((r) => r.keys[0]?.startsWith("class:") && r.size !== undefined);
  const leadFacts = rs.reduce((a, r) => (r.bytes > a.bytes ? r : a), rs[0]!);
  const delta = rs.find((r) => r.delta)?.delta;
  const callSite = withStack?.callSite ?? rs.find((r) => r.callSite)?.callSite;
  const nonHeapKind = cause.leakKind !== "heap" && cause.leakKind !== "pool" ? cause.leakKind : undefined;
  // A cause resting on growth alone, led by a record that titles itself (a UMDH backtrace that
  // grew, a heap's commit between two `!heap -s`): nothing describes its blocks but the growth, so
  // the card is that growth. Growth of blocks a dump shows (size classes, stacks) keeps their kind.
  const titledGrowth = rs[0]!.signal === "growth" && rs[0]!.title !== undefined && !rs.some((r) => STRUCTURAL.includes(r.signal));

  let kind: Suspect["kind"];
  if (nonHeapKind) kind = nonHeapKind;
  else if (tag !== undefined) kind = "pool-tag";
  else if (titledGrowth) kind = "growth";
  else if (classKeys.length === 1 && sizes.length <= 1) kind = "size-class";
  else if (stackKey) kind = "call-site";
  else if (typeName) kind = "type";
  else if (rs.some((r) => r.detector === "fragmentation")) kind = "fragmentation";
  else if (rs.some((r) => r.signal === "unreferenced")) kind = "unreferenced";
  else if (delta) kind = "growth";
  else kind = classKeys.length > 0 ? "size-class" : "heap";

  // Figures: a single size class speaks for the card; otherwise the widest record (a stack's
  // blocks of every size) does.
  const stackRecord = stackKey ? (rs.find((r) => r.detector === "stack") ?? rs.find((r) => r.keys[0] === stackKey)) : undefined;
  const facts = kind === "size-class" && classRecord ? classRecord : kind === "call-site" && stackRecord ? stackRecord : leadFacts;
  const count = facts.count;
  const bytes = facts.bytes;
  const heap = facts.heap ?? rs.find((r) => r.heap)?.heap;
  const of = typeName ? ` of ${typeName}` : "";
  const at = callSite ? ` allocated at ${callSite}` : "";
  let title: string;
  switch (kind) {
    case "size-class":
      // a size in any heap (a log's `class:*:` key) is a share of all busy bytes, when there are any
      title = `${count} × ${hex(sizes[0] ?? 0)}-byte blocks${of}${at}${heap ? ` (${pct(bytes, ctx.heapBytes(heap))}% of heap ${heap})` : ctx.totalBytes > 0 ? ` (${pct(bytes, ctx.totalBytes)}% of all busy bytes)` : ""}`;
      break;
    case "call-site":
      title = `${count} live blocks (${hex(bytes)} bytes${sizes.length > 0 ? ` in ${sizes.length} size(s)` : ""})${of} allocated at ${callSite ?? "an unknown site"}`;
      break;
    case "type":
      title = `${count} live objects of ${typeName} (${hex(bytes)} bytes)`;
      break;
    case "unreferenced":
      title = `${count} unreferenced ${sizes.length === 1 ? `${hex(sizes[0]!)}-byte ` : ""}blocks${heap ? ` in heap ${heap}` : ""}`;
      break;
    default:
      title = rs.find((r) => r.title)?.title ?? rs[0]!.text;
  }
  if (delta && kind !== "growth" && delta.count !== 0) title += `, +${delta.count} since the earlier snapshot`;

  const nextStep =
    rs.find((r) => r.nextStep && (r.signal !== "unreferenced" || !callSite))?.nextStep ??
    (callSite
      ? `Check the allocation at ${callSite}: ${typeName ? `its ${typeName} objects` : "its blocks"} are still alive; find where they should be freed.`
      : typeName
        ? `Check who creates ${typeName} objects and where they are deleted.`
        : ctx.noStackStep);
  const evidence = factsOnce(rs);
  const s: Suspect = {
    rank: 0,
    kind,
    title,
    score: Math.round(cause.score * 1000) / 1000,
    count,
    bytes,
    percent: pct(bytes, kind === "size-class" && heap ? ctx.heapBytes(heap) : ctx.totalBytes),
    samples: (facts.samples && facts.samples.length > 0 ? facts : rs.find((r) => r.samples && r.samples.length > 0))?.samples?.slice(0, 5) ?? [],
    evidence,
    nextStep,
    keys: cause.keys,
  };
  if (heap && (kind === "size-class" || kind === "unreferenced" || kind === "fragmentation" || kind === "heap" || kind === "growth")) s.heap = heap;
  if (sizes.length === 1) s.size = sizes[0]!;
  if (sizes.length > 1) s.sizes = sizes.slice(0, 16);
  if (delta) s.delta = delta;
  if (withStack?.stack) s.stack = withStack.stack;
  if (callSite) s.callSite = callSite;
  const sid = stackKey ? ctx.stackId(stackKey) : undefined;
  if (sid !== undefined) s.stackId = sid;
  if (typeName) s.typeName = typeName;
  if (tag !== undefined) s.tag = tag;
  return s;
}

/**
 * The card's evidence lines, each fact once: a record about exactly the same blocks (count and
 * bytes) as a stronger one of the same family (structural, or the same leak signal) adds nothing.
 */
function factsOnce(rs: readonly Evidence[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const r of rs) {
    const family = STRUCTURAL.includes(r.signal) ? "structural" : r.signal;
    const key = `${family}/${r.count}/${r.bytes}`;
    if (seen.has(key) || out.includes(r.text)) continue;
    seen.add(key);
    out.push(r.text);
  }
  return out;
}

/** Rank the causes, keep the `top` first above the listing floor. */
export function suspectsOf(causes: readonly Cause[], ctx: CardContext, top: number): Suspect[] {
  return causes
    .filter((c) => c.score >= LISTED_SCORE_FLOOR)
    .slice(0, top)
    .map((c, k) => ({ ...buildSuspect(c, ctx), rank: k + 1 }));
}

export { SUSPECT_SCORE_FLOOR };
