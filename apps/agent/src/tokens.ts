/** The app's service tokens, apart from the plugins that provide them, so jobs can name them too. */
import type { ConversationStore } from "@twelvefold/agent";
import { token } from "@twelvefold/kernel";
import type { AgentConfig } from "./config.ts";
import type { AgentDrizzle } from "./db/database.ts";
import type { Facts } from "./db/facts.ts";
import type { IdempotencyKeys } from "./db/idempotency.ts";
import type { Sessions } from "./db/sessions.ts";

/** The app's parsed settings, for its routes and its worker, scheduler and admin jobs. */
export const AgentSettings = token<AgentConfig>("agent/Settings");

/** The stores, for the routes, the jobs and the admin commands. */
export interface AgentStore {
  readonly db: AgentDrizzle;
  readonly sessions: Sessions;
  readonly facts: Facts;
  readonly keys: IdempotencyKeys;
}

/** The app's stores. */
export const AgentStore = token<AgentStore>("agent/Store");

/** The conversations the agent plugin loads and saves through (see `ConversationStore`). */
export const Conversations = token<ConversationStore>("agent/Conversations");
