/** Runs `fn` once the current event-loop turn's I/O is done (a macrotask, never a microtask). */
export type Schedule = (fn: () => void) => void;

const afterTurn: Schedule = (fn) => {
  if (typeof globalThis.setImmediate === "function") setImmediate(fn);
  else setTimeout(fn, 0);
};

/**
 * Work left for after the answers: what the http core records of each answered request (the span,
 * the metrics, the access line) is queued here and done, for every request of the same event-loop
 * turn, once the turn's answers are out. Done between two answers it cost the server about a tenth
 * more CPU per request (`bun bench/cpu.ts`), and it kept the answers waiting. Items are done in
 * answer order; {@link flush} does what is queued at once (the drain calls it before it reports),
 * and after {@link close} (stop) every item is done at once, so none waits on a turn the process may
 * not have. An in-process request's item is done immediately, so a caller of `HttpHandler.fetch`
 * (a test) sees its span, metrics and line as soon as the answer is back.
 */
export class AfterAnswers<T> {
  /** What is done with each item; the http core sets it each time it builds its handler. */
  run!: (item: T) => void;
  readonly #failed: (error: unknown) => void;
  readonly #schedule: Schedule;
  #queue: T[] = [];
  #scheduled = false;
  #closed = false;

  /** `failed` hears what a run threw; the other items are still done. */
  constructor(failed: (error: unknown) => void, schedule: Schedule = afterTurn) {
    this.#failed = failed;
    this.#schedule = schedule;
  }

  /** Does `item` now when `immediate`, else once the turn is over. */
  add(item: T, immediate: boolean): void {
    if (immediate || this.#closed) {
      this.flush();
      this.#runOne(item);
      return;
    }
    this.#queue.push(item);
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#schedule(this.#flushAfterTurn);
    }
  }

  /** Does every queued item now; one that throws is reported and loses only itself. */
  flush(): void {
    if (this.#queue.length === 0) return;
    const items = this.#queue;
    this.#queue = [];
    for (const item of items) this.#runOne(item);
  }

  #runOne(item: T): void {
    try {
      this.run(item);
    } catch (error) {
      // Off the request path, a throw would reach the event loop and end the process.
      this.#failed(error);
    }
  }

  /** Does what is queued, and every later item at once (the process is stopping). */
  close(): void {
    this.#closed = true;
    this.flush();
  }

  readonly #flushAfterTurn = (): void => {
    this.#scheduled = false;
    this.flush();
  };
}
