/**
 * The app's persistence, as one plugin: the stores over the database for the routes and jobs,
 * and the agent plugin's ConversationStore seam, through which a worker loads a session for the
 * model and saves each finished run (its messages, tool calls, usage and cost) in PostgreSQL.
 */
import { definePlugin, type Plugin, Queue, Tracer } from "@twelvefold/kernel";
import { Agent } from "@twelvefold/llm";
import { AgentDatabase } from "./db/database.ts";
import { Facts } from "./db/facts.ts";
import { IdempotencyKeys } from "./db/idempotency.ts";
import { Sessions } from "./db/sessions.ts";
import { summariseJob } from "./jobs/summarise.ts";
import { AgentStore, Conversations } from "./tokens.ts";

/**
 * The store plugin, in every process type: the database is the only state the app has. Saving a
 * run's exchange enqueues the summarise-and-title job for its session.
 */
export function store(): Plugin {
  return definePlugin({
    name: "store",
    requires: [AgentDatabase, Queue],
    optional: [Agent, Tracer],
    provides: [AgentStore, Conversations],
    start({ get, find, provide, logger }) {
      const db = get(AgentDatabase).drizzle;
      const sessions = new Sessions(db);
      provide(AgentStore, { db, sessions, facts: new Facts(db), keys: new IdempotencyKeys(db) });
      const queue = get(Queue);
      const tracer = find(Tracer);
      // Present where runs run (the worker): it prices each turn by LLM_PRICES.
      const agent = find(Agent);
      provide(Conversations, {
        load: (sessionId) => sessions.context(sessionId),
        async save(sessionId, exchange) {
          let costUsd: number | undefined;
          for (const turn of exchange.turns) {
            const cost = agent?.cost(turn.model, {
              inputTokens: turn.usage.input_tokens,
              outputTokens: turn.usage.output_tokens,
            });
            if (cost !== undefined) costUsd = (costUsd ?? 0) + cost;
          }
          const saved = await sessions.save(sessionId, exchange, { model: exchange.turns.at(-1)?.model, costUsd });
          if (saved.messageId !== undefined) {
            await summariseJob.enqueue(queue, { session_id: sessionId }, { tracer });
            logger.debug("exchange saved", { session_id: sessionId, run_id: exchange.runId });
          }
          return saved;
        },
      });
    },
  });
}
