import { describe, expect, it } from "vitest";
import { runCli } from "../src/index.js";
import { capture, toyDump, toyPlugins } from "./helpers.js";

async function out(argv: string[]): Promise<string> {
  const c = capture();
  const code = await runCli(argv, { io: c.io, plugins: toyPlugins });
  expect(code, c.err()).toBe(0);
  return c.out();
}

/** The header line of the first table in `text` and the row that starts with `first`. */
function row(text: string, first: string): string[] {
  const line = text.split("\n").find((l) => l.trim().startsWith(first));
  expect(line, first).toBeDefined();
  return line!.trim().split(/\s{2,}/);
}

describe("one number style: hex sizes with 0x, decimal counts with separators, headers say which", () => {
  const dump = toyDump(1500);

  it("heaps", async () => {
    const text = await out(["heaps", dump]);
    const header = text.split("\n").find((l) => l.trim().startsWith("Heap"))!;
    for (const h of ["Reserved (hex)", "Committed (hex)", "Busy (dec)", "Busy bytes (hex)", "Free (dec)", "Free bytes (hex)"]) expect(header).toContain(h);
    const cells = row(text, "0x200000").join(" ").split(/\s+/);
    // reserved, committed, busy count, busy bytes, free count, free bytes, in that order
    const at = cells.indexOf("0x100000");
    expect(cells.slice(at, at + 6)).toEqual(["0x100000", "0x40000", "1,501", `0x${(1500 * 0x3fff + 0x44).toString(16)}`, "1", "0x1000"]);
  });

  it("stat", async () => {
    const text = await out(["stat", dump]);
    expect(text).toContain("1,501 busy blocks");
    const header = row(text, "size (hex)");
    const cells = row(text, "0x3fff");
    expect(cells[header.indexOf("blocks (dec)")]).toBe("1,500");
    expect(cells[header.indexOf("total bytes (hex)")]).toBe(`0x${(1500 * 0x3fff).toString(16)}`);
  });

  it("blocks and stacks", async () => {
    const blocks = await out(["blocks", dump, "--size", "44"]);
    expect(row(blocks, "Heap")).toEqual(["Heap", "Entry", "UserPtr", "Size (hex)", "UserSize (hex)", "State", "Kind"]);
    expect(row(blocks, "0x200000").slice(0, 5)).toEqual(["0x200000", "0x230000", "0x230010", "0x50", "0x44"]);
  });

  it("analyze text and markdown", async () => {
    const text = await out(["analyze", dump]);
    expect(text).toMatch(/Busy: 1,501 blocks, 0x[0-9a-f]+ bytes/);
    const md = await out(["analyze", dump, "--format", "markdown"]);
    expect(md).toContain("| count (dec) | bytes (hex) |");
    expect(md).toMatch(/\| 1,500 \| 0x[0-9a-f]+ \|/);
  });
});
