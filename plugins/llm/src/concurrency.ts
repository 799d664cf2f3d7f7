import { llmErrors } from "./errors.ts";

interface Waiter {
  readonly resolve: (release: () => void) => void;
  readonly reject: (error: unknown) => void;
  readonly cleanup: () => void;
}

/**
 * A cap on model calls in flight in this process (LLM_MAX_CONCURRENCY), with a bounded, first
 * come first served wait for a slot (LLM_MAX_QUEUE_WAIT_MS). A caller that waits too long gets a
 * retryable `TF_LLM_OVERLOADED`, never an unbounded queue.
 *
 * @example
 * ```ts
 * const cap = new ConcurrencyLimit(8, 10_000);
 * const release = await cap.acquire(signal);
 * try { await model.complete(request); } finally { release(); }
 * ```
 */
export class ConcurrencyLimit {
  readonly #max: number;
  readonly #maxWaitMs: number;
  readonly #queue: Waiter[] = [];
  #active = 0;

  constructor(max: number, maxWaitMs: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`llm: concurrency limit must be a whole number above 0, got ${max}`);
    this.#max = max;
    this.#maxWaitMs = maxWaitMs;
  }

  /** Calls holding a slot. */
  get active(): number {
    return this.#active;
  }

  /** Calls waiting for one. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Waits for a slot; resolves with the function that gives it back (calling it twice does nothing). */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#active < this.#max) {
      this.#active++;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => drop(signal?.reason);
      const timer = setTimeout(
        () => drop(llmErrors.create("TF_LLM_OVERLOADED", { max: this.#max, waitMs: this.#maxWaitMs })),
        this.#maxWaitMs,
      );
      const waiter: Waiter = {
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
        },
      };
      const drop = (error: unknown) => {
        const at = this.#queue.indexOf(waiter);
        if (at >= 0) this.#queue.splice(at, 1);
        waiter.cleanup();
        reject(error);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      if (next) {
        next.cleanup();
        next.resolve(this.#releaser());
      } else {
        this.#active--;
      }
    };
  }
}
