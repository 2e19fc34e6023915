import {
  type Address,
  type CrashInfo,
  type CrashKind,
  type ModuleInfo,
  type ThreadContext,
  addressFromParts,
  addressOfU64,
  exceptionName,
  moduleAt,
  parseContext,
  readBytes,
} from "@leakscope/core";
import type { KernelDump } from "./kdump.js";

/**
 * Names of the common bugcheck codes (the STOP codes of a blue screen), written from
 * Microsoft's public "Bug check code reference". Codes with the 0x10000000 bit set are the
 * `_M` variants of the same check.
 */
export const BUGCHECK_NAMES: ReadonlyMap<number, string> = new Map([
  [0x01, "APC_INDEX_MISMATCH"],
  [0x0a, "IRQL_NOT_LESS_OR_EQUAL"],
  [0x0c, "MAXIMUM_WAIT_OBJECTS_EXCEEDED"],
  [0x12, "TRAP_CAUSE_UNKNOWN"],
  [0x18, "REFERENCE_BY_POINTER"],
  [0x19, "BAD_POOL_HEADER"],
  [0x1a, "MEMORY_MANAGEMENT"],
  [0x1e, "KMODE_EXCEPTION_NOT_HANDLED"],
  [0x20, "KERNEL_APC_PENDING_DURING_EXIT"],
  [0x21, "QUOTA_UNDERFLOW"],
  [0x24, "NTFS_FILE_SYSTEM"],
  [0x27, "RDR_FILE_SYSTEM"],
  [0x2e, "DATA_BUS_ERROR"],
  [0x35, "NO_MORE_IRP_STACK_LOCATIONS"],
  [0x3b, "SYSTEM_SERVICE_EXCEPTION"],
  [0x3d, "INTERRUPT_EXCEPTION_NOT_HANDLED"],
  [0x3f, "NO_MORE_SYSTEM_PTES"],
  [0x41, "MUST_SUCCEED_POOL_EMPTY"],
  [0x44, "MULTIPLE_IRP_COMPLETE_REQUESTS"],
  [0x4a, "IRQL_GT_ZERO_AT_SYSTEM_SERVICE"],
  [0x4e, "PFN_LIST_CORRUPT"],
  [0x50, "PAGE_FAULT_IN_NONPAGED_AREA"],
  [0x51, "REGISTRY_ERROR"],
  [0x5c, "HAL_INITIALIZATION_FAILED"],
  [0x6b, "PROCESS1_INITIALIZATION_FAILED"],
  [0x74, "BAD_SYSTEM_CONFIG_INFO"],
  [0x77, "KERNEL_STACK_INPAGE_ERROR"],
  [0x7a, "KERNEL_DATA_INPAGE_ERROR"],
  [0x7b, "INACCESSIBLE_BOOT_DEVICE"],
  [0x7c, "BUGCODE_NDIS_DRIVER"],
  [0x7e, "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED"],
  [0x7f, "UNEXPECTED_KERNEL_MODE_TRAP"],
  [0x8e, "KERNEL_MODE_EXCEPTION_NOT_HANDLED"],
  [0x9c, "MACHINE_CHECK_EXCEPTION"],
  [0x9f, "DRIVER_POWER_STATE_FAILURE"],
  [0xa0, "INTERNAL_POWER_ERROR"],
  [0xbe, "ATTEMPTED_WRITE_TO_READONLY_MEMORY"],
  [0xc1, "SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION"],
  [0xc2, "BAD_POOL_CALLER"],
  [0xc4, "DRIVER_VERIFIER_DETECTED_VIOLATION"],
  [0xc5, "DRIVER_CORRUPTED_EXPOOL"],
  [0xc7, "TIMER_OR_DPC_INVALID"],
  [0xc9, "DRIVER_VERIFIER_IOMANAGER_VIOLATION"],
  [0xca, "PNP_DETECTED_FATAL_ERROR"],
  [0xcb, "DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS"],
  [0xcc, "PAGE_FAULT_IN_FREED_SPECIAL_POOL"],
  [0xcd, "PAGE_FAULT_BEYOND_END_OF_ALLOCATION"],
  [0xce, "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS"],
  [0xd0, "DRIVER_CORRUPTED_MMPOOL"],
  [0xd1, "DRIVER_IRQL_NOT_LESS_OR_EQUAL"],
  [0xd5, "DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL"],
  [0xd6, "DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION"],
  [0xd8, "DRIVER_USED_EXCESSIVE_PTES"],
  [0xde, "POOL_CORRUPTION_IN_FILE_AREA"],
  [0xe2, "MANUALLY_INITIATED_CRASH"],
  [0xe3, "RESOURCE_NOT_OWNED"],
  [0xea, "THREAD_STUCK_IN_DEVICE_DRIVER"],
  [0xef, "CRITICAL_PROCESS_DIED"],
  [0xf4, "CRITICAL_OBJECT_TERMINATION"],
  [0xf7, "DRIVER_OVERRAN_STACK_BUFFER"],
  [0xfc, "ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY"],
  [0xfe, "BUGCODE_USB_DRIVER"],
  [0x101, "CLOCK_WATCHDOG_TIMEOUT"],
  [0x109, "CRITICAL_STRUCTURE_CORRUPTION"],
  [0x10d, "WDF_VIOLATION"],
  [0x10e, "VIDEO_MEMORY_MANAGEMENT_INTERNAL"],
  [0x113, "VIDEO_DXGKRNL_FATAL_ERROR"],
  [0x116, "VIDEO_TDR_FAILURE"],
  [0x117, "VIDEO_TDR_TIMEOUT_DETECTED"],
  [0x119, "VIDEO_SCHEDULER_INTERNAL_ERROR"],
  [0x124, "WHEA_UNCORRECTABLE_ERROR"],
  [0x12b, "FAULTY_HARDWARE_CORRUPTED_PAGE"],
  [0x133, "DPC_WATCHDOG_VIOLATION"],
  [0x139, "KERNEL_SECURITY_CHECK_FAILURE"],
  [0x13a, "KERNEL_MODE_HEAP_CORRUPTION"],
  [0x144, "BUGCODE_USB3_DRIVER"],
  [0x154, "UNEXPECTED_STORE_EXCEPTION"],
  [0x1d5, "DRIVER_PNP_WATCHDOG"],
  [0xc000021a, "WINLOGON_FATAL_ERROR"],
  [0xdeaddead, "MANUALLY_INITIATED_CRASH1"],
]);

