/**
 * Names of the exception codes (NTSTATUS values) a crashing Windows process reports, of the
 * fail-fast codes carried by STATUS_STACK_BUFFER_OVERRUN, and of the MSVC C++ exception.
 * Written from the public NTSTATUS and winnt.h documentation.
 */
export const EXCEPTION_NAMES: ReadonlyMap<number, { name: string; text: string }> = new Map([
  [0x80000001, { name: "STATUS_GUARD_PAGE_VIOLATION", text: "guard page touched" }],
  [0x80000002, { name: "STATUS_DATATYPE_MISALIGNMENT", text: "misaligned data access" }],
  [0x80000003, { name: "STATUS_BREAKPOINT", text: "breakpoint" }],
  [0x80000004, { name: "STATUS_SINGLE_STEP", text: "single step" }],
  [0xc0000005, { name: "STATUS_ACCESS_VIOLATION", text: "access violation" }],
  [0xc0000006, { name: "STATUS_IN_PAGE_ERROR", text: "in-page I/O error" }],
  [0xc0000008, { name: "STATUS_INVALID_HANDLE", text: "invalid handle" }],
  [0xc000000d, { name: "STATUS_INVALID_PARAMETER", text: "invalid parameter" }],
  [0xc0000017, { name: "STATUS_NO_MEMORY", text: "out of memory (no memory for a heap allocation or virtual memory)" }],
  [0xc000001d, { name: "STATUS_ILLEGAL_INSTRUCTION", text: "illegal instruction" }],
  [0xc0000025, { name: "STATUS_NONCONTINUABLE_EXCEPTION", text: "non-continuable exception" }],
  [0xc0000026, { name: "STATUS_INVALID_DISPOSITION", text: "invalid exception disposition" }],
  [0xc000008c, { name: "STATUS_ARRAY_BOUNDS_EXCEEDED", text: "array bounds exceeded" }],
  [0xc000008d, { name: "STATUS_FLOAT_DENORMAL_OPERAND", text: "floating-point denormal operand" }],
  [0xc000008e, { name: "STATUS_FLOAT_DIVIDE_BY_ZERO", text: "floating-point division by zero" }],
  [0xc000008f, { name: "STATUS_FLOAT_INEXACT_RESULT", text: "floating-point inexact result" }],
  [0xc0000090, { name: "STATUS_FLOAT_INVALID_OPERATION", text: "floating-point invalid operation" }],
  [0xc0000091, { name: "STATUS_FLOAT_OVERFLOW", text: "floating-point overflow" }],
  [0xc0000092, { name: "STATUS_FLOAT_STACK_CHECK", text: "floating-point stack check" }],
  [0xc0000093, { name: "STATUS_FLOAT_UNDERFLOW", text: "floating-point underflow" }],
  [0xc0000094, { name: "STATUS_INTEGER_DIVIDE_BY_ZERO", text: "integer division by zero" }],
  [0xc0000095, { name: "STATUS_INTEGER_OVERFLOW", text: "integer overflow" }],
  [0xc0000096, { name: "STATUS_PRIVILEGED_INSTRUCTION", text: "privileged instruction" }],
  [0xc00000fd, { name: "STATUS_STACK_OVERFLOW", text: "stack overflow" }],
  [0xc0000135, { name: "STATUS_DLL_NOT_FOUND", text: "DLL not found" }],
  [0xc0000138, { name: "STATUS_ORDINAL_NOT_FOUND", text: "ordinal not found" }],
  [0xc0000139, { name: "STATUS_ENTRYPOINT_NOT_FOUND", text: "entry point not found" }],
  [0xc000013a, { name: "STATUS_CONTROL_C_EXIT", text: "Ctrl+C exit" }],
  [0xc0000142, { name: "STATUS_DLL_INIT_FAILED", text: "DLL initialization failed" }],
  [0xc0000194, { name: "STATUS_POSSIBLE_DEADLOCK", text: "possible deadlock" }],
  [0xc00001a5, { name: "STATUS_INVALID_EXCEPTION_HANDLER", text: "invalid exception handler" }],
  [0xc0000374, { name: "STATUS_HEAP_CORRUPTION", text: "heap corruption detected by the heap manager" }],
  [0xc0000409, { name: "STATUS_STACK_BUFFER_OVERRUN", text: "fail-fast (stack buffer overrun or __fastfail)" }],
  [0xc0000417, { name: "STATUS_INVALID_CRUNTIME_PARAMETER", text: "invalid C runtime parameter" }],
  [0xc0000420, { name: "STATUS_ASSERTION_FAILURE", text: "assertion failure" }],
  [0xc0000602, { name: "STATUS_FAIL_FAST_EXCEPTION", text: "fail-fast exception" }],
  [0xc06d007e, { name: "VcppException(ERROR_MOD_NOT_FOUND)", text: "delay-load module not found" }],
  [0xc06d007f, { name: "VcppException(ERROR_PROC_NOT_FOUND)", text: "delay-load procedure not found" }],
  [0xe06d7363, { name: "CPP_EH_EXCEPTION", text: "C++ exception (MSVC throw)" }],
  [0xe0434352, { name: "CLR_EXCEPTION", text: ".NET exception" }],
  [0x40010005, { name: "DBG_CONTROL_C", text: "Ctrl+C in a debugger" }],
  [0x4000001f, { name: "STATUS_WX86_BREAKPOINT", text: "32-bit breakpoint in a WoW64 process" }],
  [0x406d1388, { name: "MS_VC_EXCEPTION", text: "thread naming (SetThreadName)" }],
]);

