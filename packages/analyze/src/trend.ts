import {
  type Frame,
  type HeapRecord,
  type Run,
  type TrendSection,
  type TrendSeries,
  callSiteOf,
  isUserAllocation,
} from "@leakscope/core";
import type { Snapshot } from "./diff.js";
import { RttiResolver } from "./rtti.js";

/**
 * Growth over three or more snapshots of one program: one series of live counts and bytes per
 * heap, size class, allocation stack, C++ type and pool tag, its slope in bytes per hour from
 * the capture times, how steadily it grew, and what it looks like (a leak keeps growing; a
 * cache grows, then stops).
 *
 * Memory: the caller walks one input at a time and passes its aggregated {@link Snapshot}; the
 * series hold one count and one byte figure per input and group, never a block.
 */

/** One input of a trend, in capture order. */
export interface TrendInput {
  snapshot: Snapshot;
  /**
   * The process figures of the input by key (`@leakscope/process`'s `processFigures`:
   * `handles:<type>`, `gdi:<type>`, `threads:total`, `memory:outside-heaps`...); absent for
   * kernel dumps and logs.
   */
  process?: ReadonlyMap<string, { kind: string; value: number }>;
  /** Capture time, milliseconds since 1970 (the dump header's time stamp); undefined for logs. */
  capturedAt?: number;
}

export interface TrendOptions {
  /** Suspects reported (default 10). */
  top?: number;
  /** Series listed per kind (default 20). */
  topSeries?: number;
}

/** Series kinds that count objects (handles, GDI objects, threads) rather than bytes. */
export const COUNT_SERIES_KINDS: ReadonlySet<TrendSeries["kind"]> = new Set(["handles", "gdi", "threads"]);

/**
 * Smallest growth a process series needs to count: 64 handles or GDI objects of one type, 8
 * threads, 16 MiB of private memory outside the heaps (as a diff's process evidence).
 */
export const TREND_PROCESS_MIN_GROWTH = { handles: 64, gdi: 64, threads: 8, "virtual-memory": 16 << 20 } as const;

type ProcessKind = keyof typeof TREND_PROCESS_MIN_GROWTH;

/** Which process figures become series, of what kind, with what label (undefined: not followed). */
function processSeriesOf(key: string): { kind: ProcessKind; label: string } | undefined {
  const name = key.slice(key.indexOf(":") + 1);
  if (key === "handles:total" || key === "gdi:total") return undefined;
  if (key.startsWith("handles:")) return { kind: "handles", label: `${name} handles` };
  if (key.startsWith("gdi:")) return { kind: "gdi", label: `GDI ${name} objects` };
  if (key === "threads:total") return { kind: "threads", label: "threads" };
  if (key === "memory:outside-heaps") return { kind: "virtual-memory", label: "committed private memory outside the heaps" };
  return undefined;
}

interface Accumulator {
  key: string;
  kind: TrendSeries["kind"];
  label: string;
  heap?: string;
  size?: number;
  frames?: Frame[];
  counts: Float64Array;
  bytes: Float64Array;
}

const HOUR_MS = 3_600_000;

/** Smallest growth a leak suspect needs: 64 KiB, or 0.5% of the last snapshot's busy bytes. */
export const TREND_MIN_GROWTH_BYTES = 64 * 1024;
export const TREND_MIN_GROWTH_SHARE = 0.005;

/**
 * Add the C++ types of a walked run's busy blocks to its snapshot (as `other` groups of kind
 * `type`), so that trend and diff can follow types too. One vtable lookup per block, cached per
 * vtable by the resolver.
 */
