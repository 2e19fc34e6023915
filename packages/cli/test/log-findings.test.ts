import { validateReport } from "@leakscope/core";
import { sharedFile } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { runCli } from "../src/index.js";
import { capture } from "./helpers.js";

const hex = (n: number): string => `0x${n.toString(16)}`;

/**
 * Every shared WinDbg / UMDH / poolused sample and both seeds through `leakscope analyze` (the
 * default plugins, as a user runs it): the top finding of each, its figure, and the target facts.
 * A change that moves any file's top finding fails here.
 */

interface Row {
  file: string;
  format: string;
  arch: string;
  verdict: "leak-suspected" | "no-leak-evidence" | "cannot-judge";
  /** The top suspect, or undefined when there is none. */
  top?: {
    kind: string;
    /** Size class, pool tag, heap, call site: whichever names the finding. */
    size?: number;
    tag?: string;
    heap?: string;
    callSite?: string;
    /** The figure: bytes held, and bytes grown for growth. */
    bytes: number;
    deltaBytes?: number;
    /** Text the title must hold. */
    title?: RegExp;
  };
  /**
   * The largest size class that is no suspect (`analysis.largest[0]`): what a log without a leak
   * signal still shows, e.g. the one big block of a crash walkthrough.
   */
  largest?: { size: number; heap: string; bytes: number };
}

