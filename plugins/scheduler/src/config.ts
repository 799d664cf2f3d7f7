import { defineConfig, env, type InferConfig } from "@twelvefold/kernel";
import * as v from "valibot";

/** True when `zone` names a time zone the runtime's Intl knows (an IANA name such as `Europe/Paris`, or `UTC`). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The scheduler's settings, keyed by env var name. SCHEDULER_TZ is the zone cron expressions are
 * read in (default UTC, so a schedule does not move with the host). SCHEDULER_LOCK_TTL_MS is how
 * long an occurrence's lock outlives its firing: it must exceed the clock skew between replicas,
 * since the lock is left to expire, never released.
 */
export const schedulerConfig = defineConfig({
  SCHEDULER_TZ: v.optional(
    v.pipe(env.string({ minLength: 1 }), v.check(isTimeZone, "an IANA time zone such as UTC or Europe/Paris")),
    "UTC",
  ),
  SCHEDULER_LOCK_TTL_MS: v.optional(env.integer({ min: 1000 }), "600000"),
});

/** The scheduler's parsed settings. */
export type SchedulerConfig = InferConfig<typeof schedulerConfig>;
