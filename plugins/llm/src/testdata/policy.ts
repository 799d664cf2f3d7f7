import type { ResilienceOptions } from "../resilient.ts";

/**
 * The resilience policy with waits short enough for tests: backoff in tens of ms, a watchdog
 * that fires within a second (generous, so a loaded machine does not trip it on a healthy
 * stream), and breakers off unless a test turns them on.
 */
export const fastPolicy: ResilienceOptions = {
  retry: { maxRetries: 2, baseMs: 20, capMs: 100, maxWaitMs: 5_000 },
  watchdog: { firstChunkMs: 1_000, idleMs: 1_000, totalMs: 20_000 },
  breaker: { failures: 0, windowMs: 1_000, cooldownMs: 1_000 },
};
