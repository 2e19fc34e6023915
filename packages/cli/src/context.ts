import { Engine, type Address, type LeakscopePlugin, type Report, type Run, type RunDepth } from "@leakscope/core";
import { writeFileSync } from "node:fs";
import { type FormatName, formatReport } from "@leakscope/format";
import { symbols } from "@leakscope/symbols";
import { checkSymbolPaths } from "./checks.js";
import { renderProcess } from "./process.js";
import { type CliIO, colors, ttyProgress } from "./io.js";

/** What a command needs from the program: where to write, how to open an input, how to print. */
export interface CommandContext {
  readonly io: CliIO;
  /** Open `file` with the default plugins (plus `extra`), give the open run to `after`, close it. */
  execute(request: ExecuteRequest, after: (report: Report, run: Run) => Report): Promise<Report>;
  /** Print a report: JSON with `--json`, else the command's text. */
  emit(report: Report, flags: { json?: boolean }, text: (report: Report) => string): void;
  /** Write a formatted report to `outFile`, or to stdout without one. */
  output(report: Report, format: FormatName, outFile: string | undefined, top: number): void;
  /** The exit code when nothing throws (1 when findings pass a threshold). */
  setExitCode(code: number): void;
}

export interface ExecuteRequest {
  file: string;
  depth: RunDepth;
  command: string;
  /** `--symbols` directories; LEAKSCOPE_SYMBOL_PATH is added to them. */
  symbols?: string[];
  /** Walk only the heap at this address. */
  heap?: Address;
  /** Plugins for this command; each replaces the default plugin of the same name. */
  plugins?: LeakscopePlugin[];
}

export function createContext(io: CliIO, plugins: () => LeakscopePlugin[], setExitCode: (code: number) => void): CommandContext {
  /** The symbols plugin for --symbols DIR (repeatable) and LEAKSCOPE_SYMBOL_PATH (';'-separated). */
  const symbolPlugin = (dirs: string[] | undefined): LeakscopePlugin[] => {
    const env = (io.env.LEAKSCOPE_SYMBOL_PATH ?? "").split(";").filter((d) => d.length > 0);
    const all = [...(dirs ?? []), ...env];
    return all.length > 0 ? [symbols({ symbolPaths: all })] : [];
  };
  return {
    io,
    setExitCode,
    async execute(request, after) {
      checkSymbolPaths(request.symbols);
      const added = [...(request.plugins ?? []), ...symbolPlugin(request.symbols)];
      const engine = new Engine({ plugins: [...plugins().filter((p) => !added.some((e) => e.name === p.name)), ...added] });
      const heap = request.heap;
      const open = await engine.open(request.file, {
        command: request.command,
        depth: request.depth,
        progress: ttyProgress(io),
        ...(heap !== undefined ? { heapFilter: (h) => h.address === heap } : {}),
      });
      try {
        return after(open.report, open.run);
      } finally {
        open.close();
      }
    },
    emit(report, flags, text) {
      if (flags.json) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      else io.stdout(text(report));
    },
    output(report, format, outFile, top) {
      const text =
        (format === "text" ? renderProcess(report, { detail: false }) : "") +
        formatReport(report, format, { color: outFile === undefined && colors(io).isColorSupported, top });
      if (outFile !== undefined) {
        writeFileSync(outFile, text);
        io.stderr(`leakscope: wrote ${format} report to ${outFile}\n`);
      } else io.stdout(text);
    },
  };
}
