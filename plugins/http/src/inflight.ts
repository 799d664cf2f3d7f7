import { type HttpError, httpErrors } from "./errors.ts";
import type { RequestState } from "./request.ts";

/**
 * The requests being handled, in arrival order: the timeout sweeper walks it from the oldest,
 * and the drain waits on it. One sweeper timer serves every request, so a request costs a set
 * insertion instead of a timer of its own.
 */
export class InFlight {
  readonly #requests = new Set<RequestState>();
  readonly #deadline = new AbortController();
  readonly #timeoutMs: number;
  readonly #now: () => number;
  #early = 0;
  #closing = false;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #waiters: Array<() => void> = [];

  constructor(timeoutMs: number, now: () => number) {
    this.#timeoutMs = timeoutMs;
    this.#now = now;
  }

  /** True once draining began: responses then carry `Connection: close`. */
  get closing(): boolean {
    return this.#closing;
  }

  get size(): number {
    return this.#requests.size;
  }

  /** Aborted when the drain deadline passes; part of every request's signal. */
  get shared(): AbortSignal {
    return this.#deadline.signal;
  }

  /** Draining began: from now on requests are not early and connections close after answering. */
  beginClosing(): void {
    this.#closing = true;
  }

  add(state: RequestState): void {
    this.#requests.add(state);
    if (state.early) this.#early++;
    if (this.#sweeper === undefined && this.#timeoutMs > 0) this.#startSweeper();
  }

  delete(state: RequestState): void {
    this.#requests.delete(state);
    if (state.early) this.#early--;
    if (this.#waiters.length > 0) for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Resolves when every request that began before draining has answered, or `signal` aborts. */
  earlyDone(signal: AbortSignal): Promise<void> {
    return this.#until(() => this.#early <= 0, signal);
  }

  /** Resolves when no request is in flight, or `signal` aborts. */
  idle(signal: AbortSignal): Promise<void> {
    return this.#until(() => this.#requests.size === 0, signal);
  }

  /** Aborts every request still running (the drain deadline); returns how many there were. */
  abortAll(reason: HttpError): number {
    const count = this.#requests.size;
    this.#deadline.abort(reason);
    for (const state of this.#requests) state.abort(reason);
    return count;
  }

  /** Stops the sweeper timer. */
  close(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  #until(done: () => boolean, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const finish = () => {
        signal.removeEventListener("abort", finish);
        resolve();
      };
      const check = () => {
        if (done()) finish();
        else if (!signal.aborted) this.#waiters.push(check);
      };
      if (signal.aborted) return resolve();
      signal.addEventListener("abort", finish, { once: true });
      check();
    });
  }

  #startSweeper(): void {
    const every = Math.max(5, Math.min(1000, Math.floor(this.#timeoutMs / 10)));
    this.#sweeper = setInterval(() => this.#sweep(), every);
    (this.#sweeper as { unref?: () => void }).unref?.();
  }

  #sweep(): void {
    const cutoff = this.#now() - this.#timeoutMs;
    for (const state of this.#requests) {
      // Arrival order: the first one still within its time means all later ones are too.
      if (state.startedAt > cutoff) break;
      if (state.expire === undefined) continue;
      state.abort(
        httpErrors.create(
          "TF_HTTP_TIMEOUT",
          { timeoutMs: this.#timeoutMs },
          { detail: "The server did not answer in time" },
        ),
      );
    }
  }
}
