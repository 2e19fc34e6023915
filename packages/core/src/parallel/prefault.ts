import { Worker, isMainThread, workerData } from "node:worker_threads";
import { TASK_WORKER, defaultWorkerCount } from "./pool.js";

/**
 * Memory that a helper thread pages in ahead of use. The first write to each 4 KiB page of a fresh
 * allocation is a page fault (about 4 µs under KVM here: a 2.5 MiB allocation chunk costs 2.5 ms,
 * 40 ns per block, a third of an LFH block's walk); the helper takes these faults on another CPU
 * while the walk fills the chunks before.
 *
 * The walk never waits for the helper and may write a buffer while the helper still touches it:
 * the helper writes each page with `Atomics.compareExchange(word, 0, 0)`, which stores only the
 * value the word already holds, so whichever thread comes first, no value changes.
 */
const TOUCHER = `
const { parentPort } = require("node:worker_threads");
parentPort.on("message", (sab) => {
  const a = new Int32Array(sab);
  for (let i = 0; i < a.length; i += 1024) Atomics.compareExchange(a, i, 0, 0);
});
`;

/** One helper per process, started on first use; null once it failed to start or died. */
let toucher: Worker | null | undefined;

/**
 * Whether this thread may use the helper (asked at every take, so `LEAKSCOPE_WORKERS` set later
 * counts): not on one CPU, not with `LEAKSCOPE_WORKERS=0`, not in a task worker.
 */
function toucherAllowed(): boolean {
  const inTaskWorker = !isMainThread && (workerData as Record<string, unknown> | null)?.[TASK_WORKER] === true;
  return !inTaskWorker && defaultWorkerCount() > 0;
}

/** The helper stops after this long without a take (an idle thread still holds an isolate's memory). */
const IDLE_MS = 10_000;
let lastTake = 0;
let idleTimer: ReturnType<typeof setTimeout> | undefined;

function armIdleStop(): void {
  lastTake = Date.now();
  if (idleTimer !== undefined) return;
  const check = (): void => {
    const idle = Date.now() - lastTake;
    if (idle < IDLE_MS) {
      idleTimer = setTimeout(check, IDLE_MS - idle);
      idleTimer.unref();
      return;
    }
    idleTimer = undefined;
    void closePrefaultHelper();
  };
  idleTimer = setTimeout(check, IDLE_MS);
  idleTimer.unref();
}

/**
 * Stop the page-touching helper thread now (it also stops after 10 s without use); the next
 * {@link PrefaultQueue.take} starts it again. For embedders that want no thread left at exit.
 */
export async function closePrefaultHelper(): Promise<void> {
  const w = toucher;
  // undefined, not null: stopped on purpose, so it may start again
  toucher = undefined;
  if (w) await w.terminate();
}

function startToucher(): Worker | null {
  if (!toucherAllowed()) return null;
  armIdleStop();
  if (toucher !== undefined) return toucher;
  toucher = null;
  try {
    const w = new Worker(TOUCHER, { eval: true });
    // never keeps the process alive; a helper that dies only costs the faults again
    w.unref();
    w.on("error", () => {
      if (toucher === w) toucher = null;
    });
    w.on("exit", () => {
      if (toucher === w) toucher = null;
    });
    toucher = w;
  } catch {
    toucher = null;
  }
  return toucher;
}

/**
 * Buffers of `bytes` each, the next `ahead` of them being paged in by the helper thread.
 * {@link take} returns the oldest, whether or not the helper has reached it yet, or undefined
 * when no helper runs (the caller allocates as usual).
 */
export class PrefaultQueue {
  private readonly queue: SharedArrayBuffer[] = [];

  constructor(
    private readonly bytes: number,
    private readonly ahead = 3,
  ) {}

  take(): SharedArrayBuffer | undefined {
    const w = startToucher();
    if (w === null) {
      this.queue.length = 0;
      return undefined;
    }
    try {
      while (this.queue.length <= this.ahead) {
        const sab = new SharedArrayBuffer(this.bytes);
        w.postMessage(sab);
        this.queue.push(sab);
      }
    } catch {
      // out of memory or the helper is gone: hand out what was queued, then allocate as usual
    }
    return this.queue.shift();
  }
}
