import { describe, expect, it } from "vitest";
import { extensionBlocks, formatHtml, formatMarkdown, formatText } from "../src/index.js";
import { hostileReport } from "./sample.js";

function withSections() {
  const report = hostileReport();
  report.extensions = {
    "big-blocks": {
      minSize: 65536,
      blocks: [
        { address: "0x710008", size: 262144, heap: "0x700000" },
        { address: "0x760008", size: 131072, heap: "<script>x</script>" },
      ],
      tags: ["a", "b|c"],
      none: [],
      nested: { deeper: { count: 3 } },
    },
    "row-list": Array.from({ length: 60 }, (_, i) => ({ i, name: `row ${i}` })),
  };
  return report;
}

describe("plugin sections (report.extensions) in every human format", () => {
  it("turns records into fields, arrays of records into tables, and bounds the rows", () => {
    const blocks = extensionBlocks(withSections());
    expect(blocks[0]).toEqual({ kind: "heading", label: "big-blocks", depth: 0 });
    expect(blocks).toContainEqual({ kind: "field", label: "minSize", value: "65536", depth: 1 });
    expect(blocks).toContainEqual(expect.objectContaining({ kind: "table", label: "blocks", columns: ["address", "size", "heap"] }));
    const list = blocks.find((b) => b.label === "row-list");
    expect(list).toMatchObject({ kind: "table", more: 10 });
    expect(list?.kind === "table" && list.rows.length).toBe(50);
  });

  it("text shows the section and its table", () => {
    const text = formatText(withSections());
    expect(text).toContain("Plugin sections:");
    expect(text).toMatch(/address\s+size\s+heap/);
    expect(text).toMatch(/0x710008\s+262144\s+0x700000/);
    expect(text).toContain("tags: a, b|c");
    expect(text).toContain("none: (none)");
    expect(text).toContain("… 10 more rows");
  });

  it("Markdown has a table per array of records, escaped", () => {
    const md = formatMarkdown(withSections());
    expect(md).toContain("### big-blocks");
    expect(md).toContain("| address | size | heap |");
    expect(md).toContain("| 0x710008 | 262144 | 0x700000 |");
    expect(md.replace(/```text\n[\s\S]*?```/g, "")).not.toContain("<script>x");
    expect(md).toContain("b\\|c");
  });

  it("HTML has an escaped section", () => {
    const html = formatHtml(withSections());
    expect(html).toContain('<section id="extensions"><h2>Plugin sections</h2>');
    expect(html).toContain("<th>address</th>");
    expect(html).not.toContain("<script>x");
    expect(formatHtml(hostileReport())).not.toContain('id="extensions"');
  });
});
