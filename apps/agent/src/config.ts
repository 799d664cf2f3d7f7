import { defineConfig, env, type InferConfig, type ProfileDefaults } from "@twelvefold/kernel";
import * as v from "valibot";

/**
 * The sample agent's own settings, keyed by env var name. The chat routes, the worker's jobs,
 * the scheduler's jobs and the admin commands read them; each process validates the ones its
 * plugins declare, with every plugin's settings, and reports every problem at once (exit 78).
 */
export const agentConfig = defineConfig({
  /**
   * The subject a request without a token acts as, in development and testing only; production
   * requires a token on every chat request.
   */
  AGENT_DEV_USER: v.optional(env.string({ minLength: 1, maxLength: 128 }), "local"),
  /** Longest message a user may send, in characters (a longer one is a 422). */
  AGENT_MAX_MESSAGE_CHARS: v.optional(env.integer({ min: 1, max: 100_000 }), "4000"),
  /** Sessions one user may keep; one more is a 409 until they delete one. */
  AGENT_MAX_SESSIONS_PER_USER: v.optional(env.integer({ min: 1, max: 100_000 }), "100"),
  /** Messages one user may send per minute, counted in the RateLimitStore (Redis: across every replica). */
  AGENT_MESSAGES_PER_MINUTE: v.optional(env.integer({ min: 1, max: 100_000 }), "20"),
  /** How long an Idempotency-Key's first answer is kept for retries, in hours. */
  AGENT_IDEMPOTENCY_TTL_HOURS: v.optional(env.integer({ min: 1, max: 24 * 30 }), "24"),
  /** The nightly purge deletes sessions with no activity for this many days, with their messages. */
  AGENT_RETENTION_DAYS: v.optional(env.integer({ min: 1, max: 36_500 }), "30"),
  /** A session longer than this many messages gets a summary, and the model sees the summary instead of the oldest ones. */
  AGENT_SUMMARY_AFTER_MESSAGES: v.optional(env.integer({ min: 4, max: 10_000 }), "20"),
});

/** The parsed settings. */
export type AgentConfig = InferConfig<typeof agentConfig>;

/**
 * A signing key for development and testing only, so `bun run admin token --sub alice` works on a
 * fresh machine. It is public (it is in this file): staging and production have no default, and
 * production refuses a key under 32 characters.
 */
export const DEVELOPMENT_SECRET_KEY = "twelvefold-agent-development-key-not-a-secret";

/** Profile defaults the app adds below `.env` files: the development key above. */
export const agentDefaults: ProfileDefaults = {
  development: { SECRET_KEY: DEVELOPMENT_SECRET_KEY },
  testing: { SECRET_KEY: DEVELOPMENT_SECRET_KEY },
};