/** The `_M` bit: the same check raised through KeBugCheck2's alternate path. */
const M_BIT = 0x10000000;

/** Name of a bugcheck code (`SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M` for 0x1000007E); undefined when not in the table. */
export function bugcheckName(code: number): string | undefined {
  const c = code >>> 0;
  const direct = BUGCHECK_NAMES.get(c);
  if (direct) return direct;
  const base = baseCode(c);
  const name = base !== c ? BUGCHECK_NAMES.get(base) : undefined;
  return name ? `${name}_M` : undefined;
}

/** Which parameter (0-based) holds the faulting code address, per base code. */
const ADDRESS_PARAMETER: ReadonlyMap<number, number> = new Map([
  [0x0a, 3],
  [0xd1, 3],
  [0x1e, 1],
  [0x3b, 1],
  [0x7e, 1],
  [0x8e, 1],
  [0x50, 2],
  [0xd5, 2],
  [0xd6, 2],
  [0xcc, 2],
  [0xcd, 2],
  [0x116, 1],
  [0x117, 1],
]);

/** Which parameter points at a saved CONTEXT record of the faulting thread. */
const CONTEXT_PARAMETER: ReadonlyMap<number, number> = new Map([
  [0x7e, 3],
  [0x3b, 2],
]);

/** Codes whose first parameter is the unhandled exception's code. */
const EXCEPTION_PARAMETER = new Set([0x1e, 0x7e, 0x8e, 0x3b]);

const POOL_CORRUPTION = new Set([0x19, 0xc1, 0xc2, 0xc5, 0xd0, 0xde, 0x13a]);
const OUT_OF_MEMORY = new Set([0x3f, 0x41, 0xd8]);

