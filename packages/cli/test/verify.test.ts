import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateReport } from "@leakscope/core";
import { buildProcessDump } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { runCli } from "../src/index.js";
import { capture } from "./helpers.js";

/** A synthetic x64 process whose NT heap holds known blocks, and the manifest gtalloc would write. */
function fixture(kind: "x64" | "wow64") {
  const fills = [0x41, 0x42, 0x43, 0x44];
  const sizes = [0x20, 0x3fff, 0x64, 0x100];
  const p = buildProcessDump({
    layout: "win10-1709",
    kind,
    heaps: [{ base: kind === "x64" ? 0x20000000000 : 0x700000, segments: [{ blocks: sizes.map((size, i) => ({ size, fill: fills[i]! })) }] }],
  });
  const heap = p.heaps[0]!;
  const users = heap.expected.filter((e) => e.kind === "user");
  const dir = mkdtempSync(join(tmpdir(), "leakscope-verify-"));
  const dump = join(dir, "gt.dmp");
  writeFileSync(dump, p.builder.build());
  const manifest = {
    schemaVersion: 1,
    tool: "gtalloc",
    toolVersion: "1.0.0",
    label: `synthetic-${kind}`,
    machine: kind === "x64" ? "x64" : "x86",
    pointerSize: kind === "x64" ? 8 : 4,
    wow64: kind === "wow64",
    processId: 1234,
    os: { major: 10, minor: 0, build: 19041 },
    ntGlobalFlag: 0,
    stackTraces: false,
    pageHeap: false,
    scale: 1,
    module: { name: "gtalloc.exe", path: "C:\\gt\\gtalloc.exe", base: "0x7ff6a1b20000" },
    dumpFile: "gt.dmp",
    complete: true,
    heaps: [{ role: "process", address: `0x${heap.address.toString(16)}`, kind: "nt" }],
    allocations: users.map((u, i) => ({
      address: `0x${u.userAddress.toString(16)}`,
      size: u.requestedSize,
      fill: fills[i]!,
      fillOffset: 0,
      allocator: "HeapAlloc",
      heap: `0x${heap.address.toString(16)}`,
      kind: "pattern",
      site: "gt_alloc_process_heap",
    })),
    freed: [],
  };
  return { dump, dir, manifest };
}

async function run(argv: string[]) {
  const c = capture();
  const code = await runCli(argv, { io: c.io });
  return { code, out: c.out(), err: c.err() };
}

describe("leakscope verify", () => {
  for (const kind of ["x64", "wow64"] as const) {
    it(`passes when every manifest allocation is found with its size and contents (${kind})`, async () => {
      const { dump, dir, manifest } = fixture(kind);
      const mf = join(dir, "manifest.json");
      writeFileSync(mf, JSON.stringify(manifest));
      const r = await run(["verify", dump, mf, "--json"]);
      expect(r.code, r.err + r.out).toBe(0);
      const report = JSON.parse(r.out);
      expect(validateReport(report).errors).toEqual([]);
      expect(report.verify).toMatchObject({ ok: true, summary: { total: 4, passed: 4, missing: 0, contentMismatches: 0 } });
      expect((await run(["verify", dump, mf])).out.trimEnd().split("\n").at(-1)).toBe("result: PASS");
    });
  }

  it("fails with exit code 1 and names the differences", async () => {
    const { dump, dir, manifest } = fixture("x64");
    manifest.allocations[1]!.size = 0x4000; // wrong size
    manifest.allocations[2]!.fill = 0x99; // wrong contents
    manifest.allocations.push({ ...manifest.allocations[0]!, address: "0x12340000" }); // missing
    const mf = join(dir, "bad.json");
    writeFileSync(mf, JSON.stringify(manifest));
    const r = await run(["verify", dump, mf, "--json"]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out);
    // the wrong size also fails the content check (the byte past the real block is not the fill)
    expect(report.verify.summary).toMatchObject({ total: 5, failed: 3, sizeMismatches: 1, contentMismatches: 2, missing: 1 });
    const codes = report.verify.failures.flatMap((f: { differences: { code: string }[] }) => f.differences.map((d) => d.code));
    expect(codes).toEqual(expect.arrayContaining(["GT_SIZE_MISMATCH", "GT_CONTENT_MISMATCH", "GT_ALLOCATION_MISSING"]));
  });

  it("rejects a broken manifest with exit code 2", async () => {
    const { dump, dir } = fixture("x64");
    const mf = join(dir, "broken.json");
    writeFileSync(mf, '{"schemaVersion": 1}');
    const r = await run(["verify", dump, mf]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("GT_MANIFEST_INVALID");
  });
});
