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

/** Colour on stderr (the progress line): a terminal, NO_COLOR unset, TERM not dumb. */
function stderrColors(io: CliIO): boolean {
  return io.stderrIsTTY && io.env.NO_COLOR === undefined && io.env.TERM !== "dumb";
}

function bytesText(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(0)} KiB`;
  return `${n} B`;
}

/**
 * Progress on stderr, only when it is a terminal (never when piped, so scripts and CI logs stay
 * clean, and not on TERM=dumb, which cannot rewrite a line): one rewritten line with a bar, the
 * share done, what was done (bytes walked over all heaps while walking) and the rate. The bar is
 * coloured unless NO_COLOR is set.
 */
export function ttyProgress(io: CliIO, now: () => number = Date.now): ProgressReporter {
  if (!io.stderrIsTTY || io.env.TERM === "dumb") return { start() {}, update() {}, end() {} };
  const color = stderrColors(io);
  let label = "";
  let total: number | undefined;
  let bytes = false;
  let started = 0;
  let lastDraw = 0;
  let active = false;
  const draw = (done: number, force = false): void => {
    const t = now();
    if (!force && t - lastDraw < 100) return;
    lastDraw = t;
    const secs = Math.max((t - started) / 1000, 0.001);
    const share = total ? Math.min(done / total, 1) : undefined;
    const width = 24;
    const filled = share === undefined ? 0 : Math.round(share * width);
    const bar = share === undefined ? "" : `[${color ? `\x1b[36m${"#".repeat(filled)}\x1b[39m` : "#".repeat(filled)}${".".repeat(width - filled)}] ${Math.floor(share * 100)}% `;
    const amount = bytes
      ? `${bytesText(done)}${total ? ` of ${bytesText(total)}` : ""} (${bytesText(done / secs)}/s)`
      : `${done.toLocaleString("en-US")}${total ? `/${total.toLocaleString("en-US")}` : ""} (${Math.round(done / secs).toLocaleString("en-US")}/s)`;
    io.stderr(`\r\x1b[2K${label} ${bar}${amount}`);
  };
  return {
    start(l, t, unit) {
      label = l;
      total = t;
      bytes = unit === "bytes";
      started = now();
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
