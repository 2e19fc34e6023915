import { formatAddress } from "../address.js";
import { isHeapBreak, moduleOffsetText } from "../crash/exception.js";
import type { CrashInfo } from "../crash/model.js";
import { AllocFlags, type AllocationSet, type HeapRecord } from "../model/allocations.js";
import type { Target } from "../model/target.js";
import type { CrashSummary, TargetSummary } from "./schema.js";

const hex = (a: number): string => formatAddress(a);
const big = (v: bigint): string => `0x${v.toString(16)}`;
const iso = (seconds: number): string | undefined => {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString().replace(".000Z", "Z");
};
/** Most corrupt block addresses listed in a crash's heap link. */
const MAX_LISTED = 20;

/** The report form of a {@link CrashInfo}. */
export function crashSummary(c: CrashInfo): CrashSummary {
  const out: CrashSummary = { source: c.source, kind: c.kind, code: `0x${(c.code >>> 0).toString(16)}`, parameters: c.parameters.map(big), notes: [...c.notes] };
  if (c.name) out.name = c.name;
  if (c.text) out.text = c.text;
  if (c.address !== undefined && c.address === c.address) out.address = hex(c.address);
  if (c.module) {
    out.location = moduleOffsetText(c.module);
    out.module = { name: c.module.name, base: hex(c.module.base), offset: hex(c.module.offset) };
  }
  if (c.threadId !== undefined) out.threadId = c.threadId;
  if (c.thread !== undefined && c.thread === c.thread) out.thread = hex(c.thread);
  if (c.context && c.context.ip === c.context.ip) {
    out.ip = hex(c.context.ip);
    if (c.context.sp === c.context.sp) out.sp = hex(c.context.sp);
  }
  if (c.contextSource) out.contextSource = c.contextSource;
  if (c.access && c.access.address === c.access.address) out.access = { operation: c.access.operation, address: hex(c.access.address) };
  if (c.cppType) out.cppType = c.cppType;
  if (c.failFast) out.failFast = { ...c.failFast };
  return out;
}

/** The process, CPU, dump-type and memory-overlap facts of a target, for its summary. */
export function targetFacts(target: Target): Partial<TargetSummary> {
  const out: Partial<TargetSummary> = {};
  if (target.os.revision !== undefined) out.os = { ...targetOs(target), revision: target.os.revision };
  if (target.memory.overlapping) out.memory = { ranges: target.memory.ranges, bytes: target.memory.bytes, overlapping: { ...target.memory.overlapping } };
  if (target.cpu) {
    const c = target.cpu;
    out.cpu = { count: c.count, ...(c.vendor ? { vendor: c.vendor } : {}), ...(c.description ? { description: c.description } : {}), ...(c.maxMhz ? { maxMhz: c.maxMhz } : {}) };
  }
  const p = target.process;
  if (p && Object.keys(p).length > 0) {
    const created = p.createTime !== undefined ? iso(p.createTime) : undefined;
    const dumped = p.dumpTime !== undefined ? iso(p.dumpTime) : undefined;
    out.process = {
      ...(p.id !== undefined ? { id: p.id >>> 0 } : {}),
      ...(p.mainModule ? { mainModule: p.mainModule } : {}),
      ...(created ? { createTime: created } : {}),
      ...(dumped ? { dumpTime: dumped } : {}),
      ...(p.userSeconds !== undefined ? { userSeconds: p.userSeconds >>> 0 } : {}),
      ...(p.kernelSeconds !== undefined ? { kernelSeconds: p.kernelSeconds >>> 0 } : {}),
      ...(p.uptimeSeconds !== undefined && p.uptimeSeconds >= 0 ? { uptimeSeconds: p.uptimeSeconds } : {}),
    };
  }
  if (target.dumpType) out.dumpType = target.dumpType;
  return out;
}

function targetOs(target: Target): TargetSummary["os"] {
  const o = target.os;
  return { major: o.major, minor: o.minor, build: o.build, ...(o.servicePack ? { servicePack: o.servicePack } : {}), ...(o.buildString ? { buildString: o.buildString } : {}) };
}

/**
 * Tie a heap-symptom crash to the walk: for STATUS_HEAP_CORRUPTION, heap fail-fast codes and
 * breakpoints raised in the heap manager or verifier, list the blocks the walkers marked corrupt.
 * A breakpoint in ntdll/verifier with corrupt blocks found becomes a `heap-corruption` crash.
 */
