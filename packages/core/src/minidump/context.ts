import { type Address, addressFromParts } from "../address.js";
import type { ThreadContext } from "../model/target.js";
import { u64 } from "./bytes.js";

/** Sizes of the CONTEXT records minidumps carry. */
export const X86_CONTEXT_SIZE = 0x2cc;
export const X64_CONTEXT_SIZE = 0x4d0;
export const ARM64_CONTEXT_SIZE = 0x390;
/** The x86 part without ExtendedRegisters (some dumpers write only this much). */
export const X86_CONTEXT_MIN = 0xcc;
/** The x64 part up to and including Rip. */
export const X64_CONTEXT_MIN = 0x100;
export const ARM64_CONTEXT_MIN = 0x110;

/** ContextFlags architecture bits. */
export const CONTEXT_I386 = 0x10000;
export const CONTEXT_AMD64 = 0x100000;
export const CONTEXT_ARM64 = 0x400000;

/** Offsets of the x86 CONTEXT (also WOW64_CONTEXT). */
export const X86_CONTEXT_OFFSETS = {
  contextFlags: 0x00,
  gs: 0x8c,
  fs: 0x90,
  es: 0x94,
  ds: 0x98,
  edi: 0x9c,
  esi: 0xa0,
  ebx: 0xa4,
  edx: 0xa8,
  ecx: 0xac,
  eax: 0xb0,
  ebp: 0xb4,
  eip: 0xb8,
  cs: 0xbc,
  eflags: 0xc0,
  esp: 0xc4,
  ss: 0xc8,
} as const;

/** Offsets of the x64 CONTEXT. Segment registers are u16, eflags u32, the rest u64. */
export const X64_CONTEXT_OFFSETS = {
  contextFlags: 0x30,
  mxcsr: 0x34,
  cs: 0x38,
  ds: 0x3a,
  es: 0x3c,
  fs: 0x3e,
  gs: 0x40,
  ss: 0x42,
  eflags: 0x44,
  rax: 0x78,
  rcx: 0x80,
  rdx: 0x88,
  rbx: 0x90,
  rsp: 0x98,
  rbp: 0xa0,
  rsi: 0xa8,
  rdi: 0xb0,
  r8: 0xb8,
  r9: 0xc0,
  r10: 0xc8,
  r11: 0xd0,
  r12: 0xd8,
  r13: 0xe0,
  r14: 0xe8,
  r15: 0xf0,
  rip: 0xf8,
} as const;

const X64_U64 = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip"] as const;
const X64_U16 = ["cs", "ds", "es", "fs", "gs", "ss"] as const;
const X86_U32 = ["eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp", "eip", "eflags", "cs", "ds", "es", "fs", "gs", "ss"] as const;

/** Decode an x86 CONTEXT / WOW64_CONTEXT. Undefined when shorter than the integer part. */
export function parseX86Context(view: DataView, offset: number, size: number): ThreadContext | undefined {
  if (size < X86_CONTEXT_MIN || offset + X86_CONTEXT_MIN > view.byteLength) return undefined;
  const registers: Record<string, number> = {};
  for (const r of X86_U32) registers[r] = view.getUint32(offset + X86_CONTEXT_OFFSETS[r], true);
  registers.contextFlags = view.getUint32(offset, true);
  return { arch: "x86", ip: registers.eip!, sp: registers.esp!, fp: registers.ebp!, registers };
}

function ptr(view: DataView, at: number): Address {
  return addressFromParts(view.getUint32(at, true), view.getUint32(at + 4, true));
}

/**
 * Decode an x64 CONTEXT. Register values are numbers (exact below 2^53, rounded above);
 * `ip`, `sp` and `fp` are {@link Address}es (NaN when not canonical).
 */
export function parseX64Context(view: DataView, offset: number, size: number): ThreadContext | undefined {
  if (size < X64_CONTEXT_MIN || offset + X64_CONTEXT_MIN > view.byteLength) return undefined;
  const registers: Record<string, number> = {};
  for (const r of X64_U64) registers[r] = u64(view, offset + X64_CONTEXT_OFFSETS[r]);
  for (const r of X64_U16) registers[r] = view.getUint16(offset + X64_CONTEXT_OFFSETS[r], true);
  registers.eflags = view.getUint32(offset + X64_CONTEXT_OFFSETS.eflags, true);
  registers.contextFlags = view.getUint32(offset + X64_CONTEXT_OFFSETS.contextFlags, true);
  return {
    arch: "x64",
    ip: ptr(view, offset + X64_CONTEXT_OFFSETS.rip),
    sp: ptr(view, offset + X64_CONTEXT_OFFSETS.rsp),
    fp: ptr(view, offset + X64_CONTEXT_OFFSETS.rbp),
    registers,
  };
}

/** Decode an ARM64 CONTEXT: x0..x28, fp (x29), lr (x30), sp, pc, cpsr. */
export function parseArm64Context(view: DataView, offset: number, size: number): ThreadContext | undefined {
  if (size < ARM64_CONTEXT_MIN || offset + ARM64_CONTEXT_MIN > view.byteLength) return undefined;
  const registers: Record<string, number> = {};
  registers.contextFlags = view.getUint32(offset, true);
  registers.cpsr = view.getUint32(offset + 4, true);
  for (let i = 0; i < 29; i++) registers[`x${i}`] = u64(view, offset + 8 + i * 8);
  registers.fp = u64(view, offset + 8 + 29 * 8);
  registers.lr = u64(view, offset + 8 + 30 * 8);
  registers.sp = u64(view, offset + 0x100);
  registers.pc = u64(view, offset + 0x108);
  return {
    arch: "arm64",
    ip: ptr(view, offset + 0x108),
    sp: ptr(view, offset + 0x100),
    fp: ptr(view, offset + 8 + 29 * 8),
    registers,
  };
}

/**
 * Decode a context for an architecture (`x86`, `x64`, `arm64`); for other or unknown
 * architectures the size decides. Undefined when it cannot be decoded.
 */
export function parseContext(arch: string, view: DataView, offset: number, size: number): ThreadContext | undefined {
  if (arch === "x86") return parseX86Context(view, offset, size);
  if (arch === "x64") return parseX64Context(view, offset, size);
  if (arch === "arm64") return parseArm64Context(view, offset, size);
  if (size === X64_CONTEXT_SIZE) return parseX64Context(view, offset, size);
  if (size === X86_CONTEXT_SIZE) return parseX86Context(view, offset, size);
  if (size === ARM64_CONTEXT_SIZE) return parseArm64Context(view, offset, size);
  return undefined;
}
