import { type Report, validateReport } from "@leakscope/core";
import { describe, expect, it } from "vitest";
import { formatReport } from "../src/index.js";
import { hostileReport } from "./sample.js";

/** The hostile sample with a heap-corruption crash at its head (dump strings still hostile). */
function crashReport(): Report {
  const r = hostileReport();
  r.target = {
    kind: "user",
    format: "minidump",
    arch: "x64",
    os: { major: 10, minor: 0, build: 22621, revision: 2428 },
    wow64: false,
    views: [],
    memory: { ranges: 1, bytes: 0x1000 },
    moduleCount: 1,
    threadCount: 1,
    unloadedModuleCount: 0,
    crash: {
      source: "exception",
      kind: "heap-corruption",
      code: "0xc0000374",
      name: "STATUS_HEAP_CORRUPTION",
      address: "0x7ffb10012345",
      location: "ntdll.dll+0x12345",
      parameters: ["0x7a0000"],
      threadId: 12,
      heap: { corruptBlocks: 2, blocks: ["0x7b4d90", "0x7b5000"], heaps: ["0x7a0000"] },
      notes: ["<script>x</script>"],
    },
  };
  return r;
}

describe("the crash at the head of every report", () => {
  it("text, markdown and HTML name the exception, its module and the corrupt blocks", () => {
    const r = crashReport();
    expect(validateReport(r).errors).toEqual([]);
    const text = formatReport(r, "text");
    expect(text.split("\n")[0]).toContain("Windows 10.0.22621.2428");
    expect(text).toContain("Crash: STATUS_HEAP_CORRUPTION (0xc0000374) at 0x7ffb10012345 (ntdll.dll+0x12345), thread 12 (0xc)");
    expect(text).toContain("the walk found 2 corrupt block(s): 0x7b4d90 0x7b5000");
    const md = formatReport(r, "markdown");
    expect(md).toMatch(/\*\*Crash: STATUS\\_HEAP\\_CORRUPTION/);
    const html = formatReport(r, "html");
    expect(html).toContain('<p class="crash">Crash: STATUS_HEAP_CORRUPTION (0xc0000374)');
  });

  it("prints nothing for a dump without a crash", () => {
    expect(formatReport(hostileReport(), "text")).not.toContain("Crash:");
  });
});
