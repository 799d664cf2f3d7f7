/** The rate-limit plugin's error catalogue. */

/** Stable codes of the rate-limit plugin's errors. */
export type RateLimitErrorCode = "TF_RATE_LIMIT_POLICY";

/**
 * A policy that cannot work (a limit below 1, a window of no time, two policies with one name),
 * found when the limiter is built rather than on the first request.
 *
 * @example
 * ```ts
 * try { createRateLimiter(store, { policies: [{ name: "x", match: "/x", limit: 0 }] }); }
 * catch (e) { if (e instanceof RateLimitPolicyError) console.error(e.code); }
 * ```
 */
export class RateLimitPolicyError extends Error {
  override name = "RateLimitPolicyError";
  readonly code: RateLimitErrorCode = "TF_RATE_LIMIT_POLICY";
}