export function addTypesToSnapshot(run: Run, snap: Snapshot): void {
  if (run.target.kind !== "user") return;
  const resolvers = new Map<HeapRecord["view"], RttiResolver>();
  const other = (snap.other ??= new Map());
  // one group per vtable, looked up once: nothing is allocated per block
  const byVtable = new Map<number, { kind: "type"; count: number; bytes: number } | null>();
  const set = run.allocations;
  set.forEachChunk((c, n) => {
    for (let i = 0; i < n; i++) {
      if (!isUserAllocation(c.flags[i]!)) continue;
      const heap = run.heaps[c.heap[i]!];
      const size = c.requestedSize[i]!;
      if (!heap || size < heap.view.space.pointerSize) continue;
      const vt = heap.view.space.ptr(c.userAddress[i]!);
      if (!(vt === vt)) continue;
      let g = byVtable.get(vt);
      if (g === undefined) {
        let r = resolvers.get(heap.view);
        if (!r) {
          r = new RttiResolver(heap.view.space, heap.view.modules.length > 0 ? heap.view.modules : run.target.modules);
          resolvers.set(heap.view, r);
        }
        const t = r.moduleAt(vt) ? r.typeOfVtable(vt) : undefined;
        if (t) {
          const key = `type:${t.name}`;
          g = other.get(key) as { kind: "type"; count: number; bytes: number } | undefined;
          if (!g) other.set(key, (g = { kind: "type", count: 0, bytes: 0 }));
        } else g = null;
        // first words that are not vtables (data, free-list links) are many: remember only a bounded number
        if (g !== null || byVtable.size < 65536) byVtable.set(vt, g);
      }
      if (!g) continue;
      g.count++;
      g.bytes += size;
    }
  });
}

