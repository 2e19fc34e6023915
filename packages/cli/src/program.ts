import { Command, CommanderError, Option } from "@commander-js/extra-typings";
import {
  type Address,
  Engine,
  EXIT_BAD_INPUT,
  EXIT_FINDINGS,
  EXIT_INTERNAL,
  EXIT_OK,
  InternalError,
  LeakscopeError,
  type LeakscopePlugin,
  type Report,
  type RunDepth,
  UsageError,
  VERSION,
  findBlock,
  formatAddress,
  isUserAllocation,
  AllocFlags,
  parseAddress,
  queryBlocks,
  statBySize,
} from "@leakscope/core";
import { writeFileSync } from "node:fs";
import { diffSnapshots, leakAnalyzer, snapshotOfRun, stackFrames } from "@leakscope/analyze";
import { buildTraceTable, groupByStack } from "@leakscope/stacks";
import { formatLfhBuckets, lfhBucketStats } from "@leakscope/heap-lfh";
import { readFileSync } from "node:fs";
import { RttiResolver } from "@leakscope/analyze";
import { type FoundAllocation, formatVerifyResult, parseManifest, verifyManifest } from "@leakscope/groundtruth";
import { FORMATS, type FormatName, formatReport } from "@leakscope/format";
import { type CliIO, colors, processIO, ttyProgress } from "./io.js";
import { type PoolSort, outstanding, poolKm } from "@leakscope/pool-km";
import { poolRowsOfRun, poolSection, renderPool } from "./pool.js";
import { logDiffGroups, logStackGroups, logStatSection } from "@leakscope/windbg-text";
import { symbols } from "@leakscope/symbols";
import { defaultPlugins } from "./plugins.js";
import { renderBlock, renderBlocks, renderHeaps, renderInfo, renderStacks, renderStat } from "./render.js";

export interface CliOptions {
  io?: CliIO;
  /** Plugins to use instead of the defaults (tests, embedders). */
  plugins?: () => LeakscopePlugin[];
}

interface GlobalFlags {
  json?: boolean;
  debug?: boolean;
  /** PDB directories (commands that show stacks). */
  symbols?: string[];
}

/** Parse a size or address typed by the user: hex by default (WinDbg style), `0n` for decimal. */
export function parseNumberArg(text: string, what: string): number {
  const v = parseAddress(text);
  if (!(v === v) || v < 0) throw new UsageError(`${what} "${text}" is not a number: use hex (0x1f0 or 1f0) or decimal with 0n (0n496)`);
  return v;
}

/** `LO-HI` as two numbers, inclusive. */
export function parseRangeArg(text: string): { min: number; max: number } {
  const m = /^\s*([^-\s]+)\s*-\s*([^-\s]+)\s*$/.exec(text);
  if (!m) throw new UsageError(`--range "${text}" must look like LO-HI, e.g. 3fff-4400 or 0n16383-0n17408`);
  const min = parseNumberArg(m[1]!, "--range start");
  const max = parseNumberArg(m[2]!, "--range end");
  if (min > max) throw new UsageError(`--range start 0x${min.toString(16)} is above its end 0x${max.toString(16)}`);
  return { min, max };
}

/**
 * Run the CLI with `argv` (without node and script). Returns the exit code:
 * 0 ok, 1 findings at or above the threshold (analyze), 2 bad usage or input, 3 internal error.
 */
