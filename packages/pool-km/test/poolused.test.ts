import * as fs from "node:fs";
import { sharedFile } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { type PoolUsageRow, diffPoolUsage, loadPoolTagFile, renderPoolDiff, renderPoolUsed, sortPoolRows } from "../src/index.js";

const pooltag = sharedFile("data/pooltag/pooltag.txt");
const sampleE = sharedFile("data/poolused-samples/E_notes_flag2_flag4.txt");
const sampleF = sharedFile("data/poolused-samples/F_hevd_flag1_tag_verbose.txt");

function row(tag: string, np: [number, number, number], p: [number, number, number]): PoolUsageRow {
  return { tag, nonPagedAllocs: np[0], nonPagedFrees: np[1], nonPagedBytes: np[2], pagedAllocs: p[0], pagedFrees: p[1], pagedBytes: p[2] };
}

/** Rows of a non-verbose modern block, numbers taken by whitespace before the TAB. */
function shortRows(lines: string[]): PoolUsageRow[] {
  return lines.map((l) => {
    const [nums] = l.split("\t");
    const tag = nums!.slice(1, 5);
    const [a, b, c, d] = nums!.slice(5).trim().split(/\s+/).map(Number);
    return row(tag, [a!, 0, b!], [c!, 0, d!]);
  });
}

describe("!poolused text rendering", () => {
  it.skipIf(!pooltag.present || !sampleE.present)("regenerates the flag-4 and flag-2 rows of a real sample byte for byte", () => {
    const db = loadPoolTagFile(pooltag.path);
    const text = fs.readFileSync(sampleE.path, "latin1").split("\n");
    for (const [title, flags] of [[" Sorting by Paged Pool Consumed", 4], [" Sorting by NonPaged Pool Consumed", 2]] as const) {
      const start = text.indexOf(title);
      const rows: string[] = [];
      for (let i = start + 5; i < text.length && text[i]!.includes("\t"); i++) rows.push(text[i]!);
      expect(rows.length).toBeGreaterThanOrEqual(5);
      const rendered = renderPoolUsed(shortRows(rows), { flags, pooltag: db }).split("\n");
      expect(rendered.slice(0, 5)).toEqual(text.slice(start, start + 5));
      expect(rendered.slice(5, 5 + rows.length)).toEqual(rows);
    }
  });

  it.skipIf(!sampleF.present)("regenerates the verbose tag-filtered sample (`!poolused 1 Hack`) including TOTAL", () => {
    const text = fs.readFileSync(sampleF.path, "latin1").replace(/\n$/, "").split("\n");
    const start = text.indexOf(" Sorting by Tag");
    const rows = [row("Hack", [1, 0, 112], [0, 0, 0]), row("Proc", [5, 1, 0x1000], [0, 0, 0])];
    const out = renderPoolUsed(rows, { flags: 1, tagFilter: "Hack", pooltag: { describe: (t: string) => `UNKNOWN pooltag '${t}', please update pooltag.txt` } as never });
    expect(out.replace(/\n$/, "").split("\n")).toEqual(text.slice(start));
  });

  it("sorts like the !poolused flags and by outstanding allocations", () => {
    const rows = [row("Bbbb", [10, 0, 500], [0, 0, 9000]), row("Aaaa", [100, 99, 700], [3, 0, 10]), row("Cccc", [50, 0, 100], [0, 0, 0])];
    expect(sortPoolRows(rows, "nonpaged").map((r) => r.tag)).toEqual(["Aaaa", "Bbbb", "Cccc"]);
    expect(sortPoolRows(rows, "paged").map((r) => r.tag)).toEqual(["Bbbb", "Aaaa", "Cccc"]);
    expect(sortPoolRows(rows, "allocs").map((r) => r.tag)).toEqual(["Cccc", "Bbbb", "Aaaa"]);
    expect(sortPoolRows(rows, "tag").map((r) => r.tag)).toEqual(["Aaaa", "Bbbb", "Cccc"]);
    const text = renderPoolUsed(rows, { flags: 4, top: 1 });
    expect(text.split("\n")[5]).toBe(" Bbbb        10          500          0         9000\t");
    expect(text.split("\n")).toHaveLength(7);
  });
});

describe("diff of two snapshots", () => {
  it("puts growing tags first with deltas, then unchanged, shrinking and gone", () => {
    const before = [row("Proc", [100, 0, 0x10000], [0, 0, 0]), row("AleS", [10, 0, 0x900], [0, 0, 0]), row("Same", [1, 0, 16], [0, 0, 0]), row("Gone", [5, 0, 80], [0, 0, 0]), row("Down", [0, 0, 0], [9, 0, 900])];
    const after = [row("Proc", [150, 10, 0x16000], [0, 0, 0]), row("AleS", [900, 0, 900 * 0x90], [0, 0, 0]), row("Same", [1, 0, 16], [0, 0, 0]), row("New!", [0, 0, 0], [2, 0, 64]), row("Down", [0, 0, 0], [1, 0, 100])];
    const d = diffPoolUsage(before, after);
    expect(d.map((r) => [r.tag, r.status, r.nonPagedBytesDelta, r.nonPagedAllocsDelta, r.pagedBytesDelta])).toEqual([
      ["AleS", "growing", 900 * 0x90 - 0x900, 890, 0],
      ["Proc", "growing", 0x6000, 40, 0],
      ["New!", "new", 0, 0, 64],
      ["Same", "unchanged", 0, 0, 0],
      ["Gone", "gone", -80, -5, 0],
      ["Down", "shrinking", 0, 0, -800],
    ]);
    const text = renderPoolDiff(d, 2).split("\n");
    expect(text[1]).toBe(` AleS ${"+127296".padStart(16)} ${"+890".padStart(8)} ${"0".padStart(15)} ${"0".padStart(8)}   growing`);
    expect(text).toHaveLength(4);
  });
});
