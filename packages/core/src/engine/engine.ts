import { formatAddress } from "../address.js";
import { InputError, LeakscopeError, PluginError } from "../errors.js";
import { type ByteSource, FileSource, readBytes } from "../io/byte-source.js";
import { baseReport } from "../report/build.js";
import type { Report } from "../report/schema.js";
import { type EngineHooks, type InputProbe, createHooks } from "./hooks.js";
import type { LeakscopePlugin } from "./plugin.js";
import { Run, type RunRequest } from "./run.js";

const HEAD_BYTES = 64 * 1024;

export interface EngineOptions {
  plugins?: readonly LeakscopePlugin[];
}

/** A finished run that still holds its input open (see {@link Engine.open}). */
export interface OpenRun {
  run: Run;
  report: Report;
  /** Close the input. Idempotent. */
  close(): void;
}

/**
 * The pipeline: input -> reader (`resolveReader`) -> target -> heap discovery -> walkers ->
 * analyzers -> report. Plugins tap {@link hooks}; the engine wraps anything a tap throws in a
 * {@link PluginError} naming the plugin and the hook.
 *
 * ```ts
 * const engine = new Engine({ plugins: [minidumpReader(), heapNt(), heapLfh()] });
 * const report = await engine.run("app.dmp", { command: "heaps", depth: "walk" });
 * ```
 */
export class Engine {
  readonly hooks: EngineHooks;
  private readonly pluginList: LeakscopePlugin[] = [];
  private frozen = false;

  constructor(options: EngineOptions = {}) {
    this.hooks = createHooks();
    for (const [name, hook] of Object.entries(this.hooks)) installWrapper(name, hook as unknown as WrappableHook);
    for (const p of options.plugins ?? []) this.use(p);
  }

  /** Apply a plugin. Names must be unique. Not allowed once a run started. */
  use(plugin: LeakscopePlugin): this {
    if (this.frozen) throw new Error(`cannot add plugin ${plugin.name}: the engine has already run`);
    if (this.pluginList.some((p) => p.name === plugin.name)) {
      throw new Error(`plugin ${plugin.name} is already registered`);
    }
    this.pluginList.push(plugin);
    plugin.apply(this);
    return this;
  }

  get plugins(): readonly LeakscopePlugin[] {
    return this.pluginList;
  }

  /** Find a plugin's `api` by plugin name. */
  api<T>(name: string): T | undefined {
    return this.pluginList.find((p) => p.name === name)?.api as T | undefined;
  }

  /** Run a request over a file and close it. */
  async run(path: string, request: RunRequest): Promise<Report> {
    const open = await this.open(path, request);
    open.close();
    return open.report;
  }

  /**
   * Run a request over a file and keep the input open so the caller can still read target
   * memory (e.g. to show a block's bytes). Call `close()` when done.
   */
  async open(path: string, request: RunRequest): Promise<OpenRun> {
    const source = FileSource.open(path);
    try {
      return await this.openSource(source, request, path);
    } catch (e) {
      source.close();
      throw e;
    }
  }

