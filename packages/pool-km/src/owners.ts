import * as fs from "node:fs";
import * as path from "node:path";
import type { AddressSpace, ModuleInfo } from "@leakscope/core";
import { tagToKey } from "./pool.js";

/** How a tag occurs in a driver image. */
export type TagHitKind = "mov-imm" | "push-imm" | "mov-mem-imm" | "cmp-imm" | "string" | "string-utf16";

export interface TagHit {
  kind: TagHitKind;
  /** Offset in the image (RVA for images in a dump, file offset for files). */
  offset: number;
  /** The protected-pool form (high bit set on the last byte). */
  protectedTag: boolean;
}

export interface TagOwner {
  tag: string;
  driver: string;
  /** Where the image came from. */
  origin: "dump" | "file";
  /** Full path of the file, for `--drivers DIR` scans. */
  path?: string;
  /** Immediate-operand hits (the strong evidence). */
  immediates: number;
  /** 4-character string hits (weaker). */
  strings: number;
  /** The first hits (at most 8). */
  hits: TagHit[];
}

const isAlnum = (c: number | undefined): boolean => c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a));

/** Classify the 4 bytes at `i` (already known to equal the tag) by the instruction bytes before them. */
function classify(b: Uint8Array, i: number, len: number): TagHitKind | undefined {
  const p1 = i >= 1 ? b[i - 1]! : -1;
  const p2 = i >= 2 ? b[i - 2]! : -1;
  const p3 = i >= 3 ? b[i - 3]! : -1;
  const p4 = i >= 4 ? b[i - 4]! : -1;
  if (p1 >= 0xb8 && p1 <= 0xbf) return "mov-imm"; // mov r32, imm32 (41 B8+r: mov r8d..r15d)
  if (p1 === 0x68) return "push-imm"; // push imm32 (x86 calls)
  if (p1 === 0x3d) return "cmp-imm"; // cmp eax, imm32
  if (p2 === 0x81 && p1 >= 0xf8) return "cmp-imm"; // cmp r32, imm32
  if (p2 === 0xc7 && p1 >= 0xc0 && p1 <= 0xc7) return "mov-imm"; // mov r32, imm32 (C7 /0)
  if (p3 === 0xc7 && (p2 & 0xc7) >= 0x40 && (p2 & 0xc0) === 0x40 && (p2 & 0x38) === 0 && (p2 & 7) !== 4) return "mov-mem-imm"; // mov dword [reg+d8], imm32
  if (p4 === 0xc7 && (p3 & 0xc7) === 0x44) return "mov-mem-imm"; // mov dword [rsp+d8], imm32
  if (!isAlnum(b[i - 1]) && !isAlnum(i + 4 < len ? b[i + 4] : undefined)) return "string";
  return undefined;
}

/**
 * Scan one buffer for a set of tags. `keys` maps a u32 key (and its protected form) to its tag.
 * Results are added to `found` (tag -> hits). Allocation happens only for hits.
 */
export function scanForTags(bytes: Uint8Array, length: number, keys: ReadonlyMap<number, string>, found: Map<string, TagHit[]>, base = 0, from = 0): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = from; i + 4 <= length; i++) {
    const k = view.getUint32(i, true);
    const tag = keys.get(k);
    if (tag !== undefined) {
      const kind = classify(bytes, i, length);
      if (kind) push(found, tag, { kind, offset: base + i, protectedTag: (k & 0x80000000) !== 0 && (tagToKey(tag) & 0x80000000) === 0 });
    }
    // UTF-16: t\0a\0g\0s\0
    if (i + 8 <= length && bytes[i + 1] === 0 && bytes[i + 3] === 0 && bytes[i + 5] === 0 && bytes[i + 7] === 0) {
      const k16 = (bytes[i]! | (bytes[i + 2]! << 8) | (bytes[i + 4]! << 16) | (bytes[i + 6]! << 24)) >>> 0;
      const t16 = keys.get(k16);
      if (t16 !== undefined && (k16 & 0x80000000) === 0 && !(i >= 2 && isAlnum(bytes[i - 2]) && bytes[i - 1] === 0) && !(i + 9 < length && isAlnum(bytes[i + 8]) && bytes[i + 9] === 0)) {
        push(found, t16, { kind: "string-utf16", offset: base + i, protectedTag: false });
      }
    }
  }
}

