import type { EventLog, LogEvent, ReadOptions, WaitOptions } from "@twelvefold/kernel";
import type { BlockingConnection, RedisConnection } from "./connection.ts";
import { fieldMap } from "./consumer.ts";

/** The Redis event log, plus `close()`, which ends the waits in progress with no events. */
export interface RedisEventLog extends EventLog {
  close(): void;
}

/** Options of {@link redisEventLog}. */
export interface RedisEventLogOptions {
  /** Longest single XREAD BLOCK, in ms (default 5 000); waits longer than that block again. */
  readonly blockMs?: number;
}

type Entries = Array<[string, string[]]>;
type Streams = Array<[string, Entries]>;

interface Waiter {
  readonly key: string;
  readonly after: string;
  readonly limit: number;
  readonly settle: (events: LogEvent[] | undefined, error?: unknown) => void;
}

const DEFAULT_LIMIT = 100;
/** The same id shape the memory adapter accepts: `<ms>` or `<ms>-<seq>`. */
const ID = /^(\d{1,16})(?:-(\d{1,16}))?$/;

function parseId(id: string): readonly [number, number] {
  const match = typeof id === "string" ? ID.exec(id) : null;
  if (match === null) throw new TypeError(`redis EventLog: not an event id: "${String(id)}"`);
  return [Number(match[1]), Number(match[2] ?? 0)];
}

function compareIds(a: string, b: string): number {
  const [am, as] = parseId(a);
  const [bm, bs] = parseId(b);
  return am === bm ? as - bs : am - bm;
}

function checkName(log: string): void {
  if (typeof log !== "string" || log === "") {
    throw new TypeError(`redis EventLog: log must be a non-empty string: got "${String(log)}"`);
  }
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`redis EventLog: limit must be a positive integer: got "${limit}"`);
  }
}

function checkMs(ms: number, what: string): void {
  if (!Number.isInteger(ms) || ms < 1) {
    throw new RangeError(`redis EventLog: ${what} must be a positive integer of milliseconds: got "${ms}"`);
  }
}

const toEvents = (entries: Entries): LogEvent[] =>
  entries.map(([id, fields]) => ({ id, data: fieldMap(fields).d ?? "" }));

/**
 * The {@link EventLog} on Redis Streams: one stream per log (`<prefix>log:<name>`), `XADD` to
 * append (ids are the stream's, `<ms>-<seq>`), `XREAD` after an id to read, `PEXPIRE` to expire.
 *
 * Waits share one blocking connection of their own: a single `XREAD BLOCK` covers every log
 * someone waits on, each from the earliest id its waiters need, and a wait that needs the read
 * to change (a new log, an earlier id) interrupts it with `CLIENT UNBLOCK`. So a thousand open
 * streams cost one connection and one blocked command, not a thousand. A wait first reads
 * without blocking, so it never misses an event appended before it began.
 *
 * @example
 * ```ts
 * const log = redisEventLog(connection);
 * const id = await log.append("run:42", JSON.stringify({ type: "text", text: "Hi" }));
 * const next = await log.wait("run:42", { after: id, timeoutMs: 15_000 });
 * ```
 */
export function redisEventLog(connection: RedisConnection, options: RedisEventLogOptions = {}): RedisEventLog {
  return new RedisEventLogImpl(connection, options.blockMs ?? 5_000);
}

class RedisEventLogImpl implements RedisEventLog {
  readonly #connection: RedisConnection;
  readonly #base: string;
  readonly #blockMs: number;
  readonly #waiters = new Set<Waiter>();
  /** What the XREAD BLOCK in progress covers: key to the id it reads after. */
  #reading: Map<string, string> | undefined;
  #blocking: BlockingConnection | undefined;
  #loop: Promise<void> | undefined;
  /** A waiter arrived that the read in progress does not cover. */
  #stale = false;
  #kicking = false;
  #closed = false;

  constructor(connection: RedisConnection, blockMs: number) {
    this.#connection = connection;
    this.#base = `${connection.prefix}log:`;
    this.#blockMs = blockMs;
  }

  async append(log: string, data: string): Promise<string> {
    checkName(log);
    if (typeof data !== "string") {
      throw new TypeError(`redis EventLog: data for "${log}" must be a string: got ${typeof data}`);
    }
    return this.#connection.send<string>(["XADD", this.#base + log, "*", "d", data], "event log append");
  }

  async read(log: string, options: ReadOptions = {}): Promise<LogEvent[]> {
    checkName(log);
    const { after, limit = DEFAULT_LIMIT } = options;
    checkLimit(limit);
    if (after !== undefined) parseId(after);
    // XREAD after 0-0 is the whole stream: XADD never makes 0-0.
    const reply = await this.#connection.send<Streams | null>(
      ["XREAD", "COUNT", String(limit), "STREAMS", this.#base + log, after ?? "0-0"],
      "event log read",
    );
    return toEvents(reply?.[0]?.[1] ?? []);
  }

