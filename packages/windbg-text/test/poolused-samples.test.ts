import { readFileSync } from "node:fs";
import { sharedFile } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { type PoolUsedBlock, parseWindbgLog } from "../src/index.js";

function load(name: string): { present: boolean; parse: () => { blocks: PoolUsedBlock[]; diagnostics: unknown[] } } {
  const f = sharedFile(`data/poolused-samples/${name}`);
  return {
    present: f.present,
    parse: () => {
      const s = parseWindbgLog(readFileSync(f.path));
      expect(s.blocks.every((b) => b.kind === "poolUsed")).toBe(true);
      return { blocks: s.blocks as PoolUsedBlock[], diagnostics: s.diagnostics };
    },
  };
}

const cols = (b: PoolUsedBlock): (string | number)[][] => b.rows.map((r) => [r.tag, r.nonPagedAllocs, r.nonPagedBytes, r.pagedAllocs, r.pagedBytes]);

describe("poolused-samples: every layout parses to exact numbers", () => {
  const a = load("A_msdocs_default_oldformat.txt");
  it.skipIf(!a.present)("A: old layout, description glued to the last number, misaligned row, TOTAL", () => {
    const { blocks, diagnostics } = a.parse();
    expect(diagnostics).toEqual([]);
    const b = blocks[0]!;
    expect(b).toMatchObject({ flags: 0, layout: "old", verbose: false, sortedBy: "tag", elided: true });
    expect(b.rows).toHaveLength(35);
    const byTag = new Map(b.rows.map((r) => [r.tag, r]));
    expect(byTag.get("1394")).toMatchObject({ nonPagedAllocs: 1, nonPagedBytes: 520, pagedAllocs: 0, pagedBytes: 0, unknownTag: true });
    expect(byTag.get("8042")).toMatchObject({ nonPagedAllocs: 4, nonPagedBytes: 3944, description: "PS/2 kb and mouse", binary: "i8042prt.sys" });
    expect(byTag.get("AGP ")).toMatchObject({ nonPagedAllocs: 1, nonPagedBytes: 344, pagedAllocs: 2, pagedBytes: 384, description: "UNKNOWN pooltag 'AGP ', please update pooltag.txt" });
    // The description starts with digits: the last number is 0, not 01394.
    expect(byTag.get("ohci")).toMatchObject({ nonPagedAllocs: 1, nonPagedBytes: 136, pagedAllocs: 0, pagedBytes: 0, description: "1394 OHCI host controller driver" });
    // One column short in the documentation.
    expect(byTag.get("rx..")).toMatchObject({ nonPagedAllocs: 3, nonPagedBytes: 1248, pagedAllocs: 0, pagedBytes: 0, description: "UNKNOWN pooltag '  rx', please update pooltag.txt" });
    expect(byTag.get("Wmip")).toMatchObject({ nonPagedAllocs: 146, nonPagedBytes: 3504, pagedAllocs: 182, pagedBytes: 18600, description: "Wmi General purpose allocation" });
    expect(byTag.get("vPrt")).toMatchObject({ pagedAllocs: 18, pagedBytes: 68160 });
    expect(byTag.get("usbp")).toMatchObject({ nonPagedAllocs: 18, nonPagedBytes: 77056, pagedAllocs: 2, pagedBytes: 96 });
    expect(b.total).toMatchObject({ nonPagedAllocs: 3570214, nonPagedBytes: 209120008, pagedAllocs: 38769, pagedBytes: 13066104 });
  });

  const bFile = load("B_msdocs_flag4_oldformat.txt");
  it.skipIf(!bFile.present)("B: flag 4, shifted one column left, trailing spaces, no descriptions", () => {
    const { blocks, diagnostics } = bFile.parse();
    expect(diagnostics).toEqual([]);
    const b = blocks[0]!;
    expect(b).toMatchObject({ flags: 4, sortedBy: "paged", layout: "old", prompt: "kd>" });
    expect(cols(b)).toEqual([
      ["Abc ", 0, 0, 36405, 33930272],
      ["Tron", 0, 0, 552, 7863232],
      ["IoN7", 0, 0, 10939, 998432],
      ["Gla5", 1, 128, 2222, 924352],
      ["Ggb ", 0, 0, 22, 828384],
    ]);
    expect(b.rows.every((r) => r.description === "")).toBe(true);
  });

  const c = load("C_jellykuo_flag2_livedump.txt");
  it.skipIf(!c.present)("C: modern flag 2 with TAB descriptions and a real leak", () => {
    const { blocks, diagnostics } = c.parse();
    expect(diagnostics).toEqual([]);
    const b = blocks[0]!;
    expect(b).toMatchObject({ flags: 2, sortedBy: "nonpaged", layout: "modern", verbose: false });
    expect(cols(b)).toEqual([
      ["amda", 5768754, 1938325232, 32, 9360],
      ["IoWI", 5769999, 646239888, 0, 0],
      ["EtwB", 1428, 254173440, 6, 196608],
      ["HalD", 118, 230549312, 0, 0],
      ["DAL3", 1854, 132887776, 0, 0],
      ["NxRx", 131587, 80019584, 0, 0],
      ["MKCx", 190, 25463552, 3, 288],
      ["DAL2", 877, 25073840, 1560, 6288352],
    ]);
    expect(b.rows[1]).toMatchObject({ description: "Io work items", binary: "nt!io", unknownTag: false });
    expect(b.rows[3]).toMatchObject({ description: "Hardware Abstraction Layer: DMA", binary: "hal.dll" });
    // The README says 4 UNKNOWN rows; the file has 5 (amda, DAL3, NxRx, MKCx, DAL2).
    expect(b.rows.filter((r) => r.unknownTag).map((r) => r.tag)).toEqual(["amda", "DAL3", "NxRx", "MKCx", "DAL2"]);
  });

  const e = load("E_notes_flag2_flag4.txt");
  it.skipIf(!e.present)("E: two runs with a kd cache preamble and author elisions", () => {
    const { blocks, diagnostics } = e.parse();
    expect(diagnostics).toEqual([]);
    expect(blocks).toHaveLength(2);
    const [two, four] = [blocks[0]!, blocks[1]!];
    expect(two).toMatchObject({ flags: 2, sortedBy: "nonpaged", elided: true, prompt: "kd>" });
    expect(cols(two)).toEqual([
      ["Cont", 1094, 6525216, 0, 0],
      ["EtwB", 128, 5041136, 4, 163840],
      ["AmlC", 31, 2031616, 0, 0],
      ["Pool", 5, 1705552, 0, 0],
      ["AmlH", 3, 1572864, 0, 0],
    ]);
    expect(two.rows[0]!.description).toBe("Contiguous physical memory allocations for device drivers");
    expect(two.rows[0]!.binary).toBeUndefined();
    expect(two.notes.filter((n) => n.kind === "debugger").length).toBeGreaterThanOrEqual(8);
    expect(four).toMatchObject({ flags: 4, sortedBy: "paged", elided: true });
    expect(cols(four)).toEqual([
      ["CM31", 0, 0, 19797, 91705344],
      ["CM25", 0, 0, 2764, 12546048],
      ["MmRe", 0, 0, 958, 11071552],
      ["MmSt", 0, 0, 2808, 6790672],
      ["CcPD", 0, 0, 8, 4314976],
      ["CIcr", 0, 0, 89, 2976080],
      ["Ntff", 5, 1600, 2109, 2598288],
    ]);
    expect(four.rows[6]).toMatchObject({ description: "FCB_DATA", binary: "ntfs.sys" });
  });

  const f = load("F_hevd_flag1_tag_verbose.txt");
  it.skipIf(!f.present)("F: verbose flag 1 with a tag filter and a TOTAL row", () => {
    const { blocks, diagnostics } = f.parse();
    expect(diagnostics).toEqual([]);
    const b = blocks[0]!;
    expect(b).toMatchObject({ flags: 1, tagFilter: "Hack", verbose: true, sortedBy: "tag", layout: "modern" });
    expect(b.rows).toEqual([
      expect.objectContaining({ tag: "Hack", nonPagedAllocs: 1, nonPagedFrees: 0, nonPagedDiff: 1, nonPagedBytes: 112, pagedAllocs: 0, pagedFrees: 0, pagedDiff: 0, pagedBytes: 0, unknownTag: true }),
    ]);
    expect(b.total).toMatchObject({ nonPagedAllocs: 1, nonPagedFrees: 0, nonPagedDiff: 1, nonPagedBytes: 112, pagedBytes: 0 });
    expect(b.notes.some((n) => n.text.startsWith("Using a machine size"))).toBe(true);
  });

  const g = load("G_blog_verbose_snippet.txt");
  it.skipIf(!g.present)("G: verbose rows without prompt or title (format inferred), tags starting with - and .", () => {
    const { blocks, diagnostics } = g.parse();
    expect(diagnostics).toEqual([]);
    const b = blocks[0]!;
    expect(b.command).toBeUndefined();
    expect(b.verbose).toBe(true);
    expect(b.rows.map((r) => [r.tag, r.nonPagedAllocs, r.nonPagedFrees, r.nonPagedDiff, r.nonPagedBytes, r.pagedAllocs, r.pagedFrees, r.pagedDiff, r.pagedBytes])).toEqual([
      ["-UMD", 2, 1, 1, 48, 0, 0, 0, 0],
      [".UMD", 2, 1, 1, 144, 0, 0, 0, 0],
      ["ALPC", 4528, 2111, 2417, 1440624, 0, 0, 0, 0],
      ["APpt", 968, 0, 968, 124112, 109457, 107115, 2342, 255952],
    ]);
    expect(b.rows[2]).toMatchObject({ description: "ALPC port objects", binary: "nt!alpc" });
  });
});
