import type { Address } from "../address.js";
import type { Arch, ThreadContext } from "../model/target.js";

/**
 * What a crash means for memory analysis: `heap-corruption` (STATUS_HEAP_CORRUPTION, heap
 * fail-fast codes, a heap validation break) and `out-of-memory` (STATUS_NO_MEMORY, a C++
 * `std::bad_alloc`) lead the verdict to the heap walk; the rest describe the crash only.
 */
export type CrashKind =
  | "heap-corruption"
  | "out-of-memory"
  | "stack-overflow"
  | "access-violation"
  | "fail-fast"
  | "cpp-exception"
  | "breakpoint"
  | "bugcheck"
  | "other";

/** The module (or driver) whose image holds an address. */
export interface CrashModule {
  name: string;
  base: Address;
  /** Address minus base. */
  offset: number;
}

/** The exception (user mode) or bugcheck (kernel) a dump records. */
export interface CrashInfo {
  source: "exception" | "bugcheck";
  kind: CrashKind;
  /** NTSTATUS exception code or bugcheck code (u32). */
  code: number;
  /** `STATUS_ACCESS_VIOLATION`, `SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M`, ... when known. */
  name?: string;
  /** A few words for the code (`access violation`). */
  text?: string;
  /** Exception address, or the bugcheck's faulting address. */
  address?: Address;
  /** Exception information or the four bugcheck parameters, exact. */
  parameters: bigint[];
  /** The crashing thread's id (user mode). */
  threadId?: number;
  /** Kernel: the KTHREAD/ETHREAD address of the thread that bugchecked. */
  thread?: Address;
  /** The crashing thread's registers at the crash, and where they come from. */
  context?: ThreadContext;
  contextSource?: "exception-record" | "bugcheck-context-record" | "triage-context";
  /** The module or driver holding `address`. */
  module?: CrashModule;
  /** Access violations and in-page errors: what was accessed. */
  access?: { operation: "read" | "write" | "execute"; address: Address };
  /** C++ exceptions: the thrown type (from the throw info, when its memory is captured). */
  cppType?: string;
  /** STATUS_STACK_BUFFER_OVERRUN: the FAST_FAIL code. */
  failFast?: { code: number; name?: string };
  /** Facts that could not be read, and why. */
  notes: string[];
}

/** Processor facts of the machine the dump was taken on. */
export interface CpuFacts {
  count: number;
  arch: Arch;
  /** CPUID vendor (`GenuineIntel`). */
  vendor?: string;
  /** `GenuineIntel family 6 model 158 stepping 10` (breakpad's wording). */
  description?: string;
  maxMhz?: number;
}

/** Facts about the dumped process (user mode) or system (kernel). */
export interface ProcessFacts {
  id?: number;
  /** File name of the main executable (user mode) or the kernel image. */
  mainModule?: string;
  /** Process creation time, seconds since 1970 (MiscInfo). */
  createTime?: number;
  userSeconds?: number;
  kernelSeconds?: number;
  /** Kernel dumps: seconds the system had run. */
  uptimeSeconds?: number;
  /** When the dump was written, seconds since 1970. */
  dumpTime?: number;
}
