import pc from "picocolors";
import type { ProgressReporter } from "@leakscope/core";

/** Where the CLI writes; tests pass string collectors. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** stderr is a terminal: progress and colour are allowed there. */
  stderrIsTTY: boolean;
  /** stdout is a terminal: colour allowed in text output (NO_COLOR still wins). */
  stdoutIsTTY: boolean;
  env: Record<string, string | undefined>;
}

export function processIO(): CliIO {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stderrIsTTY: process.stderr.isTTY === true,
    stdoutIsTTY: process.stdout.isTTY === true,
    env: process.env,
  };
}

/** Colour helpers that are no-ops unless stdout is a TTY and NO_COLOR is unset. */
export function colors(io: CliIO): ReturnType<typeof pc.createColors> {
  const enabled = io.stdoutIsTTY && io.env.NO_COLOR === undefined && io.env.TERM !== "dumb";
  return pc.createColors(enabled);
}

/**
 * Progress on stderr, only when it is a terminal: one rewritten line with counts and rate.
 * Silent when piped, so scripts and CI logs stay clean.
 */
export function ttyProgress(io: CliIO): ProgressReporter {
  if (!io.stderrIsTTY) return { start() {}, update() {}, end() {} };
  let label = "";
  let total: number | undefined;
  let started = 0;
  let lastDraw = 0;
  let active = false;
  const draw = (done: number, force = false): void => {
    const now = Date.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    const secs = Math.max((now - started) / 1000, 0.001);
    const rate = Math.round(done / secs);
    const pct = total ? ` ${Math.floor((done / total) * 100)}%` : "";
    const width = 24;
    const bar = total ? `[${"#".repeat(Math.round((done / total) * width)).padEnd(width, ".")}]` : "";
    io.stderr(`\r\x1b[2K${label} ${bar}${pct} ${done}${total ? `/${total}` : ""} (${rate}/s)`);
  };
  return {
    start(l, t) {
      label = l;
      total = t;
      started = Date.now();
      active = true;
      draw(0, true);
    },
    update(done) {
      if (active) draw(done);
    },
    end() {
      if (active) io.stderr("\r\x1b[2K");
      active = false;
    },
  };
}
