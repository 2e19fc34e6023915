/**
 * Snapshot series for `leakscope trend` and its accuracy benchmark: one program dumped 3 to 6
 * times, minutes apart, with a workload that churns (sizes that go up and down), a cache that
 * fills and then holds, and, depending on the scenario, a leak. Seeded and deterministic.
 */
import { Rng } from "./fuzz.js";
import { buildProcessDump } from "./process.js";

export const TREND_SCENARIO_KINDS = ["steady-leak", "slow-leak-noisy", "plateau-only", "late-leak"] as const;
export type TrendScenarioKind = (typeof TREND_SCENARIO_KINDS)[number];

export interface TrendScenario {
  name: string;
  kind: TrendScenarioKind;
  /** The dumps, in capture order (each a complete minidump). */
  snapshots: Uint8Array[];
  /** Capture times (seconds since 1970) written in the dump headers. */
  times: number[];
  /** The leaking size class (requested bytes), undefined when nothing leaks. */
  leakSize: number | undefined;
  /** The cache's size class: it grows, then stays flat; never a leak. */
  plateauSize: number;
  /** The churning size classes: never leaks. */
  churnSizes: number[];
}

const CHURN_SIZES = [0x18, 0x20, 0x30, 0x48, 0x60, 0x90, 0xb0, 0x100, 0x180, 0x240];
const HEAP = 0x10000000;

/**
 * One scenario of `count` snapshots (3 to 6). Leak sizes differ per scenario so that a series
 * is matched by its size. Each churn class moves by up to ±`noise` of its mean per snapshot.
 */
export function trendScenario(kind: TrendScenarioKind, count: number, seed: number): TrendScenario {
  const n = Math.max(3, Math.min(6, count));
  const rng = new Rng(seed);
  const leakSize = kind === "plateau-only" ? undefined : ({ "steady-leak": 0x130, "slow-leak-noisy": 0x88, "late-leak": 0x210 } as const)[kind];
  const plateauSize = 0x1800;
  const noise = kind === "slow-leak-noisy" ? 0.08 : 0.03;
  const start = 1_790_000_000 + (seed % 1000) * 3600;
  const times: number[] = [];
  const snapshots: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const blocks: { size: number; free?: boolean }[] = [];
    for (const [k, size] of CHURN_SIZES.entries()) {
      const mean = 600 - k * 40;
      const moved = Math.round(mean * noise * ((rng.below(2001) - 1000) / 1000));
      for (let b = 0; b < mean + moved; b++) blocks.push({ size });
      if (k % 3 === 0) blocks.push({ size: 0x40, free: true });
    }
    // the cache fills over the first interval (the first two of longer series), then holds
    const fillSteps = n >= 5 ? 2 : 1;
    for (let b = 0; b < Math.min(60, Math.round((60 * i) / fillSteps)); b++) blocks.push({ size: plateauSize });
    if (leakSize !== undefined) {
      let leaked: number;
      if (kind === "late-leak") leaked = i < Math.ceil(n / 2) ? 50 : 50 + 500 * (i - Math.ceil(n / 2) + 1);
      else if (kind === "slow-leak-noisy") leaked = 100 + 300 * i + rng.below(40);
      else leaked = 200 + 700 * i;
      for (let b = 0; b < leaked; b++) blocks.push({ size: leakSize });
    }
    // allocation order mixes the classes as a running program does
    rng.shuffle(blocks);
    const time = start + i * (600 + rng.below(120));
    times.push(time);
    const p = buildProcessDump({
      layout: "win10-1709",
      kind: "x64",
      heaps: [{ base: HEAP, segments: [{ blocks }] }],
      timestamp: time,
      mainImage: { path: "C:\\Program Files\\Svc\\svc.exe", base: 0x140000000, size: 0x40000 },
    });
    snapshots.push(p.builder.build());
  }
  return { name: `${kind}-${n}`, kind, snapshots, times, leakSize, plateauSize, churnSizes: CHURN_SIZES };
}

/** One scenario of the trend family, before its snapshots are built (see {@link trendScenario}). */
export interface TrendScenarioPlan {
  kind: TrendScenarioKind;
  count: number;
  seed: number;
}

/** The trend family's scenarios as plans: every kind over 3 to 6 snapshots (a late leak from 4). */
export function trendScenarioPlans(seed = 25): TrendScenarioPlan[] {
  const out: TrendScenarioPlan[] = [];
  for (const [k, kind] of TREND_SCENARIO_KINDS.entries()) {
    for (let n = 3; n <= 6; n++) {
      // a late leak needs two rising snapshots after a flat start
      if (kind === "late-leak" && n < 4) continue;
      out.push({ kind, count: n, seed: seed * 100 + k * 10 + n });
    }
  }
  return out;
}

/** The trend family of the accuracy benchmark: every kind over 3 to 6 snapshots. */
export function trendScenarios(seed = 25): TrendScenario[] {
  return trendScenarioPlans(seed).map((p) => trendScenario(p.kind, p.count, p.seed));
}
