import type { Evidence, EvidenceSink, LeakKind, ProcessGrowthRow } from "@leakscope/core";
import { countRamp, ramp } from "./context.js";

/**
 * The floors process growth must pass between two snapshots before it is evidence: a type of
 * handle or GDI object that gained at least 64 and grew by half, a thread start that gained 8
 * threads and grew by half, or 16 MiB more committed private memory outside the heaps (a quarter
 * more than before). Smaller changes come and go in any healthy process.
 */
export const PROCESS_GROWTH_FLOORS = {
  handles: 64,
  gdi: 64,
  threads: 8,
  virtualBytes: 16 << 20,
  /** Growth relative to the earlier figure: `after >= before × (1 + relative)`. */
  relative: 0.5,
  virtualRelative: 0.25,
} as const;

const thousands = (n: number): string => Math.round(n).toLocaleString("en-US");
const mib = (n: number): string => `${(n / (1 << 20)).toFixed(1)} MiB`;

/**
 * Growth of the process figures between two snapshots (`diff.process`, from
 * `@leakscope/process`'s `diffProcess`) as evidence with the keys the process detector uses:
 * `handles:<type>`, `gdi:<type>`, `threads:<start>`, and `region:outside-heaps` for committed
 * private memory in no heap, stack or TEB. Totals (`handles:total`...) only sum the rows and are
 * not causes. Strength: 0.2 + 0.7 × ramp(log2 gained, floor → high) × (0.5 + 0.5 × ramp(gained /
 * before, 50% → 400%)), high = 4,096 handles or GDI objects, 256 threads, 512 MiB.
 */
export function processGrowthEvidence(rows: readonly ProcessGrowthRow[], sink: EvidenceSink): void {
  const F = PROCESS_GROWTH_FLOORS;
  for (const r of rows) {
    if (r.delta <= 0) continue;
    const rel = r.delta / Math.max(1, r.before);
    const name = r.key.slice(r.key.indexOf(":") + 1);
    const strength = (gained: number, low: number, high: number): number =>
      Math.round((0.2 + 0.7 * countRamp(gained, low, high) * (0.5 + 0.5 * ramp(rel, 0.5, 4))) * 1000) / 1000;
    let e: Evidence | undefined;
    const counted = (leakKind: LeakKind, what: string, floor: number, high: number, nextStep: string): Evidence | undefined =>
      r.delta >= floor && rel >= F.relative
        ? {
            detector: "process-growth",
            signal: "growth",
            keys: [r.key],
            strength: strength(r.delta, floor / 2, high),
            count: r.after,
            bytes: 0,
            delta: { count: r.delta, bytes: 0 },
            leakKind,
            // the card adds "+N since the earlier snapshot"
            title: `${what[0]!.toUpperCase()}${what.slice(1)} (${thousands(r.before)} → ${thousands(r.after)})`,
            text: `${thousands(r.delta)} more ${what} between the snapshots (${thousands(r.before)} → ${thousands(r.after)}).`,
            nextStep,
            source: "diff.process",
          }
        : undefined;
    if (r.key === "handles:total" || r.key === "gdi:total" || r.key === "threads:total") continue;
    if (r.kind === "handles") {
      e = counted(
        "handles",
        `${name} handles`,
        F.handles,
        4096,
        `List the ${name} handles with their names (\`!handle 0 f ${name}\`) in the later dump; find the code that opens them without closing them: \`!htrace -enable\`, run until more leak, then \`!htrace -diff\`, or Application Verifier's Handles check.`,
      );
    } else if (r.kind === "gdi") {
      e = counted(
        "gdi",
        `GDI ${name} objects`,
        F.gdi,
        4096,
        `Find what creates the ${name} objects and never deletes them (DeleteObject, DeleteDC, ReleaseDC): watch the GDI objects column in Task Manager or GDIView while the leak runs.`,
      );
    } else if (r.kind === "threads") {
      e = counted(
        "threads",
        `threads started at ${name}`,
        F.threads,
        256,
        `Look at the stacks of the threads started at ${name} in the later dump (\`~*k\`): who creates them and why they never end (a wait that is never signalled, a pool that only grows).`,
      );
    } else if (r.key === "memory:outside-heaps" && r.delta >= F.virtualBytes && rel >= F.virtualRelative) {
      e = {
        detector: "process-growth",
        signal: "growth",
        keys: ["region:outside-heaps"],
        strength: strength(r.delta, F.virtualBytes / 2, 512 << 20),
        count: 0,
        bytes: r.after,
        delta: { count: 0, bytes: r.delta },
        leakKind: "virtual-memory",
        title: `Private memory outside the heaps: +${mib(r.delta)} (${mib(r.before)} → ${mib(r.after)})`,
        text: `Committed private memory in no heap, stack or TEB grew by ${mib(r.delta)} between the snapshots (${mib(r.before)} → ${mib(r.after)}): memory allocated with VirtualAlloc directly.`,
        nextStep:
          "Look at the private allocation groups of the later dump (`leakscope info`, `!address -f:PAGE_READWRITE,MEM_PRIVATE`) and at who points at them; find the VirtualAlloc calls without VirtualFree (a breakpoint on KERNELBASE!VirtualAlloc, or ETW VirtualAlloc events).",
        source: "diff.process",
      };
    }
    if (e) sink.add(e);
  }
}
