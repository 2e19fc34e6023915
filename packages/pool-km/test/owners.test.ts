import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { findTagOwnersInDirectory, scanForTags, tagToKey } from "../src/index.js";

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-km-"));
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("driver attribution on disk (--drivers DIR)", () => {
  it("finds immediates (push, mov, protected form) and strings, ignores substrings and non-images", () => {
    const dir = tempDir();
    const a = new Uint8Array(0x400);
    a.set([0x68, ...Buffer.from("Toke")], 0x100); // push 'Toke' (x86)
    a.set([0xba, ...Buffer.from("Pro"), "c".charCodeAt(0) | 0x80], 0x200); // mov edx, 'Proc' | PROTECTED_POOL
    fs.writeFileSync(path.join(dir, "a.sys"), a);
    const b = new Uint8Array(0x400);
    b.set(Buffer.from("Toke\0", "latin1"), 0x40); // a plain string
    b.set(Buffer.from("xTokenx", "latin1"), 0x80); // a substring of a word: not a hit
    b.set(Buffer.from("Proc\0", "utf16le"), 0x100); // a UTF-16 string
    b.set([0xc7, 0x44, 0x24, 0x20, ...Buffer.from("Even")], 0x200); // mov dword [rsp+20h], 'Even'
    fs.writeFileSync(path.join(dir, "b.SYS"), b);
    fs.writeFileSync(path.join(dir, "notes.txt"), "Toke Proc Even");
    const owners = findTagOwnersInDirectory(dir, ["Proc", "Toke", "Even"]);
    expect(owners.map((o) => [o.tag, o.driver, o.immediates, o.strings])).toEqual([
      ["Proc", "a.sys", 1, 0],
      ["Proc", "b.SYS", 0, 1],
      ["Toke", "a.sys", 1, 0],
      ["Toke", "b.SYS", 0, 1],
      ["Even", "b.SYS", 1, 0],
    ]);
    expect(owners[0]!.hits[0]).toEqual({ kind: "mov-imm", offset: 0x201, protectedTag: true });
    expect(owners[1]!.hits[0]).toEqual({ kind: "string-utf16", offset: 0x100, protectedTag: false });
    expect(owners[2]!.hits[0]).toEqual({ kind: "push-imm", offset: 0x101, protectedTag: false });
    expect(owners[4]!.hits[0]!.kind).toBe("mov-mem-imm");
    expect(owners[0]!.path).toBe(path.join(dir, "a.sys"));
  });

  it("a missing directory gives no owners", () => {
    expect(findTagOwnersInDirectory("/nonexistent/leakscope-drivers", ["Proc"])).toEqual([]);
  });

  it("scanForTags reports a cmp against the tag", () => {
    const b = new Uint8Array([0x81, 0xf9, ...Buffer.from("AleE"), 0x90]);
    const found = new Map();
    scanForTags(b, b.length, new Map([[tagToKey("AleE"), "AleE"]]), found);
    expect(found.get("AleE")).toEqual([{ kind: "cmp-imm", offset: 2, protectedTag: false }]);
  });
});
