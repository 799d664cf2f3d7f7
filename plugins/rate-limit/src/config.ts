import { defineConfig, env, type InferConfig } from "@twelvefold/kernel";
import * as v from "valibot";

/** The rate-limit plugin's settings, keyed by env var name. */
export const rateLimitConfig = defineConfig({
  /** Requests per minute per client under the default policy. */
  RATE_LIMIT_PER_MINUTE: v.optional(env.integer({ min: 1 }), "100"),
  /** What identifies a client under the default policy. */
  RATE_LIMIT_KEY: v.optional(env.picklist(["ip", "api-key", "subject"]), "ip"),
  /** The header that carries an API key, for the `api-key` key. */
  RATE_LIMIT_API_KEY_HEADER: v.optional(env.string({ minLength: 1 }), "x-api-key"),
  /** While the store fails (Redis down): admit requests unlimited (true) or refuse them with 429 (false). */
  RATE_LIMIT_FAIL_OPEN: v.optional(env.boolean(), "true"),
});

/** The parsed settings. */
export type RateLimitConfig = InferConfig<typeof rateLimitConfig>;
