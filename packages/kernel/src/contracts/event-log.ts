import { memoryEventLog } from "../memory/event-log.ts";
import { token } from "../token.ts";

/** One event of a log, as {@link EventLog.append} stored it. */
export interface LogEvent {
  /** The id `append` returned: unique within its log, and ordered as the log is. */
  readonly id: string;
  /** The event exactly as appended. */
  readonly data: string;
}

/** Options for {@link EventLog.read}. */
export interface ReadOptions {
  /** Only events after this id (exclusive); absent means from the start of the log. */
  readonly after?: string;
  /** Most events returned at once (default 100). */
  readonly limit?: number;
}

/** Options for {@link EventLog.wait}. */
export interface WaitOptions extends ReadOptions {
  /** Longest wait for a first event, in ms; then it resolves with none. */
  readonly timeoutMs: number;
  /** Aborting it ends the wait at once: the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * The EventLog contract: append-only logs of string events, each log named by a key, that any
 * process can read from any point and follow as it grows. Agent runs write their events to one;
 * a stream that a client resumes with Last-Event-ID reads it after that id, on any replica.
 *
 * Every adapter must guarantee:
 * - `append` resolves with an id only once the event is stored; ids are unique within a log and
 *   increase in append order, so `read` returns events in the order their appends resolved;
 * - `read` after an id returns exactly the events appended after it: none twice, none skipped;
 *   an id the adapter cannot parse is refused with a `TypeError`, never read as the start;
 * - `wait` resolves as soon as an event after `after` exists, whichever process appended it, and
 *   with an empty list once `timeoutMs` passes without one;
 * - `expire` drops the whole log once its TTL passes: every later read finds it empty;
 * - data round-trips exactly (any well-formed Unicode string, the empty string included);
 * - logs are independent, and concurrent calls are safe.
 */
export interface EventLog {
  /** Adds `data` to the end of `log` (creating it) and resolves with the event's id. */
  append(log: string, data: string): Promise<string>;
  /** Events of `log` after `options.after`, oldest first, at most `options.limit`; none for a missing log. */
  read(log: string, options?: ReadOptions): Promise<LogEvent[]>;
  /** Like {@link read}, but when there is nothing yet, waits up to `timeoutMs` for an event. */
  wait(log: string, options: WaitOptions): Promise<LogEvent[]>;
  /** Drops the whole log `ttlMs` from now; resolves false when there was no such log. Appends keep it. */
  expire(log: string, ttlMs: number): Promise<boolean>;
  /** Drops the log now; resolves true when it existed. */
  delete(log: string): Promise<boolean>;
}

/** The app's event log: the memory adapter in development (refused in production) unless a plugin provides one. */
export const EventLog = token<EventLog>("twelvefold/EventLog", { fallback: () => memoryEventLog() });
