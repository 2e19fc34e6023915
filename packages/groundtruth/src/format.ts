import type { VerifyResult } from "./verify.js";

export interface FormatVerifyOptions {
  /** Most failing allocations printed in full. Default 50. */
  maxFailures?: number | undefined;
  /** Also print passing allocations that have warnings or notes. Default false. */
  verbose?: boolean | undefined;
}

function pad(address: string, pointerSize: 4 | 8): string {
  const digits = address.startsWith("0x") ? address.slice(2) : address;
  return "0x" + digits.padStart(pointerSize * 2, "0");
}

/**
 * Plain-text report of a {@link VerifyResult} for the CLI: a header, one block per failing
 * allocation with its differences, the summary counts and a final `result: PASS|FAIL` line.
 */
export function formatVerifyResult(result: VerifyResult, options: FormatVerifyOptions = {}): string {
  const maxFailures = options.maxFailures ?? 50;
  const s = result.summary;
  const lines: string[] = [];
  const flags = [result.stackTraces ? "+ust" : "", result.pageHeap ? "+hpa" : ""].filter(Boolean).join(" ");
  lines.push(
    `ground truth ${result.label}: ${result.machine}, ${result.heapKind} heap${flags ? ", " + flags : ""}, ` +
      `${s.total} allocations, ${s.found} found by leakscope`,
  );
  let shown = 0;
  let hidden = 0;
  for (const c of result.allocations) {
    const print = c.status === "fail" || (options.verbose === true && c.differences.length > 0);
    if (!print) continue;
    if (shown >= maxFailures) {
      hidden++;
      continue;
    }
    shown++;
    const e = c.expected;
    const type = e.typeName === undefined ? "" : ` ${e.typeName}`;
    lines.push(
      `${c.status === "fail" ? "FAIL" : "note"} ${pad(e.address, result.pointerSize)}  ${e.allocator} ${e.kind}${type}, ` +
        `size ${e.size}, fill 0x${e.fill.toString(16).padStart(2, "0")}, from ${e.site}`,
    );
    for (const d of c.differences) {
      lines.push(`       ${d.severity.padEnd(7)} ${d.code} ${d.field}: expected ${d.expected}, found ${d.actual}`);
    }
  }
  if (hidden > 0) lines.push(`(${hidden} more not shown)`);
  for (const d of result.diagnostics) {
    lines.push(`${d.severity} ${d.code}: ${d.message}`);
  }
  lines.push(`summary: ${s.passed} of ${s.total} passed, ${s.failed} failed`);
  lines.push(
    `  matched ${s.matched}, missing ${s.missing}, size ${s.sizeMismatches}, busy ${s.busyMismatches}, ` +
      `content ${s.contentMismatches} (checked ${s.contentChecked}, not captured ${s.contentNotCaptured}), ` +
      `stack ${s.stackMismatches} (missing ${s.stackMissing}), type ${s.typeMismatches} (missing ${s.typeMissing}), ` +
      `heap ${s.heapMismatches}`,
  );
  lines.push(
    `  extra allocations in the manifest's heaps: ${s.extra} (info), freed blocks busy again: ${s.freedReused} (info)`,
  );
  lines.push(`result: ${result.ok ? "PASS" : "FAIL"}`);
  return lines.join("\n") + "\n";
}
