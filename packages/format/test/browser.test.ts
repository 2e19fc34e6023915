import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { formatHtml } from "../src/index.js";
import { hostileReport } from "./sample.js";
import { chromiumPath, openInChromium } from "@leakscope/test-utils";

const chromium = chromiumPath();
if (!chromium && process.env.CI === "true") throw new Error("Chromium is required under CI=true (apt-get install chromium)");
if (!chromium) console.warn("[leakscope tests] NOTICE: no Chromium found (set LEAKSCOPE_CHROMIUM): HTML browser test skipped");

describe("HTML report in a real browser", () => {
  it.skipIf(!chromium)("renders offline, shows hostile strings as text, runs no script, draws the charts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "leakscope-html-"));
    const file = join(dir, "report.html");
    writeFileSync(file, formatHtml(hostileReport()));
    const artifacts = resolve(process.cwd(), "test-artifacts");
    mkdirSync(artifacts, { recursive: true });
    const shot = join(artifacts, "format-hostile-report.png");
    const r = await openInChromium(chromium!, file, shot);
    expect(r.pageErrors).toEqual([]);
    expect(r.dialogs).toEqual([]); // no alert() ever ran
    expect(r.externalRequests).toEqual([]);
    expect(r.title).toContain("leakscope analyze");
    expect(r.suspectText).toContain("#1 30 × 0x3fff-byte blocks");
    expect(r.typeText).toBe('class <script>alert("x")</script><img src=x onerror=alert(1)>');
    expect(r.scriptElements).toBe(0);
    expect(r.imgElements).toBe(0);
    expect(r.svgBars).toBeGreaterThanOrEqual(3);
    expect(existsSync(shot)).toBe(true);
  }, 60_000);
});
