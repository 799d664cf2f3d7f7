/**
 * The agent's tools: the llm plugin's calculator and clock (the time in an IANA time zone), and a
 * memory per user (remember, recall) kept in PostgreSQL. The tools are made for each run, so the
 * memory acts for the run's user: the model never says whose memory it is.
 */
import type { LoopTool, RunInfo } from "@twelvefold/agent";
import type { ServiceReader } from "@twelvefold/kernel";
import { calculator, clock, defineTool } from "@twelvefold/llm";
import * as v from "valibot";
import type { Facts } from "./db/facts.ts";
import { AgentStore } from "./tokens.ts";

/** The remember and recall tools of one user. */
export function memoryTools(facts: Facts, user: string) {
  const remember = defineTool({
    name: "remember",
    description: "Saves a fact the user wants remembered for later conversations",
    input: v.object({ fact: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(1000)) }),
    // The call's idempotency key is the row's unique key: a resumed run never saves it twice.
    sideEffects: true,
    async run({ fact }, { idempotencyKey }) {
      await facts.remember(user, fact, idempotencyKey);
      return { result: "saved" };
    },
  });
  const recall = defineTool({
    name: "recall",
    description: "Looks up the facts the user asked to be remembered; empty query for all of them",
    input: v.object({ query: v.optional(v.pipe(v.string(), v.maxLength(200)), "") }),
    run: async ({ query }) => ({ facts: await facts.recall(user, query) }),
  });
  return [remember, recall];
}

let shared: readonly LoopTool[] | undefined;

/** The tools of one run (the agent plugin's `tools`): calculator, clock, and the run's user's memory. */
export function agentTools(run: RunInfo, services: ServiceReader): readonly LoopTool[] {
  shared ??= [calculator(), clock()];
  return [...shared, ...memoryTools(services.get(AgentStore).facts, run.user)];
}