const W = "data/windbg-samples/";
const P = "data/poolused-samples/";
const ROWS: Row[] = [
  { file: `${W}address-summary-heap-s-stat_x86_win7era_zhblog2015.txt`, format: "windbg-log", arch: "x86", verdict: "leak-suspected", top: { kind: "size-class", size: 0x1f64, heap: "0x520000", bytes: 0xe905f58, title: /^30406 × 0x1f64-byte blocks \(99\.99% of heap 0x520000\)$/ } },
  { file: `${W}address-summary_x86_xp_aiocf.txt`, format: "windbg-log", arch: "unknown", verdict: "leak-suspected", top: { kind: "heap", bytes: 0x2f760000, title: /97\.01% of the busy address space/ } },
  { file: `${W}gflag-heap-a_x64_win10-11_zhaolingxi.txt`, format: "windbg-log", arch: "x64", verdict: "no-leak-evidence", largest: { size: 0x73f, heap: "0x2b0a3b90000", bytes: 0x73f } },
  { file: `${W}heap-a-m-s_x86_win7_aiocf.txt`, format: "windbg-log", arch: "x86", verdict: "no-leak-evidence", largest: { size: 0x24238, heap: "0xc10000", bytes: 0x24238 } },
  { file: `${W}heap-a_x86_xp_msdocs.txt`, format: "windbg-log", arch: "x86", verdict: "no-leak-evidence", largest: { size: 0x1000, heap: "0x250000", bytes: 0x1000 } },
  { file: `${W}heap-l_x86_xp_msdocs.txt`, format: "windbg-log", arch: "x86", verdict: "leak-suspected", top: { kind: "unreferenced", bytes: 0xa48, title: /^21 unreferenced blocks$/ } },
  { file: `${W}heap-p-a_pageheap-freed_x86_wow64_win11-24h2_freeimagecrash.txt`, format: "windbg-log", arch: "x86", verdict: "cannot-judge" },
  { file: `${W}heap-p-a_pageheap_x86_xp_aiocf.txt`, format: "windbg-log", arch: "x86", verdict: "cannot-judge", largest: { size: 0x1f4, heap: "0x151000", bytes: 0x1f4 } },
  { file: `${W}heap-s-a-x_x86_xp-vista_aiocf.txt`, format: "windbg-log", arch: "x86", verdict: "no-leak-evidence", largest: { size: 0x1f4, heap: "0x120000", bytes: 9 * 0x1f4 } },
  { file: `${W}heap-s-stat-flt-p-a_x64_win10_vs2015blog.txt`, format: "windbg-log", arch: "x64", verdict: "leak-suspected", top: { kind: "growth", heap: "0x1976aa70000", bytes: 9492 * 1024, deltaBytes: (9492 - 124) * 1024 } },
  { file: `${W}heap-s-stat-flt_x86_wow64_win10-1709_zhnotes.txt`, format: "windbg-log", arch: "x86", verdict: "no-leak-evidence", largest: { size: 0x3e8024, heap: "0x33c0000", bytes: 10 * 0x3e8024 } },
  { file: `${W}heap-s_segmentheap_x64_win10-11_terminal16217.txt`, format: "windbg-log", arch: "x64", verdict: "leak-suspected", top: { kind: "heap", heap: "0x18223470000", bytes: 2020796 * 1024, title: /98% of all heap commit/ } },
  { file: `${W}heap-stat-flt-p-a_pageheap_x64_win10-11_rublog.txt`, format: "windbg-log", arch: "x64", verdict: "no-leak-evidence", largest: { size: 0x2625a00, heap: "0x297e9ed1000", bytes: 0x2625a00 } },
  { file: `${W}umdh-diff-log_msdocs.txt`, format: "umdh-log", arch: "unknown", verdict: "leak-suspected", top: { kind: "growth", callSite: "MyApp!DisplayMyGraphics+0x1e", bytes: 0xf110, deltaBytes: 0x5320, title: /BackTrace00B53/ } },
  { file: `${W}umdh-log_x86_wow64_win7_pyumdh.txt`, format: "umdh-log", arch: "x86", verdict: "no-leak-evidence", top: { kind: "call-site", bytes: 0x134, title: /^3 live blocks \(0x134 bytes\) allocated at an unknown site$/ } },
  { file: `${W}umdh-v_x86_vista-7_aiocf.txt`, format: "umdh-log", arch: "unknown", verdict: "no-leak-evidence", top: { kind: "call-site", callSite: "CppResourceLeaks!LeakHeapMemory+0x3d", bytes: 0x2018, title: /^1 live blocks \(0x2018 bytes\) allocated at CppResourceLeaks!LeakHeapMemory\+0x3d$/ } },
  { file: `${P}A_msdocs_default_oldformat.txt`, format: "poolused-log", arch: "unknown", verdict: "no-leak-evidence", top: { kind: "pool-tag", tag: "usbp", bytes: 77152 } },
  { file: `${P}B_msdocs_flag4_oldformat.txt`, format: "poolused-log", arch: "unknown", verdict: "leak-suspected", top: { kind: "pool-tag", tag: "Abc", bytes: 33930272 } },
  { file: `${P}C_jellykuo_flag2_livedump.txt`, format: "poolused-log", arch: "unknown", verdict: "leak-suspected", top: { kind: "pool-tag", tag: "amda", bytes: 1938325232 + 9360 + 646239888, title: /^amda\/IoWI: 2 pool tags allocated in step/ } },
  { file: `${P}E_notes_flag2_flag4.txt`, format: "poolused-log", arch: "unknown", verdict: "leak-suspected", top: { kind: "pool-tag", tag: "CM31", bytes: 91705344 } },
  { file: `${P}F_hevd_flag1_tag_verbose.txt`, format: "poolused-log", arch: "unknown", verdict: "no-leak-evidence", top: { kind: "pool-tag", tag: "Hack", bytes: 112 } },
  { file: `${P}G_blog_verbose_snippet.txt`, format: "poolused-log", arch: "unknown", verdict: "no-leak-evidence", top: { kind: "pool-tag", tag: "ALPC", bytes: 1440624 } },
  { file: "seeds/000_34eaf19305ece164.txt", format: "windbg-log", arch: "x86", verdict: "leak-suspected", top: { kind: "heap", heap: "0x28a0000", bytes: 749024 * 1024, title: /28a0000 holds 749,024 KB committed/ } },
  { file: "seeds/003_b2032f33e9a1bbb6.txt", format: "windbg-log", arch: "x64", verdict: "leak-suspected", top: { kind: "pool-tag", tag: "Proc", bytes: 579970176 + 547714832 + 102486880 + 84748144, title: /^Proc\/MiP2\/AleP\/AleS: 156,248 process objects kept alive/ } },
];

async function analyze(path: string): Promise<{ code: number; report: any; text: string }> {
  const c = capture();
  const code = await runCli(["analyze", path, "--json"], { io: c.io });
  const t = capture();
  await runCli(["analyze", path], { io: t.io });
  return { code, report: JSON.parse(c.out()), text: t.out() };
}

