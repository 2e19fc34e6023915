import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { MessageChannel, type MessagePort, Worker, receiveMessageOnPort } from "node:worker_threads";

/**
 * Worker threads that a synchronous walker can hand work to and wait for without returning to
 * the event loop: {@link SyncWorker.submit} posts a task, {@link SyncWorker.wait} blocks on a
 * shared counter (`Atomics.wait`) and takes the result with `receiveMessageOnPort`. A heap walk
 * keeps one part of its work for itself and waits for the rest at the end.
 *
 * A worker runs `module[exportName](task, beat)` for each task, where `module` is an ES module
 * URL; `beat()` tells the waiting thread the worker is alive. The function returns
 * `{ value, transfer? }`: `transfer` lists ArrayBuffers moved, not copied, to the caller.
 */
export type WorkerTaskFunction = (task: unknown, beat: () => void) => { value: unknown; transfer?: ArrayBuffer[] };

/** How a task ended: its value, or why there is none (the caller then does the work itself). */
export type WorkerOutcome = { ok: true; value: unknown } | { ok: false; reason: string };

// state words shared with each worker
const RESULTS = 0; // results posted so far
const BEATS = 1; // beat() calls so far
const STATUS = 2; // 0 starting, 1 serving, -1 failed to start

/**
 * Marks the `workerData` of task workers: code that would start threads of its own (the page
 * toucher of {@link PrefaultQueue}) does not in them, their work already fills the other CPUs.
 */
export const TASK_WORKER = "leakscopeTaskWorker";

/** A wait gives up after this long without a result or a beat: the worker died or hangs. */
const STALL_MS = 20_000;

// Worker bootstrap (CommonJS, evaluated): loads the task module, then serves tasks from the port.
const BOOTSTRAP = `
const { workerData } = require("node:worker_threads");
const state = new Int32Array(workerData.state);
const port = workerData.port;
// a beat only counts (the waiting thread looks at it when its wait times out): waking it on
// every beat made a walk that beats per read 20-30% slower
const beat = () => { Atomics.add(state, ${BEATS}, 1); };
const done = () => { Atomics.add(state, ${RESULTS}, 1); Atomics.notify(state, ${RESULTS}); };
import(workerData.url).then((m) => {
  const fn = m[workerData.exportName];
  if (typeof fn !== "function") throw new Error(workerData.url + " exports no function " + workerData.exportName);
  Atomics.store(state, ${STATUS}, 1);
  Atomics.notify(state, ${RESULTS});
  port.on("message", (msg) => {
    let reply;
    let transfer = [];
    try {
      const r = fn(msg.task, beat);
      reply = { id: msg.id, ok: true, value: r.value };
      transfer = r.transfer || [];
    } catch (e) {
      reply = { id: msg.id, ok: false, reason: String((e && e.stack) || e) };
    }
    try {
      port.postMessage(reply, transfer);
    } catch (e) {
      port.postMessage({ id: msg.id, ok: false, reason: "cannot post the result: " + String(e) });
    }
    done();
  });
}).catch((e) => {
  try { port.postMessage({ id: -1, ok: false, reason: "worker failed to start: " + String((e && e.stack) || e) }); } catch {}
  Atomics.store(state, ${STATUS}, -1);
  done();
});
`;

/** One worker thread serving the tasks of one module function. */
export class SyncWorker {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly state: Int32Array;
  private nextId = 1;
  private readonly early = new Map<number, WorkerOutcome>();
  /** Tickets whose results nobody will wait for: dropped when they come. */
  private readonly forgotten = new Set<number>();
  private failed: string | undefined;