function push(found: Map<string, TagHit[]>, tag: string, hit: TagHit): void {
  let list = found.get(tag);
  if (!list) {
    list = [];
    found.set(tag, list);
  }
  list.push(hit);
}

function keyMap(tags: readonly string[]): Map<number, string> {
  const m = new Map<number, string>();
  for (const t of tags) {
    const k = tagToKey(t);
    m.set(k, t);
    m.set((k | 0x80000000) >>> 0, t); // PROTECTED_POOL form used by ExFreePoolWithTag
  }
  return m;
}

function toOwners(found: Map<string, TagHit[]>, driver: string, origin: "dump" | "file", file?: string): TagOwner[] {
  const out: TagOwner[] = [];
  for (const [tag, hits] of found) {
    const immediates = hits.filter((h) => h.kind !== "string" && h.kind !== "string-utf16").length;
    const o: TagOwner = { tag, driver, origin, immediates, strings: hits.length - immediates, hits: hits.slice(0, 8) };
    if (file !== undefined) o.path = file;
    out.push(o);
  }
  return out;
}

/** Rank owners: grouped by tag (in `tags` order), then immediates, then strings, then driver name. */
export function rankOwners(owners: TagOwner[], tags: readonly string[] = []): TagOwner[] {
  const order = (t: string): number => {
    const i = tags.indexOf(t);
    return i < 0 ? tags.length : i;
  };
  return owners.sort(
    (a, b) => order(a.tag) - order(b.tag) || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0) || b.immediates - a.immediates || b.strings - a.strings || a.driver.localeCompare(b.driver),
  );
}

export interface OwnerScanOptions {
  /** Largest image scanned (bytes). Default 256 MiB. */
  maxImageBytes?: number;
  /** Most image bytes visited over all drivers of a dump (captured or not). Default 1 GiB. */
  maxTotalBytes?: number;
}

/**
 * Find drivers loaded in a dump whose images contain the tags, as an immediate operand or as a
 * 4-character string. Reads page by page through the kernel address space; pages not captured are
 * skipped. Returns owners ranked per tag (strongest evidence first).
 */
export function findTagOwnersInDump(space: AddressSpace, drivers: readonly ModuleInfo[], tags: readonly string[], options: OwnerScanOptions = {}): TagOwner[] {
  const keys = keyMap(tags);
  const max = options.maxImageBytes ?? 256 * 1024 * 1024;
  const CONTEXT = 16;
  const buf = new Uint8Array(CONTEXT + 0x1000);
  let budget = options.maxTotalBytes ?? 1024 * 1024 * 1024;
  const out: TagOwner[] = [];
  for (const d of drivers) {
    if (!(d.base === d.base) || !(d.size > 0)) continue;
    if (budget <= 0) break;
    const size = Math.min(d.size, max, budget);
    budget -= size;
    const found = new Map<string, TagHit[]>();
    buf.fill(0, 0, CONTEXT);
    for (let off = 0; off < size; off += 0x1000) {
      const n = space.readInto(d.base + off, buf, CONTEXT, Math.min(0x1000, size - off));
      if (n < 4) {
        buf.fill(0, 0, CONTEXT);
        continue;
      }
      scanForTags(buf, CONTEXT + n, keys, found, off - CONTEXT, CONTEXT - 3);
      buf.copyWithin(0, n, CONTEXT + n);
      if (n < 0x1000) buf.fill(0, 0, CONTEXT);
    }
    out.push(...toOwners(found, d.name, "dump"));
  }
  return rankOwners(out, tags);
}

