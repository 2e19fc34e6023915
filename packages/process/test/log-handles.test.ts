import { Diagnostics, type Run } from "@leakscope/core";
import { describe, expect, it } from "vitest";
import { handleEvidence, handlesOfLog } from "../src/index.js";

/** Just what handlesOfLog reads of a run: a text target whose session keeps command blocks. */
function logRun(blocks: unknown[], kind = "text"): Run & { diagnostics: Diagnostics } {
  return { hasTarget: true, target: { kind, data: { windbg: { blocks } } }, diagnostics: new Diagnostics() } as unknown as Run & { diagnostics: Diagnostics };
}
const block = (command: string | undefined, line: number, text: unknown) => ({ kind: "unknown", command, line, text });

describe("handlesOfLog: the handles of a WinDbg log's !handle output", () => {
  it("takes the !handle command that covers the most handles; other commands and dumps give nothing", () => {
    const run = logRun([
      block("!heap -s", 1, ["Heap 0x500000"]),
      block("!handle 0 f Mutant", 3, ["Handle 4", "  Type         \tMutant", "  Name         \t\\BaseNamedObjects\\M", "1 handles of type Mutant"]),
      block("!handle", 9, ["Type           \tCount", "Event          \t3000", "Mutant         \t1", "3001 Handles"]),
    ]);
    const h = handlesOfLog(run)!;
    expect(h).toMatchObject({ source: "!handle", total: 3001 });
    expect(h.byType[0]).toMatchObject({ type: "Event", count: 3000, typical: 2000 });
    expect(handleEvidence(h).map((e) => [e.keys[0], e.leakKind])).toEqual([["handles:Event", "handles"]]);
    expect(handlesOfLog(logRun([block("!heap -s", 1, ["x"])]))).toBeUndefined();
    expect(handlesOfLog(logRun([block("!handle", 1, ["Type Count", "Event 3000"])], "user"))).toBeUndefined();
  });

  it("hostile blocks: no text, text that is not lines, a handle without a Type line (reported at its log line), absurd counts", () => {
    const run = logRun([
      block("!handle", 5, undefined),
      block("!handle", 6, "not an array"),
      block(undefined, 7, ["Handle 4"]),
      block("!handle 0 f", 20, ["Handle 4", "  Type         \tEvent", "Handle 8", "  HandleCount  \t1", "Handle zz", "2 Handles"]),
    ]);
    const h = handlesOfLog(run)!;
    expect(h.total).toBe(2);
    const d = run.diagnostics.list().filter((x) => x.code === "PROCESS_HANDLE_TEXT_MALFORMED");
    expect(d.map((x) => x.location?.line)).toEqual([23]);
    // a summary claiming billions is read up to a bound, with a note, in bounded time
    const big = handlesOfLog(logRun([block("!handle", 1, ["Type           \tCount", "Event          \t9999999999", "9999999999 Handles"])]))!;
    expect(big.total).toBeLessThanOrEqual(1 << 20);
    expect(big.notes.join(" ")).toMatch(/claims 9999999999 handles/);
  });
});
