import { isRetryable } from "./errors.ts";

/** How failed calls are retried. */
export interface RetryPolicy {
  /** Retries after the first attempt (LLM_MAX_RETRIES); 0 turns retrying off. */
  readonly maxRetries: number;
  /** The first backoff's ceiling, in ms; it doubles per retry (LLM_RETRY_BASE_MS). */
  readonly baseMs: number;
  /** The largest backoff ceiling, in ms, however many retries. */
  readonly capMs: number;
  /**
   * The longest a retry waits, in ms (LLM_RETRY_MAX_WAIT_MS). A Retry-After hint up to this is
   * honoured in full; a longer one is not retried early against the provider's word: the call
   * fails (or falls back) at once, carrying the hint.
   */
  readonly maxWaitMs: number;
}

/** The policy with the plugin's defaults. */
export const defaultRetryPolicy: RetryPolicy = { maxRetries: 2, baseMs: 500, capMs: 8_000, maxWaitMs: 60_000 };

/**
 * The wait before retry number `attempt` (0 for the first retry) after `error`, in ms, or
 * `undefined` when the error must not be retried. Backoff is exponential with full jitter
 * (a uniform draw from zero to the ceiling, as AWS's architecture blog recommends), and never
 * shorter than the provider's Retry-After.
 *
 * @example
 * ```ts
 * const wait = retryDelay(policy, 0, error); // e.g. 312 for a 500, 2000 for a 429 with Retry-After: 2
 * ```
 */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  error: unknown,
  random: () => number = Math.random,
): number | undefined {
  if (attempt >= policy.maxRetries || !isRetryable(error)) return undefined;
  const hint = (error as { retryAfterMs?: unknown }).retryAfterMs;
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
  const jittered = Math.floor(random() * ceiling);
  if (typeof hint === "number" && Number.isFinite(hint)) {
    if (hint > policy.maxWaitMs) return undefined;
    return Math.max(hint, jittered);
  }
  return Math.min(jittered, policy.maxWaitMs);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
