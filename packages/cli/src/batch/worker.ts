/**
 * Worker thread of `leakscope batch`: analyses the inputs the main thread posts, one at a time,
 * and posts each line back.
 */
import { parentPort } from "node:worker_threads";
import { collectGarbage } from "../gc.js";
import { analyzeOne } from "./analyze-one.js";
import type { BatchInput } from "./inputs.js";
import type { BatchAnalyzeOptions } from "./line.js";

parentPort?.on("message", async (msg: { id: number; input: BatchInput; options: BatchAnalyzeOptions }) => {
  const line = await analyzeOne(msg.input, msg.options);
  parentPort?.postMessage({ id: msg.id, line });
  // the walk's tables are garbage now: free them before the next input
  collectGarbage();
});
