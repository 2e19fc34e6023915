import type { Report } from "@leakscope/core";
import { formatCsv } from "./csv.js";
import { formatHtml } from "./html.js";
import { formatMarkdown } from "./markdown.js";
import { type TextOptions, formatText } from "./text.js";

export { formatText, type TextOptions } from "./text.js";
export { formatMarkdown } from "./markdown.js";
export { formatCsv, csvField } from "./csv.js";
export { formatHtml, esc, barChart, inlineCode } from "./html.js";
export { foldAllocatorFrames, stackLine, type FoldedStack } from "./frames.js";
export { count, hex, humanBytes, mdEscape, safeText, poolDescription } from "./common.js";
export { type ExtensionBlock, extensionBlocks, extensionsHtml, extensionsMarkdown, extensionsText } from "./extensions.js";
export { processHtml, processMarkdown, vmCounterParts } from "./process.js";
export { sparkline, trendText, trendMarkdown, trendHtml, trendChartSvg, trendStatusText } from "./trend.js";

export type FormatName = "text" | "json" | "markdown" | "csv" | "html";
export const FORMATS: readonly FormatName[] = ["text", "json", "markdown", "csv", "html"];

/** Render a report in one of the supported formats. JSON is the report itself. */
export function formatReport(report: Report, format: FormatName, options: TextOptions = {}): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(report, null, 2)}\n`;
    case "markdown":
      return formatMarkdown(report);
    case "csv":
      return formatCsv(report);
    case "html":
      return formatHtml(report);
    default:
      return formatText(report, options);
  }
}
