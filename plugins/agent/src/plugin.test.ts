import { describe, expect, test } from "bun:test";
import { http } from "@twelvefold/http";
import {
  type ChatMessage,
  ChatModel,
  type ChatRequest,
  ConfigError,
  definePlugin,
  override,
  type Plugin,
  Queue,
  token,
  worker,
} from "@twelvefold/kernel";
import { memoryQueue } from "@twelvefold/kernel/memory";
import { Agent, calculator, defineTool, llm, localModel } from "@twelvefold/llm";
import { pluginContract, testApp } from "@twelvefold/testing";
import * as v from "valibot";
import { clientText, eventsOf, memoryTool, readFrames, routes, startRoute } from "../test/helpers.ts";
import type { ConversationStore, Exchange } from "./conversation.ts";
import { AgentEngine, AgentRuns, agent } from "./plugin.ts";

const quiet = { LOG_LEVEL: "warn", PORT: "0", HOST: "127.0.0.1" };

pluginContract(() => agent({ loop: Agent, routes, tools: [calculator()] }), {
  plugins: [llm(), worker()],
  badEnv: { AGENT_MAX_STEPS: "0", AGENT_MAX_RUNS_PER_USER: "many" },
});

function boot(plugins: readonly Plugin[], env: Record<string, string> = {}) {
  return testApp({ plugins: [http(), llm(), worker(), ...plugins, startRoute()], env: { ...quiet, ...env } });
}

describe("a run through web, queue, worker and event log, in one process on the memory adapters", () => {
  test("JSON: the answer, the usage and the run id once the run is done", async () => {
    await using t = await boot([agent({ loop: Agent, routes, tools: [calculator()] })]);
    const response = await t.fetch("/runs", { method: "POST", body: JSON.stringify({ text: "What is 6 * 7?" }) });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { run_id: string; status: string; response: string; usage: object };
    expect(body).toMatchObject({ status: "done", response: "6 * 7 = 42." });
    expect(body.usage).toMatchObject({ input_tokens: expect.any(Number), output_tokens: expect.any(Number) });
    expect(response.headers.get("x-run-id")).toBe(body.run_id);
  });

  test("SSE: every event has an id, the tool round trip shows, and the stream ends with done", async () => {
    await using t = await boot([agent({ loop: Agent, routes, tools: [calculator()] })]);
    const response = await t.fetch("/runs", {
      method: "POST",
      headers: { accept: "text/event-stream" },
      body: JSON.stringify({ text: "What is 6 * 7?" }),
    });
    expect(response.headers.get("content-type")).toStartWith("text/event-stream");
    const events = eventsOf(await readFrames(response));
    expect(events.every((e) => typeof e.id === "string" && e.id.length > 0)).toBe(true);
    expect(events.map((e) => e.type)).toEqual([
      "tool_call",
      "usage",
      "tool_result",
      ...events.slice(3, -2).map((e) => e.type),
      "usage",
      "done",
    ]);
    expect(events.some((e) => e.type === "context" || e.type === "input" || e.type === "step")).toBe(false);
    expect(clientText(events)).toBe("6 * 7 = 42.");
    expect(events.at(-1)).toMatchObject({ type: "done", reason: "stop", text: "6 * 7 = 42.", steps: 2 });
  });

  test("a side-effect tool runs once, and the conversation seam is optional", async () => {
    const memory = memoryTool();
    await using t = await boot([agent({ loop: Agent, routes, tools: [memory.tool] })]);
    const response = await t.fetch("/runs", {
      method: "POST",
      body: JSON.stringify({ text: "Remember that the sky is green." }),
    });
    expect(((await response.json()) as { response: string }).response).toBe("I will remember that the sky is green.");
    expect(memory.effects).toBe(1);
  });
});

