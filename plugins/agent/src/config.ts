import { type ConfigProblem, defineConfig, env, type InferConfig, secret } from "@twelvefold/kernel";
import * as v from "valibot";

/**
 * The agent plugin's settings, keyed by env var name. SECRET_KEY signs approval requests: the
 * worker signs, any web replica verifies, so every process of the app needs the same one;
 * production requires one of at least 32 characters.
 */
export const agentConfig = defineConfig(
  {
    SECRET_KEY: secret(v.optional(env.string({ minLength: 1 }))),
    /** Model turns a run may take; the run then ends with a `limit` event and `done` (reason `max_steps`). */
    AGENT_MAX_STEPS: v.optional(env.integer({ min: 1 }), "10"),
    /** Tokens (input and output) a run may use; past it the run ends (reason `max_tokens`). 0: no limit. */
    AGENT_MAX_TOKENS_PER_RUN: v.optional(env.integer({ min: 0 }), "100000"),
    /** Runs one user may have in flight at once; one more is refused with a 429. 0: no limit. */
    AGENT_MAX_RUNS_PER_USER: v.optional(env.integer({ min: 0 }), "4"),
    /** The queue topic runs go through. */
    AGENT_TOPIC: v.optional(env.string({ minLength: 1 }), "agent.runs"),
    /** Where the run routes are mounted (`GET <prefix>/:id/events`, `DELETE <prefix>/:id`, `POST <prefix>/:id/approvals`); empty: none. */
    AGENT_ROUTE_PREFIX: v.optional(env.string(), "/agent/runs"),
    /** How long a run's events are kept while it runs (or waits for an approval), in ms. */
    AGENT_RUN_TTL_MS: v.optional(env.integer({ min: 1 }), String(24 * 3_600_000)),
    /** How long a run's events are kept once it has ended, for late reconnects, in ms. */
    AGENT_EVENTS_TTL_MS: v.optional(env.integer({ min: 1 }), String(3_600_000)),
    /** How long a signed approval request stays valid, in ms. */
    AGENT_APPROVAL_TTL_MS: v.optional(env.integer({ min: 1 }), String(24 * 3_600_000)),
    /** A worker's hold on a run it is running; renewed at a third of it, so another worker takes over this long after a crash. */
    AGENT_LOCK_TTL_MS: v.optional(env.integer({ min: 100 }), "10000"),
    /** Longest single wait for new events, in ms (streams and the worker's cancellation watch). */
    AGENT_WAIT_MS: v.optional(env.integer({ min: 1 }), "15000"),
    /** The `retry:` a stream ends with when its web replica drains: the client reconnects after it, in ms. */
    AGENT_SSE_RETRY_MS: v.optional(env.integer({ min: 0 }), "1000"),
  },
  { production: { SECRET_KEY: secret(env.string({ minLength: 32 })) } },
);

/** The parsed settings. */
export type AgentConfig = InferConfig<typeof agentConfig>;

/** The rules across settings, reported with every other config problem (exit 78). */
export function checkAgentConfig(config: AgentConfig): ConfigProblem[] {
  const prefix = config.AGENT_ROUTE_PREFIX;
  if (prefix !== "" && !/^\/[A-Za-z0-9._~\-/]*[^/]$/.test(prefix)) {
    return [{ name: "AGENT_ROUTE_PREFIX", expected: 'empty, or a path such as "/agent/runs" (no trailing slash)' }];
  }
  return [];
}