/** Scan image files (`.sys`, `.dll`, `.exe`) in a directory (not recursive) for the tags, like `findstr /m` but precise. */
export function findTagOwnersInDirectory(dir: string, tags: readonly string[], options: OwnerScanOptions = {}): TagOwner[] {
  const keys = keyMap(tags);
  const max = options.maxImageBytes ?? 256 * 1024 * 1024;
  const out: TagOwner[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  for (const name of names.sort()) {
    if (!/\.(sys|dll|exe)$/i.test(name)) continue;
    const file = path.join(dir, name);
    let bytes: Uint8Array;
    try {
      const st = fs.statSync(file);
      if (!st.isFile() || st.size > max) continue;
      bytes = fs.readFileSync(file);
    } catch {
      continue;
    }
    const found = new Map<string, TagHit[]>();
    scanForTags(bytes, bytes.length, keys, found);
    out.push(...toOwners(found, name, "file", file));
  }
  return rankOwners(out, tags);
}

/** What to look at next for system tags that mean "kernel objects are kept alive". */
export const SYSTEM_TAG_HINTS: Readonly<Record<string, string>> = {
  Proc: "Process objects kept alive by references: look for a driver or service holding process handles or references (ObReferenceObject without ObDereferenceObject, PsLookupProcessByProcessId without ObDereferenceObject); compare handle counts per process.",
  Thre: "Thread objects kept alive by references: a driver keeps PETHREAD references (PsLookupThreadByThreadId, ObReferenceObjectByHandle) or a process leaks thread handles.",
  File: "File objects: leaked file handles or references; look for a process with a growing handle count, or a filter driver that references FILE_OBJECTs.",
  Even: "Event objects: leaked event handles; find the process whose handle count grows (Handle count in Task Manager, !handle 0 0 in WinDbg).",
  Toke: "Token objects: leaked token handles or references (OpenProcessToken, DuplicateToken, SeQuerySubjectContextToken without release); often a security product or service.",
  ObDi: "Object directories: a component creates object directories (private namespaces, sessions) without closing them.",
  Sema: "Semaphore objects: leaked semaphore handles in a user-mode process.",
  Muta: "Mutant (mutex) objects: leaked mutex handles in a user-mode process.",
  "Key ": "Registry key objects: leaked registry key handles (RegOpenKeyEx without RegCloseKey).",
  AleS: "WFP ALE token info: network connections whose ALE state is kept; look at callout drivers (firewall, VPN, antivirus) and at connections that are never closed.",
  AleE: "WFP ALE endpoint contexts: endpoints kept by a callout driver or leaked sockets; check WFP callout drivers and the process with growing socket counts.",
};

/**
 * Pool tags of kernel objects whose growth usually comes from handles a user-mode process opens
 * and never closes, with the object type `!handle` and the dump's HandleData name them by
 * (an object type's pool tag is the first four characters of its name).
 */
export const USER_HANDLE_TAGS: Readonly<Record<string, string>> = {
  Even: "Event",
  File: "File",
  Proc: "Process",
  Thre: "Thread",
  Toke: "Token",
  "Key ": "Key",
  Sema: "Semaphore",
  Muta: "Mutant",
  Sect: "Section",
  Time: "Timer",
  IoCo: "IoCompletion",
  "Job ": "Job",
  TpWo: "TpWorkerFactory",
  Wait: "WaitCompletionPacket",
  EtwR: "EtwRegistration",
  Desk: "Desktop",
  Wind: "WindowStation",
};

/** The user-mode handle type whose leak usually grows a tag (`Even` -> `Event`), if any. */
export function userHandleTypeOfTag(tag: string): string | undefined {
  return USER_HANDLE_TAGS[tag.padEnd(4, " ").slice(0, 4)];
}

/**
 * A next-step hint for a tag, when it is a well-known system tag. Tags of objects that user-mode
 * handles keep alive also say how to find the process that holds them.
 */
export function systemTagHint(tag: string): string | undefined {
  const key = tag.padEnd(4, " ").slice(0, 4);
  const type = USER_HANDLE_TAGS[key];
  const base = SYSTEM_TAG_HINTS[key] ?? (type ? `${type} objects: their growth usually means leaked ${type} handles.` : undefined);
  if (!type) return base;
  return `${base} Usually leaked user-mode ${type} handles: find the process with the highest handle count (Task Manager's Handles column, or HandleCount in \`!process 0 1\`), take a dump of it (procdump -ma) and run \`leakscope analyze\` on it: its handles by type show the ${type} handles and their names.`;
}
