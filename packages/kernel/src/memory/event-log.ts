import type { EventLog, LogEvent, ReadOptions, WaitOptions } from "../contracts/event-log.ts";
import { markEmbedded } from "../token.ts";
import { checkTtl, type MemoryOptions } from "./options.ts";

/** The memory event log, plus `close()` for tests and hand-wired apps. */
export interface MemoryEventLog extends EventLog {
  /** Ends every wait in progress with no events and clears its timers. Idempotent. */
  close(): void;
}

interface Stored extends LogEvent {
  readonly ms: number;
  readonly seq: number;
}

interface Log {
  readonly events: Stored[];
  /** Epoch ms at which the whole log goes, or Infinity. */
  expiresAt: number;
}

const DEFAULT_LIMIT = 100;
/** Sweep expired logs once per this many appends, so logs nobody reads again do not pile up. */
const SWEEP_EVERY = 1024;
/** Ids look like the ones Redis Streams make (`<ms>-<seq>`), so both order the same way. */
const ID = /^(\d{1,16})(?:-(\d{1,16}))?$/;

/**
 * Creates the in-process {@link EventLog}: the embedded default when no plugin provides one.
 *
 * Ids have the Redis Streams shape, `<epoch ms>-<sequence>`, increasing within a log. Honest
 * limits: single process (a web and a worker process do not share it), every log is lost on
 * restart, and only TTLs bound its size; it is marked `losesData`, so the production profile
 * refuses it. Expiry follows the injectable clock and is lazy (checked on access, swept every
 * 1024 appends); the only timers are those of waits in progress.
 *
 * @example
 * ```ts
 * import { memoryEventLog } from "@twelvefold/kernel/memory";
 * const log = memoryEventLog();
 * const first = await log.append("run:42", JSON.stringify({ type: "text", text: "Hi" }));
 * const later = await log.wait("run:42", { after: first, timeoutMs: 15_000 });
 * ```
 */
export function memoryEventLog(options: MemoryOptions = {}): MemoryEventLog {
  return markEmbedded(new MemoryEventLogImpl(options.now ?? Date.now), { name: "memory EventLog", losesData: true });
}

class MemoryEventLogImpl implements MemoryEventLog {
  readonly #logs = new Map<string, Log>();
  /** Per log name, called on every append; kept apart from the log so a wait outlives its expiry. */
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #now: () => number;
  /** Every wait in progress, so `close` can end them. */
  readonly #pending = new Set<() => void>();
  #appends = 0;

  constructor(now: () => number) {
    this.#now = now;
  }

  #live(name: string): Log | undefined {
    const log = this.#logs.get(name);
    if (log === undefined) return undefined;
    if (log.expiresAt <= this.#now()) {
      this.#logs.delete(name);
      return undefined;
    }
    return log;
  }

  async append(log: string, data: string): Promise<string> {
    checkName(log);
    if (typeof data !== "string") {
      throw new TypeError(`memory EventLog: data for "${log}" must be a string: got ${typeof data}`);
    }
    let state = this.#live(log);
    if (state === undefined) {
      state = { events: [], expiresAt: Infinity };
      this.#logs.set(log, state);
    }
    const last = state.events.at(-1);
    const now = this.#now();
    // Like Redis: a clock that steps back keeps the last millisecond and counts on.
    const ms = last === undefined || now > last.ms ? now : last.ms;
    const seq = last !== undefined && ms === last.ms ? last.seq + 1 : 0;
    const id = `${ms}-${seq}`;
    state.events.push({ id, data, ms, seq });
    const waiters = this.#waiters.get(log);
    if (waiters !== undefined) for (const wake of [...waiters]) wake();
    if (++this.#appends % SWEEP_EVERY === 0) this.#sweep(now);
    return id;
  }

  async read(log: string, options: ReadOptions = {}): Promise<LogEvent[]> {
    checkName(log);
    return this.#after(log, options);
  }

  #after(log: string, options: ReadOptions): LogEvent[] {
    const { after, limit = DEFAULT_LIMIT } = options;
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`memory EventLog: limit must be a positive integer: got "${limit}"`);
    }
    const from = after === undefined ? undefined : parseId(after);
    const events = this.#live(log)?.events;
    if (events === undefined) return [];
    const start = from === undefined ? 0 : firstAfter(events, from);
    return events.slice(start, start + limit).map(({ id, data }) => ({ id, data }));
  }

  wait(log: string, options: WaitOptions): Promise<LogEvent[]> {
    try {
      checkName(log);
      checkTtl("memory EventLog", options.timeoutMs, "timeoutMs");
      const ready = this.#after(log, options);
      if (ready.length > 0) return Promise.resolve(ready);
    } catch (error) {
      return Promise.reject(error);
    }
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<LogEvent[]>((resolve, reject) => {
      let waiters = this.#waiters.get(log);
      if (waiters === undefined) {
        waiters = new Set();
        this.#waiters.set(log, waiters);
      }
      const settle = (events: LogEvent[] | undefined, error?: unknown) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (waiters.size === 0 && this.#waiters.get(log) === waiters) this.#waiters.delete(log);
        this.#pending.delete(end);
        signal?.removeEventListener("abort", onAbort);
        if (events === undefined) reject(error);
        else resolve(events);
      };
      const check = () => {
        const events = this.#after(log, options);
        if (events.length > 0) settle(events);
      };
      const end = () => settle([]);
      const onAbort = () => settle(undefined, signal?.reason);
      const timer = setTimeout(end, options.timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.add(end);
      waiters.add(check);
    });
  }

  async expire(log: string, ttlMs: number): Promise<boolean> {
    checkName(log);
    checkTtl("memory EventLog", ttlMs);
    const state = this.#live(log);
    if (state === undefined) return false;
    state.expiresAt = this.#now() + ttlMs;
    return true;
  }

  async delete(log: string): Promise<boolean> {
    checkName(log);
    const existed = this.#live(log) !== undefined;
    this.#logs.delete(log);
    return existed;
  }

  close(): void {
    for (const end of [...this.#pending]) end();
  }

  #sweep(now: number): void {
    for (const [name, log] of this.#logs) {
      if (log.expiresAt <= now) this.#logs.delete(name);
    }
  }
}

function checkName(log: string): void {
  if (typeof log !== "string" || log === "") {
    throw new TypeError(`memory EventLog: log must be a non-empty string: got "${String(log)}"`);
  }
}

function parseId(id: string): { ms: number; seq: number } {
  const match = typeof id === "string" ? ID.exec(id) : null;
  if (match === null) throw new TypeError(`memory EventLog: not an event id: "${String(id)}"`);
  return { ms: Number(match[1]), seq: Number(match[2] ?? 0) };
}

/** Index of the first event whose id is greater than `id`, by binary search. */
function firstAfter(events: readonly Stored[], id: { ms: number; seq: number }): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const event = events[mid] as Stored;
    if (event.ms < id.ms || (event.ms === id.ms && event.seq <= id.seq)) low = mid + 1;
    else high = mid;
  }
  return low;
}
