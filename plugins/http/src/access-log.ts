import type { LogFields, Logger } from "@twelvefold/kernel";

/** Runs `fn` once the current event-loop turn's I/O is done (a macrotask, never a microtask). */
type Schedule = (fn: () => void) => void;

const afterTurn: Schedule =
  typeof globalThis.setImmediate === "function" ? (fn) => setImmediate(fn) : (fn) => setTimeout(fn, 0);

/**
 * The access log: one `request` line per answered request. A network request's line is queued
 * and written, with every other line of the same event-loop turn, once the turn's answers are out;
 * formatting each line between two answers costs the server about twice as much CPU as formatting
 * them together (`bun bench/cpu.ts`), and it keeps the lines off the answers' latency. Lines stay
 * in answer order, and {@link flush} writes what is queued at once (the drain calls it before it
 * reports, and {@link close} at stop, after which every line is written at once, so none waits on a
 * turn the process may not have). An in-process request's line is written immediately, so a caller
 * of `HttpHandler.fetch` (a test) reads it as soon as the answer is back.
 */
export class AccessLog {
  readonly #logger: Logger;
  readonly #schedule: Schedule;
  #queue: LogFields[] = [];
  #scheduled = false;
  #closed = false;

  constructor(logger: Logger, schedule: Schedule = afterTurn) {
    this.#logger = logger;
    this.#schedule = schedule;
  }

  /** Logs the line of one answer: now when `immediate`, else after the turn. */
  write(fields: LogFields, immediate: boolean): void {
    if (immediate || this.#closed) {
      this.flush();
      this.#logger.info("request", fields);
      return;
    }
    this.#queue.push(fields);
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#schedule(this.#flushAfterTurn);
    }
  }

  /** Writes every queued line now. */
  flush(): void {
    if (this.#queue.length === 0) return;
    const lines = this.#queue;
    this.#queue = [];
    for (const fields of lines) this.#logger.info("request", fields);
  }

  /** Writes what is queued and every later line at once (the process is stopping). */
  close(): void {
    this.#closed = true;
    this.flush();
  }

  readonly #flushAfterTurn = (): void => {
    this.#scheduled = false;
    this.flush();
  };
}
