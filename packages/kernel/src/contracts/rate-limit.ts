import { memoryRateLimitStore } from "../memory/rate-limit.ts";
import { token } from "../token.ts";

/** The outcome of one {@link RateLimitStore.hit}. */
export interface RateLimitResult {
  /** True when this hit is within the limit. */
  readonly allowed: boolean;
  readonly limit: number;
  /** Hits left in the current window after this one (never negative). */
  readonly remaining: number;
  /** Milliseconds until the current window ends and the count starts again. */
  readonly resetMs: number;
}

/**
 * The RateLimitStore contract: fixed-window counting shared by every replica that uses the store.
 *
 * Every adapter must guarantee:
 * - `hit` is atomic: N concurrent hits on one key within a window admit exactly `limit` of them;
 * - `remaining` counts down from `limit - 1` and `resetMs` is within `(0, windowMs]`;
 * - when a window ends the count starts again; keys never affect each other;
 * - a `limit` that is not a positive integer, or a `windowMs` that is not positive, is a `RangeError`.
 *
 * `hit` may answer synchronously: an adapter that counts in-process (the memory one) returns the
 * result itself, and one behind a network round trip (Redis) a promise of it. The rate limiter then
 * answers a request without a microtask turn of its own. A synchronous adapter reports a failure by
 * throwing, an asynchronous one by rejecting; callers `await` the call inside `try`, which handles
 * all four outcomes.
 */
export interface RateLimitStore {
  hit(key: string, limit: number, windowMs: number): RateLimitResult | Promise<RateLimitResult>;
  /** Forgets the key's count (an admin unblocking a client, or a test starting fresh). */
  reset(key: string): Promise<void>;
}

/** The app's rate-limit store: the memory adapter unless a plugin (redis) provides one. */
export const RateLimitStore = token<RateLimitStore>("twelvefold/RateLimitStore", {
  fallback: () => memoryRateLimitStore(),
});