/** The kind of a bugcheck for memory analysis: pool corruption and pool/PTE exhaustion lead to the pool walk. */
export function bugcheckKind(code: number): CrashKind {
  const base = (code >>> 0) & 0x0fffffff;
  if ((code >>> 0) > 0xfffffff) return "bugcheck";
  if (POOL_CORRUPTION.has(base)) return "heap-corruption";
  if (OUT_OF_MEMORY.has(base)) return "out-of-memory";
  return "bugcheck";
}

function baseCode(code: number): number {
  const c = code >>> 0;
  return (c & 0xf0000000) === M_BIT ? c & 0x0fffffff : c;
}

const toAddress = addressOfU64;

/**
 * The bugcheck of a kernel dump as a {@link CrashInfo}: code, name, the four parameters, the
 * faulting address and the driver whose image holds it, the thread that bugchecked (KPRCB
 * CurrentThread of the triage copy) and its registers (the CONTEXT record a parameter points
 * at when it is captured, else the dump's own context).
 */
export function describeBugcheck(dump: KernelDump): CrashInfo | undefined {
  const h = dump.header;
  const code = h.bugCheckCode >>> 0;
  if (code === 0) return undefined;
  const crash: CrashInfo = { source: "bugcheck", kind: bugcheckKind(code), code, parameters: [...h.bugCheckParameters], notes: [] };
  const name = bugcheckName(code);
  if (name) crash.name = name;
  const base = baseCode(code);
  if (EXCEPTION_PARAMETER.has(base) && h.bugCheckParameters[0] !== undefined) {
    const ex = Number(h.bugCheckParameters[0] & 0xffffffffn);
    const exName = exceptionName(ex)?.name;
    crash.text = `exception 0x${ex.toString(16)}${exName ? ` (${exName})` : ""} not handled`;
  }
  const drivers: readonly ModuleInfo[] = dump.drivers;
  const pIndex = ADDRESS_PARAMETER.get(base);
  if (pIndex !== undefined && h.bugCheckParameters[pIndex] !== undefined) {
    crash.address = toAddress(h.bugCheckParameters[pIndex]!);
  } else if (h.exceptionAddress === h.exceptionAddress && h.exceptionAddress !== 0) {
    crash.address = h.exceptionAddress;
  }
  let mod = moduleAt(drivers, crash.address);
  if (!mod) {
    // Another parameter may name code in a driver (VIDEO_TDR_FAILURE, verifier checks...).
    for (const p of h.bugCheckParameters) {
      const hit = moduleAt(drivers, toAddress(p));
      if (hit && !/^(ntoskrnl|ntkrnl\w*|hal)\.(exe|dll)$/i.test(hit.name)) {
        mod = hit;
        if (crash.address === undefined) crash.address = toAddress(p);
        break;
      }
    }
  }
  if (mod) crash.module = mod;
  const thread = currentThread(dump);
  if (thread !== undefined) {
    crash.thread = thread;
    const info = triageThread(dump, thread);
    if (info?.id !== undefined) crash.threadId = info.id;
    if (info?.processName) crash.notes.push(`the thread belongs to process ${info.processName} (pid ${info.processId})`);
  }
  const cIndex = CONTEXT_PARAMETER.get(base);
  const at = cIndex !== undefined ? h.bugCheckParameters[cIndex] : undefined;
  const fromParam = at !== undefined ? contextAt(dump, toAddress(at)) : undefined;
  if (fromParam) {
    crash.context = fromParam;
    crash.contextSource = "bugcheck-context-record";
  } else {
    const own = triageContext(dump);
    if (own) {
      crash.context = own;
      crash.contextSource = "triage-context";
    }
  }
  return crash;
}

/** A CONTEXT record at a kernel virtual address, when the dump holds it. */
function contextAt(dump: KernelDump, va: Address): ThreadContext | undefined {
  if (!(va === va) || va === 0 || dump.arch !== "x64") return undefined;
  const bytes = dump.space.read(va, X64_CONTEXT_SIZE);
  return bytes ? x64Context(bytes) : undefined;
}

const X64_CONTEXT_SIZE = 0x4d0;

/** An x64 CONTEXT record from its bytes, when it parses and holds an instruction pointer. */
function x64Context(bytes: Uint8Array): ThreadContext | undefined {
  const ctx = parseContext("x64", new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, bytes.length);
  return ctx && ctx.ip === ctx.ip && ctx.ip !== 0 ? ctx : undefined;
}