describe("the top finding of every shared log", () => {
  it("covers every file of the shared sample folders and both seeds", async () => {
    const { readdirSync } = await import("node:fs");
    const dir = sharedFile("data/windbg-samples/README.md");
    if (!dir.present) return;
    const listed = new Set(ROWS.map((r) => r.file));
    for (const sub of ["data/windbg-samples", "data/poolused-samples"]) {
      const base = sharedFile(sub).path;
      for (const f of readdirSync(base).filter((n) => n.endsWith(".txt"))) expect(listed, `${sub}/${f}`).toContain(`${sub}/${f}`);
    }
  });

  for (const row of ROWS) {
    const f = sharedFile(row.file);
    it.skipIf(!f.present)(`${row.file.split("/").pop()}: ${row.top ? `${row.top.kind} ${row.top.tag ?? row.top.callSite ?? row.top.heap ?? ""}` : "nothing"}, ${row.verdict}`, async () => {
      const { code, report, text } = await analyze(f.path);
      expect(code).toBe(0);
      expect(validateReport(report).errors).toEqual([]);
      expect([report.input.kind, report.input.format, report.target.arch]).toEqual(["text", row.format, row.arch]);
      expect(report.analysis.verdict).toBe(row.verdict);
      if (row.largest) expect(report.analysis.largest[0]).toMatchObject(row.largest);
      const top = report.analysis.suspects[0];
      if (!row.top) {
        expect(top).toBeUndefined();
        return;
      }
      expect(top).toBeDefined();
      expect(top.kind).toBe(row.top.kind);
      expect(top.bytes).toBe(row.top.bytes);
      if (row.top.size !== undefined) expect(top.size).toBe(row.top.size);
      if (row.top.tag !== undefined) expect(top.tag).toBe(row.top.tag);
      if (row.top.heap !== undefined) expect(top.heap).toBe(row.top.heap);
      if (row.top.callSite !== undefined) expect(top.callSite).toBe(row.top.callSite);
      if (row.top.deltaBytes !== undefined) expect(top.delta.bytes).toBe(row.top.deltaBytes);
      if (row.top.title) expect(top.title).toMatch(row.top.title);
      // The text report leads with the same finding.
      const first = text.split("\n").find((l) => l.startsWith("#1 "));
      // the text report floors shown scores to two decimals (never rounded up across 0.3)
      expect(first).toBe(`#1 ${top.title}  [${top.kind}, score ${(Math.floor(top.score * 100) / 100).toFixed(2)}]`);
    });
  }
});