/** Least-squares slope of y over x, and the fit's R² (1 for a straight line, 0 for none). */
export function linearFit(x: ArrayLike<number>, y: ArrayLike<number>): { slope: number; r2: number } {
  const n = Math.min(x.length, y.length);
  if (n < 2) return { slope: 0, r2: 0 };
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += x[i]!;
    sy += y[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return { slope: 0, r2: 0 };
  const slope = sxy / sxx;
  const r2 = syy === 0 ? 0 : (sxy * sxy) / (sxx * syy);
  return { slope, r2 };
}

/**
 * What a byte series looks like:
 * - `growing`: it grew over the whole window (most steps up, the last part still rising);
 * - `started-growing`: flat at first, then rising in every step to the end (a late leak);
 * - `grew-then-stopped`: it grew, then stayed flat to the end (a cache that filled up);
 * - `shrinking`, `flat`, `noisy` (up and down without a direction).
 */
export function classifySeries(bytes: ArrayLike<number>, minGrowth: number): { status: TrendSeries["status"]; steadiness: number; since: number } {
  const n = bytes.length;
  const first = bytes[0]!;
  const last = bytes[n - 1]!;
  const growth = last - first;
  let ups = 0;
  let downs = 0;
  let upBytes = 0;
  let downBytes = 0;
  for (let i = 1; i < n; i++) {
    const d = bytes[i]! - bytes[i - 1]!;
    if (d > 0) {
      ups++;
      upBytes += d;
    } else if (d < 0) {
      downs++;
      downBytes -= d;
    }
  }
  const steps = n - 1;
  // a step counts as flat when it moves less than 2% of the whole growth (noise around a plateau)
  const tolerance = Math.max(1, Math.abs(growth) * 0.02);
  const steadiness = steps > 0 && upBytes + downBytes > 0 ? (ups / steps) * (upBytes / (upBytes + downBytes)) : 0;
  if (growth <= 0) {
    if (growth < -minGrowth && downs > ups) return { status: "shrinking", steadiness: 0, since: 0 };
    return { status: upBytes + downBytes > minGrowth ? "noisy" : "flat", steadiness: 0, since: 0 };
  }
  if (growth < minGrowth) return { status: "flat", steadiness, since: 0 };
  // where the growth happened: the last step that still rose by more than the tolerance
  let lastRise = 0;
  for (let i = 1; i < n; i++) if (bytes[i]! - bytes[i - 1]! > tolerance) lastRise = i;
  // the first step of the final run of rising steps
  let runStart = n - 1;
  while (runStart > 0 && bytes[runStart]! - bytes[runStart - 1]! > tolerance) runStart--;
  const risingToEnd = lastRise === n - 1;
  if (!risingToEnd) {
    // flat (within tolerance) for at least the last two snapshots, or the last third of the window
    const flatSteps = n - 1 - lastRise;
    if (flatSteps >= Math.max(1, Math.floor(steps / 3))) return { status: "grew-then-stopped", steadiness, since: lastRise };
    return { status: "noisy", steadiness, since: 0 };
  }
  const risingSteps = n - 1 - runStart;
  if (risingSteps >= Math.ceil(steps * 0.75) || ups / steps >= 0.75) return { status: "growing", steadiness, since: 0 };
  if (risingSteps >= 2) {
    // flat before the run started?
    let before = 0;
    for (let i = 1; i <= runStart; i++) before += Math.abs(bytes[i]! - bytes[i - 1]!);
    if (before <= Math.max(tolerance, growth * 0.1)) return { status: "started-growing", steadiness: risingSteps / steps, since: runStart + 1 };
  }
  return { status: "noisy", steadiness, since: 0 };
}

/**
 * Series over the inputs (already in capture order), their slopes and statuses, and the leak
 * suspects: series of stacks, types, size classes and pool tags that keep growing, ranked by
 * slope and steadiness. Heaps are reported as series but never as suspects (a heap grows with
 * whatever leaks in it).
 */
export function trendOfSnapshots(inputs: readonly TrendInput[], options: TrendOptions = {}): TrendSection {
  const n = inputs.length;
  const top = options.top ?? 10;
  const topSeries = options.topSeries ?? 20;
  const series = new Map<string, Accumulator>();
  const get = (key: string, init: () => Omit<Accumulator, "counts" | "bytes">): Accumulator => {
    let a = series.get(key);
    if (!a) series.set(key, (a = { ...init(), counts: new Float64Array(n), bytes: new Float64Array(n) }));
    return a;
  };
  const totals = inputs.map(() => ({ count: 0, bytes: 0 }));
  inputs.forEach((x, i) => {
    const s = x.snapshot;
    for (const [k, h] of s.heaps) {
      const a = get(`heap:${k}`, () => ({ key: `heap:${k}`, kind: "heap", label: `heap ${k.slice(k.indexOf(":") + 1)} (${k.slice(0, k.indexOf(":"))}-bit)`, heap: k.slice(k.indexOf(":") + 1) }));
      a.counts[i] = h.count;
      a.bytes[i] = h.bytes;
      totals[i]!.count += h.count;
      totals[i]!.bytes += h.bytes;
    }
    for (const [k, c] of s.classes) {
      const a = get(`class:${k}`, () => ({ key: `class:${k}`, kind: "size-class", label: `size 0x${c.size.toString(16)} in heap ${c.heap}`, heap: c.heap, size: c.size }));
      a.counts[i] = c.count;
      a.bytes[i] = c.bytes;
    }
    for (const [k, st] of s.stacks) {
      const a = get(`stack:${k}`, () => ({ key: `stack:${k}`, kind: "stack", label: stackLabel(st.frames), frames: st.frames }));
      a.counts[i] = st.count;
      a.bytes[i] = st.bytes;
    }
    for (const [k, o] of s.other ?? []) {
      const kind: TrendSeries["kind"] = o.kind === "type" ? "type" : o.kind === "pool-tag" ? "pool-tag" : o.kind === "stack" ? "stack" : o.kind === "size-class" ? "size-class" : "heap";
      const key = kind === "type" ? k : `${kind}:${k}`;
      const a = get(key, () => ({ key, kind, label: kind === "type" ? k.replace(/^type:/, "") : kind === "pool-tag" ? `pool tag '${k}'` : k }));
      a.counts[i] = o.count;
      a.bytes[i] = o.bytes;
    }
    for (const [k, f] of x.process ?? []) {
      const ps = processSeriesOf(k);
      if (!ps) continue;
      const a = get(`process:${k}`, () => ({ key: k, kind: ps.kind, label: ps.label }));
      if (COUNT_SERIES_KINDS.has(ps.kind)) a.counts[i] = f.value;
      else a.bytes[i] = f.value;
    }
    // pool-only inputs: the totals are the tags'
    if (s.heaps.size === 0 && s.other) {
      for (const o of s.other.values()) {
        if (o.kind !== "pool-tag") continue;
        totals[i]!.count += o.count;
        totals[i]!.bytes += o.bytes;
      }
    }
  });

  const times = inputs.map((x) => x.capturedAt);
  const timed = times.every((t) => t !== undefined && Number.isFinite(t)) && new Set(times).size === n;
  const hours = Float64Array.from(inputs, (x, i) => (timed ? (x.capturedAt! - inputs[0]!.capturedAt!) / HOUR_MS : i));
  const lastBusy = totals[n - 1]?.bytes ?? 0;
  const minGrowth = Math.max(TREND_MIN_GROWTH_BYTES, lastBusy * TREND_MIN_GROWTH_SHARE);

  // a process figure some input lacks (no HandleData, no GDI table) would read as growth from 0: not followed
  const figureKinds = (x: TrendInput): Set<string> => new Set([...(x.process ?? new Map()).values()].map((f) => f.kind));
  const kindsPerInput = inputs.map(figureKinds);
  const everywhere = new Set([...(kindsPerInput[0] ?? [])].filter((k) => kindsPerInput.every((x) => x.has(k))));
  const out: TrendSeries[] = [];
  for (const a of series.values()) {
    if (a.kind in TREND_PROCESS_MIN_GROWTH) {
      const s = processSeries(a, hours, timed, everywhere);
      if (s) out.push(s);
      continue;
    }
    const { s, fit, cls } = fitSeries(a, a.bytes, hours, timed, minGrowth, false);
    const growth = s.growth.bytes;
    if (a.heap !== undefined) s.heap = a.heap;
    if (a.size !== undefined) s.size = a.size;
    if (a.frames) s.frames = a.frames;
    if (s.status === "growing" || s.status === "started-growing") {
      // steady growth that is a large part of what the process gained scores high; a small
      // steady series stays below "worth a look"
      const gained = Math.max(1, (totals[n - 1]?.bytes ?? 0) - (totals[0]?.bytes ?? 0));
      const share = Math.min(1, Math.max(0, growth) / Math.max(gained, minGrowth));
      s.score = Math.round(Math.min(1, cls.steadiness * (0.25 + 0.75 * Math.sqrt(share)) * (0.5 + 0.5 * fit.r2)) * 1000) / 1000;
    }
    out.push(s);
  }
  const rankValue = (s: TrendSeries) => s.slopeBytesPerSnapshot * Math.max(s.steadiness, 0.01);
  out.sort((x, y) => y.score - x.score || rankValue(y) - rankValue(x) || x.key.localeCompare(y.key));

  const keepsGrowing = (s: TrendSeries): boolean => s.kind !== "heap" && (s.status === "growing" || s.status === "started-growing");
  const bySlope = out.filter((s) => keepsGrowing(s) && !(s.kind in TREND_PROCESS_MIN_GROWTH)).sort((x, y) => rankValue(y) - rankValue(x) || y.score - x.score);
  // process series (counts, or bytes outside the heaps) join the block series by score
  const byScore = out.filter((s) => keepsGrowing(s) && s.kind in TREND_PROCESS_MIN_GROWTH).sort((x, y) => y.score - x.score || x.key.localeCompare(y.key));
  const merged: TrendSeries[] = [];
  while (bySlope.length > 0 || byScore.length > 0) merged.push(byScore.length > 0 && (bySlope.length === 0 || byScore[0]!.score > bySlope[0]!.score) ? byScore.shift()! : bySlope.shift()!);
  const suspects = merged.slice(0, top).map((s, k) => ({ rank: k + 1, key: s.key }));
  const stopped = out.filter((s) => s.kind !== "heap" && s.status === "grew-then-stopped").slice(0, top).map((s) => s.key);

  // keep every suspect and stopped series, then the top series of each kind
  const keep = new Set<string>([...suspects.map((s) => s.key), ...stopped]);
  const perKind = new Map<string, number>();
  for (const s of out) {
    const k = perKind.get(s.kind) ?? 0;
    if (k < topSeries && (s.growth.bytes !== 0 || s.growth.count !== 0 || s.kind === "heap")) {
      keep.add(s.key);
      perKind.set(s.kind, k + 1);
    }
  }
  return {
    timeBasis: timed ? "capture-time" : "order",
    inputs: inputs.map((x, i) => ({
      path: x.snapshot.path,
      kind: x.snapshot.kind,
      format: x.snapshot.format,
      ...(x.capturedAt !== undefined ? { capturedAt: new Date(x.capturedAt).toISOString() } : {}),
      hours: Math.round(hours[i]! * 1000) / 1000,
      busy: totals[i]!,
    })),
    minGrowthBytes: Math.round(minGrowth),
    series: out.filter((s) => keep.has(s.key)),
    suspects,
    stopped,
  };
}

/**
 * A process series: handles, GDI objects and threads are classified on their counts (slopes in
 * objects per hour and per snapshot), private memory outside the heaps on its bytes. Score when
 * it keeps growing: steadiness × (0.5 + 0.5 × R²) × (0.5 + 0.5 × ramp(growth / first figure,
 * 50% → 400%)).
 */
function processSeries(a: Accumulator, hours: Float64Array, timed: boolean, everywhere: ReadonlySet<string>): TrendSeries | undefined {
  const kind = a.kind as ProcessKind;
  const byCount = COUNT_SERIES_KINDS.has(kind);
  if (!everywhere.has(kind === "virtual-memory" ? "memory" : kind)) return undefined;
  const values = byCount ? a.counts : a.bytes;
  const n = values.length;
  const { s, fit, cls } = fitSeries(a, values, hours, timed, TREND_PROCESS_MIN_GROWTH[kind], byCount);
  if (s.status === "growing" || s.status === "started-growing") {
    const rel = (values[n - 1]! - values[0]!) / Math.max(1, values[0]!);
    const ramp = Math.max(0, Math.min(1, (rel - 0.5) / 3.5));
    s.score = Math.round(Math.min(1, cls.steadiness * (0.5 + 0.5 * fit.r2) * (0.5 + 0.5 * ramp)) * 1000) / 1000;
  }
  return s;
}

/**
 * A series from its figures: the straight-line fit over the hours (or the input order), the
 * shape, growth and slopes; byte slopes for byte series, `slopeCount*` for series of objects.
 * Score 0 (the caller scores what keeps growing).
 */
function fitSeries(a: Accumulator, values: Float64Array, hours: Float64Array, timed: boolean, minGrowth: number, byCount: boolean) {
  const n = values.length;
  const fit = linearFit(hours, values);
  const cls = classifySeries(values, minGrowth);
  const perSnapshot = timed ? linearFit(Float64Array.from(values, (_, i) => i), values).slope : fit.slope;
  const s: TrendSeries = {
    key: a.key,
    kind: a.kind,
    label: a.label,
    counts: Array.from(a.counts),
    bytes: Array.from(a.bytes),
    growth: { count: a.counts[n - 1]! - a.counts[0]!, bytes: a.bytes[n - 1]! - a.bytes[0]! },
    slopeBytesPerHour: byCount || !timed ? 0 : Math.round(fit.slope),
    slopeBytesPerSnapshot: byCount ? 0 : Math.round(perSnapshot),
    r2: Math.round(fit.r2 * 1000) / 1000,
    steadiness: Math.round(cls.steadiness * 1000) / 1000,
    status: cls.status,
    score: 0,
  };
  if (byCount) {
    s.slopeCountPerHour = timed ? Math.round(fit.slope * 100) / 100 : 0;
    s.slopeCountPerSnapshot = Math.round(perSnapshot * 100) / 100;
  }
  if (cls.since > 0) s.since = cls.since;
  return { s, fit, cls };
}

/** The call site (core's rule: the first frame outside the allocator) and its caller. */
function stackLabel(frames: readonly Frame[]): string {
  const site = callSiteOf(frames);
  const at = site ? frames.indexOf(site) : 0;
  return frames.slice(at, at + 2).map((f) => f.text).join(" <- ") || "(empty stack)";
}
