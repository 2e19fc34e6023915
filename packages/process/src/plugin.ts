import { Type } from "@leakscope/core";
import { type AnalysisSection, type Evidence, type ProcessSection, type Run, STAGE_LATE, definePlugin, minidumpOf } from "@leakscope/core";
import { computeComposition } from "./composition.js";
import { summarizeGdi } from "./gdi.js";
import { summarizeHandles } from "./handles.js";
import { handlesOfLog } from "./log-handles.js";
import { findReferrers } from "./referrers.js";
import { summarizeThreads } from "./threads.js";
import { type ProcessFacts, handleEvidence, processEvidence, runtimesOf, triageRows } from "./triage.js";

declare module "@leakscope/core" {
  interface RunData {
    /** Process facts (memory composition, handles, GDI objects, threads), computed once per run by `@leakscope/process`. */
    process?: ProcessFacts & { evidence: Evidence[] };
  }
}

export const ProcessOptionsSchema = Type.Object(
  {
    commands: Type.Array(Type.String(), {
      default: ["info", "analyze"],
      description: "Commands whose report gets the `process` section",
    }),
    referrers: Type.Boolean({ default: true, description: "Look in module data and thread stacks for pointers to private allocations" }),
  },
  { additionalProperties: false },
);

/**
 * The facts of a user-mode target, computed on first use and kept on `run.data.process`:
 * undefined for kernel dumps and logs.
 */
export function processFacts(run: Run, options: { referrers?: boolean } = {}): (ProcessFacts & { evidence: Evidence[] }) | undefined {
  if (run.data.process) return run.data.process;
  if (!run.hasTarget || run.target.kind !== "user") return undefined;
  const target = run.target;
  const md = minidumpOf(target);
  const composition = computeComposition({ target, minidump: md, heaps: run.heaps, allocations: run.allocations, diagnostics: run.diagnostics });
  if (options.referrers !== false) findReferrers(target, md, composition.loose, composition.composition);
  let handles;
  if (md?.handleData) {
    handles = summarizeHandles("HandleData", md.handleData.handles, md.handleData.count);
  } else {
    handles = summarizeHandles("none", []);
    if (md) {
      run.diagnostics.report("process", "PROCESS_NO_HANDLE_DATA", "info", "The dump has no HandleData stream: handle counts cannot be judged; take the dump with procdump -ma.", {
        where: "HandleData",
      });
    }
  }
  const facts: ProcessFacts = {
    composition,
    handles,
    gdi: summarizeGdi(target, md, run.diagnostics),
    threads: summarizeThreads(target, md),
    runtimes: runtimesOf(target.modules.map((m) => m.name)),
  };
  run.data.process = { ...facts, evidence: processEvidence(facts) };
  return run.data.process;
}

/** The report section for a run's process facts (the triage reads the heap analysis when there is one). */
export function processSection(run: Run, options: { referrers?: boolean } = {}): ProcessSection | undefined {
  const f = processFacts(run, options);
  if (!f) return undefined;
  return {
    composition: f.composition.composition,
    handles: f.handles,
    gdi: f.gdi,
    threads: f.threads,
    // `analysis` is declared by @leakscope/analyze (not a dependency): read it structurally
    triage: triageRows(f, f.evidence, (run.data as { analysis?: AnalysisSection }).analysis),
  };
}

/**
 * Which kind of leak: memory composition (`!address -summary` with heaps named), handles by
 * type, GDI objects, threads, and the triage. Adds evidence with `leakKind` through the
 * `evidence` hook and the `process` section to the reports of `info` and `analyze`.
 */
export const processKinds = definePlugin({
  name: "process",
  options: ProcessOptionsSchema,
  setup: (options) => ({
    apply(engine) {
      engine.hooks.evidence.tapPromise("process", async (sink, run) => {
        const f = processFacts(run, options);
        if (!f) {
          // a WinDbg log: the handles of its `!handle` output, when it has one
          const h = handlesOfLog(run);
          if (h) for (const e of handleEvidence(h)) sink.add(e);
          return;
        }
        for (const e of f.evidence) sink.add(e);
        if (f.evidence.length > 0) sink.coverage({ hasFigures: true });
      });
      engine.hooks.report.tapPromise({ name: "process", stage: STAGE_LATE }, async (report, run) => {
        if (!options.commands.includes(run.request.command)) return report;
        const section = processSection(run, options);
        return section ? { ...report, process: section } : report;
      });
    },
  }),
});
