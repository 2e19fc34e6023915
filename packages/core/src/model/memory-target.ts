import type { Address } from "../address.js";
import { Diagnostics } from "../diagnostics.js";
import { BytesAddressSpace } from "../memory/address-space.js";
import type { Arch, ModuleInfo, OsInfo, ProcessView, Target, TargetData, ThreadInfo } from "./target.js";

export interface MemoryTargetView {
  bitness: 32 | 64;
  role?: "native" | "wow64";
  peb?: Address;
  tebs?: Address[];
  modules?: ModuleInfo[];
}

export interface MemoryTargetInit {
  arch: Arch;
  os: OsInfo;
  /** Bytes placed at addresses; shared by all views. */
  memory: readonly { address: Address; bytes: Uint8Array }[];
  /** Native view first; add a `wow64` view for a 32-bit process in a 64-bit target. */
  views: readonly MemoryTargetView[];
  modules?: ModuleInfo[];
  threads?: ThreadInfo[];
  format?: string;
  path?: string;
}

/**
 * A user-mode {@link Target} over bytes at addresses, with no file behind it: for plugin
 * tests (walk a synthetic heap without writing a minidump) and for tools that already hold
 * process memory.
 */
export function memoryTarget(init: MemoryTargetInit): Target {
  const first = init.views[0];
  const nativeSize: 4 | 8 = first?.bitness === 32 ? 4 : 8;
  const space = new BytesAddressSpace(init.memory, nativeSize);
  const views: ProcessView[] = init.views.map((v, i) => {
    const view: ProcessView = {
      bitness: v.bitness,
      role: v.role ?? (i === 0 ? "native" : "wow64"),
      space: (v.bitness === 32 ? 4 : 8) === nativeSize ? space : space.withPointerSize(v.bitness === 32 ? 4 : 8),
      tebs: v.tebs ?? [],
      modules: v.modules ?? [],
    };
    if (v.peb !== undefined) view.peb = v.peb;
    return view;
  });
  const bytes = init.memory.reduce((n, p) => n + p.bytes.length, 0);
  return {
    kind: "user",
    format: init.format ?? "memory",
    file: { path: init.path ?? "<memory>", size: bytes },
    arch: init.arch,
    os: init.os,
    wow64: views.some((v) => v.role === "wow64"),
    views,
    modules: init.modules ?? views.flatMap((v) => v.modules),
    unloadedModules: [],
    threads: init.threads ?? [],
    memory: { ranges: space.ranges().length, bytes },
    diagnostics: new Diagnostics(),
    data: {} as TargetData,
    close() {},
  };
}