  async wait(log: string, options: WaitOptions): Promise<LogEvent[]> {
    checkMs(options.timeoutMs, "timeoutMs");
    const { signal } = options;
    signal?.throwIfAborted();
    const ready = await this.read(log, options);
    if (ready.length > 0 || this.#closed) return ready;
    signal?.throwIfAborted();
    return new Promise<LogEvent[]>((resolve, reject) => {
      const waiter: Waiter = {
        key: this.#base + log,
        after: options.after ?? "0-0",
        limit: options.limit ?? DEFAULT_LIMIT,
        settle: (events, error) => {
          if (!this.#waiters.delete(waiter)) return;
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          if (events === undefined) reject(error);
          else resolve(events);
        },
      };
      const onAbort = () => waiter.settle(undefined, signal?.reason);
      const timer = setTimeout(() => waiter.settle([]), options.timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(waiter);
      this.#follow(waiter);
    });
  }

  async expire(log: string, ttlMs: number): Promise<boolean> {
    checkName(log);
    checkMs(ttlMs, "ttlMs");
    return (
      (await this.#connection.send<number>(["PEXPIRE", this.#base + log, String(ttlMs)], "event log expire")) === 1
    );
  }

  async delete(log: string): Promise<boolean> {
    checkName(log);
    return (await this.#connection.send<number>(["DEL", this.#base + log], "event log delete")) === 1;
  }

  close(): void {
    this.#closed = true;
    for (const waiter of [...this.#waiters]) waiter.settle([]);
    this.#blocking?.close();
  }

  /** Makes sure the read loop covers `waiter`: starts it, or interrupts a read that does not. */
  #follow(waiter: Waiter): void {
    if (this.#loop === undefined) {
      this.#loop = this.#run().finally(() => {
        this.#loop = undefined;
        if (this.#waiters.size > 0 && !this.#closed) this.#follow([...this.#waiters][0] as Waiter);
      });
      return;
    }
    // Between two reads the next one takes every waiter in; a read in progress may not cover this one.
    const reading = this.#reading;
    if (reading === undefined) return;
    const covered = reading.get(waiter.key);
    if (covered !== undefined && compareIds(waiter.after, covered) >= 0) return;
    this.#stale = true;
    void this.#kick();
  }

  /**
   * Interrupts the read in progress until a new one covers everyone. CLIENT UNBLOCK travels on
   * the shared connection and may overtake the XREAD it is meant for, so it is sent again until
   * the loop has started a read that covers every waiter.
   */
  async #kick(): Promise<void> {
    if (this.#kicking) return;
    this.#kicking = true;
    try {
      for (let i = 0; this.#stale && this.#reading !== undefined && i < 200; i++) {
        await this.#blocking?.unblock();
        if (this.#stale) await new Promise((resolve) => setTimeout(resolve, i < 5 ? 1 : 10));
      }
    } finally {
      this.#kicking = false;
    }
  }

  /** The read loop: one XREAD BLOCK over every followed log, until nobody waits. */
  async #run(): Promise<void> {
    let failures = 0;
    while (this.#waiters.size > 0 && !this.#closed) {
      try {
        if (this.#blocking === undefined || this.#blocking.closed) this.#blocking = await this.#connection.blocking();
        // From here to the send, no await: a waiter that comes later sees `#reading` and kicks.
        const from = new Map<string, string>();
        let count = 1;
        for (const waiter of this.#waiters) {
          const known = from.get(waiter.key);
          if (known === undefined || compareIds(waiter.after, known) < 0) from.set(waiter.key, waiter.after);
          count = Math.max(count, waiter.limit);
        }
        if (from.size === 0) break;
        this.#reading = from;
        this.#stale = false;
        const reply = await this.#blocking.send<Streams | null>(
          [
            "XREAD",
            "COUNT",
            String(count),
            "BLOCK",
            String(this.#blockMs),
            "STREAMS",
            ...from.keys(),
            ...from.values(),
          ],
          "event log wait",
        );
        failures = 0;
        this.#reading = undefined;
        for (const [key, entries] of reply ?? []) this.#deliver(key, toEvents(entries));
      } catch (error) {
        this.#reading = undefined;
        if (this.#closed) return;
        // The server is away: the waits in hand fail (a stream reconnects), later ones try again.
        for (const waiter of [...this.#waiters]) waiter.settle(undefined, error);
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** failures++, 2_000)));
      }
    }
  }

  /** Resolves each waiter on `key` with the events after its own id. */
  #deliver(key: string, events: LogEvent[]): void {
    for (const waiter of [...this.#waiters]) {
      if (waiter.key !== key) continue;
      const mine = events.filter((e) => compareIds(e.id, waiter.after) > 0).slice(0, waiter.limit);
      if (mine.length > 0) waiter.settle(mine);
    }
  }
}
