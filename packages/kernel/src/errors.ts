/**
 * The error base every Twelvefold package builds on, the catalogue helper that gives each package
 * one table of codes and message templates (as Fastify's avvio keeps lib/errors.js), and the
 * kernel's own table. Messages name the plugin first, quote values, and never carry a secret.
 */

/** Options of a {@link TwelvefoldError}. */
export interface TwelvefoldErrorOptions {
  /** The error underneath, kept for logs; its message is not shown to clients. */
  readonly cause?: unknown;
  /** True when the same call may succeed if tried again (a backing service may come back). */
  readonly retryable?: boolean;
}

/**
 * The base of every error a Twelvefold package expects callers to catch: a stable `code` to match
 * on, a `cause`, and `retryable`. Packages subclass it once (`HttpError`, `OtelError`) and build
 * their errors from their catalogue (see {@link defineErrors}), never with a bare `new Error`.
 *
 * @example
 * ```ts
 * import { TwelvefoldError } from "@twelvefold/kernel";
 *
 * try {
 *   await work();
 * } catch (error) {
 *   if (error instanceof TwelvefoldError && error.retryable) await work();
 * }
 * declare function work(): Promise<void>;
 * ```
 */
export class TwelvefoldError<C extends string = string> extends Error {
  override name = "TwelvefoldError";
  readonly code: C;
  readonly retryable: boolean;
  constructor(code: C, message: string, options: TwelvefoldErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** One row of an error table: how the message reads, and whether retrying may help. */
export interface ErrorTemplate {
  /** The whole message, plugin name first; takes the facts the code needs (or none). */
  readonly message: (facts: never) => string;
  readonly retryable?: boolean;
}

/** A package's error table: stable code to template. */
export type ErrorTable = Readonly<Record<string, ErrorTemplate>>;

/** The facts a template takes, or `undefined` when it takes none. */
export type ErrorFacts<E extends ErrorTemplate> =
  Parameters<E["message"]> extends [] ? undefined : Parameters<E["message"]>[0];

/** An error class a catalogue builds: the base's constructor shape, with the package's options. */
export type ErrorClass<C extends string, E extends TwelvefoldError<C>, O extends TwelvefoldErrorOptions> = new (
  code: C,
  message: string,
  options?: O,
) => E;

/** What {@link defineErrors} returns: the table, and typed builders of its messages and errors. */
export interface ErrorCatalogue<T extends ErrorTable, E extends TwelvefoldError<keyof T & string>, O> {
  readonly table: T;
  /** The message of `code` with its facts. */
  message<K extends keyof T & string>(code: K, ...facts: FactsArgs<T[K]>): string;
  /** The error of `code` with its facts; `retryable` comes from the table unless `options` says. */
  create<K extends keyof T & string>(code: K, ...args: CreateArgs<T[K], O>): E & { readonly code: K };
}

type FactsArgs<E extends ErrorTemplate> = ErrorFacts<E> extends undefined ? [] : [facts: ErrorFacts<E>];
type CreateArgs<E extends ErrorTemplate, O> =
  ErrorFacts<E> extends undefined ? [facts?: undefined, options?: O] : [facts: ErrorFacts<E>, options?: O];

/**
 * Defines a package's one error catalogue: its codes (`TF_<PACKAGE>_...`), each with a message
 * template and whether the error is retryable, and the class its errors are built with. Keep it in
 * the package's `src/errors.ts`; throw `errors.create(code, facts)` everywhere else.
 *
 * @example
 * ```ts
 * import { defineErrors, quote, TwelvefoldError } from "@twelvefold/kernel";
 *
 * const table = {
 *   TF_CLOCK_DRIFT: { message: (f: { ms: number }) => `clock: drifted by ${f.ms} ms` },
 *   TF_CLOCK_UNREACHABLE: { message: (f: { host: string }) => `clock: cannot reach ${quote(f.host)}`, retryable: true },
 * } as const;
 * export class ClockError extends TwelvefoldError<keyof typeof table> {
 *   override name = "ClockError";
 * }
 * export const clockErrors = defineErrors(table, ClockError);
 *
 * throw clockErrors.create("TF_CLOCK_UNREACHABLE", { host: "ntp:123" }, { cause: new Error("timeout") });
 * ```
 */
export function defineErrors<
  const T extends ErrorTable,
  E extends TwelvefoldError<keyof T & string> = TwelvefoldError<keyof T & string>,
  O extends TwelvefoldErrorOptions = TwelvefoldErrorOptions,
>(table: T, errorClass?: ErrorClass<keyof T & string, E, O>): ErrorCatalogue<T, E, O> {
  const Build = (errorClass ?? TwelvefoldError) as ErrorClass<keyof T & string, E, O>;
  const message = (code: keyof T & string, facts: unknown): string =>
    (table[code] as { message: (facts: unknown) => string }).message(facts);
  return {
    table,
    message: (code, ...facts) => message(code, facts[0]),
    create: (code, ...args) => {
      const [facts, options] = args as [unknown, O | undefined];
      const retryable = table[code]?.retryable;
      const merged = (retryable === undefined ? options : { retryable, ...options }) as O | undefined;
      return new Build(code, message(code, facts), merged) as E & { readonly code: typeof code };
    },
  };
}

/**
 * Quotes a value for a message, the house way: `quote("db:5432")` is `"db:5432"` with the double
 * quotes. Names, ids, paths and values from outside are quoted; counts and durations are not.
 *
 * @example
 * ```ts
 * import { quote } from "@twelvefold/kernel";
 * const message = `postgres: cannot connect to ${quote("db:5432")}: connection refused`;
 * ```
 */
export function quote(value: unknown): string {
  return JSON.stringify(String(value));
}

/** One configuration problem: the variable, what was expected, and what was received (redacted if secret). */
export interface ConfigIssue {
  readonly plugin: string;
  readonly name: string;
  readonly expected: string;
  readonly received: string;
  readonly source: string;
}

const list = (ids: readonly string[]) => ids.map(quote).join(", ");

const kernelTable = {
  TF_CONFIG_INVALID: {
    message: (f: { issues: readonly ConfigIssue[] }) => {
      const lines = f.issues.map((i) =>
        i.source === "not set"
          ? `  ${i.name} (${i.plugin}): expected ${i.expected}, but it is not set`
          : `  ${i.name} (${i.plugin}): expected ${i.expected}, got ${i.received} [from ${i.source}]`,
      );
      return `config: ${f.issues.length} invalid setting${f.issues.length === 1 ? "" : "s"}:\n${lines.join("\n")}`;
    },
  },
  TF_GRAPH_CYCLE: { message: (f: { chain: string }) => `graph: dependency cycle: ${f.chain}` },
  TF_GRAPH_MISSING_PROVIDER: {
    message: (f: { plugin: string; token: string }) =>
      `graph: ${quote(f.plugin)} requires ${quote(f.token)}, which no plugin provides: add a plugin that provides it, or an override`,
  },
  TF_GRAPH_DUPLICATE_PROVIDER: {
    message: (f: { token: string; first: string; second: string }) =>
      `graph: ${quote(f.token)} is provided by both ${quote(f.first)} and ${quote(f.second)}: remove one, or override the token`,
  },
  TF_PLUGIN_DUPLICATE: { message: (f: { plugin: string }) => `graph: two plugins are named ${quote(f.plugin)}` },
  TF_PLUGIN_INVALID: {
    message: (f: { plugin: string; problem: string }) => `plugin: ${quote(f.plugin)}: ${f.problem}`,
  },
  TF_TOKEN_MISSING: {
    message: (f: { who: string; token: string }) => `${f.who}: asked for ${quote(f.token)}, which nobody provides`,
  },
  TF_TOKEN_NOT_PROVIDED: {
    message: (f: { plugin: string; tokens: readonly string[] }) =>
      `${f.plugin}: declared that it provides ${list(f.tokens)} but did not provide it during start`,
  },
  TF_TOKEN_UNDECLARED: {
    message: (f: { plugin: string; token: string; use: "asked for" | "provided" }) =>
      `${f.plugin}: ${f.use} ${quote(f.token)} without listing it in ${f.use === "provided" ? "provides" : "requires or optional"}`,
  },
  TF_PLUGIN_START_FAILED: {
    message: (f: { plugin: string; what: "start" | "ready hook"; reason: string }) =>
      `${f.plugin}: ${f.what} failed: ${f.reason}`,
  },
  TF_PLUGIN_TIMEOUT: {
    message: (f: { plugin: string; phase: string; timeoutMs: number }) =>
      `${f.plugin}: ${f.phase} did not finish within ${f.timeoutMs} ms`,
    retryable: true,
  },
  TF_GRAPH_PROVIDER_ELSEWHERE: {
    message: (f: { plugin: string; token: string; provider: string; process: string }) =>
      `graph: ${quote(f.plugin)} requires ${quote(f.token)}, which ${quote(f.provider)} provides, but ${quote(f.provider)} does not run in the ${f.process} process: run ${quote(f.plugin)} only where ${quote(f.provider)} runs, or ${quote(f.provider)} here too`,
  },
  TF_PROCESS_UNKNOWN: {
    message: (f: { who: string; type: string }) =>
      `${f.who}: unknown process type ${quote(f.type)}: use web, worker, scheduler, admin`,
  },
  TF_COMMAND_INVALID: {
    message: (f: { command: string; problem: string }) => `admin: command ${quote(f.command)}: ${f.problem}`,
  },
  TF_COMMAND_DUPLICATE: {
    message: (f: { command: string; first: string; second: string }) =>
      `admin: two commands are named ${quote(f.command)}: from ${f.first} and from ${f.second}`,
  },
  TF_COMMAND_USAGE: { message: (f: { command: string; problem: string }) => `admin: ${f.command}: ${f.problem}` },
  TF_COMMAND_NO_APP: {
    message: (f: { command: string; token: string }) =>
      `admin: ${f.command}: asked for ${quote(f.token)}, but this command runs without starting the app`,
  },
  TF_JOB_INVALID: {
    message: (f: { topic: string; problem: string }) => `worker: job ${quote(f.topic)}: ${f.problem}`,
  },
  TF_JOB_INVALID_PAYLOAD: {
    message: (f: { topic: string; problems: readonly string[] }) =>
      `worker: job ${quote(f.topic)}: the payload does not match its schema: ${f.problems.join("; ")}`,
  },
  TF_WORKER_DUPLICATE_TOPIC: {
    message: (f: { topic: string }) => `worker: two jobs consume ${quote(f.topic)}: a topic has one job`,
  },
  TF_WORKER_LATE_JOB: {
    message: (f: { topic: string }) =>
      `worker: cannot add job ${quote(f.topic)} after the worker subscribed: add it during start`,
  },
  TF_CACHE_UNSERIALIZABLE: {
    message: (f: { key: string; reason: string }) => `cache: cannot store ${quote(f.key)} as JSON: ${f.reason}`,
  },
  TF_CACHE_NOT_JSON: {
    message: (f: { key: string }) =>
      `cache: the value of ${quote(f.key)} is not JSON text: it was stored as plain text, not through jsonCache; read it with Cache.get`,
  },
  TF_APP_STOP_FAILED: {
    message: (f: { app: string; count: number }) => `${f.app}: ${f.count} problem(s) while stopping`,
  },
  TF_APP_NO_COPIES: {
    message: (f: { runtime: string; workers: number }) =>
      `kernel: WORKERS is ${f.workers}, but the ${quote(f.runtime)} runtime cannot run copies of a process: set WORKERS=1 or run on Bun or Node`,
  },
} as const satisfies ErrorTable;

/** Stable codes for the kernel's errors, so callers and log queries can match on them. */
export type KernelErrorCode = keyof typeof kernelTable;

/** Base class of the kernel's catchable errors: a stable `code`, an optional `cause`. */
export class KernelError extends TwelvefoldError<KernelErrorCode> {
  override name = "KernelError";
}

/** The kernel's error catalogue. */
export const kernelErrors = defineErrors(kernelTable, KernelError);

/**
 * Every configuration problem of every plugin, reported together. Processes exit 78 (EX_CONFIG) on it.
 *
 * @example
 * ```ts
 * import { ConfigError } from "@twelvefold/kernel";
 * declare const app: { start(): Promise<void> };
 *
 * try { await app.start(); } catch (e) { if (e instanceof ConfigError) console.error(e.issues); }
 * ```
 */
export class ConfigError extends KernelError {
  override name = "ConfigError";
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super("TF_CONFIG_INVALID", kernelErrors.message("TF_CONFIG_INVALID", { issues }));
    this.issues = issues;
  }
}

/** A dependency cycle, a missing provider or a duplicate provider, found before anything starts. */
export class GraphError extends KernelError {
  override name = "GraphError";
}

/** A plugin's start or stop hook exceeded its time budget; the message names the plugin. */
export class PluginTimeoutError extends KernelError {
  override name = "PluginTimeoutError";
  readonly plugin: string;
  readonly phase: "start" | "stop" | "drain" | "health";
  constructor(plugin: string, phase: "start" | "stop" | "drain" | "health", timeoutMs: number) {
    super("TF_PLUGIN_TIMEOUT", kernelErrors.message("TF_PLUGIN_TIMEOUT", { plugin, phase, timeoutMs }), {
      retryable: true,
    });
    this.plugin = plugin;
    this.phase = phase;
  }
}

/**
 * Process exit codes the kernel uses: 0 clean, 1 failure, 2 a command line it cannot run (an
 * unknown process type or admin command, bad arguments), 78 bad configuration (sysexits
 * EX_CONFIG), and 128 + the signal for an admin command stopped by SIGINT (130) or SIGTERM (143).
 */
export const ExitCode = { ok: 0, failure: 1, usage: 2, config: 78, sigint: 130, sigterm: 143 } as const;