/**
 * Offsets of _ETHREAD.Cid, _EPROCESS.UniqueProcessId and _EPROCESS.ImageFileName by build, for
 * the x64 kernels whose layout was checked against a real triage dump (Windows 10 2004-22H2
 * share one layout). Other builds keep the thread without an id.
 */
const X64_THREAD_LAYOUTS: readonly { from: number; to: number; cid: number; pid: number; name: number }[] = [
  { from: 19041, to: 19045, cid: 0x478, pid: 0x440, name: 0x5a8 },
];
/** KTHREAD (x64, every build since Windows 7): StackLimit, StackBase, Teb. */
const KTHREAD_STACK_LIMIT = 0x30;
const KTHREAD_STACK_BASE = 0x38;
const KTHREAD_TEB = 0xf0;

/** The bugchecking thread of an x64 triage dump from its ETHREAD and EPROCESS copies. */
export interface TriageThread {
  address: Address;
  /** Thread and process id (Cid), when the build's layout is known and both copies agree. */
  id?: number;
  processId?: number;
  processName?: string;
  stack?: { address: Address; size: number };
  teb: Address;
}

export function triageThread(dump: KernelDump, address: Address): TriageThread | undefined {
  const t = dump.triage;
  if (!t || dump.arch !== "x64" || t.threadOffset === 0) return undefined;
  const eth = readBytes(dump.source, t.threadOffset, 0x800);
  if (eth.length < 0x100) return undefined;
  const v = new DataView(eth.buffer, eth.byteOffset, eth.byteLength);
  const ptr = (o: number): Address => (o + 8 <= eth.length ? addressFromParts(v.getUint32(o, true), v.getUint32(o + 4, true)) : Number.NaN);
  const out: TriageThread = { address, teb: 0 };
  const teb = ptr(KTHREAD_TEB);
  if (teb === teb) out.teb = teb;
  const limit = ptr(KTHREAD_STACK_LIMIT);
  const base = ptr(KTHREAD_STACK_BASE);
  if (limit === limit && base === base && base > limit && base - limit <= 0x100000) out.stack = { address: limit, size: base - limit };
  const layout = X64_THREAD_LAYOUTS.find((l) => dump.header.minorVersion >= l.from && dump.header.minorVersion <= l.to);
  if (layout && t.processOffset > 0 && layout.cid + 16 <= eth.length) {
    const pid = v.getUint32(layout.cid, true);
    const tid = v.getUint32(layout.cid + 8, true);
    const ep = readBytes(dump.source, t.processOffset, layout.name + 16);
    if (ep.length >= layout.name + 15) {
      const pv = new DataView(ep.buffer, ep.byteOffset, ep.byteLength);
      if (pv.getUint32(layout.pid, true) === pid && pid % 4 === 0 && tid % 4 === 0 && tid !== 0) {
        out.id = tid;
        out.processId = pid;
        const name = Buffer.from(ep.buffer, ep.byteOffset + layout.name, 15).toString("latin1").replace(/\0.*$/s, "");
        if (/^[\x20-\x7e]+$/.test(name)) out.processName = name;
      }
    }
  }
  return out;
}

/** The context a triage dump stores at ContextOffset (the processor state at KeBugCheckEx). */
function triageContext(dump: KernelDump): ThreadContext | undefined {
  const t = dump.triage;
  if (!t || dump.arch !== "x64" || t.contextOffset === 0) return undefined;
  const bytes = readBytes(dump.source, t.contextOffset, X64_CONTEXT_SIZE);
  return bytes.length < 0x100 ? undefined : x64Context(bytes);
}

/** KPRCB.CurrentThread (+0x8 on x64) of the triage dump's KPRCB copy. */
function currentThread(dump: KernelDump): Address | undefined {
  const t = dump.triage;
  if (!t || dump.arch !== "x64" || t.prcbOffset === 0) return undefined;
  const b = readBytes(dump.source, t.prcbOffset + 8, 8);
  if (b.length < 8) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, 8);
  const a = addressFromParts(v.getUint32(0, true), v.getUint32(4, true));
  return a === a && a < 0 ? a : undefined;
}
