import { token } from "../token.ts";

/** Log levels, lowest first. `silent` turns logging off. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Structured fields attached to a log line. Errors are expanded with their cause chain. */
export type LogFields = Record<string, unknown>;

/**
 * The Logger contract: one event per line on stdout (twelve-factor rule 11).
 *
 * Every adapter must guarantee:
 * - a call never throws into the caller and never blocks on a slow reader (lines may be dropped
 *   under back-pressure, and the drop is reported);
 * - fields named like authorization, cookie, password, token, api_key or secret, and the values of
 *   config secrets, are replaced before a line is written, at any depth;
 * - `child` fields appear on every line of the child, and a call's own fields win over them.
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
  /** True when a line at `level` would be written; guard costly field building with it. */
  enabled(level: LogLevel): boolean;
}

/** The process logger. The kernel provides it; plugins get a child of it as `ctx.logger`. */
export const Logger = token<Logger>("twelvefold/Logger");

/**
 * Adds fields to every log line at write time, like pino's `mixin`. The otel plugin registers one
 * that returns the active span's `trace_id` and `span_id`. Mixins run on every line, so keep them
 * cheap; their fields are redacted like any other, and one that throws loses only its own fields.
 */
export interface LogContext {
  /** Registers a mixin; its fields go on every line. Returns a function that removes it. */
  use(mixin: () => LogFields | undefined): () => void;
  /**
   * Hands every line written from now on, as written (redacted, mixin fields in), to `listener`:
   * how the otel plugin exports logs over OTLP (OTEL_LOGS_EXPORTER=otlp) beside stdout. The
   * listener runs on the logging call's path, so it only queues; one that throws loses nothing
   * but its own copy. Optional: a LogContext without it has no such listeners. Returns a function
   * that removes the listener.
   *
   * @example
   * ```ts
   * const untap = logContext.tap?.((line, level) => queue.push({ line, level }));
   * ```
   */
  tap?(listener: (line: string, level: LogLevel) => void): () => void;
}

/** The kernel's log context registry. */
export const LogContext = token<LogContext>("twelvefold/LogContext");
