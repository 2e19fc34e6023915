import { describe, expect, it } from "vitest";
import { handleEntriesFromText, parseHandleText, summarizeHandles } from "../src/index.js";

// The shape WinDbg prints for `!handle 0 f` (flags 0xf: type, counts, name, object info) and
// for plain `!handle` (summary table), written for this test.
const FULL = `0:000> !handle 0 f
Handle 0000000000000004
  Type         \tEvent
  Attributes   \t0
  GrantedAccess\t0x1f0003:
         Delete,ReadControl,WriteDac,WriteOwner,Synch
         QueryState,ModifyState
  HandleCount  \t2
  PointerCount \t65537
  Name         \t<none>
  Object Specific Information
    Event Type Manual Reset
    Event is Waiting
Handle 0000000000000008
  Type         \tKey
  Attributes   \t0
  GrantedAccess\t0x20019:
         ReadControl
         QueryValue,EnumSubKey,Notify
  HandleCount  \t1
  PointerCount \t32768
  Name         \t\\REGISTRY\\MACHINE\\SOFTWARE\\App
  Object Specific Information
    Key last write time:  10:04:11. 12/5/2026
    Key name App
Handle 000000000000000c
  Type         \tKey
  HandleCount  \t1
  PointerCount \t32768
  Name         \t\\REGISTRY\\MACHINE\\SOFTWARE\\App
Handle 0000000000000010
  HandleCount  \t1
3 Handles
Type           \tCount
Event          \t1
Key            \t2
`;

const SUMMARY = `0:000> !handle
Handle 4
  Type         \tEvent
Handle 8
  Type         \tKey
5 Handles
Type           \tCount
None           \t1
Event          \t3
Key            \t1
0:000> k
`;

describe("!handle text", () => {
  it("reads !handle 0 f blocks: types, counts, names; a block without a Type line is a problem with its line", () => {
    const t = parseHandleText(FULL);
    expect(t.handles.map((h) => [h.handle, h.typeName, h.objectName, h.handleCount, h.pointerCount])).toEqual([
      [4, "Event", undefined, 2, 65537],
      [8, "Key", "\\REGISTRY\\MACHINE\\SOFTWARE\\App", 1, 32768],
      [0xc, "Key", "\\REGISTRY\\MACHINE\\SOFTWARE\\App", 1, 32768],
      [0x10, undefined, undefined, 1, undefined],
    ]);
    expect(t.problems).toEqual([{ line: 31, text: "handle 0x10 has no Type line" }]);
    expect(t.total).toBe(3);
    expect(t.summary).toEqual([
      { type: "Event", count: 1 },
      { type: "Key", count: 2 },
    ]);
    const s = summarizeHandles("!handle", handleEntriesFromText(t));
    expect(s.byType.map((r) => [r.type, r.count, r.handleCount])).toEqual([
      ["Key", 2, 2],
      ["Event", 1, 2],
      ["(no type name)", 1, 1],
    ]);
    expect(s.names).toEqual([{ type: "Key", name: "\\REGISTRY\\MACHINE\\SOFTWARE\\App", count: 2 }]);
  });

  it("with only the summary table, counts by type come from it", () => {
    const t = parseHandleText(SUMMARY.replace(/Handle [48]\n\s+Type\s+\w+\n/g, ""));
    expect(t.handles).toEqual([]);
    expect(t.total).toBe(5);
    const s = summarizeHandles("!handle", handleEntriesFromText(t));
    expect(s.total).toBe(5);
    expect(s.byType.map((r) => [r.type, r.count])).toEqual([
      ["Event", 3],
      ["Key", 1],
      ["(no type name)", 1],
    ]);
  });

  it("flags types far above their typical count and never throws on garbage", () => {
    const many = Array.from({ length: 3000 }, () => ({ typeName: "Event" }));
    expect(summarizeHandles("HandleData", many).byType[0]).toMatchObject({ type: "Event", count: 3000, typical: 2000 });
    for (const junk of ["", "Handle zz\n  Type x", "Handle\nType\n\n\u0000", "Type Count\nEvent abc"]) {
      expect(() => parseHandleText(junk)).not.toThrow();
    }
  });
});