describe("what each log's own figures say reaches the answer", () => {
  const msdocs = sharedFile(`${W}umdh-diff-log_msdocs.txt`);
  it.skipIf(!msdocs.present)("UMDH comparison: BackTrace00B53 leads with its growth, count, stack and call site; stacks lists it", async () => {
    const { report, text } = await analyze(msdocs.path);
    const top = report.analysis.suspects[0];
    expect(top.score).toBeGreaterThanOrEqual(0.3);
    expect(top.delta).toEqual({ count: 0x14, bytes: 0x5320 });
    expect(top.size).toBe(0x428); // from the record resolved in the same log: 0x14 allocations of 0x428 bytes
    expect(top.count).toBe(0x3a);
    expect(top.stack.map((f: { text: string }) => f.text)).toContain("MyApp!DisplayMyGraphics+0x1e");
    expect(text).toContain("MyApp!DisplayMyGraphics+0x1e");
    const c = capture();
    await runCli(["stacks", msdocs.path, "--json"], { io: c.io });
    const stacks = JSON.parse(c.out()).stacks;
    expect(stacks.groups).toHaveLength(1);
    expect(stacks.groups[0]).toMatchObject({ bytes: 0xf110, count: 0x3a, callSite: "MyApp!DisplayMyGraphics+0x1e" });
    const t = capture();
    await runCli(["stacks", msdocs.path], { io: t.io });
    expect(t.out()).toContain("58 allocations, 0xf110 bytes\n");
    expect(t.out()).toMatch(/^\s+MyApp!DisplayMyGraphics\+0x1e$/m);
  });

  const umdhV = sharedFile(`${W}umdh-v_x86_vista-7_aiocf.txt`);
  it.skipIf(!umdhV.present)("UMDH -v output carries the record's source file and line", async () => {
    const { report } = await analyze(umdhV.path);
    const top = report.analysis.suspects[0];
    expect(top.callSite).toBe("CppResourceLeaks!LeakHeapMemory+0x3d");
    const c = capture();
    await runCli(["stacks", umdhV.path, "--json"], { io: c.io });
    expect(JSON.parse(c.out()).stacks.groups[0].frames).toHaveLength(18);
  });

  const seed003 = sharedFile("seeds/003_b2032f33e9a1bbb6.txt");
  it.skipIf(!seed003.present)("seed 003: one analyze report holds the heap suspect and the pool section with the log's own descriptions", async () => {
    const { report, text } = await analyze(seed003.path);
    expect(report.pool.method).toBe("log");
    const proc = report.pool.rows.find((r: { tag: string }) => r.tag.trim() === "Proc");
    expect(proc).toMatchObject({ nonPagedAllocs: 156248, nonPagedBytes: 579970176, description: "Process objects", binary: "nt!ps" });
    expect(report.pool.rows.find((r: { tag: string }) => r.tag.trim() === "AleS")).toMatchObject({ description: "ALE token info", binary: "tcpip.sys" });
    const top = report.analysis.suspects[0];
    expect(top.evidence.join(" ")).toMatch(/Proc 156,248.*MiP2 156,230.*AleP 155,814.*AleS 158,070/);
    expect(top.evidence.join(" ")).toMatch(/leaked process handles or references/);
    const heap = report.analysis.suspects.find((s: { kind: string; size?: number }) => s.kind === "size-class" && s.size === 0x3fff);
    expect(heap?.callSite).toBe("ConsoleApplication4!main+0x69");
    expect(text).toContain("one of each is allocated per process object");
    expect(text).toMatch(/Pool \(as the log lists it\)/);
    expect(text).toContain("Process objects , Binary: nt!ps");
    for (const format of ["markdown", "html"]) {
      const f = capture();
      await runCli(["analyze", seed003.path, "--format", format], { io: f.io });
      expect(f.out(), format).toMatch(/Process objects , Binary: nt\\?!ps/);
    }
    const pool = capture();
    await runCli(["pool", seed003.path], { io: pool.io });
    expect(pool.out()).toContain("Process objects , Binary: nt!ps");
    expect(pool.out()).not.toContain("UNKNOWN pooltag 'Proc'");
  });

  const seed000 = sharedFile("seeds/000_34eaf19305ece164.txt");
  it.skipIf(!seed000.present)("seed 000: heap 028a0000's commit against its -stat groups, with the next commands; the heaps table shows flags and free", async () => {
    const { report } = await analyze(seed000.path);
    const top = report.analysis.suspects[0];
    expect(top.evidence[0]).toMatch(/749,024 KB committed, 9\d% of all heap commit/);
    expect(top.evidence[0]).toMatch(/accounts for 1\.4 MiB/);
    expect(top.nextStep).toMatch(/!heap -s -v/);
    expect(top.nextStep).toMatch(/!address/);
    const c = capture();
    await runCli(["heaps", seed000.path], { io: c.io });
    const line = c.out().split("\n").find((l) => l.trimStart().startsWith("0x28a0000 "));
    // Flags, free (1,574 KB), UCRs, virtual blocks, Virt (750,428 KB), list length and lock contention as the log printed them
    expect(line!.trim().split(/\s+/)).toEqual(["0x28a0000", "32", "nt", "0x1002", "0x2dd0c000", "0x2db78000", "1", "0x40000", "0", hex(1574 * 1024), "249", "6", hex(750428 * 1024), "2,353", "0x565c", "LFH", "log"]);
  });

  it.skipIf(!seed000.present)("a UMDH-less log with no figures at all: what to run", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "leakscope-findings-"));
    const p = join(dir, "g.txt");
    writeFileSync(p, "0:000> g\n0:000> .effmach x86\nEffective machine: x86 compatible (x86)\n");
    const { code, report } = await analyze(p);
    expect(code).toBe(0);
    expect(report.analysis.suspects).toEqual([]);
  });
});

