import type { CpuFacts, CrashInfo, ProcessFacts } from "@leakscope/core";
import { DumpType } from "./header.js";
import type { KernelDump } from "./kdump.js";

const DUMP_TYPE_NAMES: Record<number, string> = {
  [DumpType.Full]: "full",
  [DumpType.Summary]: "summary",
  [DumpType.Header]: "header only",
  [DumpType.Triage]: "triage kernel minidump",
  [DumpType.BitmapFull]: "complete memory (bitmap)",
  [DumpType.BitmapKernel]: "kernel memory (bitmap)",
  [DumpType.Automatic]: "automatic",
  [DumpType.RdmpKernel]: "kernel memory (RDMP)",
  [DumpType.RdmpKernelUser]: "kernel and user memory (RDMP)",
  [DumpType.RdmpComplete]: "complete memory (RDMP)",
};

/** FILETIME (100 ns since 1601) to seconds since 1970; undefined when unset or absurd. */
function unixSeconds(filetime: bigint): number | undefined {
  if (filetime <= 0n) return undefined;
  const s = Number(filetime / 10000000n) - 11644473600;
  return s > 0 && s < 8e9 ? s : undefined;
}

/** The crash, CPU, system and dump-type facts of a kernel dump, for its {@link Target}. */
export function kernelFacts(dump: KernelDump, crash: CrashInfo | undefined): { crash?: CrashInfo; cpu: CpuFacts; process: ProcessFacts; dumpType: string } {
  const h = dump.header;
  const process: ProcessFacts = {};
  const kernel = dump.drivers[0];
  if (kernel) process.mainModule = kernel.name;
  if (h.systemUpTime > 0) process.uptimeSeconds = Math.round(h.systemUpTime / 1e5) / 100;
  const when = unixSeconds(h.systemTime);
  if (when !== undefined) process.dumpTime = when;
  const name = DUMP_TYPE_NAMES[h.dumpType];
  return {
    ...(crash ? { crash } : {}),
    cpu: { count: h.numberProcessors, arch: dump.arch },
    process,
    dumpType: `${name ?? "unknown"} (DumpType ${h.dumpType})`,
  };
}
