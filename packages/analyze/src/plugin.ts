import { Type } from "@leakscope/core";
import { type AnalysisSection, type Evidence, type Suspect, STAGE_DEFAULT, definePlugin } from "@leakscope/core";
import { analyzeRun } from "./analyze.js";

declare module "@leakscope/core" {
  interface RunData {
    analysis?: AnalysisSection;
  }
}

export const AnalyzeOptionsSchema = Type.Object(
  {
    top: Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: "Most suspects reported" }),
    topGroups: Type.Integer({ minimum: 1, maximum: 10000, default: 20, description: "Most stack groups and C++ types listed" }),
    types: Type.Boolean({ default: true, description: "Recover C++ class names from vtables (MSVC RTTI)" }),
    reachability: Type.Boolean({ default: true, description: "Search for busy blocks no pointer reaches (like !heap -l)" }),
  },
  { additionalProperties: false },
);

/**
 * The leak analyzer: taps `analyze` (runs only when a command asks for depth "analyze") and adds
 * the `analysis` section to the report.
 */
export const leakAnalyzer = definePlugin({
  name: "analyze",
  options: AnalyzeOptionsSchema,
  setup: (options) => ({
    apply(engine) {
      engine.hooks.analyze.tapPromise({ name: "analyze", stage: STAGE_DEFAULT }, async (run) => {
        run.progress.start("analyzing");
        const analysis = analyzeRun(run, options);
        // Interim: evidence from plugins' detectors becomes one suspect per record (the combiner
        // that merges records about one cause replaces this).
        const added: Evidence[] = [];
        await engine.hooks.evidence.promise({ add: (e) => void added.push(e), coverage: () => {} }, run);
        if (added.length > 0) {
          const extra: Suspect[] = added.map((e) => ({
            rank: 0,
            kind: suspectKind(e),
            title: e.title ?? e.text,
            score: Math.max(0, Math.min(1, e.strength)),
            count: e.count,
            bytes: e.bytes,
            percent: 0,
            samples: e.samples ?? [],
            evidence: [e.text],
            nextStep: e.nextStep ?? "",
            ...(e.delta ? { delta: e.delta } : {}),
            ...(e.stack ? { stack: e.stack } : {}),
            ...(e.callSite ? { callSite: e.callSite } : {}),
            ...(e.typeName ? { typeName: e.typeName } : {}),
            ...(e.tag ? { tag: e.tag } : {}),
            ...(e.heap ? { heap: e.heap } : {}),
            ...(e.size !== undefined ? { size: e.size } : {}),
          }));
          const all = [...extra, ...analysis.suspects].sort((a, b) => b.score - a.score || b.bytes - a.bytes);
          analysis.suspects = all.slice(0, options.top).map((s, k) => ({ ...s, rank: k + 1 }));
          const lead = analysis.suspects.find((s) => s.score >= 0.3);
          analysis.verdict = lead ? "leak-suspected" : "no-leak-evidence";
          analysis.verdictReason = lead ? `Suspect #${lead.rank} scores ${lead.score}.` : "No suspect scores 0.3 or more.";
        }
        run.data.analysis = analysis;
        run.progress.end();
      });
      engine.hooks.report.tapPromise("analyze", async (report, run) =>
        run.data.analysis ? { ...report, analysis: run.data.analysis } : report,
      );
    },
  }),
});

function suspectKind(e: Evidence): Suspect["kind"] {
  if (e.signal === "growth") return "growth";
  if (e.signal === "unreferenced") return "unreferenced";
  if (e.tag !== undefined) return "pool-tag";
  switch (e.leakKind) {
    case "handles":
    case "gdi":
    case "threads":
    case "virtual-memory":
      return e.leakKind;
    default:
      return e.stack ? "call-site" : "heap";
  }
}
