import { type U64, setU64 } from "./bytes.js";

/** x86 / WOW64_CONTEXT integer registers. Unset registers are 0. */
export interface MinidumpX86Registers {
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
  esi: number;
  edi: number;
  ebp: number;
  esp: number;
  eip: number;
  eflags: number;
  cs: number;
  ds: number;
  es: number;
  fs: number;
  gs: number;
  ss: number;
  /** Default 0x1003f (CONTEXT_i386 | all). */
  contextFlags: number;
}

/** x64 CONTEXT integer registers. Unset registers are 0 (segments get Windows' usual values). */
export interface MinidumpX64Registers {
  rax: U64;
  rbx: U64;
  rcx: U64;
  rdx: U64;
  rsi: U64;
  rdi: U64;
  rbp: U64;
  rsp: U64;
  r8: U64;
  r9: U64;
  r10: U64;
  r11: U64;
  r12: U64;
  r13: U64;
  r14: U64;
  r15: U64;
  rip: U64;
  eflags: number;
  cs: number;
  ds: number;
  es: number;
  fs: number;
  gs: number;
  ss: number;
  /** Default 0x10001f (CONTEXT_AMD64 | control, integer, segments, float, debug). */
  contextFlags: number;
}

/** ARM64 CONTEXT: x0..x28 in `x`, plus fp, lr, sp, pc, cpsr. */
export interface MinidumpArm64Registers {
  x: U64[];
  fp: U64;
  lr: U64;
  sp: U64;
  pc: U64;
  cpsr: number;
  /** Default 0x400007. */
  contextFlags: number;
}

/** A thread context to write: registers for an architecture, or raw CONTEXT bytes. */
export type MinidumpContextSpec =
  | { arch: "x86"; registers: Partial<MinidumpX86Registers> }
  | { arch: "x64"; registers: Partial<MinidumpX64Registers> }
  | { arch: "arm64"; registers: Partial<MinidumpArm64Registers> }
  | Uint8Array;

export const MINIDUMP_X86_CONTEXT_SIZE = 0x2cc;
export const MINIDUMP_X64_CONTEXT_SIZE = 0x4d0;
export const MINIDUMP_ARM64_CONTEXT_SIZE = 0x390;

const X86 = {
  gs: 0x8c, fs: 0x90, es: 0x94, ds: 0x98, edi: 0x9c, esi: 0xa0, ebx: 0xa4, edx: 0xa8, ecx: 0xac,
  eax: 0xb0, ebp: 0xb4, eip: 0xb8, cs: 0xbc, eflags: 0xc0, esp: 0xc4, ss: 0xc8,
} as const;

const X64_U64 = {
  rax: 0x78, rcx: 0x80, rdx: 0x88, rbx: 0x90, rsp: 0x98, rbp: 0xa0, rsi: 0xa8, rdi: 0xb0, r8: 0xb8,
  r9: 0xc0, r10: 0xc8, r11: 0xd0, r12: 0xd8, r13: 0xe0, r14: 0xe8, r15: 0xf0, rip: 0xf8,
} as const;
const X64_U16 = { cs: 0x38, ds: 0x3a, es: 0x3c, fs: 0x3e, gs: 0x40, ss: 0x42 } as const;

/** Bytes of an x86 CONTEXT (also the WOW64_CONTEXT layout). */
export function minidumpX86Context(registers: Partial<MinidumpX86Registers>): Uint8Array {
  const bytes = new Uint8Array(MINIDUMP_X86_CONTEXT_SIZE);
  const v = new DataView(bytes.buffer);
  const r = { cs: 0x23, ds: 0x2b, es: 0x2b, fs: 0x53, gs: 0x2b, ss: 0x2b, ...registers };
  v.setUint32(0, r.contextFlags ?? 0x1003f, true);
  for (const [name, at] of Object.entries(X86)) v.setUint32(at, (r[name as keyof typeof X86] ?? 0) >>> 0, true);
  return bytes;
}

/** Bytes of an x64 CONTEXT. */
export function minidumpX64Context(registers: Partial<MinidumpX64Registers>): Uint8Array {
  const bytes = new Uint8Array(MINIDUMP_X64_CONTEXT_SIZE);
  const v = new DataView(bytes.buffer);
  const r = { cs: 0x33, ds: 0x2b, es: 0x2b, fs: 0x53, gs: 0x2b, ss: 0x2b, ...registers };
  v.setUint32(0x30, r.contextFlags ?? 0x10001f, true);
  for (const [name, at] of Object.entries(X64_U64)) setU64(v, at, r[name as keyof typeof X64_U64] ?? 0);
  for (const [name, at] of Object.entries(X64_U16)) v.setUint16(at, r[name as keyof typeof X64_U16] ?? 0, true);
  v.setUint32(0x44, r.eflags ?? 0x246, true);
  return bytes;
}

/** Bytes of an ARM64 CONTEXT. */
export function minidumpArm64Context(registers: Partial<MinidumpArm64Registers>): Uint8Array {
  const bytes = new Uint8Array(MINIDUMP_ARM64_CONTEXT_SIZE);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, registers.contextFlags ?? 0x400007, true);
  v.setUint32(4, registers.cpsr ?? 0, true);
  const x = registers.x ?? [];
  for (let i = 0; i < 29; i++) setU64(v, 8 + i * 8, x[i] ?? 0);
  setU64(v, 8 + 29 * 8, registers.fp ?? 0);
  setU64(v, 8 + 30 * 8, registers.lr ?? 0);
  setU64(v, 0x100, registers.sp ?? 0);
  setU64(v, 0x108, registers.pc ?? 0);
  return bytes;
}

export function minidumpContextBytes(spec: MinidumpContextSpec): Uint8Array {
  if (spec instanceof Uint8Array) return spec;
  if (spec.arch === "x86") return minidumpX86Context(spec.registers);
  if (spec.arch === "x64") return minidumpX64Context(spec.registers);
  return minidumpArm64Context(spec.registers);
}
