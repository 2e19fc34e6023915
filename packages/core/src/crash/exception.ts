import { type Address, addressFromParts, formatAddress } from "../address.js";
import type { AddressSpace } from "../memory/address-space.js";
import type { Arch, ThreadContext } from "../model/target.js";
import type { CpuFacts, CrashInfo, CrashKind, CrashModule } from "./model.js";
import {
  CPP_EH_EXCEPTION,
  FAST_FAIL_NAMES,
  HEAP_FAST_FAIL_CODES,
  STATUS_ACCESS_VIOLATION,
  STATUS_BREAKPOINT,
  STATUS_FAIL_FAST_EXCEPTION,
  STATUS_HEAP_CORRUPTION,
  STATUS_IN_PAGE_ERROR,
  STATUS_NO_MEMORY,
  STATUS_STACK_BUFFER_OVERRUN,
  STATUS_STACK_OVERFLOW,
  STATUS_WX86_BREAKPOINT,
  exceptionName,
} from "./names.js";

/** A module as far as address lookup needs it. */
export interface ModuleRange {
  name: string;
  base: Address;
  size: number;
}

/** The module whose image `[base, base + size)` holds `address`, with the offset into it. */
export function moduleAt(modules: readonly ModuleRange[], address: Address | undefined): CrashModule | undefined {
  if (address === undefined || !(address === address)) return undefined;
  for (const m of modules) {
    if (m.base === m.base && address >= m.base && address < m.base + m.size) return { name: m.name, base: m.base, offset: address - m.base };
  }
  return undefined;
}

/** An {@link Address} from an exact u64 value (sign-extended kernel addresses stay exact; others are NaN). */
export function addressOfU64(v: bigint): Address {
  return addressFromParts(Number(v & 0xffffffffn), Number((v >> 32n) & 0xffffffffn));
}

/** `name+0xoffset` for a module hit. */
export function moduleOffsetText(m: CrashModule): string {
  return `${m.name}+0x${m.offset.toString(16)}`;
}

/** MSVC EH magic numbers in ExceptionInformation[0] of a C++ throw. */
const CPP_MAGIC = new Set([0x19930520, 0x19930521, 0x19930522, 0x01994000]);
const MAX_NAME = 512;

/**
 * Demangle an MSVC RTTI type-descriptor name (`.?AVbad_alloc@std@@` -> `std::bad_alloc`).
 * Names with templates or other encodings are returned as stored.
 */
export function demangleRttiName(raw: string): string {
  const m = /^\.\?A[VUT](.+)@@$/.exec(raw);
  if (!m || m[1]!.includes("?$") || m[1]!.includes("?")) return raw;
  return m[1]!.split("@").filter((p) => p.length > 0).reverse().join("::");
}

/**
 * The thrown type of an MSVC C++ exception (0xE06D7363), read from its ThrowInfo:
 * ThrowInfo.pCatchableTypeArray -> CatchableTypeArray[0] -> CatchableType.pType ->
 * TypeDescriptor.name. On x64 (four parameters) the pointers are RVAs from the image base in
 * the fourth parameter; on x86 (three) they are addresses. Undefined with a reason when a
 * structure is not in the dump.
 */
export function cppThrownType(space: AddressSpace | undefined, params: readonly bigint[]): { type?: string; note?: string } {
  if (params.length < 3 || !CPP_MAGIC.has(Number(params[0]! & 0xffffffffn))) return { note: "the exception parameters are not those of an MSVC throw" };
  if (!space) return { note: "the dump holds no memory to read the throw info from" };
  const rva = params.length >= 4;
  const imageBase = rva ? addressOfU64(params[3]!) : 0;
  const ptrSize = rva ? 8 : 4;
  const at = (field: number): Address => (rva ? (field === 0 ? Number.NaN : imageBase + field) : field);
  const throwInfo = addressOfU64(params[2]!);
  const ok = (a: Address, n: number): boolean => a === a && a > 0 && space.isMapped(a, n);
  if (!ok(throwInfo, 16)) return { note: `the throw info at ${formatAddress(throwInfo)} is not in the dump (take a dump with module data, e.g. procdump -ma)` };
  const cta = at(space.u32(throwInfo + 12));
  if (!ok(cta, 8)) return { note: "the catchable-type array of the throw info is not in the dump" };
  const count = space.i32(cta);
  if (!(count >= 1 && count < 256)) return { note: "the catchable-type array of the throw info is malformed" };
  const ct = at(space.u32(cta + 4));
  if (!ok(ct, 8)) return { note: "the catchable type of the throw info is not in the dump" };
  const td = at(space.u32(ct + 4));
  if (!ok(td, 2 * ptrSize + 4)) return { note: "the type descriptor of the thrown type is not in the dump" };
  const raw = space.cString(td + 2 * ptrSize, MAX_NAME);
  if (raw === undefined) return { note: "the name of the thrown type is not in the dump" };
  if (!/^\.\?A[A-Z0-9]/.test(raw)) return { note: "the thrown type's descriptor holds no MSVC type name" };
  return { type: demangleRttiName(raw) };
}

const OOM_TYPES = /(^|::)(bad_alloc|bad_array_new_length)$/;

