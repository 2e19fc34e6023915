import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateReport } from "@leakscope/core";
import { buildProcessDump } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { runCli } from "../src/index.js";
import { capture } from "./helpers.js";

const run = async (argv: string[]) => {
  const c = capture();
  const code = await runCli(argv, { io: c.io });
  return { code, out: c.out(), err: c.err() };
};

const T0 = Date.UTC(2026, 10, 3, 9, 0, 0) / 1000;

/**
 * Snapshot i of one program, taken i half-hours after the first: 0x120-byte objects leak (300
 * more each time), 0x2000-byte cache buffers fill to 40 and stay, 0x40-byte strings churn.
 */
function snapshot(dir: string, i: number, program = "C:\\app\\app.exe"): string {
  const blocks: { size: number; free?: boolean }[] = [];
  for (let k = 0; k < 100 + 300 * i; k++) blocks.push({ size: 0x120 });
  for (let k = 0; k < Math.min(40, 20 * i); k++) blocks.push({ size: 0x2000 });
  for (let k = 0; k < 400 + (i % 2) * 7; k++) blocks.push({ size: 0x40 });
  blocks.push({ size: 0x100, free: true });
  const p = buildProcessDump({
    layout: "win10-1709",
    kind: "x64",
    heaps: [{ base: 0x10000000, segments: [{ blocks }] }],
    timestamp: T0 + i * 1800,
    mainImage: { path: program, base: 0x140000000, size: 0x20000 },
  });
  const file = join(dir, `snap${i}.dmp`);
  writeFileSync(file, p.builder.build());
  return file;
}

describe("leakscope trend", () => {
  const dir = mkdtempSync(join(tmpdir(), "leakscope-trend-"));
  const files = [0, 1, 2, 3, 4].map((i) => snapshot(dir, i));

  it("ranks the steady leak first and reports the filled cache as stopped, ordered by capture time", async () => {
    // given out of order: the dump headers' time stamps order them
    const r = await run(["trend", files[3]!, files[0]!, files[4]!, files[1]!, files[2]!, "--json"]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(validateReport(report).errors).toEqual([]);
    const t = report.trend;
    expect(t.timeBasis).toBe("capture-time");
    expect(t.inputs.map((x: { path: string }) => x.path)).toEqual(files);
    expect(t.inputs.map((x: { hours: number }) => x.hours)).toEqual([0, 0.5, 1, 1.5, 2]);
    const first = t.series.find((s: { key: string }) => s.key === t.suspects[0].key);
    expect(first).toMatchObject({ kind: "size-class", size: 0x120, status: "growing" });
    // 300 blocks of 0x120 bytes every half hour
    expect(first.slopeBytesPerHour).toBe(600 * 0x120);
    expect(first.counts).toEqual([100, 400, 700, 1000, 1300]);
    const cache = t.series.find((s: { size?: number; kind: string }) => s.kind === "size-class" && s.size === 0x2000);
    expect(cache.status).toBe("grew-then-stopped");
    expect(t.stopped).toContain(cache.key);
    expect(t.suspects.map((s: { key: string }) => s.key)).not.toContain(cache.key);
    const churn = t.series.find((s: { size?: number; kind: string }) => s.kind === "size-class" && s.size === 0x40);
    expect(churn === undefined || churn.status !== "growing").toBe(true);
  });

  it("prints sparklines in text and a line chart in HTML", async () => {
    const text = await run(["trend", ...files]);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/Keeps growing/);
    expect(text.out).toMatch(/▁▂▄▅█|▁▂▃▅▆█|[▁▂▃▄▅▆▇█]{5}\s+\+0x[0-9a-f]+\/h.*size 0x120/);
    expect(text.out).toMatch(/Grew, then stopped[\s\S]*size 0x2000/);
    const html = join(dir, "trend.html");
    const h = await run(["trend", ...files, "--format", "html", "-o", html]);
    expect(h.code, h.err).toBe(0);
    const page = readFileSync(html, "utf8");
    expect(page).toContain('class="trend-chart"');
    expect((page.match(/<polyline class="trend-line"/g) ?? []).length).toBeGreaterThanOrEqual(2);
    const md = await run(["trend", ...files, "--format", "markdown"]);
    expect(md.out).toContain("## Trend");
  });

  it("keeps the command line's order with --order given", async () => {
    const r = await run(["trend", files[4]!, files[3]!, files[2]!, "--order", "given", "--json"]);
    expect(r.code, r.err).toBe(0);
    const t = JSON.parse(r.out).trend;
    expect(t.inputs.map((x: { path: string }) => x.path)).toEqual([files[4], files[3], files[2]]);
    expect(t.suspects).toEqual([]);
  });

  it("refuses fewer than three inputs and dumps of another program (exit 2), --force overrides", async () => {
    const few = await run(["trend", files[0]!, files[1]!]);
    expect(few.code).toBe(2);
    expect(few.err).toContain("[CLI_TREND_TOO_FEW_INPUTS]");
    const other = snapshot(mkdtempSync(join(tmpdir(), "leakscope-trend-other-")), 2, "C:\\other\\other.exe");
    const r = await run(["trend", files[0]!, files[1]!, other]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("[CLI_TREND_DIFFERENT_PROGRAMS]");
    expect((await run(["trend", files[0]!, files[1]!, other, "--force", "--json"])).code).toBe(0);
  });
});

describe("leakscope trend on the benchmark's trend family", () => {
  it("ranks every leak first (steady, slow under noise, late) and never flags the plateau or the churn", async () => {
    const { trendScenarios } = await import("@leakscope/test-utils");
    const base = mkdtempSync(join(tmpdir(), "leakscope-trend-family-"));
    for (const sc of trendScenarios()) {
      const files = sc.snapshots.map((bytes, i) => {
        const f = join(base, `${sc.name}-${i}.dmp`);
        writeFileSync(f, bytes);
        return f;
      });
      const r = await run(["trend", ...files, "--json"]);
      expect(r.code, `${sc.name}: ${r.err}`).toBe(0);
      const t = JSON.parse(r.out).trend;
      const series = (key: string) => t.series.find((s: { key: string }) => s.key === key);
      const suspects = t.suspects.map((s: { key: string }) => series(s.key));
      const sizes = suspects.filter((s: { kind: string }) => s.kind === "size-class").map((s: { size: number }) => s.size);
      if (sc.leakSize !== undefined) {
        expect(suspects[0], sc.name).toMatchObject({ kind: "size-class", size: sc.leakSize });
        expect(suspects[0].score, sc.name).toBeGreaterThanOrEqual(0.3);
      } else expect(suspects, sc.name).toEqual([]);
      expect(sizes, sc.name).not.toContain(sc.plateauSize);
      for (const c of sc.churnSizes) expect(sizes, `${sc.name} churn 0x${c.toString(16)}`).not.toContain(c);
      const plateau = t.series.find((s: { kind: string; size?: number }) => s.kind === "size-class" && s.size === sc.plateauSize);
      expect(plateau.status, sc.name).toBe("grew-then-stopped");
      if (sc.kind === "late-leak") expect(suspects[0].status, sc.name).toBe("started-growing");
    }
  }, 120_000);
});