  /**
   * Run a request over any byte source (in-memory dumps in tests, embedded use). On success the
   * returned `close()` closes target and source; on failure both are closed before throwing.
   */
  async openSource(source: ByteSource, request: RunRequest, path = source.name): Promise<OpenRun> {
    this.frozen = true;
    const head = readBytes(source, 0, HEAD_BYTES);
    const probe: InputProbe = { path, size: source.size, head, source };
    const run = new Run(this, request, probe);
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      try {
        if (run.hasTarget) run.target.close();
      } finally {
        source.close();
      }
    };
    try {
      if (source.size === 0) {
        throw new InputError("INPUT_EMPTY", `${path} is empty (0 bytes); pass a dump or log file`, { file: path });
      }
      const reader = this.hooks.resolveReader.call(probe);
      if (!reader) {
        throw new InputError(
          "INPUT_UNKNOWN_FORMAT",
          `${path} is not a format leakscope reads (minidump, kernel dump, WinDbg/UMDH/poolmon text); first bytes: ${describeHead(head)}`,
          { file: path, fileOffset: 0 },
        );
      }
      const target = await reader.open(probe, run);
      run.setTarget(target);
      await this.hooks.targetOpened.promise(target, run);
      const depth = request.depth;
      if (depth !== "open") {
        run.progress.start("discovering heaps");
        await this.hooks.discoverHeaps.promise(run);
        run.progress.end();
      }
      if (depth === "walk" || depth === "analyze") {
        await this.walkAll(run);
      }
      if (depth === "analyze") {
        run.checkAborted();
        await this.hooks.analyze.promise(run);
      }
      let report = baseReport({
        command: request.command,
        input: { path, size: source.size },
        target,
        ...(depth !== "open" ? { heaps: run.heaps } : {}),
        details: request.command === "info",
        diagnostics: [],
      });
      report = await this.hooks.report.promise(report, run);
      // Diagnostics last, so the ones raised while reporting are included.
      report.diagnostics = run.allDiagnostics().map((d) => ({ ...d }));
      await this.hooks.done.promise(report, run);
      return { run, report, close };
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      try {
        this.hooks.failed.call(error, run);
      } catch {
        // a failing `failed` tap must not hide the original error
      }
      close();
      throw error;
    }
  }

  private async walkAll(run: Run): Promise<void> {
    const filter = run.request.heapFilter;
    const heaps = run.heaps.filter((h) => (filter ? filter(h) : true));
    // Progress by bytes walked over all heaps: the total is the heap memory discovery claimed
    // (every heap's committed segments), unknown when only some heaps are walked.
    const claimed = run.claimedMemory();
    let total = 0;
    for (let i = 0; i < claimed.starts.length; i++) total += claimed.ends[i]! - claimed.starts[i]!;
    run.progress.start("walking heaps", filter || !(total > 0) ? undefined : total, "bytes");
    for (const heap of heaps) {
      const before = run.bytesWalked;
      run.checkAborted();
      try {
        await this.hooks.walkHeap.promise(heap, run);
      } catch (e) {
        if (!(e instanceof PluginError) && !(e instanceof LeakscopeError)) throw e;
        heap.incomplete = true;
        run.diagnostics.report(
          e instanceof PluginError ? e.plugin : "core",
          "ALLOCATOR_WALK_FAILED",
          "error",
          `walking heap ${formatAddress(heap.address)} failed: ${e.message}`,
          { address: formatAddress(heap.address) },
        );
      }
      // a walker that reported less than its heap's committed bytes is credited the rest
      const rest = heap.stats.committed - (run.bytesWalked - before);
      if (rest > 0) run.walked(rest);
    }
    run.progress.end();
    await this.hooks.heapsWalked.promise(run);
    run.computeHeapStats();
  }
}

function describeHead(head: Uint8Array): string {
  const n = Math.min(8, head.length);
  const hexText = Array.from(head.subarray(0, n), (b) => b.toString(16).padStart(2, "0")).join(" ");
  return n === 0 ? "(none)" : hexText;
}

interface TapInfo {
  name: string;
  type: "sync" | "async" | "promise";
  fn: (...args: unknown[]) => unknown;
}

interface WrappableHook {
  intercept(interceptor: { register?: (tap: TapInfo) => TapInfo }): void;
}

/**
 * Register an interceptor that wraps every tap so its errors become {@link PluginError} with the
 * plugin (tap) name and hook name. Without it tapable rejects with the bare original error.
 */
function installWrapper(hookName: string, hook: WrappableHook): void {
  const wrap = (tapName: string, e: unknown): unknown =>
    e instanceof PluginError ? e : new PluginError(tapName, hookName, e);
  hook.intercept({
    register(tap: TapInfo): TapInfo {
      const fn = tap.fn;
      if (tap.type === "promise") {
        return {
          ...tap,
          fn: (...args: unknown[]) => {
            try {
              return Promise.resolve(fn(...args)).catch((e: unknown) => {
                throw wrap(tap.name, e);
              });
            } catch (e) {
              return Promise.reject(wrap(tap.name, e));
            }
          },
        };
      }
      if (tap.type === "async") {
        return {
          ...tap,
          fn: (...args: unknown[]) => {
            const cb = args[args.length - 1] as (err?: unknown, result?: unknown) => void;
            const rest = args.slice(0, -1);
            try {
              return fn(...rest, (err?: unknown, result?: unknown) => cb(err ? wrap(tap.name, err) : err, result));
            } catch (e) {
              cb(wrap(tap.name, e));
              return undefined;
            }
          },
        };
      }
      return {
        ...tap,
        fn: (...args: unknown[]) => {
          try {
            return fn(...args);
          } catch (e) {
            throw wrap(tap.name, e);
          }
        },
      };
    },
  });
}
