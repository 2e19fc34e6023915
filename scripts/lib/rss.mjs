import { readFileSync } from "node:fs";

/**
 * Peak RSS of this process image, in bytes. getrusage's maxRSS survives exec (Linux folds the
 * forked parent's high-water mark into it), so a big parent would inflate it: prefer VmHWM, which
 * is per address space and starts at zero at exec.
 */
export function peakRss() {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch {}
  return process.resourceUsage().maxRSS * 1024;
}
