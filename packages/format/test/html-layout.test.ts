import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Report } from "@leakscope/core";
import { validateReport } from "@leakscope/core";
import { chromiumPath, withChromiumPage } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { formatHtml, inlineCode } from "../src/index.js";
import { hostileReport } from "./sample.js";

const chromium = chromiumPath();
if (!chromium && process.env.CI === "true") throw new Error("Chromium is required under CI=true (apt-get install chromium)");

const STRING_TYPE = "class std::basic_string<char,struct std::char_traits<char>,class std::allocator<char> >";

/** The hostile sample grown into a full report: heaps, three suspects of different scores, inline code. */
function richReport(): Report {
  const r = hostileReport();
  const a = r.analysis!;
  const first = a.suspects[0]!;
  first.evidence.push("All of them were allocated by the same stack (`leaky!Session::Create+0x19`).");
  first.stack = [
    { address: "0x7ffe77e7cca4", text: "ntdll!RtlpAllocateHeapInternal+0x991" },
    { address: "0x7ffe77e7c000", text: "ntdll!RtlAllocateHeap+0x3e" },
    { address: "0x7ffe75001f30", text: "ucrtbase!_malloc_base+0x36" },
    { address: "0x140001119", text: "leaky!Session::Create+0x19" },
    { address: "0x1400016a0", text: "leaky!main+0x40" },
  ];
  a.suspects.push(
    { ...first, rank: 2, score: 0.45, title: "12 × 0x20-byte blocks", typeName: STRING_TYPE, evidence: ["a `std::string` per request"], stack: [] },
    { ...first, rank: 3, score: 0.12, title: "3 × 0x40-byte blocks", evidence: ["small"], stack: [] },
  );
  delete a.suspects[2]!.typeName;
  a.verdictReason = "Suspect #1 scores 0.98: `30 × 0x3fff-byte blocks` hold 97.9% of heap 0x7a0000.";
  r.heaps = [0x7a0000, 0x500000, 0x900000].map((address, i) => ({
    address: `0x${address.toString(16)}`,
    bitness: 64,
    kind: "nt",
    foundBy: ["peb"],
    busy: { count: 1000 * (3 - i), bytes: 0x10000 * (3 - i) },
    free: { count: 3, bytes: 0x300 },
    reserved: 0x100000,
    committed: 0x40000 * (3 - i),
    incomplete: false,
    summary: { lfh: i === 0 },
  }));
  return r;
}

describe("HTML report", () => {
  it("renders backtick spans as code, escaping first", () => {
    expect(inlineCode("see `a<b>` and `c`")).toBe("see <code>a&#60;b&#62;</code> and <code>c</code>");
    expect(inlineCode("odd ` tick")).toBe("odd &#96; tick");
  });

  it("is one self-contained file: no script, no external URL, a CSP that forbids both", () => {
    const html = formatHtml(richReport());
    expect(validateReport(richReport()).errors).toEqual([]);
    expect(html).not.toMatch(/<script|<link|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).toContain("default-src 'none'");
  });

  it.skipIf(!chromium)("puts the verdict on the first screen, the charts above the cards, and colours cards by score", async () => {
    const dir = mkdtempSync(join(tmpdir(), "leakscope-html-layout-"));
    const file = join(dir, "report.html");
    writeFileSync(file, formatHtml(richReport()));
    const artifacts = resolve(process.cwd(), "test-artifacts");
    mkdirSync(artifacts, { recursive: true });
    const r = await withChromiumPage(chromium!, file, async (page) => {
      await page.screenshot({ path: join(artifacts, "format-report-layout.png"), fullPage: false });
      return (await page.evaluate(`(() => {
        const box = (sel) => { const e = document.querySelector(sel); if (!e) return null; const b = e.getBoundingClientRect(); return { top: b.top + scrollY, bottom: b.bottom + scrollY }; };
        const cards = [...document.querySelectorAll(".suspect")].map((e) => ({ cls: e.className, border: getComputedStyle(e).borderLeftColor, top: e.getBoundingClientRect().top + scrollY }));
        const links = [...document.querySelectorAll("nav.contents a")].map((a) => ({ href: a.getAttribute("href"), target: !!document.querySelector(a.getAttribute("href")) }));
        return {
          viewport: innerHeight,
          verdict: box("#verdict"), charts: box("#charts"), heapsTable: box("#heaps"), suspects: box("#suspects"),
          chartIds: [...document.querySelectorAll("#charts figure")].map((f) => f.id),
          badge: document.querySelector("#verdict .badge")?.textContent,
          reasonCode: document.querySelector("#verdict .reason code")?.textContent,
          evidenceCode: [...document.querySelectorAll(".suspect li code")].map((c) => c.textContent),
          heapRows: document.querySelectorAll("#heaps tbody tr").length,
          heapHeaders: [...document.querySelectorAll("#heaps th")].map((t) => t.textContent),
          types: [...document.querySelectorAll(".suspect code.type")].map((c) => c.textContent),
          caller: document.querySelector(".suspect .caller")?.textContent,
          foldedOpen: document.querySelector(".suspect details.alloc")?.open,
          cards, links,
          scripts: document.querySelectorAll("script").length,
          navSticky: getComputedStyle(document.querySelector("nav.contents")).position,
        };
      })()`)) as Record<string, any>;
    });
    expect(r.pageErrors).toEqual([]);
    expect(r.externalRequests).toEqual([]);
    const v = r.value;
    expect(v.scripts).toBe(0);
    // verdict and summary on the first screen, charts next and above every card
    expect(v.verdict.bottom).toBeLessThanOrEqual(v.viewport);
    expect(v.badge).toBe("Leak suspected");
    expect(v.reasonCode).toBe("30 × 0x3fff-byte blocks");
    expect(v.charts.top).toBeLessThan(v.viewport);
    expect(v.charts.top).toBeGreaterThan(v.verdict.bottom - 1);
    for (const c of v.cards) expect(c.top).toBeGreaterThan(v.charts.bottom);
    expect(v.chartIds).toEqual(["chart-sizes", "chart-stacks", "chart-heaps"]);
    // contents bar: every link lands on a section, and it stays on screen
    expect(v.links.map((l: { href: string }) => l.href)).toEqual(["#verdict", "#charts", "#heaps", "#suspects", "#sizes", "#types", "#diagnostics"]);
    expect(v.links.every((l: { target: boolean }) => l.target)).toBe(true);
    expect(v.navSticky).toBe("sticky");
    // heaps table, numbers labelled
    expect(v.heapRows).toBe(3);
    expect(v.heapHeaders).toEqual(expect.arrayContaining(["committed (hex)", "busy (dec)", "busy bytes (hex)"]));
    // cards coloured by score: three classes, three colours
    expect(v.cards.map((c: { cls: string }) => c.cls.split(" ")[1])).toEqual(["score-high", "score-mid", "score-low"]);
    expect(new Set(v.cards.map((c: { border: string }) => c.border)).size).toBe(3);
    // inline code, demangled names, folded allocator frames with the caller marked
    expect(v.evidenceCode).toEqual(expect.arrayContaining(["leaky!Session::Create+0x19", "std::string"]));
    expect(v.types).toContain(STRING_TYPE);
    expect(v.caller).toContain("leaky!Session::Create+0x19");
    expect(v.foldedOpen).toBe(false);
    expect(readFileSync(file, "utf8")).toContain("3 allocator frames folded");
  }, 60_000);
});
