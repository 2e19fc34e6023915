import { describe, expect, it } from "vitest";
import { Diagnostics, at, defineCodes } from "../src/index.js";

describe("Diagnostics", () => {
  it("bounds memory per code and summarises the rest", () => {
    const d = new Diagnostics({ perCodeLimit: 3 });
    for (let i = 0; i < 100_000; i++) d.report("heap-nt", "HEAP_ENTRY_CHECKSUM", "warning", `bad ${i}`, at(0x1000 + i));
    d.report("core", "MEMORY_NOT_CAPTURED", "warning", "m");
    expect(d.size).toBe(4);
    expect(d.count("HEAP_ENTRY_CHECKSUM")).toBe(100_000);
    const list = d.list();
    expect(list.at(-1)).toMatchObject({ code: "DIAGNOSTICS_SUPPRESSED", location: { where: "HEAP_ENTRY_CHECKSUM" } });
    expect(list[0]!.location?.address).toBe("0x1000");
  });

  it("refuses the same code from two packages", () => {
    defineCodes("pkg-a", { TEST_ONLY_CODE_X: { severity: "info", description: "x" } });
    expect(() => defineCodes("pkg-b", { TEST_ONLY_CODE_X: { severity: "info", description: "x" } })).toThrow(/both/);
  });
});
