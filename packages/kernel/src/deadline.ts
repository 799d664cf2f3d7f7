/** Options for {@link withDeadline}. */
export interface DeadlineOptions {
  /** The budget, in milliseconds. */
  readonly timeoutMs: number;
  /** Builds the error the deadline rejects with; it is also the reason the work's signal aborts with. */
  readonly error: () => Error;
  /** Aborts the work's signal early too (a shutdown, say), without rejecting: the work decides. */
  readonly signal?: AbortSignal;
}

/**
 * Runs `work` under a time budget. The work gets a signal that aborts when the budget runs out
 * (with the deadline's error as its reason) or when `options.signal` aborts; past the budget the
 * promise rejects with that error, whether or not the work has given up.
 *
 * Built on `AbortSignal.timeout` and `AbortSignal.any`; the timer is let go of as soon as the work
 * settles, so a finished deadline never holds a process open.
 *
 * @example
 * ```ts
 * import { withDeadline } from "@twelvefold/kernel";
 *
 * const body = await withDeadline((signal) => fetch("http://127.0.0.1:9/slow", { signal }).then((r) => r.text()), {
 *   timeoutMs: 2_000,
 *   error: () => new Error("slow: no answer within 2000 ms"),
 * });
 * ```
 */
export function withDeadline<T>(
  work: (signal: AbortSignal) => T | PromiseLike<T>,
  options: DeadlineOptions,
): Promise<T> {
  const expired = new AbortController();
  const timer = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([expired.signal, options.signal]) : expired.signal;
  return new Promise<T>((resolve, reject) => {
    const onTimeout = () => {
      const error = options.error();
      expired.abort(error);
      reject(error);
    };
    timer.addEventListener("abort", onTimeout, { once: true });
    // Deno keeps the process alive while the timeout signal has a listener: drop it once settled.
    const settle = () => timer.removeEventListener("abort", onTimeout);
    Promise.resolve()
      .then(() => work(signal))
      .then(
        (value) => {
          settle();
          resolve(value);
        },
        (error: unknown) => {
          settle();
          reject(error);
        },
      );
  });
}
