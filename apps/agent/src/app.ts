/**
 * The sample agent: one app definition for every process type. Each plugin says where it runs,
 * and `bun apps/agent/src/main.ts <type>` picks the type:
 *
 * | process   | what runs                                                                    | port              |
 * | --------- | ---------------------------------------------------------------------------- | ----------------- |
 * | web       | the HTTP API and the chat page; enqueues agent runs, streams their events    | PORT (8000)       |
 * | worker    | agent runs; the summarise-and-title job after each reply                     | MANAGEMENT_PORT (9000) |
 * | scheduler | the nightly purge, the hourly usage roll-up                                  | MANAGEMENT_PORT (9000) |
 * | dev       | web, worker and scheduler in one process                                     | PORT              |
 * | admin     | one command and exit: migrate, seed, config, token, jobs, run-job            | none              |
 */
import { agent } from "@twelvefold/agent";
import { http, management } from "@twelvefold/http";
import { type App, type AppOptions, createApp, inProcesses, type Plugin, worker } from "@twelvefold/kernel";
import { Agent, llm } from "@twelvefold/llm";
import { metrics } from "@twelvefold/metrics";
import { otel } from "@twelvefold/otel";
import { rateLimit } from "@twelvefold/rate-limit";
import { redis } from "@twelvefold/redis";
import { scheduler } from "@twelvefold/scheduler";
import { chatRoutes } from "./chat/routes.ts";
import { seedCommand } from "./commands/seed.ts";
import { tokenCommand } from "./commands/token.ts";
import { database } from "./db/database.ts";
import { purgeJob, rollupJob } from "./jobs/cron.ts";
import { summariseJob } from "./jobs/summarise.ts";
import { page } from "./page.ts";
import { settings } from "./settings.ts";
import { store } from "./store.ts";
import { AgentStore, Conversations } from "./tokens.ts";
import { agentTools } from "./tools.ts";

/** What the model is told before every conversation. */
export const INSTRUCTIONS =
  "You are the Twelvefold sample agent. Use the calculator for arithmetic, the clock for the time in a time zone, " +
  "and remember and recall for what the user asks you to keep. Answer briefly.";

/** The sample agent's plugins, in one list for every process type. */
export function agentPlugins(): Plugin[] {
  return [
    otel(),
    metrics(),
    // REDIS_URL: Cache, RateLimitStore, Queue, Lock and EventLog shared by every process; else the memory ones.
    redis(),
    database(),
    settings(),
    store(),
    http(),
    management(),
    // The model is needed where runs run; the web process only enqueues them.
    inProcesses(["worker"], llm()),
    rateLimit(),
    worker({ jobs: [summariseJob] }),
    agent({
      loop: Agent,
      tools: agentTools,
      services: [AgentStore],
      conversations: Conversations,
      instructions: INSTRUCTIONS,
      // The app mounts the run routes itself, under the session and behind authentication.
      AGENT_ROUTE_PREFIX: "",
    }),
    scheduler({ jobs: [purgeJob, rollupJob] }),
    chatRoutes(),
    page(),
  ];
}

/** The sample agent app. */
export function agentApp(options: Partial<AppOptions> = {}): App {
  return createApp({
    name: "agent",
    version: "0.1.0",
    plugins: agentPlugins(),
    commands: [seedCommand, tokenCommand],
    ...options,
  });
}