export function heapLink(out: CrashSummary, crash: CrashInfo, set: AllocationSet, heaps: readonly HeapRecord[]): void {
  const heapBreak = isHeapBreak(crash);
  if (crash.kind !== "heap-corruption" && !heapBreak) return;
  const blocks: string[] = [];
  const heapSet = new Set<string>();
  let n = 0;
  for (let i = 0; i < set.count; i++) {
    if ((set.flags(i) & AllocFlags.CORRUPT) === 0) continue;
    n++;
    if (blocks.length < MAX_LISTED) blocks.push(hex(set.blockAddress(i)));
    const h = heaps[set.heap(i)];
    if (h) heapSet.add(hex(h.address));
  }
  if (n === 0) {
    if (!heapBreak) out.notes.push("the heap walk found no corrupt block: the damage lies in memory the dump does not hold or in a heap not walked");
    return;
  }
  out.heap = { corruptBlocks: n, blocks, heaps: [...heapSet] };
  if (heapBreak) {
    out.kind = "heap-corruption";
    out.notes.push("a breakpoint in the heap manager with corrupt blocks in the walk: a heap validation break");
  }
}

/**
 * The OS as one line: `Windows 10.0.22000.282` (the update revision when known), a service
 * pack's name after it (`Windows 6.1.7601 Service Pack 1`).
 */
export function osVersionText(os: TargetSummary["os"]): string {
  const rev = os.revision !== undefined ? `.${os.revision}` : "";
  const sp = os.servicePack && !/^\d+$/.test(os.servicePack.trim()) ? ` ${os.servicePack}` : "";
  return `Windows ${os.major}.${os.minor}.${os.build}${rev}${sp}`;
}

/** A bugcheck code as the blue screen and WinDbg write it: `0x1000007E`. */
export function bugcheckCodeText(code: string): string {
  return `0x${code.slice(2).toUpperCase().padStart(8, "0")}`;
}

/**
 * The crash in one or two lines for the head of a report:
 * `Crash: STATUS_ACCESS_VIOLATION (0xc0000005) at 0x7ff7a13110d9 (sigsegv.exe+0x10d9), thread 10860: write to 0x0`
 * or `Bugcheck: 0x1000007E SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M (p1, p2, p3, p4)` plus the driver.
 */
export function crashHeadline(c: CrashSummary): string[] {
  const at = c.address ? ` at ${c.address}${c.location ? ` (${c.location})` : ""}` : "";
  if (c.source === "bugcheck") {
    const lines = [`Bugcheck: ${bugcheckCodeText(c.code)}${c.name ? ` ${c.name}` : ""} (${c.parameters.join(", ")})`];
    if (c.module) lines.push(`Driver:   ${c.module.name}: the faulting address ${c.address} is ${c.location}${c.text ? `; ${c.text}` : ""}`);
    else if (c.text) lines.push(`          ${c.text}`);
    return lines;
  }
  let detail = "";
  if (c.access) detail = `: ${c.access.operation === "write" ? "writing" : c.access.operation === "execute" ? "executing" : "reading"} ${c.access.address}`;
  else if (c.cppType) detail = `: throw ${c.cppType}`;
  else if (c.failFast) detail = `: ${c.failFast.name ?? `fail-fast code ${c.failFast.code}`}`;
  const thread = c.threadId !== undefined ? `, thread ${c.threadId} (0x${c.threadId.toString(16)})` : "";
  return [`Crash:    ${c.name ?? "exception"} (${c.code})${at}${thread}${detail}`];
}

/** What a heap-symptom crash means for the analysis, or undefined for other crashes. */
export function crashMemoryHint(c: CrashSummary): string | undefined {
  if (c.kind === "heap-corruption") {
    const found = c.heap ? `; the walk found ${c.heap.corruptBlocks} corrupt block(s): ${c.heap.blocks.slice(0, 4).join(" ")}${c.heap.corruptBlocks > 4 ? " ..." : ""}` : "";
    return `${c.source === "bugcheck" ? "pool" : "heap"} corruption: the crash is a symptom of damaged ${c.source === "bugcheck" ? "pool" : "heap"} memory${found}`;
  }
  if (c.kind === "out-of-memory") return `out of memory${c.cppType ? ` (${c.cppType})` : ""}: look at what holds the memory (leak suspects below)`;
  return undefined;
}