describe("bad input: cut and mixed-up logs give what could be read, never exit 3", () => {
  const files = ROWS.map((r) => sharedFile(r.file)).filter((f) => f.present);
  /** Deterministic variants: cut at a third, at two thirds and inside a line; halves swapped; every other line moved to the end. */
  const variants = (text: string): [string, string][] => {
    const lines = text.split("\n");
    const third = Math.floor(lines.length / 3);
    const mid = text.length >> 1;
    const half = Math.floor(lines.length / 2);
    return [
      ["cut at 1/3", lines.slice(0, third).join("\n")],
      ["cut at 2/3", lines.slice(0, 2 * third).join("\n")],
      ["cut inside a line", text.slice(0, mid)],
      ["halves swapped", [...lines.slice(half), ...lines.slice(0, half)].join("\n")],
      ["lines interleaved", [...lines.filter((_, k) => k % 2 === 0), ...lines.filter((_, k) => k % 2 === 1)].join("\n")],
    ];
  };
  it.skipIf(files.length === 0)("every shared log, cut and shuffled five ways", async () => {
    const { mkdtempSync, readFileSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "leakscope-cut-"));
    let withLines = 0;
    for (const f of files) {
      for (const [name, text] of variants(readFileSync(f.path, "utf8"))) {
        const p = join(dir, "v.txt");
        writeFileSync(p, text);
        const c = capture();
        const code = await runCli(["analyze", p, "--json"], { io: c.io });
        const where = `${f.path.split("/").pop()} ${name}`;
        // 2 only when nothing of the text is a log any more (the reader does not claim it)
        expect([0, 2], where).toContain(code);
        if (code !== 0) continue;
        const report = JSON.parse(c.out());
        expect(validateReport(report).errors, where).toEqual([]);
        const own = report.diagnostics.filter((d: { source: string }) => d.source === "windbg-text");
        for (const d of own) if (d.code !== "WINDBG_TEXT_INPUT_LIMIT" && d.code !== "WINDBG_TEXT_DECODE") expect(d.location?.line ?? 0, `${where} ${d.code} ${d.message}`).toBeGreaterThan(0);
        if (own.length > 0) withLines++;
      }
    }
    expect(withLines).toBeGreaterThan(files.length);
  });

  const msdocs = sharedFile(`${W}umdh-diff-log_msdocs.txt`);
  it.skipIf(!msdocs.present)("a UMDH comparison cut inside its stack still ranks the record, and the mangled line is named", async () => {
    const { mkdtempSync, readFileSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const lines = readFileSync(msdocs.path, "utf8").split("\n");
    const cut = [...lines.slice(0, 9), "MyApp!_nh_mal", "?? garbage 7f 00"].join("\n");
    const p = join(mkdtempSync(join(tmpdir(), "leakscope-cut-")), "cut.txt");
    writeFileSync(p, cut);
    const c = capture();
    expect(await runCli(["analyze", p, "--json"], { io: c.io })).toBe(0);
    const report = JSON.parse(c.out());
    expect(report.analysis.suspects[0]).toMatchObject({ kind: "growth", delta: { bytes: 0x5320 } });
    const bad = report.diagnostics.filter((d: { code: string }) => d.code === "WINDBG_TEXT_UNPARSED_LINE");
    expect(bad.map((d: { location: { line: number } }) => d.location.line)).toContain(11);
  });
});