/** The kind of a user-mode exception for memory analysis. */
export function exceptionKind(code: number, params: readonly bigint[], cppType?: string): CrashKind {
  const c = code >>> 0;
  if (c === STATUS_HEAP_CORRUPTION) return "heap-corruption";
  if (c === STATUS_NO_MEMORY) return "out-of-memory";
  if (c === CPP_EH_EXCEPTION) return cppType && OOM_TYPES.test(cppType) ? "out-of-memory" : "cpp-exception";
  if (c === STATUS_STACK_OVERFLOW) return "stack-overflow";
  if (c === STATUS_ACCESS_VIOLATION || c === STATUS_IN_PAGE_ERROR) return "access-violation";
  if (c === STATUS_STACK_BUFFER_OVERRUN || c === STATUS_FAIL_FAST_EXCEPTION) {
    const ff = params.length > 0 ? Number(params[0]! & 0xffffffffn) : -1;
    return HEAP_FAST_FAIL_CODES.has(ff) ? "heap-corruption" : "fail-fast";
  }
  if (c === STATUS_BREAKPOINT || c === STATUS_WX86_BREAKPOINT) return "breakpoint";
  return "other";
}

/** True for a breakpoint raised inside the heap manager or the application verifier (a heap validation break, when the walk finds corrupt blocks). */
export function isHeapBreak(crash: CrashInfo): boolean {
  if (crash.kind !== "breakpoint" || !crash.module) return false;
  return /^(ntdll|verifier|vrfcore|vfbasics)\.dll$/i.test(crash.module.name);
}

export interface ExceptionInput {
  threadId: number;
  code: number;
  address: Address;
  parameters: readonly bigint[];
  context?: ThreadContext;
}

/** Build the {@link CrashInfo} of a user-mode exception record. */
export function describeException(ex: ExceptionInput, modules: readonly ModuleRange[], space: AddressSpace | undefined): CrashInfo {
  const code = ex.code >>> 0;
  const named = exceptionName(code);
  const crash: CrashInfo = { source: "exception", kind: "other", code, parameters: [...ex.parameters], threadId: ex.threadId >>> 0, notes: [] };
  if (named) {
    crash.name = named.name;
    crash.text = named.text;
  }
  if (ex.address === ex.address) crash.address = ex.address;
  if (ex.context) {
    crash.context = ex.context;
    crash.contextSource = "exception-record";
  }
  const mod = moduleAt(modules, crash.address);
  if (mod) crash.module = mod;
  const p = ex.parameters;
  if ((code === STATUS_ACCESS_VIOLATION || code === STATUS_IN_PAGE_ERROR) && p.length >= 2) {
    const op = Number(p[0]! & 0xffffffffn);
    const target = addressOfU64(p[1]!);
    crash.access = { operation: op === 1 ? "write" : op === 8 ? "execute" : "read", address: target };
  }
  if ((code === STATUS_STACK_BUFFER_OVERRUN || code === STATUS_FAIL_FAST_EXCEPTION) && p.length >= 1) {
    const ff = Number(p[0]! & 0xffffffffn);
    const name = FAST_FAIL_NAMES.get(ff);
    crash.failFast = name ? { code: ff, name } : { code: ff };
  }
  let cppType: string | undefined;
  if (code === CPP_EH_EXCEPTION) {
    const t = cppThrownType(space, p);
    if (t.type) cppType = crash.cppType = t.type;
    else if (t.note) crash.notes.push(`thrown type unknown: ${t.note}`);
  }
  crash.kind = exceptionKind(code, p, cppType);
  return crash;
}

/**
 * Family, model and stepping from CPUID leaf 1 EAX, as breakpad words them
 * (`GenuineIntel family 6 model 158 stepping 10`); from ProcessorLevel/Revision when the
 * CPUID value is absent.
 */
export function cpuDescription(vendor: string | undefined, version: number | undefined, level: number, revision: number): string | undefined {
  let family: number;
  let model: number;
  let stepping: number;
  if (version !== undefined && version !== 0) {
    stepping = version & 0xf;
    model = (version >>> 4) & 0xf;
    family = (version >>> 8) & 0xf;
    const extModel = (version >>> 16) & 0xf;
    const extFamily = (version >>> 20) & 0xff;
    if (family === 0xf) family += extFamily;
    if (family === 6 || family >= 0xf) model += extModel << 4;
  } else if (level > 0) {
    family = level;
    model = (revision >>> 8) & 0xff;
    stepping = revision & 0xff;
  } else return undefined;
  return `${vendor ? `${vendor} ` : ""}family ${family} model ${model} stepping ${stepping}`;
}

/** CPU facts from SystemInfo (and MiscInfo's clock). */
export function cpuFacts(
  sys: { arch: Arch; cpuCount: number; vendorId?: string; cpuVersion?: number; processorLevel: number; processorRevision: number },
  maxMhz?: number,
): CpuFacts {
  const out: CpuFacts = { count: sys.cpuCount, arch: sys.arch };
  if (sys.vendorId) out.vendor = sys.vendorId;
  const d = sys.arch === "x86" || sys.arch === "x64" ? cpuDescription(sys.vendorId, sys.cpuVersion, sys.processorLevel, sys.processorRevision) : undefined;
  if (d) out.description = d;
  if (maxMhz !== undefined && maxMhz > 0) out.maxMhz = maxMhz;
  return out;
}
