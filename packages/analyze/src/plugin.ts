import { Type } from "@leakscope/core";
import { type AnalysisSection, STAGE_DEFAULT, definePlugin } from "@leakscope/core";
import { finishAnalysis, prepareAnalysis } from "./analyze.js";

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
 * The leak analyzer: taps `analyze` (runs only when a command asks for depth "analyze"), runs the
 * built-in detectors, then the `evidence` hook (plugins' detectors add records and coverage to
 * the same sink), combines all records into one card per cause, takes the verdict and adds the
 * `analysis` section to the report.
 */
export const leakAnalyzer = definePlugin({
  name: "analyze",
  options: AnalyzeOptionsSchema,
  setup: (options) => ({
    apply(engine) {
      engine.hooks.analyze.tapPromise({ name: "analyze", stage: STAGE_DEFAULT }, async (run) => {
        run.progress.start("analyzing");
        const prepared = prepareAnalysis(run, options);
        await engine.hooks.evidence.promise(prepared.sink, run);
        run.data.analysis = finishAnalysis(prepared, options);
        run.progress.end();
      });
      engine.hooks.report.tapPromise("analyze", async (report, run) =>
        run.data.analysis ? { ...report, analysis: run.data.analysis } : report,
      );
    },
  }),
});
