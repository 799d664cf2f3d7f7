import { env } from "@twelvefold/kernel";
import * as v from "valibot";

/** The sample agent's own settings, keyed by env var name. */
export const agentConfig = {
  /** The subject an unauthenticated request acts as, in development and testing only. */
  AGENT_DEV_USER: v.optional(env.string({ minLength: 1, maxLength: 128 }), "local"),
  /** Longest message a user may send, in characters. */
  AGENT_MAX_MESSAGE_CHARS: v.optional(env.integer({ min: 1, max: 100_000 }), "4000"),
};
