/**
 * The few conditions leakscope throws for. Everything recoverable is a {@link Diagnostic}
 * (see `diagnostics.ts`); these are for "cannot go on".
 *
 * | class                | meaning                                           | CLI exit |
 * |----------------------|---------------------------------------------------|----------|
 * | `InputError`         | the input cannot be used (missing, directory, unknown or corrupt format) | 2 |
 * | `DumpFormatError`    | a structure of the dump is unreadable; carries the file offset | 2 |
 * | `UsageError`         | bad command-line arguments                         | 2 |
 * | `PluginOptionsError` | a plugin's options fail its schema                 | 2 |
 * | `PluginError`        | a tap threw: adds plugin and hook names            | 3 (or the cause's) |
 * | `ReportOutputError`  | a plugin wrote a report that fails the schema or JSON | 3 |
 * | `InternalError`      | a leakscope bug                                    | 3 |
 */

export const EXIT_OK = 0;
/** The command ran and reported findings at or above the configured threshold. */
export const EXIT_FINDINGS = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERNAL = 3;

export interface LeakscopeErrorOptions {
  cause?: unknown;
  /** File the error is about. */
  file?: string;
  /** Byte offset in that file. */
  fileOffset?: number;
  /** Named part of the input (a minidump stream, a log line). */
  where?: string;
}

export class LeakscopeError extends Error {
  /** Stable code, like diagnostics' codes. */
  readonly code: string;
  readonly exitCode: number;
  readonly file: string | undefined;
  readonly fileOffset: number | undefined;
  readonly where: string | undefined;

  constructor(code: string, message: string, exitCode: number, options: LeakscopeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
    this.file = options.file;
    this.fileOffset = options.fileOffset;
    this.where = options.where;
  }
}

/** The input cannot be used at all. */
export class InputError extends LeakscopeError {
  constructor(code: string, message: string, options: LeakscopeErrorOptions = {}) {
    super(code, message, EXIT_BAD_INPUT, options);
  }
}

/** A structure of the dump is corrupt or truncated beyond use; `fileOffset` says where. */
export class DumpFormatError extends LeakscopeError {
  constructor(code: string, message: string, options: LeakscopeErrorOptions = {}) {
    super(code, message, EXIT_BAD_INPUT, options);
  }
}

export class UsageError extends LeakscopeError {
  constructor(message: string, options: LeakscopeErrorOptions = {}) {
    super("USAGE", message, EXIT_BAD_INPUT, options);
  }
}

export class PluginOptionsError extends LeakscopeError {
  readonly plugin: string;
  /** ajv instance paths of the failing values, e.g. `/topN`. */
  readonly paths: readonly string[];
  constructor(plugin: string, message: string, paths: readonly string[]) {
    super("PLUGIN_OPTIONS", `${plugin}: ${message}`, EXIT_BAD_INPUT);
    this.plugin = plugin;
    this.paths = paths;
  }
}

/** Wraps anything a tap throws, naming the plugin and the hook. */
export class PluginError extends LeakscopeError {
  readonly plugin: string;
  readonly hook: string;
  /** The original error's `code`, when it had one. */
  readonly pluginCode: string | undefined;
  constructor(plugin: string, hook: string, cause: unknown) {
    const inner = cause instanceof Error ? cause.message : String(cause);
    const exit = cause instanceof LeakscopeError ? cause.exitCode : EXIT_INTERNAL;
    super("PLUGIN_ERROR", `[plugin ${plugin}] ${hook}: ${inner}`, exit, {
      cause,
      ...(cause instanceof LeakscopeError && cause.file !== undefined ? { file: cause.file } : {}),
      ...(cause instanceof LeakscopeError && cause.fileOffset !== undefined
        ? { fileOffset: cause.fileOffset }
        : {}),
    });
    this.plugin = plugin;
    this.hook = hook;
    this.pluginCode =
      cause !== null && typeof cause === "object" && "code" in cause && typeof cause.code === "string"
        ? cause.code
        : undefined;
  }
}

/**
 * The final report is not valid: a value JSON cannot carry (BigInt, function, cycle), a key the
 * report schema does not have, or a section that fails its plugin's own schema. Names the plugin
 * whose `report` tap wrote it (`core` when none did), the JSON pointer and the reason.
 */
export class ReportOutputError extends LeakscopeError {
  readonly plugin: string;
  /** JSON pointer into the report, e.g. `/extensions/big-blocks/blocks/0/size`. */
  readonly path: string;
  readonly reason: string;
  constructor(plugin: string, path: string, reason: string) {
    const who = plugin === "core" ? "leakscope" : `plugin ${plugin}`;
    const todo =
      plugin === "core"
        ? "This is a bug in leakscope: please report it."
        : `This is a bug in the plugin: report it to its authors, or run without it.`;
    super("REPORT_INVALID", `[${who}] the report is invalid at ${path || "/"}: ${reason}. ${todo}`, EXIT_INTERNAL, {
      where: path || "/",
    });
    this.plugin = plugin;
    this.path = path;
    this.reason = reason;
  }
}

/** A bug in leakscope: the CLI asks the user to report it. */
export class InternalError extends LeakscopeError {
  constructor(message: string, options: LeakscopeErrorOptions = {}) {
    super("INTERNAL", message, EXIT_INTERNAL, options);
  }
}

/** The exit code the CLI uses for an error. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof LeakscopeError) return error.exitCode;
  return EXIT_INTERNAL;
}