describe("the conversation seam", () => {
  test("save gets the run's messages with its tool calls and each turn's model; tools made per run act for its user", async () => {
    const Conversations = token<ConversationStore>("test/Conversations");
    const Suffix = token<string>("test/Suffix");
    const saved: Array<{ conversation: string; exchange: Exchange }> = [];
    const history: ChatMessage[] = [{ role: "user", content: "earlier" }];
    const store = definePlugin({
      name: "store",
      provides: [Conversations, Suffix],
      start: ({ provide }) => {
        provide(Suffix, "with a store");
        provide(Conversations, {
          load: async () => history,
          save: async (conversation, exchange) => {
            saved.push({ conversation, exchange });
            return { messageId: "m-1" };
          },
        });
      },
    });
    const users: string[] = [];
    const whoAmI = (user: string) =>
      defineTool({
        name: "recall",
        description: "Recalls what the user said",
        input: v.object({ query: v.optional(v.string(), "") }),
        run: () => {
          users.push(user);
          return { facts: [`${user} likes tea`] };
        },
      });
    await using t = await boot([
      store,
      agent({
        loop: Agent,
        tools: (run, { get }) => [whoAmI(`${run.user} (${get(Suffix)})`)],
        services: [Suffix],
        conversations: Conversations,
      }),
    ]);
    const runs = t.get(AgentRuns);
    const { runId } = await runs.start({ user: "grace", text: "What do you remember?", conversation: "c-1" });
    const result = await runs.result(runId);
    expect(result).toMatchObject({
      status: "done",
      text: "Here is what I remember: grace (with a store) likes tea.",
      messageId: "m-1",
    });
    expect(users).toEqual(["grace (with a store)"]);
    const [first] = saved;
    expect(first?.conversation).toBe("c-1");
    const exchange = first?.exchange as Exchange;
    expect(exchange.input).toEqual([{ role: "user", content: "What do you remember?" }]);
    expect(exchange.messages.map((m) => m.role)).toEqual(["assistant", "tool", "assistant"]);
    const call = exchange.messages[0] as Extract<ChatMessage, { role: "assistant" }>;
    expect(call.toolCalls?.map((c) => c.name)).toEqual(["recall"]);
    expect(exchange.messages.at(-1)).toMatchObject({ role: "assistant", content: exchange.reply });
    expect(exchange.turns.map((turn) => [turn.step, turn.model])).toEqual([
      [0, "local-deterministic"],
      [1, "local-deterministic"],
    ]);
    const summed = exchange.turns.reduce((n, turn) => n + turn.usage.input_tokens + turn.usage.output_tokens, 0);
    expect(summed).toBe(exchange.usage.input_tokens + exchange.usage.output_tokens);
  });
});

describe("the agent plugin's setup", () => {
  test("approval naming a tool that is not given is refused when the plugin is made", () => {
    expect(() => agent({ loop: Agent, routes, tools: [calculator()], approval: ["send_mail"] })).toThrow(
      'agent: approval names tools that are not given: "send_mail"',
    );
  });

  test("a bad route prefix is a config problem reported before anything starts", async () => {
    const t = await testApp({
      plugins: [llm(), agent({ loop: Agent, routes, AGENT_ROUTE_PREFIX: "runs/" })],
      env: quiet,
      start: false,
    });
    const error = await t.start().catch((e: unknown) => e);
    await t.stop();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.name)).toEqual(["AGENT_ROUTE_PREFIX"]);
  });

  test("production requires a SECRET_KEY of 32 characters; elsewhere a missing one is a warning", async () => {
    const production = await testApp({
      plugins: [llm({ LLM_PROVIDER: "local" }), agent({ loop: Agent, routes })],
      env: { ...quiet, ENVIRONMENT: "production", SECRET_KEY: "short" },
      process: "web",
      start: false,
    });
    const error = await production.start().catch((e: unknown) => e);
    await production.stop();
    expect((error as ConfigError).issues?.map((i) => i.name)).toContain("SECRET_KEY");

    await using t = await testApp({ plugins: [llm(), agent({ loop: Agent, routes })], env: { LOG_LEVEL: "warn" } });
    expect(t.logs.some((l) => l.level === "warn" && String(l.message).includes("SECRET_KEY is not set"))).toBe(true);
  });

  test("a worker without the agent loop refuses to start, naming what is missing", async () => {
    const t = await testApp({
      plugins: [worker(), agent({ loop: Agent, routes })],
      env: quiet,
      process: "worker",
      start: false,
    });
    const error = await t.start().catch((e: unknown) => e);
    await t.stop();
    expect(String(error)).toContain('nothing provides "twelvefold/llm/Agent": add the llm plugin');
  });

  test("a web process needs no loop: it serves runs, and running one there says where runs run", async () => {
    await using t = await testApp({ plugins: [http(), agent({ loop: Agent, routes })], env: quiet, process: "web" });
    const { runId } = await t.get(AgentRuns).start({ user: "ada", text: "hello" });
    const attempt = t.get(AgentEngine).run(runId, { signal: new AbortController().signal, attempt: 1, maxAttempts: 6 });
    await expect(attempt).rejects.toThrow("runs run in a worker process");
  });

  test("AGENT_ROUTE_PREFIX empty mounts no routes", async () => {
    await using t = await boot([agent({ loop: Agent, routes, AGENT_ROUTE_PREFIX: "" })]);
    expect((await t.fetch(`/agent/runs/${crypto.randomUUID()}/events`)).status).toBe(404);
    const problem = (await (await t.fetch(`/agent/runs/${crypto.randomUUID()}/events`)).json()) as { code: string };
    expect(problem.code).toBe("TF_HTTP_NOT_FOUND");
  });
});