/** FAST_FAIL_* codes (the first parameter of STATUS_STACK_BUFFER_OVERRUN), from winnt.h. */
export const FAST_FAIL_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "FAST_FAIL_LEGACY_GS_VIOLATION"],
  [1, "FAST_FAIL_VTGUARD_CHECK_FAILURE"],
  [2, "FAST_FAIL_STACK_COOKIE_CHECK_FAILURE"],
  [3, "FAST_FAIL_CORRUPT_LIST_ENTRY"],
  [4, "FAST_FAIL_INCORRECT_STACK"],
  [5, "FAST_FAIL_INVALID_ARG"],
  [6, "FAST_FAIL_GS_COOKIE_INIT"],
  [7, "FAST_FAIL_FATAL_APP_EXIT"],
  [8, "FAST_FAIL_RANGE_CHECK_FAILURE"],
  [9, "FAST_FAIL_UNSAFE_REGISTRY_ACCESS"],
  [10, "FAST_FAIL_GUARD_ICALL_CHECK_FAILURE"],
  [11, "FAST_FAIL_GUARD_WRITE_CHECK_FAILURE"],
  [12, "FAST_FAIL_INVALID_FIBER_SWITCH"],
  [13, "FAST_FAIL_INVALID_SET_OF_CONTEXT"],
  [14, "FAST_FAIL_INVALID_REFERENCE_COUNT"],
  [18, "FAST_FAIL_INVALID_JUMP_BUFFER"],
  [19, "FAST_FAIL_MRDATA_MODIFIED"],
  [21, "FAST_FAIL_INVALID_EXCEPTION_CHAIN"],
  [28, "FAST_FAIL_INVALID_BUFFER_ACCESS"],
  [29, "FAST_FAIL_INVALID_BALANCED_TREE"],
  [35, "FAST_FAIL_UNEXPECTED_HEAP_EXCEPTION"],
  [37, "FAST_FAIL_GUARD_JUMPTABLE"],
  [38, "FAST_FAIL_INVALID_LONGJUMP_TARGET"],
  [44, "FAST_FAIL_GUARD_SS_FAILURE"],
  [50, "FAST_FAIL_HEAP_METADATA_CORRUPTION"],
]);

/** Fail-fast codes raised by heap corruption checks. */
export const HEAP_FAST_FAIL_CODES: ReadonlySet<number> = new Set([3, 35, 50]);

export const STATUS_ACCESS_VIOLATION = 0xc0000005;
export const STATUS_IN_PAGE_ERROR = 0xc0000006;
export const STATUS_BREAKPOINT = 0x80000003;
export const STATUS_WX86_BREAKPOINT = 0x4000001f;
export const STATUS_NO_MEMORY = 0xc0000017;
export const STATUS_STACK_OVERFLOW = 0xc00000fd;
export const STATUS_HEAP_CORRUPTION = 0xc0000374;
export const STATUS_STACK_BUFFER_OVERRUN = 0xc0000409;
export const STATUS_FAIL_FAST_EXCEPTION = 0xc0000602;
/** `0xE0` + `msc` in ASCII: what MSVC's `throw` raises. */
export const CPP_EH_EXCEPTION = 0xe06d7363;

/** Name and words for an exception code; undefined for codes not in the table. */
export function exceptionName(code: number): { name: string; text: string } | undefined {
  return EXCEPTION_NAMES.get(code >>> 0);
}