describe("leakscope diff on two UMDH snapshot logs", () => {
  const snap = sharedFile(`${W}umdh-log_x86_wow64_win7_pyumdh.txt`);
  it.skipIf(!snap.present)("the backtrace that gained allocations leads, as UMDH's own comparison would rank it", async () => {
    const { mkdtempSync, readFileSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const lines = readFileSync(snap.path, "utf8").split("\n");
    const at = lines.findIndex((l) => l.startsWith("68 bytes + 18 at 2E9FDA0"));
    // 30 more allocations of 0x68 bytes by a backtrace whose stack UMDH printed elsewhere, and one freed
    const added = Array.from({ length: 30 }, (_, k) => `68 bytes + 18 at ${(0x3000000 + k * 0x80).toString(16).toUpperCase()} by BackTrace1AF083B4`);
    const freed = lines.findIndex((l) => l.startsWith("64 bytes + 1C at 2E9FE20"));
    const after = [...lines.slice(0, at + 1), ...added, ...lines.slice(at + 1, freed), ...lines.slice(freed + 1)].join("\n");
    const p = join(mkdtempSync(join(tmpdir(), "leakscope-umdh-")), "after.log");
    writeFileSync(p, after);
    const c = capture();
    expect(await runCli(["diff", snap.path, p, "--json"], { io: c.io })).toBe(0);
    const d = JSON.parse(c.out());
    expect(validateReport(d).errors).toEqual([]);
    const stacks = d.diff.rows.filter((r: { kind: string }) => r.kind === "stack");
    expect(stacks[0]).toMatchObject({ delta: { count: 30, bytes: 30 * 0x68 } });
    expect(stacks[0].frames[0].text).toBe("BackTrace1AF083B4");
    expect(stacks.find((r: { delta: { count: number } }) => r.delta.count < 0)?.delta).toEqual({ count: -1, bytes: -0x64 });
  });
});

describe("stat and heaps use the log's own tables", () => {
  const seed000 = sharedFile("seeds/000_34eaf19305ece164.txt");
  it.skipIf(!seed000.present)("stat --heap prints the log's -stat -h table with WinDbg's percentages", async () => {
    const c = capture();
    expect(await runCli(["stat", seed000.path, "--heap", "28a0000", "--json"], { io: c.io })).toBe(0);
    const stat = JSON.parse(c.out()).stat;
    expect(stat.rows).toHaveLength(20);
    expect(stat.rows[0]).toEqual({ size: 0x40000, count: 1, total: 0x40000, percent: 18.15 });
    expect(stat.rows[1]).toEqual({ size: 0x44, count: 0xa95, total: 0x2cf94, percent: 12.75 });
    expect(stat.busy.bytes).toBeGreaterThan(1.4e6);
    expect(stat.busy.bytes).toBeLessThan(1.5e6);
  });
});

describe("leakscope diff on two WinDbg logs", () => {
  const seed000 = sharedFile("seeds/000_34eaf19305ece164.txt");
  it.skipIf(!seed000.present)("compares the logs' own -stat groups and !heap -s commit", async () => {
    const { mkdtempSync, readFileSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const later = readFileSync(seed000.path, "utf8")
      .replace("    44 a95 - 2cf94  (12.75)", "    44 1a95 - 70f94  (30.75)")
      .replace("028a0000 00001002  750640 749024", "028a0000 00001002  850640 849024");
    const p = join(mkdtempSync(join(tmpdir(), "leakscope-diff-")), "later.txt");
    writeFileSync(p, later);
    const c = capture();
    expect(await runCli(["diff", seed000.path, p, "--json"], { io: c.io })).toBe(0);
    const d = JSON.parse(c.out());
    expect(validateReport(d).errors).toEqual([]);
    const cls = d.diff.rows.find((r: { kind: string; size?: number }) => r.kind === "size-class" && r.size === 0x44);
    expect(cls).toMatchObject({ heap: "0x28a0000", before: { count: 0xa95, bytes: 0x2cf94 }, delta: { count: 0x1000, bytes: 0x44000 } });
    expect(d.diff.rows.find((r: { key: string }) => r.key === "commit 0x28a0000")).toMatchObject({ kind: "heap", delta: { bytes: 100000 * 1024 } });
    // untouched groups are not growth
    expect(d.diff.rows.some((r: { size?: number }) => r.size === 0x40000)).toBe(false);
  });
});

describe("a paged-pool table", () => {
  const b = sharedFile(`${P}B_msdocs_flag4_oldformat.txt`);
  it.skipIf(!b.present)("`!poolused 4` is shown by paged bytes in the analyze report", async () => {
    const { report } = await analyze(b.path);
    expect(report.pool.sort).toBe("paged");
    expect(report.pool.rows.map((r: { tag: string }) => r.tag.trim()).slice(0, 2)).toEqual(["Abc", "Tron"]);
  });
});
