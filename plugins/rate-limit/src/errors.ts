/** The rate-limit plugin's error catalogue: one table of codes and message templates. */
import { defineErrors, quote, TwelvefoldError } from "@twelvefold/kernel";

const table = {
  TF_RATE_LIMIT_POLICY: {
    message: (f: { policy: string; problem: string }) => `rate-limit: policy ${quote(f.policy)} ${f.problem}`,
  },
} as const;

/** Stable codes of the rate-limit plugin's errors. */
export type RateLimitErrorCode = keyof typeof table;

/**
 * A policy that cannot work (a limit below 1, a window of no time, two policies with one name),
 * found when the limiter is built rather than on the first request.
 *
 * @example
 * ```ts
 * import { createRateLimiter, RateLimitPolicyError } from "@twelvefold/rate-limit";
 * import { memoryRateLimitStore } from "@twelvefold/kernel/memory";
 *
 * try {
 *   createRateLimiter(memoryRateLimitStore(), { policies: [{ name: "x", match: "/x", limit: 0 }] });
 * } catch (e) {
 *   if (e instanceof RateLimitPolicyError) console.error(e.code);
 * }
 * ```
 */
export class RateLimitPolicyError extends TwelvefoldError<RateLimitErrorCode> {
  override name = "RateLimitPolicyError";
}

/** The rate-limit plugin's catalogue: `rateLimitErrors.create(code, facts)`. */
export const rateLimitErrors = defineErrors(table, RateLimitPolicyError);
