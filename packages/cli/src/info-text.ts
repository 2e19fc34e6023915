import { type TargetSummary, crashHeadline, crashMemoryHint, osVersionText } from "@leakscope/core";
import { safeText as clean } from "@leakscope/format";
import { addr, bytesHuman, hex, table } from "./text.js";

/** The `Arch:` value: what bitness the dump and the process have. */
export function archText(t: TargetSummary): string {
  if (!t.wow64) return t.arch;
  if (t.views.some((v) => v.role === "wow64")) return `${t.arch} (WoW64: 32-bit process in a 64-bit dump)`;
  return `${t.arch} (32-bit dump of a WoW64 process, written by a 32-bit dumper: only its 32-bit side is in the dump)`;
}

/** The `OS:` value: `Windows 10.0.16299.637 (16299.637.amd64fre.rs3_release_svc.180808-1748)`. */
export function osText(t: TargetSummary): string {
  const bs = t.os.buildString;
  return `${osVersionText(t.os)}${bs && !bs.startsWith("Windows NT") ? ` (${clean(bs)})` : ""}`;
}

/** Crash, process and machine lines of `info` (and nothing for a dump that records none of them). */
export function factLines(t: TargetSummary): string[] {
  const out: string[] = [];
  if (t.crash) {
    const c = t.crash;
    out.push(...crashHeadline(c).map(clean));
    if (c.source === "bugcheck" && (c.thread || c.ip)) {
      const ctx = c.contextSource === "bugcheck-context-record" ? "registers from the bugcheck's context record" : "registers from the dump's context";
      const id = c.threadId !== undefined ? `${c.threadId} (0x${c.threadId.toString(16)}), ` : "";
      out.push(`Thread:   ${id}${c.thread ? `KTHREAD ${c.thread}` : "the thread that bugchecked"}${c.ip ? `, IP ${c.ip}, SP ${c.sp ?? "?"} (${ctx})` : ""}`);
    } else if (c.source === "exception" && c.ip) {
      out.push(`          registers of the crashing thread from the exception record: IP ${c.ip}, SP ${c.sp ?? "?"}`);
    }
    const hint = crashMemoryHint(c);
    if (hint) out.push(`          ${hint}`);
    for (const n of c.notes) out.push(`          note: ${clean(n)}`);
  }
  const p = t.process;
  if (p) {
    const bits: string[] = [];
    if (p.mainModule) bits.push(clean(p.mainModule));
    if (p.id !== undefined) bits.push(`pid ${p.id} (0x${p.id.toString(16)})`);
    if (p.createTime) bits.push(`started ${p.createTime}`);
    if (p.uptimeSeconds !== undefined) bits.push(`up ${p.uptimeSeconds} s`);
    if (p.dumpTime) bits.push(`dumped ${p.dumpTime}`);
    if (bits.length > 0) out.push(`${t.kind === "kernel" ? "System:  " : "Process: "} ${bits.join(", ")}`);
  }
  if (t.cpu) {
    const c = t.cpu;
    out.push(`CPU:      ${c.count} × ${t.arch}${c.description ? `, ${clean(c.description)}` : c.vendor ? `, ${clean(c.vendor)}` : ""}${c.maxMhz ? `, ${c.maxMhz} MHz` : ""}`);
  }
  if (t.dumpType) out.push(`Dump:     ${clean(t.dumpType)}`);
  return out;
}

/** The `Memory:` value with the overlapping ranges left out of the totals. */
export function memoryText(t: TargetSummary): string {
  const m = t.memory;
  const over = m.overlapping ? ` (${m.overlapping.ranges} overlapping range(s) cut or dropped: ${hex(m.overlapping.bytes)} bytes not counted)` : "";
  return `${m.ranges} ranges, ${bytesHuman(m.bytes)}${over}`;
}

/** The `Modules:`/`Threads:` counts line; a kernel dump says what thread it holds instead of a count. */
export function countsLine(t: TargetSummary): string {
  if (t.kind === "kernel") {
    const thread = t.threadCount > 0 ? `   Threads: ${t.threadCount} (the thread that bugchecked; a ${t.format === "kernel-triage" ? "triage dump" : "kernel dump"} lists no other)` : "";
    return `Drivers:  ${t.moduleCount}${thread}`;
  }
  const named = t.threads?.filter((x) => x.name).length ?? 0;
  return `Modules:  ${t.moduleCount}   Threads: ${t.threadCount}${named ? ` (${named} named)` : ""}   Unloaded modules: ${t.unloadedModuleCount}`;
}

/** Most drivers listed when a kernel dump's driver list is summarized. */
const DRIVER_SUMMARY = 8;

/**
 * The kernel module list in short (the kernel, the HAL, the faulting driver and a few names)
 * unless `all`; undefined when the full table should be printed.
 */
export function driverSummary(t: TargetSummary, all: boolean): string | undefined {
  if (t.kind !== "kernel" || all || !t.modules || t.modules.length <= DRIVER_SUMMARY) return undefined;
  const names = t.modules.map((m) => clean(m.name));
  const faulting = t.crash?.module?.name;
  const shown = names.slice(0, DRIVER_SUMMARY);
  if (faulting && !shown.includes(faulting)) shown.push(faulting);
  return `\nDrivers: ${shown.join(", ")} and ${names.length - shown.length} more (--modules lists them all)\n`;
}

/** Unloaded modules by name. */
export function unloadedSection(t: TargetSummary): string {
  const u = t.unloadedModules;
  if (!u || u.length === 0) return "";
  return `\nUnloaded modules:\n${table(
    [{ header: "Base" }, { header: "Size" }, { header: "Name", align: "left" }],
    u.map((m) => [addr(m.base), hex(m.size), clean(m.name)]),
  )}`;
}

/** The threads table's extra cells: the thread's name and a marker on the crashing thread. */
export function threadNote(t: TargetSummary, id: number, name: string | undefined): string {
  const crashed = t.crash?.threadId === id ? (t.crash.source === "bugcheck" ? "bugchecked" : "crashed") : "";
  return [crashed, name ? clean(name) : ""].filter(Boolean).join(" ");
}
