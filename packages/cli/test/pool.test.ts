import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateReport } from "@leakscope/core";
import { buildPoolDump, sharedFile } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { runCli } from "../src/index.js";
import { capture } from "./helpers.js";

/** A driver image whose code allocates with `tag`: `mov r8d, imm32`. */
function driverImage(tag: string): Uint8Array {
  const img = new Uint8Array(0x3000);
  img.set([0x4d, 0x5a], 0);
  const code = 0x1123;
  img.set([0x48, 0x83, 0xec, 0x28, 0xb9, 0x00, 0x02, 0x00, 0x00, 0xba, 0x40, 0x00, 0x00, 0x00, 0x41, 0xb8], code);
  for (let i = 0; i < 4; i++) img[code + 16 + i] = tag.charCodeAt(i);
  return img;
}

function poolDump(scale: number): string {
  const { bytes } = buildPoolDump({
    build: 19041,
    processors: 2,
    layout: "full",
    tableSize: 256,
    tags: [
      { tag: "Proc", perCpu: [{ nonPagedAllocs: 100 * scale, nonPagedFrees: 0, nonPagedBytes: 100 * scale * 0xa80 }] },
      { tag: "AleS", perCpu: [{ nonPagedAllocs: 50, nonPagedFrees: 0, nonPagedBytes: 50 * 0x90 }, { nonPagedAllocs: 10 * scale, nonPagedFrees: 0, nonPagedBytes: 10 * scale * 0x90 }] },
      { tag: "CM31", perCpu: [{ pagedAllocs: 12, pagedFrees: 2, pagedBytes: 10 * 0x400 }] },
    ],
    drivers: [{ name: "wfpcallout.sys", image: driverImage("AleS") }],
  });
  const dir = mkdtempSync(join(tmpdir(), "leakscope-pool-"));
  const p = join(dir, `k${scale}.dmp`);
  writeFileSync(p, bytes);
  return p;
}

const pooltag = sharedFile("data/pooltag/pooltag.txt");
const triage = sharedFile("dumps/kernel/rizin-triage_x64.dmp");

async function run(argv: string[]) {
  const c = capture();
  const code = await runCli(argv, { io: c.io });
  return { code, out: c.out(), err: c.err() };
}

describe("leakscope pool", () => {
  it.skipIf(!pooltag.present)("sorts tags like !poolused 2 with descriptions, owning drivers and hints", async () => {
    const dump = poolDump(3);
    const r = await run(["pool", dump, "--pooltag", pooltag.path, "--json"]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(validateReport(report).errors).toEqual([]);
    const rows = report.pool.rows;
    expect(rows.map((x: { tag: string }) => x.tag)).toEqual(["Proc", "AleS", "CM31"]);
    expect(rows[0]).toMatchObject({ tag: "Proc", nonPagedAllocs: 300, nonPagedBytes: 300 * 0xa80 });
    expect(rows[0].description).toMatch(/Process objects/);
    expect(rows[0].hint).toBeTruthy();
    expect(rows[1]).toMatchObject({ tag: "AleS", nonPagedAllocs: 80, owners: ["wfpcallout.sys"] });
    expect(rows[1].binary).toBe("tcpip.sys");
    const text = (await run(["pool", dump, "--pooltag", pooltag.path])).out;
    expect(text).toMatch(/ Proc +300 +0xc4e00 +0 +0x0\tProcess objects/);
    expect(text).toContain("Allocs (dec)  Used (hex)");
    const paged = JSON.parse((await run(["pool", dump, "--sort", "paged", "--json", "--no-owners"])).out);
    expect(paged.pool.rows[0].tag).toBe("CM31");
  });

  it("diffs two kernel snapshots: growing tags first", async () => {
    const r = await run(["diff", poolDump(1), poolDump(4), "--json"]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(validateReport(report).errors).toEqual([]);
    const pool = report.diff.rows.filter((x: { kind: string }) => x.kind === "pool-tag");
    expect(pool.map((x: { key: string }) => x.key)).toEqual(["Proc", "AleS"]);
    expect(pool[0].delta).toEqual({ count: 300, bytes: 300 * 0xa80 });
    expect(pool[1].delta).toEqual({ count: 30, bytes: 30 * 0x90 });
  });

  it.skipIf(!triage.present)("says plainly when a dump has no tracker tables", async () => {
    const r = await run(["pool", triage.path, "--json"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.pool.method).toBe("none");
    expect(report.pool.rows).toEqual([]);
    expect(report.diagnostics.map((d: { code: string }) => d.code)).toContain("POOL_TRACK_TABLE_MISSING");
  });
});
