/**
 * Wall-clock time and waiting, injected so that tests drive occurrences without real waiting.
 * Occurrences are wall-clock instants (epoch milliseconds), not durations.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** setTimeout's longest delay; a longer wait is taken in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * The real clock: `Date.now()` and `setTimeout`.
 *
 * @example
 * ```ts
 * scheduler({ jobs, clock: systemClock }); // the default
 * ```
 */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.min(Math.max(0, ms), MAX_DELAY_MS));
      signal.addEventListener("abort", done, { once: true });
    });
  },
});

/** Waits until the clock reads at least `at`; timers may fire early, so it checks and waits again. */
export async function sleepUntil(clock: Clock, at: number, signal: AbortSignal): Promise<void> {
  for (let now = clock.now(); now < at && !signal.aborted; now = clock.now()) {
    await clock.sleep(at - now, signal);
  }
}