export async function runCli(argv: readonly string[], options: CliOptions = {}): Promise<number> {
  const io = options.io ?? processIO();
  const plugins = options.plugins ?? defaultPlugins;
  let exitCode = EXIT_OK;
  let debug = argv.includes("--debug");

  const execute = async (
    file: string,
    depth: RunDepth,
    command: string,
    flags: GlobalFlags,
    after: (report: Report, ctx: { run: import("@leakscope/core").Run }) => Report,
    heapFilter?: Address,
    extra: LeakscopePlugin[] = [],
  ): Promise<Report> => {
    // a plugin passed for this command replaces the default one of the same name
    const added = [...extra, ...symbolPlugin(flags.symbols)];
    const engine = new Engine({ plugins: [...plugins().filter((p) => !added.some((e) => e.name === p.name)), ...added] });
    const open = await engine.open(file, {
      command,
      depth,
      progress: ttyProgress(io),
      ...(heapFilter !== undefined ? { heapFilter: (h) => h.address === heapFilter } : {}),
    });
    try {
      return after(open.report, { run: open.run });
    } finally {
      open.close();
    }
  };

  const collect = (value: string, previous: string[]): string[] => [...previous, value];
  /** The symbols plugin for --symbols DIR (repeatable) and LEAKSCOPE_SYMBOL_PATH (';'-separated). */
  const symbolPlugin = (dirs: string[] | undefined): LeakscopePlugin[] => {
    const env = (io.env.LEAKSCOPE_SYMBOL_PATH ?? "").split(";").filter((d) => d.length > 0);
    const all = [...(dirs ?? []), ...env];
    return all.length > 0 ? [symbols({ symbolPaths: all })] : [];
  };

  const emit = (report: Report, flags: GlobalFlags, text: (r: Report) => string): void => {
    if (flags.json) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    else io.stdout(text(report));
  };

  const program = new Command()
    .name("leakscope")
    .description("Find memory leaks in Windows crash dumps and WinDbg logs, on any OS, without symbols.")
    .version(VERSION, "-V, --version")
    .option("--debug", "print stack traces of internal errors")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
    });
  program.addHelpText(
    "after",
    `
Numbers (sizes, addresses) are hexadecimal like in WinDbg; prefix 0n for decimal.
Exit codes: 0 ok, 1 findings reported (analyze), 2 bad usage or unreadable input, 3 internal error.`,
  );

  program
    .command("info")
    .description("what the dump is: kind, architecture, OS build, WoW64, modules, threads, memory")
    .argument("<dump>", "minidump, kernel dump or WinDbg log")
    .option("--json", "print the report as JSON (schema: @leakscope/core/report.schema.json)")
    .action(async (file, flags) => {
      const report = await execute(file, "open", "info", flags, (r) => r);
      emit(report, flags, renderInfo);
    });

  program
    .command("heaps")
    .description("every heap of both bitnesses with totals, like !heap -s")
    .argument("<dump>")
    .option("--buckets", "also print each low-fragmentation heap's buckets (like !heap -s -h's bucket table)")
    .option("--json", "print the report as JSON (LFH buckets always included)")
    .action(async (file, flags) => {
      const texts: string[] = [];
      const report = await execute(file, "walk", "heaps", flags, (r, { run }) => {
        const heaps = r.heaps?.map((h, i) => {
          const stats = run.heaps[i] ? lfhBucketStats(run.heaps[i]!) : undefined;
          if (!stats) return h;
          if (flags.buckets) texts.push(formatLfhBuckets(stats));
          return {
            ...h,
            buckets: stats.buckets.map((b) => ({
              blockSize: b.blockSize,
              subsegments: b.subsegments,
              totalBlocks: b.totalBlocks,
              busyBlocks: b.busyBlocks,
              freeBlocks: b.freeBlocks,
              busyBytes: b.busyBytes,
            })),
          };
        });
        return heaps ? { ...r, heaps } : r;
      });
      emit(report, flags, (r) => renderHeaps(r) + (texts.length ? `\n${texts.join("\n")}` : ""));
    });

  program
    .command("blocks")
    .description("list heap blocks, like !heap -h and !heap -flt s|r (requested sizes, both bounds inclusive)")
    .argument("<dump>")
    .option("--heap <address>", "only this heap")
    .option("--size <size>", "requested size equal to SIZE (!heap -flt s)")
    .option("--range <lo-hi>", "requested size in LO..HI inclusive (!heap -flt r)")
    .addOption(new Option("--busy", "only busy user allocations").conflicts("free"))
    .addOption(new Option("--free", "only free blocks"))
    .option("--limit <n>", "most rows to print", "10000")
    .option("--json", "print the report as JSON")
    .action(async (file, flags) => {
      if (flags.size !== undefined && flags.range !== undefined) throw new UsageError("use either --size or --range, not both");
      const heap = flags.heap !== undefined ? parseNumberArg(flags.heap, "--heap") : undefined;
      const size = flags.size !== undefined ? parseNumberArg(flags.size, "--size") : undefined;
      const range = flags.range !== undefined ? parseRangeArg(flags.range) : undefined;
      const limit = Number.parseInt(flags.limit, 10);
      if (!(limit >= 0)) throw new UsageError(`--limit "${flags.limit}" must be a whole number`);
      const report = await execute(file, "walk", "blocks", flags, (r, { run }) => ({
        ...r,
        blocks: queryBlocks(run.allocations, run.heaps, {
          ...(heap !== undefined ? { heap } : {}),
          ...(size !== undefined ? { size } : {}),
          ...(range ? { range } : {}),
          ...(flags.busy ? { state: "busy" as const } : flags.free ? { state: "free" as const } : {}),
          limit,
        }),
      }), heap);
      emit(report, flags, renderBlocks);
    });

  program
    .command("stat")
    .description("busy allocations grouped by requested size, like !heap -stat -h")
    .argument("<dump>")
    .option("--heap <address>", "only this heap")
    .option("--top <n>", "rows to show", "20")
    .option("--json", "print the report as JSON")
    .action(async (file, flags) => {
      const heap = flags.heap !== undefined ? parseNumberArg(flags.heap, "--heap") : undefined;
      const top = Number.parseInt(flags.top, 10);
      if (!(top >= 1)) throw new UsageError(`--top "${flags.top}" must be a whole number >= 1`);
      const report = await execute(file, "walk", "stat", flags, (r, { run }) => ({
        ...r,
        stat: logStatSection(run, heap, top) ?? statBySize(run.allocations, run.heaps, heap, top),
      }), heap);
      emit(report, flags, renderStat);
    });

  program
    .command("block")
    .description("the block containing an address, like !heap -x (and its stack, like !heap -p -a, when traces exist)")
    .argument("<dump>")
    .argument("<address>", "any address inside a block")
    .option("--json", "print the report as JSON")
    .option("--symbols <dir>", "PDB directory (repeatable; also LEAKSCOPE_SYMBOL_PATH): frames get function names from matching PDBs", collect, [] as string[])
    .action(async (file, addressText, flags) => {
      const address = parseNumberArg(addressText, "address");
      const report = await execute(file, "walk", "block", flags, (r, { run }) => {
        const block = findBlock(run.allocations, run.heaps, address);
        const traces = run.data.traces ?? (run.target.kind === "user" ? buildTraceTable(run) : undefined);
        if (block.found) {
          const i = run.allocations.findContaining(address);
          const sid = traces?.stackOf[i] ?? -1;
          if (traces && sid >= 0) {
            block.stack = stackFrames(traces, sid);
          } else {
            block.stackNote = traces?.status === "present" ? "This block has no recorded allocation stack." : (traces?.note ?? "No allocation stacks in this input.");
          }
        }
        return { ...r, block };
      });
      emit(report, flags, renderBlock);
    });

  program
    .command("stacks")
    .description("live allocations grouped by allocation stack (count, bytes, sizes, samples), like UMDH")
    .argument("<dump>")
    .option("--top <n>", "stacks to show", "20")
    .option("--json", "print the report as JSON")
    .option("--symbols <dir>", "PDB directory (repeatable; also LEAKSCOPE_SYMBOL_PATH): frames get function names from matching PDBs", collect, [] as string[])
    .action(async (file, flags) => {
      const top = Number.parseInt(flags.top, 10);
      if (!(top >= 1)) throw new UsageError(`--top "${flags.top}" must be a whole number >= 1`);
      const report = await execute(file, "walk", "stacks", flags, (r, { run }) => ({ ...r, stacks: logStackGroups(run, groupByStack(run, top), top) }));
      emit(report, flags, renderStacks);
    });

  program
    .command("verify")
    .description("check leakscope against a ground-truth manifest written by tools/groundtruth (gtalloc)")
    .argument("<dump>", "the dump gtalloc wrote")
    .argument("<manifest>", "its manifest.json")
    .option("--json", "print the report as JSON")
    .option("--require-stacks", "fail allocations whose expected top frame is missing")
    .option("--require-types", "fail objects whose C++ type is not recovered")
    .option("--verbose", "also list passing allocations with notes")
    .option("--symbols <dir>", "PDB directory (repeatable; also LEAKSCOPE_SYMBOL_PATH): frames get function names from matching PDBs", collect, [] as string[])
    .action(async (file, manifestPath, flags) => {
      let text: string;
      try {
        text = readFileSync(manifestPath, "utf8");
      } catch (e) {
        throw new UsageError(`cannot read manifest ${manifestPath}: ${(e as Error).message}`);
      }
      const manifest = parseManifest(text, manifestPath);
      let result: ReturnType<typeof verifyManifest> | undefined;
      const report = await execute(file, "walk", "verify", flags, (r, { run }) => {
        const want = manifest.pointerSize === 8 ? 64 : 32;
        const view = run.target.views.find((v) => v.bitness === want) ?? run.target.views.at(-1);
        const traces = run.data.traces ?? (run.target.kind === "user" ? buildTraceTable(run) : undefined);
        const rtti = new Map<unknown, RttiResolver>();
        const set = run.allocations;
        const found: FoundAllocation[] = [];
        for (let i = 0; i < set.count; i++) {
          const f = set.flags(i);
          if (!isUserAllocation(f)) continue;
          const heap = run.heaps[set.heap(i)];
          if (!heap) continue;
          let resolver = rtti.get(heap.view);
          if (!resolver) rtti.set(heap.view, (resolver = new RttiResolver(heap.view.space, heap.view.modules.length ? heap.view.modules : run.target.modules)));
          const sid = traces?.stackOf[i] ?? -1;
          const stack = traces && sid >= 0 ? traces.stacks[sid]!.frames.map((a, k) => traces.stacks[sid]!.text?.[k]?.text ?? formatAddress(a)) : undefined;
          const type = set.requestedSize(i) >= heap.view.space.pointerSize ? resolver.typeOfObject(set.userAddress(i)) : undefined;
          found.push({
            userAddress: set.userAddress(i),
            requestedSize: set.requestedSize(i),
            busy: true,
            heapAddress: heap.address,
            sizeInexact: (f & AllocFlags.SIZE_INEXACT) !== 0,
            ...(stack ? { stack } : {}),
            ...(type ? { typeName: type.name } : {}),
          });
        }
        result = verifyManifest(manifest, found, {
          ...(view ? { space: view.space } : {}),
          requireStacks: flags.requireStacks === true,
          requireTypes: flags.requireTypes === true,
        });
        return {
          ...r,
          verify: {
            ok: result.ok,
            label: result.label,
            summary: result.summary,
            failures: result.allocations
              .filter((c) => c.status === "fail")
              .slice(0, 1000)
              .map((c) => ({ address: c.expected.address, size: c.expected.size, differences: c.differences.map((d) => ({ code: d.code, field: d.field, expected: d.expected, actual: d.actual })) })),
          },
        };
      });
      if (result && !result.ok) exitCode = EXIT_FINDINGS;
      emit(report, flags, () => (result ? formatVerifyResult(result, { verbose: flags.verbose === true }) : ""));
    });

  program
    .command("pool")
    .description("kernel pool usage by tag with descriptions and owning drivers, like !poolused")
    .argument("<input>", "kernel dump (MEMORY.DMP) or a log with !poolused / poolmon output")
    .addOption(new Option("--sort <by>", "sort order").choices(["nonpaged", "paged", "allocs", "tag"]).default("nonpaged"))
    .option("--top <n>", "rows to show", "30")
    .option("--pooltag <file>", "your pooltag.txt (default: the Debugging Tools install paths on Windows)")
    .option("--drivers <dir>", "also search these driver files for the tags")
    .option("--no-owners", "skip the search for drivers that use each tag")
    .option("--json", "print the report as JSON")
    .action(async (file, flags) => {
      const top = Number.parseInt(flags.top, 10);
      if (!(top >= 1)) throw new UsageError(`--top "${flags.top}" must be a whole number >= 1`);
      const pk = poolKm(flags.pooltag !== undefined ? { pooltagFile: flags.pooltag } : {});
      const report = await execute(
        file,
        "open",
        "pool",
        flags,
        (r, { run }) => {
          const got = poolRowsOfRun(run);
          if (!got) throw new UsageError(`${file} holds no pool data: pass a kernel dump or a log with !poolused or poolmon output`);
          const section = poolSection(run, got.rows, got.method, {
            sort: flags.sort as PoolSort,
            top,
            owners: flags.owners,
            ...(flags.drivers !== undefined ? { drivers: flags.drivers } : {}),
          });
          return { ...r, pool: section, diagnostics: run.allDiagnostics() };
        },
        undefined,
        [pk],
      );
      emit(report, flags, (r) => (r.pool ? renderPool(r.pool) : ""));
    });

  const output = (report: Report, format: FormatName, outFile: string | undefined, top: number): void => {
    const text = formatReport(report, format, { color: outFile === undefined && colors(io).isColorSupported, top });
    if (outFile !== undefined) {
      writeFileSync(outFile, text);
      io.stderr(`leakscope: wrote ${format} report to ${outFile}\n`);
    } else io.stdout(text);
  };
  const formatOption = () =>
    new Option("--format <format>", "output format").choices(FORMATS as FormatName[]).default("text" as FormatName);

  program
    .command("analyze")
    .description("the answer: leak suspects ranked by evidence (size classes, stacks, C++ types, unreferenced blocks)")
    .argument("<dump>", "minidump or WinDbg/UMDH/poolmon log")
    .addOption(formatOption())
    .option("--json", "same as --format json")
    .option("-o, --output <file>", "write the report to a file instead of stdout")
    .option("--top <n>", "suspects to report", "10")
    .option("--no-reachability", "skip the unreferenced-block search (like !heap -l)")
    .option("--no-types", "skip C++ type recovery from vtables")
    .option("--fail-on <score>", "exit with code 1 when a suspect scores at least this (0..1)")
    .option("--symbols <dir>", "PDB directory (repeatable; also LEAKSCOPE_SYMBOL_PATH): frames get function names from matching PDBs", collect, [] as string[])
    .action(async (file, flags) => {
      const top = Number.parseInt(flags.top, 10);
      if (!(top >= 1)) throw new UsageError(`--top "${flags.top}" must be a whole number >= 1`);
      const failOn = flags.failOn !== undefined ? Number(flags.failOn) : undefined;
      if (failOn !== undefined && !(failOn >= 0 && failOn <= 1)) throw new UsageError(`--fail-on "${flags.failOn}" must be a number from 0 to 1`);
      const analyzer = leakAnalyzer({ top, reachability: flags.reachability, types: flags.types });
      let report = await execute(file, "analyze", "analyze", flags, (r) => r, undefined, [analyzer]);
      if (failOn !== undefined) {
        const count = (report.analysis?.suspects ?? []).filter((x) => x.score >= failOn).length;
        report = { ...report, findings: { threshold: failOn, count } };
        if (count > 0) exitCode = EXIT_FINDINGS;
      }
      output(report, flags.json ? "json" : flags.format, flags.output, top);
    });

  program
    .command("diff")
    .description("what grew between two snapshots of one process (heaps, size classes, stacks), like UMDH's diff")
    .argument("<before>", "the earlier dump")
    .argument("<after>", "the later dump")
    .addOption(formatOption())
    .option("--json", "same as --format json")
    .option("-o, --output <file>", "write the report to a file instead of stdout")
    .option("--top <n>", "rows to report", "50")
    .option("--symbols <dir>", "PDB directory (repeatable; also LEAKSCOPE_SYMBOL_PATH): frames get function names from matching PDBs", collect, [] as string[])
    .action(async (beforeFile, afterFile, flags) => {
      const top = Number.parseInt(flags.top, 10);
      if (!(top >= 1)) throw new UsageError(`--top "${flags.top}" must be a whole number >= 1`);
      const snapshot = (run: import("@leakscope/core").Run) => {
        const snap = snapshotOfRun(run);
        // A log's own -stat tables and !heap -s commit are what it says about each heap.
        const log = logDiffGroups(run);
        if (log) {
          for (const h of log.heaps) snap.heaps.set(h.key, { count: h.count, bytes: h.bytes });
          for (const k of [...snap.classes.keys()]) if (log.heaps.some((h) => k.startsWith(`${h.key}/`))) snap.classes.delete(k);
          for (const c of log.classes) snap.classes.set(c.key, { heap: c.heap, size: c.size, count: c.count, bytes: c.bytes });
          snap.other ??= new Map();
          for (const c of log.commits) snap.other.set(c.key, { kind: "heap", count: 0, bytes: c.bytes });
        }
        const pool = poolRowsOfRun(run);
        if (pool) {
          snap.other = new Map();
          for (const row of pool.rows) {
            const count = outstanding(row.nonPagedAllocs, row.nonPagedFrees) + outstanding(row.pagedAllocs, row.pagedFrees);
            snap.other.set(row.tag, { kind: "pool-tag", count, bytes: row.nonPagedBytes + row.pagedBytes });
          }
        }
        return snap;
      };
      let before: ReturnType<typeof snapshotOfRun> | undefined;
      const beforeReport = await execute(beforeFile, "walk", "diff", flags, (r, { run }) => {
        before = snapshot(run);
        return r;
      });
      const report = await execute(afterFile, "walk", "diff", flags, (r, { run }) => ({
        ...r,
        diff: diffSnapshots(before!, snapshot(run), top),
        diagnostics: [...beforeReport.diagnostics, ...run.allDiagnostics()],
      }));
      output(report, flags.json ? "json" : flags.format, flags.output, top);
    });

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (e) {
    exitCode = handleError(e, io, debug);
  }
  return exitCode;
}

function handleError(e: unknown, io: CliIO, debug: boolean): number {
  if (e instanceof CommanderError) {
    if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") {
      return EXIT_OK;
    }
    return EXIT_BAD_INPUT; // commander already printed the message
  }
  if (e instanceof LeakscopeError && !(e instanceof InternalError) && e.exitCode !== EXIT_INTERNAL) {
    const where =
      e.fileOffset !== undefined
        ? ` (file offset 0x${e.fileOffset.toString(16)})`
        : e.where !== undefined
          ? ` (${e.where})`
          : "";
    io.stderr(`leakscope: error [${e.code}]: ${e.message}${where}\n`);
    if (debug && e.stack) io.stderr(`${e.stack}\n`);
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  const code = e instanceof LeakscopeError ? ` [${e.code}]` : "";
  io.stderr(
    `leakscope: internal error${code}: ${err.message}\n` +
      `This is a bug in leakscope ${VERSION} (node ${process.version}, ${process.platform}). ` +
      `Please report it with this message${debug ? " and the stack below" : " (rerun with --debug for the stack)"}.\n`,
  );
  if (debug && err.stack) io.stderr(`${err.stack}\n`);
  return EXIT_INTERNAL;
}
