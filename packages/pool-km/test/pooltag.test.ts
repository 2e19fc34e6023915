import * as fs from "node:fs";
import { Diagnostics } from "@leakscope/core";
import { sharedFile } from "@leakscope/test-utils";
import { describe, expect, it } from "vitest";
import { defaultPoolTagPaths, findPoolTagFile, loadPoolTagFile, parsePoolTagText, systemTagHint, userHandleTypeOfTag } from "../src/index.js";

const pooltag = sharedFile("data/pooltag/pooltag.txt");

describe("pooltag.txt from Debugging Tools (shared test copy)", () => {
  it.skipIf(!pooltag.present)("parses every entry line with its quirks", () => {
    const diags = new Diagnostics();
    const db = loadPoolTagFile(pooltag.path, diags);
    expect(db.size).toBe(4308);
    // 4,250 distinct raw tag fields; 'PX1' and 'PX1 ' are the same 4-byte tag once padded.
    expect(new Set(db.entries.map((e) => e.tag)).size).toBe(4249);
    expect(diags.list()).toEqual([]);
    expect(db.lookup("Proc")).toMatchObject({ tag: "Proc", binary: "nt!ps", description: "Process objects", line: 2366 });
    expect(db.lookup("AleS")).toMatchObject({ binary: "tcpip.sys", description: "ALE token info" });
    expect(db.lookup("AleE")).toMatchObject({ binary: "tcpip.sys", description: "ALE endpoint context" });
    // Short tags are space-padded; wildcard entries match; indented descriptions are trimmed.
    expect(db.lookup("Cc")?.description).toBe("Cache Manager allocations (catch-all)");
    expect(db.lookup("Cc  ")?.binary).toBe("nt!cc");
    expect(db.lookup("CM31")?.tag).toBe("CM??");
    expect(db.lookup("AmlC")?.tag).toBe("Aml*");
    expect(db.lookup("AfdA")?.description).toBe("Afd EA buffer");
    expect(db.lookup("Ntff")?.description).toBe("FCB_DATA");
    // Two-field lines and <unknown> binaries.
    expect(db.lookup("ATmp")).toMatchObject({ description: "AppTag mount point" });
    expect(db.lookup("ATmp")?.binary).toBeUndefined();
    expect(db.lookup("Even")?.binary).toBeUndefined();
    // The description column as !poolused prints it.
    expect(db.describe("AleS")).toBe("ALE token info , Binary: tcpip.sys");
    expect(db.describe("Even")).toBe("Event objects ");
    expect(db.describe("Hack")).toBe("UNKNOWN pooltag 'Hack', please update pooltag.txt");
    expect(db.lookup("IoWI")).toBeUndefined();
  });

  it("handles CRLF, comments, the 0x1A end byte and unparseable lines", () => {
    const diags = new Diagnostics();
    const db = parsePoolTagText("// c\r\nrem x\r\nREM\r\n\r\nAbc - a.sys - desc - with dash\r\nG    - <unknown>    - two spaces\r\n  bogus line\r\nXy - b.sys -     sub\r\n\x1a", diags);
    expect(db.entries.map((e) => [e.tag, e.binary, e.description, e.line])).toEqual([
      ["Abc ", "a.sys", "desc - with dash", 5],
      ["G   ", undefined, "two spaces", 6],
      ["Xy  ", "b.sys", "sub", 8],
    ]);
    expect(diags.list().map((d) => [d.code, d.location?.line])).toEqual([["POOLTAG_LINE_SKIPPED", 7]]);
  });

  it("knows the Debugging Tools install paths and picks the first that exists", () => {
    const env = { "ProgramFiles(x86)": "C:\\Program Files (x86)", ProgramFiles: "C:\\Program Files" };
    const paths = defaultPoolTagPaths(env);
    expect(paths[0]).toBe("C:\\Program Files (x86)\\Windows Kits\\10\\Debuggers\\x64\\triage\\pooltag.txt");
    expect(paths[1]).toBe("C:\\Program Files (x86)\\Windows Kits\\10\\Debuggers\\x86\\triage\\pooltag.txt");
    expect(findPoolTagFile((p) => p === paths[1], env)).toBe(paths[1]);
    expect(findPoolTagFile(() => false, env)).toBeUndefined();
    expect(fs.existsSync(paths[0]!)).toBe(false);
  });

  it("gives next-step hints for object-leak tags only", () => {
    expect(systemTagHint("Proc")).toMatch(/ObDereferenceObject/);
    expect(systemTagHint("Key")).toMatch(/RegCloseKey/);
    expect(systemTagHint("AmlC")).toBeUndefined();
  });

  it("says which tags usually grow from leaked user-mode handles, and how to find the process", () => {
    expect(userHandleTypeOfTag("Even")).toBe("Event");
    expect(userHandleTypeOfTag("Key")).toBe("Key");
    expect(userHandleTypeOfTag("Sect")).toBe("Section");
    expect(userHandleTypeOfTag("AleS")).toBeUndefined();
    expect(systemTagHint("Even")).toMatch(/leaked user-mode Event handles.*leakscope analyze/);
    expect(systemTagHint("Sect")).toMatch(/^Section objects: .*user-mode Section handles/);
    expect(systemTagHint("AleS")).not.toMatch(/user-mode/);
  });
});