describe("instructions and input", () => {
  test("a run starts with the instructions, then the conversation's history, then its input; the JSON answer carries the saved id", async () => {
    const Conversations = token<ConversationStore>("test/Conversations");
    let saves = 0;
    const store: ConversationStore = {
      async load(conversation) {
        expect(conversation).toBe("s-1");
        return [
          { role: "user", content: "My name is Ada." },
          { role: "assistant", content: "Hello Ada." },
        ];
      },
      async save() {
        saves++;
        return { messageId: `m-${saves}` };
      },
    };
    const seen: ChatRequest[] = [];
    const local = localModel();
    const spy: ChatModel = {
      ...local,
      complete: (request, options) => local.complete(request, options),
      stream(request, options) {
        seen.push({ ...request, messages: [...request.messages] });
        return local.stream(request, options);
      },
    };
    const conversations = definePlugin({
      name: "conversations",
      provides: [Conversations],
      start: ({ provide }) => provide(Conversations, store),
    });
    await using t = await testApp({
      plugins: [
        http(),
        llm(),
        worker(),
        conversations,
        agent({ loop: Agent, routes, conversations: Conversations, instructions: "Be brief." }),
      ],
      overrides: [override(ChatModel, spy)],
      env: quiet,
    });
    const runs = t.get(AgentRuns);
    const { runId } = await runs.start({ user: "ada", text: "hello", conversation: "s-1" });
    const body = (await (await runs.respond(new Request("http://x/"), runId)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: "done", response: "Hello from the local model!", message_id: "m-1" });
    expect(seen[0]?.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "My name is Ada." },
      { role: "assistant", content: "Hello Ada." },
      { role: "user", content: "hello" },
    ]);
    expect(saves).toBe(1);
  });

  test("start refuses a run without a user or without input, and enqueues nothing", async () => {
    await using t = await boot([agent({ loop: Agent, routes })]);
    const runs = t.get(AgentRuns);
    await expect(runs.start({ user: "", text: "hi" })).rejects.toThrow("agent: a run needs a user");
    await expect(runs.start({ user: "ada" })).rejects.toThrow("agent: a run needs text or messages");
    expect((await t.get(Queue).stats("agent.runs")).ready).toBe(0);
  });
});

describe("a run that no attempt finishes", () => {
  test("a job that fails on every attempt before the loop runs: the run ends with failed, its stream ends, the job is a dead letter", async () => {
    const Conversations = token<ConversationStore>("test/Conversations");
    let loads = 0;
    const conversations = definePlugin({
      name: "conversations",
      provides: [Conversations],
      start: ({ provide }) =>
        provide(Conversations, {
          async load() {
            loads++;
            throw new Error('conversations: cannot connect to "db:5432": connection refused');
          },
          save: async () => ({}),
        }),
    });
    // The memory queue with retries at once instead of after 1, 2, 4, 8 and 16 s.
    await using queue = memoryQueue();
    const retryAtOnce: Queue = {
      enqueue: (topic, payload, options) => queue.enqueue(topic, payload, options),
      consume: (topic, handler, options) => queue.consume(topic, handler, { ...options, backoffMs: () => 0 }),
      deadLetters: (topic, limit) => queue.deadLetters(topic, limit),
      stats: (topic) => queue.stats(topic),
    };
    await using t = await testApp({
      plugins: [
        http(),
        llm(),
        worker(),
        conversations,
        agent({ loop: Agent, routes, conversations: Conversations, AGENT_MAX_RUNS_PER_USER: 1 }),
      ],
      overrides: [override(Queue, retryAtOnce)],
      env: quiet,
    });
    const runs = t.get(AgentRuns);
    const { runId } = await runs.start({ user: "ada", text: "hello", conversation: "c-1" });
    const events = [];
    for await (const event of runs.events(runId)) events.push(event);
    expect(events.map((e) => e.type)).toEqual(["failed"]);
    const message = `agent: run "${runId}" failed: no attempt of 5 finished it (each failed, or its worker stopped)`;
    expect(events[0]).toMatchObject({ code: "TF_AGENT_RUN_FAILED", message });
    expect(loads).toBe(5);
    // The delivery that ended the run threw, so the job is in the dead letters with the same reason.
    const dead = () => queue.deadLetters("agent.runs");
    while ((await dead()).length === 0) await Bun.sleep(10);
    expect((await dead()).map((m) => [m.payload, m.error])).toEqual([[{ run_id: runId }, message]]);
    // The user's one slot is free again: they may start their next run.
    expect((await runs.start({ user: "ada", text: "again" })).runId).not.toBe(runId);
  }, 30_000);
});
