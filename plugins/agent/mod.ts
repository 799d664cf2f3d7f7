/**
 * @module
 * The agent plugin: agent runs that survive a crash, and token streams that survive a reconnect
 * or a deploy. A run is a Queue job: web enqueues it, a worker runs the llm plugin's agent loop,
 * and every event goes to the run's EventLog, each finished step a checkpoint. A worker killed
 * mid-run leaves the job to the next one, which carries on from the last finished step (a cut
 * turn retracted with `reset`, side-effect results reused); a client that reconnects to any
 * replica with Last-Event-ID gets every event after it exactly once, in order. Runs can be
 * cancelled, can pause for a person's approval (HMAC-signed over SECRET_KEY), and are held to
 * limits on steps, tokens and runs in flight per user.
 *
 * @example
 * ```ts
 * import { agent, AgentRuns } from "@twelvefold/agent";
 * import { eventStream, HttpApp, http } from "@twelvefold/http";
 * import { createApp, definePlugin, worker } from "@twelvefold/kernel";
 * import { Agent, calculator, llm } from "@twelvefold/llm";
 *
 * const chat = definePlugin({
 *   name: "chat",
 *   requires: [HttpApp, AgentRuns],
 *   start({ get }) {
 *     const runs = get(AgentRuns);
 *     get(HttpApp).post("/chat", async (c) => {
 *       const { runId } = await runs.start({ user: "ada", text: (await c.req.json()).text });
 *       if (c.req.header("accept") !== "text/event-stream") return runs.respond(c.req.raw, runId); // JSON
 *       return eventStream(c, (stream) => runs.pipe(runId, stream), { retryMs: runs.retryMs });
 *     });
 *   },
 * });
 *
 * const runs = agent({ loop: Agent, tools: [calculator()], routes: { app: HttpApp, eventStream } });
 * await createApp({ name: "assistant", plugins: [http(), llm(), worker(), runs, chat] }).run();
 * ```
 */
export { type ApprovalRequest, type ApprovalSigner, approvalSigner } from "./src/approval.ts";
export { type AgentConfig, agentConfig, checkAgentConfig } from "./src/config.ts";
export type { ConversationStore, Exchange } from "./src/conversation.ts";
export { type AttemptContext, type EngineSetup, RunEngine } from "./src/engine.ts";
export { AgentError, type AgentErrorCode, agentErrors, problemOf } from "./src/errors.ts";
export {
  controlLog,
  type DoneReason,
  type LoggedEvent,
  parseEvent,
  type RunEvent,
  type RunUsage,
  runLog,
} from "./src/events.ts";
export type {
  AgentLoop,
  LoopEvent,
  LoopOptions,
  LoopTool,
  LoopToolContext,
  RunInfo,
  RunTools,
} from "./src/loop.ts";
export { AgentEngine, type AgentOptions, AgentRuns, agent } from "./src/plugin.ts";
export type {
  AgentRoutes,
  EventStreamWriter,
  RouteApp,
  RouteContext,
} from "./src/routes.ts";
export type { Decision, EventsOptions, RunResult, RunStream, StartOptions } from "./src/runs.ts";
