import {
  ChatModel,
  type ConfigOptions,
  defineJob,
  definePlugin,
  EventLog,
  Lock,
  type Plugin,
  Queue,
  type Token,
  Tracer,
  token,
  WorkerJobs,
} from "@twelvefold/kernel";
import * as v from "valibot";
import { approvalSigner } from "./approval.ts";
import { agentConfig, checkAgentConfig } from "./config.ts";
import type { ConversationStore } from "./conversation.ts";
import { RunEngine } from "./engine.ts";
import { agentErrors } from "./errors.ts";
import type { AgentLoop, RunTools } from "./loop.ts";
import { type AgentRoutes, mountRoutes, type RouteContext } from "./routes.ts";
import { createRuns, type AgentRuns as Runs } from "./runs.ts";

/** Attempts at a run before it fails: a failing model call or tool, or a worker that died. */
const RUN_ATTEMPTS = 5;

/** The runs API: see {@link Runs}. */
export type AgentRuns = Runs;

/** The runs API (start, follow, result, cancel, approve), for the app's routes. */
export const AgentRuns = token<AgentRuns>("twelvefold/agent/AgentRuns");

/** The engine that runs runs, for the worker's job (see the README). */
export const AgentEngine = token<RunEngine>("twelvefold/agent/RunEngine");

/** Options of {@link agent}: config values that win over the environment, and the run's parts. */
export interface AgentOptions<C extends RouteContext = RouteContext> extends ConfigOptions<typeof agentConfig> {
  /** The agent loop's token: the llm plugin's `Agent` (`agent({ loop: Agent })`). */
  readonly loop: Token<AgentLoop>;
  /**
   * The tools the model may call (the llm plugin's `defineTool`), or a function that makes them
   * for each run from its user and conversation and the app's services:
   * `(run, { get }) => [calculator(), memoryOf(get(Facts), run.user)]`.
   */
  readonly tools?: RunTools;
  /** Tokens the tools made per run read with `get` (the plugin starts after their providers, where there are any). */
  readonly services?: readonly Token<unknown>[];
  /** Names of the tools that wait for a person's approval before they run (checked when `tools` is a list). */
  readonly approval?: readonly string[];
  /** A system message every run starts with. */
  readonly instructions?: string;
  /** Where the app keeps its conversations; without it a run sees only its own input. */
  readonly conversations?: Token<ConversationStore>;
  /**
   * Mounts the run routes under AGENT_ROUTE_PREFIX in web processes: the http plugin's app token
   * and event-stream writer, `{ app: HttpApp, eventStream }` (plugins never import each other).
   */
  readonly routes?: AgentRoutes<C>;
}

/**
 * The agent plugin: durable agent runs. Web enqueues a run on the Queue and streams its events
 * from the EventLog; a worker runs the agent loop and appends every event, checkpointing each
 * finished step, so a worker that dies mid-run leaves the run to the next one, and a client that
 * reconnects, to any replica, gets every event after its Last-Event-ID exactly once. Where the
 * kernel's worker runs, the plugin adds its job (topic AGENT_TOPIC) to it; given `routes` (the
 * http plugin's app and event-stream writer), web processes serve the run routes under
 * AGENT_ROUTE_PREFIX.
 *
 * @example
 * ```ts
 * import { Agent, llm } from "@twelvefold/llm";
 * import { eventStream, HttpApp, http } from "@twelvefold/http";
 * import { agent, AgentRuns } from "@twelvefold/agent";
 *
 * const runsPlugin = agent({
 *   loop: Agent,
 *   tools: [calculator(), sendMail],
 *   approval: ["send_mail"],
 *   routes: { app: HttpApp, eventStream },
 * });
 * const app = createApp({ name: "assistant", plugins: [http(), redis(), llm(), worker(), runsPlugin, chat] });
 * // in a route: const { runId } = await get(AgentRuns).start({ user, text });
 * // return eventStream(c, (stream) => get(AgentRuns).pipe(runId, stream), { retryMs: get(AgentRuns).retryMs });
 * ```
 */
