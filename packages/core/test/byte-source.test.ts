import { mkdtempSync, mkdirSync, openSync, closeSync, writeSync, ftruncateSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BufferSource, FileSource, InputError, emptyWindow, readBytes, withFile } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "leakscope-src-"));
afterAll(() => {
  /* temp files are small; the OS cleans tmp */
});

function fdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

describe("FileSource", () => {
  it("reads positionally through its block cache, across block boundaries", () => {
    const p = join(dir, "a.bin");
    const bytes = new Uint8Array(5000).map((_, i) => i * 7);
    writeFileSync(p, bytes);
    const src = FileSource.open(p, { blockSize: 1024, cacheBlocks: 2 });
    expect(src.size).toBe(5000);
    const out = new Uint8Array(3000);
    expect(src.readInto(500, out, 0, 3000)).toBe(3000);
    expect(Array.from(out.subarray(0, 4))).toEqual([bytes[500], bytes[501], bytes[502], bytes[503]]);
    expect(out[2999]).toBe(bytes[3499]);
    const w = emptyWindow();
    expect(src.window(1023, w)).toBe(true);
    expect(w.length).toBe(1);
    expect(w.bytes[w.index]).toBe(bytes[1023]);
    expect(readBytes(src, 4990, 100).length).toBe(10);
    expect(src.window(5000, w)).toBe(false);
    src.close();
    src.close();
    expect(src.isOpen).toBe(false);
  });

  it("reads past 4 GiB in a sparse file", () => {
    const p = join(dir, "big.bin");
    const fd = openSync(p, "w");
    const at = 5 * 1024 * 1024 * 1024 + 123;
    ftruncateSync(fd, at + 16);
    writeSync(fd, Buffer.from("leakscope-4GiB!!"), 0, 16, at);
    closeSync(fd);
    const src = FileSource.open(p);
    expect(src.size).toBe(at + 16);
    expect(Buffer.from(readBytes(src, at, 16)).toString()).toBe("leakscope-4GiB!!");
    src.close();
  });

  it("fails with stable codes for missing files and directories and leaks no handle", () => {
    const before = fdCount();
    expect(() => FileSource.open(join(dir, "nope.dmp"))).toThrowError(expect.objectContaining({ code: "INPUT_NOT_FOUND" }));
    const d = join(dir, "adir");
    mkdirSync(d);
    try {
      FileSource.open(d);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).code).toBe("INPUT_IS_DIRECTORY");
      expect((e as InputError).exitCode).toBe(2);
    }
    expect(fdCount()).toBe(before);
  });

  it("withFile closes on success and on error", async () => {
    const p = join(dir, "c.bin");
    writeFileSync(p, new Uint8Array(10));
    const before = fdCount();
    await expect(withFile(p, () => { throw new Error("boom"); })).rejects.toThrow("boom");
    expect(await withFile(p, (s) => s.size)).toBe(10);
    expect(fdCount()).toBe(before);
  });
});

describe("BufferSource", () => {
  it("serves windows over the whole buffer", () => {
    const s = new BufferSource(new Uint8Array([1, 2, 3]));
    const w = emptyWindow();
    expect(s.window(1, w)).toBe(true);
    expect(w.length).toBe(2);
    expect(s.window(-1, w)).toBe(false);
    expect(s.readInto(2, new Uint8Array(5), 0, 5)).toBe(1);
  });
});
