import { defineConfig, env } from "@twelvefold/kernel";
import * as v from "valibot";

/** The metrics plugin's settings. */
export const metricsConfig = defineConfig({
  /** Where the scrape endpoint is served. */
  METRICS_PATH: v.optional(
    v.pipe(env.string({ minLength: 2 }), v.startsWith("/", "a path starting with /")),
    "/metrics",
  ),
  /** Whether process figures (CPU, memory, event-loop delay) are exposed. */
  METRICS_PROCESS: v.optional(env.boolean(), "true"),
  /** Queue topics whose depth, oldest-message age and dead letters are exposed (needs a Queue). */
  METRICS_QUEUE_TOPICS: v.optional(env.list(), ""),
  /** Label sets kept per metric before new ones are dropped and counted. */
  METRICS_MAX_SERIES: v.optional(env.integer({ min: 1, max: 1_000_000 }), "10000"),
});