export function agent<C extends RouteContext>(options: AgentOptions<C>): Plugin {
  const { loop, tools = [], services = [], approval = [], instructions, conversations, routes, ...settings } = options;
  const listed = typeof tools === "function" ? undefined : tools;
  const unknown = listed ? approval.filter((name) => !listed.some((tool) => tool.name === name)) : [];
  if (unknown.length > 0) {
    throw agentErrors.create("TF_AGENT_CONFIG", {
      reason: `approval names tools that are not given: ${unknown.map((n) => JSON.stringify(n)).join(", ")}`,
    });
  }
  return definePlugin({
    name: "agent",
    config: agentConfig,
    options: settings,
    check: checkAgentConfig,
    requires: [EventLog, Queue, Lock],
    optional: [
      loop,
      ChatModel,
      WorkerJobs,
      Tracer,
      ...(conversations ? [conversations] : []),
      ...(routes ? [routes.app] : []),
      ...services,
    ],
    provides: [AgentRuns, AgentEngine],
    processes: ["web", "worker"],
    async start({ config, get, find, provide, logger, processes }) {
      let secretKey = config.SECRET_KEY;
      if (secretKey === undefined) {
        // Production requires SECRET_KEY (the schema says so); elsewhere one process signs and checks alone.
        secretKey = crypto.randomUUID() + crypto.randomUUID();
        logger.warn("agent: SECRET_KEY is not set: approvals are signed with a key of this process only", {});
      }
      const signer = await approvalSigner(secretKey);
      const log = get(EventLog);
      const lock = get(Lock);
      const queue = get(Queue);
      const tracer = find(Tracer);
      let engine: RunEngine | undefined;
      const job = defineJob({
        topic: config.AGENT_TOPIC,
        payload: v.object({ run_id: v.pipe(v.string(), v.uuid()) }),
        // One delivery more than the run has attempts: that one only ends the run with `failed`
        // (see RunEngine), so a run whose worker died on every attempt still ends for its streams.
        maxAttempts: RUN_ATTEMPTS + 1,
        run: ({ run_id }, { signal, message, delivery }) =>
          (engine as RunEngine).run(run_id, {
            signal,
            attempt: message.attempt,
            maxAttempts: message.maxAttempts,
            release: (delayMs) => delivery.release({ delayMs }),
          }),
      });
      const runs = createRuns({
        log,
        lock,
        signer,
        enqueue: (runId) => job.enqueue(queue, { run_id: runId }, { tracer }),
        maxRunsPerUser: config.AGENT_MAX_RUNS_PER_USER,
        runTtlMs: config.AGENT_RUN_TTL_MS,
        waitMs: config.AGENT_WAIT_MS,
        retryMs: config.AGENT_SSE_RETRY_MS,
      });
      provide(AgentRuns, runs);

      // The loop and the model matter only where runs run; a web process may do without them.
      const agentLoop = find(loop);
      const model = find(ChatModel);
      if (processes.has("worker") && agentLoop === undefined) {
        throw agentErrors.create("TF_AGENT_CONFIG", {
          reason: `a worker runs the agent loop, but nothing provides ${JSON.stringify(loop.id)}: add the llm plugin`,
        });
      }
      engine = new RunEngine({
        log,
        lock,
        loop: agentLoop ?? { run: () => missing(loop) },
        model,
        tools,
        services: { get, find },
        approval: new Set(approval),
        signer,
        conversations: conversations ? find(conversations) : undefined,
        instructions,
        logger,
        maxSteps: config.AGENT_MAX_STEPS,
        maxTokens: config.AGENT_MAX_TOKENS_PER_RUN,
        eventsTtlMs: config.AGENT_EVENTS_TTL_MS,
        approvalTtlMs: config.AGENT_APPROVAL_TTL_MS,
        lockTtlMs: config.AGENT_LOCK_TTL_MS,
        waitMs: config.AGENT_WAIT_MS,
      });
      provide(AgentEngine, engine);
      // Where the kernel's worker runs, it consumes the runs' topic; elsewhere (web) runs are only enqueued.
      if (processes.has("worker")) find(WorkerJobs)?.add(job);

      const app = routes && find(routes.app);
      if (app && config.AGENT_ROUTE_PREFIX !== "" && processes.has("web")) {
        mountRoutes(app, runs, { prefix: config.AGENT_ROUTE_PREFIX, eventStream: routes.eventStream });
      }
    },
  });
}

function missing(needed: Token<unknown>): never {
  throw agentErrors.create("TF_AGENT_CONFIG", {
    reason: `this process has no ${JSON.stringify(needed.id)}: runs run in a worker process`,
  });
}
