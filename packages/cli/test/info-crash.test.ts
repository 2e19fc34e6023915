import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MinidumpBuilder, msvcThrowInfoPage } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { runCli } from "../src/index.js";
import { capture } from "./helpers.js";

function file(b: MinidumpBuilder): string {
  const dir = mkdtempSync(join(tmpdir(), "leakscope-info-"));
  const p = join(dir, "x.dmp");
  writeFileSync(p, b.build());
  return p;
}

async function run(argv: string[]) {
  const c = capture();
  const code = await runCli(argv, { io: c.io });
  return { code, out: c.out(), err: c.err() };
}

describe("info on synthetic crash dumps", () => {
  it("refuses a Linux minidump with exit 2 and one line naming the platform", async () => {
    const p = file(new MinidumpBuilder().systemInfo({ arch: "x64", platformId: 0x8201 }).rawStream(0x47670003, new Uint8Array(4)));
    for (const cmd of ["info", "analyze"]) {
      const r = await run([cmd, p]);
      expect(r.code).toBe(2);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).toMatch(/Linux/);
      expect(r.err).toMatch(/Windows dumps only/);
    }
  });

  it("shows a C++ bad_alloc as an out-of-memory crash, thread names and the crashing thread", async () => {
    const base = 0x7ff6a0000000;
    const page = msvcThrowInfoPage({ bitness: 64, address: base + 0x5000, imageBase: base, typeName: ".?AVbad_alloc@std@@" });
    const p = file(
      new MinidumpBuilder()
        .systemInfo({ arch: "x64", build: 22631 })
        .module({ path: "C:\\app\\server.exe", base, size: 0x10000 })
        .module({ path: "C:\\Windows\\System32\\KERNELBASE.dll", base: 0x7ffb00000000, size: 0x100000 })
        .thread({ id: 0x10, context: { arch: "x64", registers: { rip: 0x7ffb00001000 } } })
        .thread({ id: 0x20 })
        .threadName(0x10, "io pool")
        .memory(base + 0x5000, page)
        .exception({ threadId: 0x10, code: 0xe06d7363, address: 0x7ffb00002000, parameters: [0x19930520, 0x1000, base + 0x5000, base] }),
    );
    const r = await run(["info", p]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("Crash:    CPP_EH_EXCEPTION (0xe06d7363) at 0x7ffb00002000 (KERNELBASE.dll+0x2000), thread 16 (0x10): throw std::bad_alloc");
    expect(r.out).toMatch(/out of memory \(std::bad_alloc\)/);
    expect(r.out).toMatch(/10 .* crashed io pool/);
    const j = JSON.parse((await run(["info", p, "--json"])).out);
    expect(j.target.crash.kind).toBe("out-of-memory");
  });
});
