import { defineConfig, env, type InferConfig, secret } from "@twelvefold/kernel";
import * as v from "valibot";

// Secret: the URL may carry a password (redis://:password@host:6379).
const url = () => env.url({ protocols: ["redis:", "rediss:"] });

/**
 * The redis plugin's settings, keyed by env var name. Without REDIS_URL the plugin provides the
 * kernel's memory adapters (single process); production requires it.
 */
export const redisConfig = defineConfig(
  {
    /** `redis://[user:password@]host[:port][/db]`; unset means the memory adapters. */
    REDIS_URL: secret(v.optional(url())),
    /** Default time to live of cache entries set without one, in seconds; unset means no expiry. */
    REDIS_TTL: v.optional(env.integer({ min: 1 })),
    /** Prefix of every key the plugin writes, so apps can share a server. */
    REDIS_KEY_PREFIX: v.optional(env.string({ minLength: 1 }), "tf:"),
    /** How long the first connection may take before the start fails. */
    REDIS_CONNECT_TIMEOUT_MS: v.optional(env.integer({ min: 1 }), "5000"),
  },
  { production: { REDIS_URL: secret(url()) } },
);

/** The parsed settings. */
export type RedisConfig = InferConfig<typeof redisConfig>;