  constructor(moduleUrl: URL, exportName: string) {
    this.state = new Int32Array(new SharedArrayBuffer(16));
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: { [TASK_WORKER]: true, url: moduleUrl.href, exportName, state: this.state.buffer, port: port2 },
      transferList: [port2],
    });
    // a worker never keeps the process alive; errors surface as failed tasks
    this.worker.unref();
    this.port.unref();
    this.worker.on("error", (e) => {
      this.failed = `worker error: ${String(e)}`;
    });
  }

  /** Post a task; returns its ticket for {@link wait}. */
  submit(task: unknown, transfer: ArrayBuffer[] = []): number {
    const id = this.nextId++;
    if (this.failed === undefined) this.port.postMessage({ id, task }, transfer);
    return id;
  }

  /** Block until the task `ticket` ends; never throws. */
  wait(ticket: number): WorkerOutcome {
    const known = this.early.get(ticket);
    if (known) {
      this.early.delete(ticket);
      return known;
    }
    let lastBeat = Atomics.load(this.state, BEATS);
    let lastChange = Date.now();
    for (;;) {
      if (this.failed !== undefined) return { ok: false, reason: this.failed };
      const posted = Atomics.load(this.state, RESULTS);
      for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) {
        const reply = m.message as { id: number } & WorkerOutcome;
        const outcome: WorkerOutcome = reply.ok ? { ok: true, value: reply.value } : { ok: false, reason: reply.reason };
        if (reply.id === -1) {
          this.failed = outcome.ok ? "worker failed to start" : outcome.reason;
          return { ok: false, reason: this.failed };
        }
        if (reply.id === ticket) return outcome;
        if (!this.forgotten.delete(reply.id)) this.early.set(reply.id, outcome);
      }
      if (Atomics.load(this.state, STATUS) === -1) {
        this.failed = "worker failed to start";
        return { ok: false, reason: this.failed };
      }
      Atomics.wait(this.state, RESULTS, posted, 250);
      const beats = Atomics.load(this.state, BEATS);
      const now = Date.now();
      if (beats !== lastBeat) {
        lastBeat = beats;
        lastChange = now;
      } else if (now - lastChange > STALL_MS) {
        this.failed = `worker gave no sign of life for ${STALL_MS / 1000} s`;
        void this.worker.terminate();
        return { ok: false, reason: this.failed };
      }
    }
  }

  /** Say that nobody will {@link wait} for `ticket` (the caller gave up): its result is dropped. */
  forget(ticket: number): void {
    if (!this.early.delete(ticket)) this.forgotten.add(ticket);
  }

  /** False once the worker failed; its tasks then fail at once. */
  get usable(): boolean {
    return this.failed === undefined;
  }

  terminate(): Promise<number> {
    this.failed ??= "terminated";
    return this.worker.terminate();
  }
}

/**
 * Worker threads for parallel walks, all serving one module function: created as {@link take}
 * first asks for them and kept for the life of the process (they do not keep it alive).
 */
export class SyncWorkerPool {
  private readonly workers: SyncWorker[] = [];

  constructor(
    private readonly moduleUrl: URL,
    private readonly exportName: string,
  ) {}

  /** The first `n` usable workers (fewer when some failed). */
  take(n: number): SyncWorker[] {
    while (this.workers.length < n) this.workers.push(new SyncWorker(this.moduleUrl, this.exportName));
    return this.workers.slice(0, n).filter((w) => w.usable);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.terminate()));
  }
}

/**
 * Worker threads worth using beside the calling thread: the machine's parallelism minus one, at
 * most 3; 0 on a single core. `LEAKSCOPE_WORKERS` (an integer >= 0) overrides it.
 */
export function defaultWorkerCount(): number {
  return workersFromEnv() ?? Math.max(0, Math.min(3, availableParallelism() - 1));
}

/**
 * Task workers (a heap's segments walked in lanes) worth starting beside the calling thread: the
 * machine's parallelism minus two, at most 3, as the calling thread and the page-touching helper of
 * {@link PrefaultQueue} take a CPU each: on two CPUs a worker's lane cost more than it gave, its
 * start, its own compilation of the walk, its page faults and the merge included [bench: 2 vCPU,
 * heap walks with one segment worker and without, medians of 5-7: nt 1M 0.277 / 0.191 s, nt 4M
 * 0.591 / 0.503 s, nt 16M 1.716 / 1.599 s, wow64 4M 0.639 / 0.536 s; from the disk nt 4M 1.166 /
 * 1.064 s]. `LEAKSCOPE_WORKERS` (an integer >= 0) overrides it, as it does {@link defaultWorkerCount}.
 */
export function defaultTaskWorkerCount(): number {
  return workersFromEnv() ?? Math.max(0, Math.min(3, availableParallelism() - 2));
}

function workersFromEnv(): number | undefined {
  const env = process.env.LEAKSCOPE_WORKERS;
  return env !== undefined && /^\d+$/.test(env.trim()) ? Number(env.trim()) : undefined;
}

/**
 * A pool for the worker module `file` beside the module at `from` (pass `import.meta.url`), or
 * beside its build (`../dist/<file>`, for code run from its TypeScript sources); undefined when
 * neither exists (the caller then walks on its own thread). Plugins give their worker modules
 * distinct names (heap-nt's is `nt-worker.js`), since a bundle puts them in one directory.
 */
export function siblingWorkerPool(from: string | URL, file: string, exportName: string): SyncWorkerPool | undefined {
  for (const rel of [`./${file}`, `../dist/${file}`]) {
    try {
      const u = new URL(rel, from);
      if (u.protocol === "file:" && existsSync(fileURLToPath(u))) return new SyncWorkerPool(u, exportName);
    } catch {
      // not a file URL: no worker
    }
  }
  return undefined;
}
