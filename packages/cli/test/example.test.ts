import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { validateReport } from "@leakscope/core";
import { EXAMPLE_FACTS, buildExampleDump, buildExamplePdb, chromiumPath, openInChromium } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { runCli } from "../src/index.js";
import { capture } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "leakscope-example-"));
const dump = join(dir, "example.dmp");
writeFileSync(dump, buildExampleDump());
writeFileSync(join(dir, EXAMPLE_FACTS.pdbName), buildExamplePdb());

async function run(argv: string[]) {
  const c = capture();
  const code = await runCli(argv, { io: c.io });
  return { code, out: c.out(), err: c.err() };
}

const leakSize = `0x${EXAMPLE_FACTS.leakSize.toString(16)}`;
const leakFrame = `leaky+0x${EXAMPLE_FACTS.leakFrameOffset.toString(16)}`;
const chromium = chromiumPath();
if (!chromium && process.env.CI === "true") throw new Error("Chromium is required under CI=true (apt-get install chromium)");

describe("the bundled example (README's main command)", () => {
  it("names the planted leak first: size, count, stack, C++ type (JSON)", async () => {
    const r = await run(["analyze", dump, "--json"]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(validateReport(report).errors).toEqual([]);
    expect(report.target).toMatchObject({ arch: "x64", wow64: true });
    expect(report.heaps.map((h: { bitness: number }) => h.bitness).sort()).toEqual([32, 32, 64]);
    const top = report.analysis.suspects[0];
    expect(top).toMatchObject({ rank: 1, kind: "size-class", size: EXAMPLE_FACTS.leakSize, count: EXAMPLE_FACTS.leakCount, typeName: EXAMPLE_FACTS.leakType });
    expect(top.stack.map((f: { text: string }) => f.text)).toContain(leakFrame);
    expect(top.nextStep).toContain(leakFrame);
    expect(top.preview.ascii).toContain("session #0");
    expect(report.analysis.reachability.unreferenced.count).toBe(EXAMPLE_FACTS.leakCount);
    expect(report.analysis.summary.traces).toBe("present");
    // `block` on a sample shows its allocation stack, like !heap -p -a
    const b = JSON.parse((await run(["block", dump, top.samples[0], "--json"])).out);
    expect(b.block.block.requestedSize).toBe(EXAMPLE_FACTS.leakSize);
    expect(b.block.stack.map((f: { text: string }) => f.text)).toContain(leakFrame);
    // the 32-bit heap has a working low-fragmentation front end whose blocks count as busy
    const h32 = report.heaps.find((h: { address: string }) => h.address === "0x700000");
    expect(h32.summary).toMatchObject({ lfh: true, lfhBusy: 50 + 80, lfhFree: 10 + 10 });
    // the showcase raises nothing a user would have to look into
    expect(report.diagnostics.filter((d: { severity: string }) => d.severity !== "info")).toEqual([]);
  });

  it("with --symbols beside it (npm run demo), frames are named from leaky.pdb and the system DLLs' exports", async () => {
    const r = await run(["analyze", dump, "--symbols", dir, "--json"]);
    expect(r.code, r.err).toBe(0);
    const top = JSON.parse(r.out).analysis.suspects[0];
    expect(top.stack.map((f: { text: string }) => f.text)).toEqual([
      "ntdll_77cc0000!RtlAllocateHeap+0x7e",
      "ucrtbase!malloc+0x30",
      EXAMPLE_FACTS.leakFrameSymbol,
      "leaky!main+0x20",
      "kernel32!BaseThreadInitThunk+0x25",
    ]);
    expect(top.callSite).toBe(EXAMPLE_FACTS.leakFrameSymbol);
    expect(top.nextStep).toContain(EXAMPLE_FACTS.leakFrameSymbol);
    expect(JSON.parse(r.out).analysis.reachability.unreferenced.count).toBe(EXAMPLE_FACTS.leakCount);
    expect(JSON.parse(r.out).diagnostics.filter((d: { severity: string }) => d.severity !== "info")).toEqual([]);
    const text = (await run(["analyze", dump, "--symbols", dir])).out;
    expect(text).toContain(`same stack (${EXAMPLE_FACTS.leakFrameSymbol})`);
  });

  it("names it first in text, Markdown and CSV too", async () => {
    const text = (await run(["analyze", dump])).out;
    expect(text.split("\n").find((l) => l.startsWith("#1 "))).toContain(`${EXAMPLE_FACTS.leakCount} × ${leakSize}-byte blocks`);
    expect(text).toContain(`type: ${EXAMPLE_FACTS.leakType}`);
    const md = (await run(["analyze", dump, "--format", "markdown"])).out;
    // the first row of the suspects table (the process section before it has tables too)
    const row = md.slice(md.indexOf("## Suspects")).split("\n").find((l) => l.startsWith("| 1 |")) ?? "";
    for (const part of ["| size-class |", `${EXAMPLE_FACTS.leakCount} × ${leakSize}-byte blocks`, "class net::Session", leakFrame.replace("+", "\\+")]) {
      expect(row).toContain(part);
    }
    const csv = (await run(["analyze", dump, "--format", "csv"])).out.split("\r\n");
    expect(csv[1]).toMatch(new RegExp(`^1,size-class,[0-9.]+,0x700000,${EXAMPLE_FACTS.leakSize},${EXAMPLE_FACTS.leakCount},`));
    expect(csv[1]).toContain(EXAMPLE_FACTS.leakType);
    expect(csv[1]).toContain(leakFrame);
  });

  it.skipIf(!chromium)("renders it in a real browser, offline, with a screenshot", async () => {
    const html = join(dir, "example.html");
    expect((await run(["analyze", dump, "--format", "html", "-o", html])).code).toBe(0);
    const artifacts = resolve(process.cwd(), "test-artifacts");
    mkdirSync(artifacts, { recursive: true });
    const shot = join(artifacts, "example-report.png");
    const facts = await openInChromium(chromium!, html, shot);
    expect(facts.pageErrors).toEqual([]);
    expect(facts.externalRequests).toEqual([]);
    expect(facts.suspectText).toContain(`#1 ${EXAMPLE_FACTS.leakCount} × ${leakSize}-byte blocks`);
    expect(facts.typeText).toBe(EXAMPLE_FACTS.leakType);
    expect(facts.svgBars).toBeGreaterThanOrEqual(3);
    expect(existsSync(shot)).toBe(true);
    expect(readFileSync(html, "utf8")).toContain(leakFrame);
  }, 60_000);
});
