// The web side through the http plugin's stack, on the memory adapters and on real Redis:
// reconnects, a draining replica, approvals, cancellation and limits, as a client sees them.
import { afterAll, describe, expect, test } from "bun:test";
import { http } from "@twelvefold/http";
import {
  Cache,
  type ChatCallOptions,
  ChatModel,
  type ChatRequest,
  EventLog,
  Lock,
  type Override,
  override,
  type Plugin,
  Queue,
  worker,
} from "@twelvefold/kernel";
import { memoryCache, memoryEventLog, memoryLock, memoryQueue } from "@twelvefold/kernel/memory";
import { Agent, calculator, llm, localModel } from "@twelvefold/llm";
import { redis } from "@twelvefold/redis";
import { testApp } from "@twelvefold/testing";
import { requireService } from "../../../test/services.ts";
import {
  clientText,
  eventsOf,
  type Frame,
  memoryTool,
  REDIS_URL,
  readFrames,
  removeKeys,
  routes,
  startRoute,
  uniquePrefix,
  until,
} from "../test/helpers.ts";
import { type AgentOptions, agent } from "./plugin.ts";

const LONG = "Tell me everything you know about the weather in Paris in the spring, please";
const base = { LOG_LEVEL: "warn", SECRET_KEY: "test-secret-test-secret-test-secret-!" };
const redisUp = await requireService("Redis", REDIS_URL);
const prefix = uniquePrefix();

afterAll(async () => {
  if (redisUp) await removeKeys([prefix]);
});

/** Where the app's EventLog, Queue, Lock and Cache live: the redis plugin with or without REDIS_URL. */
interface Backend {
  readonly name: string;
  readonly env: Record<string, string>;
  /** What two apps of one test share: the same server, or (memory) the same adapters. */
  shared(): Override[];
}

const backends: Backend[] = [
  {
    name: "memory adapters",
    env: {},
    shared: () => [
      override(EventLog, memoryEventLog()),
      override(Queue, memoryQueue()),
      override(Lock, memoryLock()),
      override(Cache, memoryCache()),
    ],
  },
  ...(redisUp
    ? [
        {
          name: "Redis",
          env: { REDIS_URL, REDIS_KEY_PREFIX: prefix, WORKER_VISIBILITY_TIMEOUT_MS: "1000" },
          shared: () => [],
        },
      ]
    : []),
];

/** A local model that notes the signal of every call, to see cancellation reach it. */
function spyModel(tokenDelayMs: number) {
  const inner = localModel({ tokenDelayMs });
  const signals: AbortSignal[] = [];
  const model: ChatModel = {
    provider: inner.provider,
    model: inner.model,
    complete: (request: ChatRequest, options?: ChatCallOptions) => inner.complete(request, options),
    stream(request: ChatRequest, options?: ChatCallOptions) {
      if (options?.signal) signals.push(options.signal);
      return inner.stream(request, options);
    },
  };
  return { model, signals };
}

for (const backend of backends) {
  function boot(
    options: Omit<Partial<AgentOptions>, "routes"> = {},
    env: Record<string, string> = {},
    extra: { overrides?: Override[]; plugins?: Plugin[]; process?: "web" } = {},
  ) {
    return testApp({
      plugins: [
        redis(),
        http(),
        llm(),
        ...(extra.process === "web" ? [] : [worker()]),
        agent({ loop: Agent, routes, tools: [calculator()], ...options }),
        startRoute(),
        ...(extra.plugins ?? []),
      ],
      env: { ...base, ...backend.env, ...env },
      overrides: extra.overrides,
      process: extra.process,
    });
  }

  type App = Awaited<ReturnType<typeof boot>>;

  const sse = { accept: "text/event-stream" };

  async function startStream(t: App, text: string, user = "ada") {
    const response = await t.fetch("/runs", { method: "POST", headers: sse, body: JSON.stringify({ text, user }) });
    expect(response.status).toBe(200);
    return { response, runId: response.headers.get("x-run-id") as string };
  }

  const follow = (t: App, runId: string, lastEventId?: string) =>
    t.fetch(`/agent/runs/${runId}/events`, { headers: lastEventId ? { "last-event-id": lastEventId } : {} });

  describe(`on the ${backend.name}`, () => {
    describe("resumable streams", () => {
      test("a reconnect with Last-Event-ID mid-stream gets the rest, exactly once and in order", async () => {
        await using t = await boot({}, { LLM_LOCAL_TOKEN_DELAY_MS: "5" });
        const { response, runId } = await startStream(t, LONG);
        const head = eventsOf(await readFrames(response, { stopAfter: 4 }));
        expect(head).toHaveLength(4);
        const rest = eventsOf(await readFrames(await follow(t, runId, head.at(-1)?.id)));
        const all = eventsOf(await readFrames(await follow(t, runId)));
        expect([...head, ...rest]).toEqual(all);
        expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
        expect(all.at(-1)?.type).toBe("done");
        expect(clientText(all)).toBe((all.at(-1) as { text?: string }).text ?? "");
      });

      test("an unknown run is a 404 problem, a malformed Last-Event-ID a 400, and the routes answer problem+json", async () => {
        await using t = await boot();
        const unknown = await follow(t, crypto.randomUUID());
        expect(unknown.status).toBe(404);
        expect(unknown.headers.get("content-type")).toBe("application/problem+json");
        expect(((await unknown.json()) as { code: string }).code).toBe("TF_AGENT_NOT_FOUND");
        expect((await t.fetch("/agent/runs/not-a-run/events")).status).toBe(404);
        const { runId, response } = await startStream(t, "hello");
        await readFrames(response);
        const bad = await follow(t, runId, "yesterday");
        expect(bad.status).toBe(400);
        expect(((await bad.json()) as { detail: string }).detail).toBe('agent: not an event id: "yesterday"');
        // After the end, a reconnect from the last id gets nothing more, and the stream ends at once.
        const all = eventsOf(await readFrames(await follow(t, runId)));
        expect(eventsOf(await readFrames(await follow(t, runId, all.at(-1)?.id)))).toEqual([]);
      });

      test("a web replica that drains ends its streams with retry:, and the client resumes on another replica with nothing lost", async () => {
        const shared = backend.shared();
        const env = { LLM_LOCAL_TOKEN_DELAY_MS: "10", AGENT_SSE_RETRY_MS: "250" };
        const a = await boot({}, env, { overrides: shared });
        await using b = await boot({}, env, { overrides: shared, process: "web" });
        const { response, runId } = await startStream(a, LONG);
        const frames: Frame[] = [];
        let stopping: Promise<void> | undefined;
        await readFrames(response, {
          onFrame: (frame) => {
            frames.push(frame);
            if (stopping === undefined && eventsOf(frames).length === 3) stopping = a.stop();
          },
        });
        expect(frames.at(-1)).toEqual({ retry: 250 });
        const head = eventsOf(frames);
        expect(head.at(-1)?.type).not.toBe("done");
        const rest = eventsOf(await readFrames(await follow(b, runId, head.at(-1)?.id)));
        await stopping;
        const all = eventsOf(await readFrames(await follow(b, runId)));
        expect([...head, ...rest]).toEqual(all);
        expect(all.at(-1)?.type).toBe("done");
      });
    });

    describe("human approval", () => {
      const setup = () => {
        const memory = memoryTool();
        return { memory, options: { tools: [memory.tool], approval: ["remember"] } };
      };
      type Pause = { id: string; request: string; call: { name: string; arguments: string } };
      const isPause = (frame: Frame) => frame.event?.type === "approval_required";

      test("the run pauses with a signed request; the approval resumes it and the tool runs once", async () => {
        const { memory, options } = setup();
        await using t = await boot(options);
        const { response, runId } = await startStream(t, "Remember that the gate code is 4512.");
        const pause = eventsOf(await readFrames(response, { stopAt: isPause })).at(-1) as unknown as Pause;
        expect(pause.call).toMatchObject({ name: "remember", arguments: '{"fact":"the gate code is 4512"}' });
        expect(memory.calls).toBe(0);

        const decide = () =>
          t.fetch(`/agent/runs/${runId}/approvals`, {
            method: "POST",
            body: JSON.stringify({ request: pause.request, approved: true }),
          });
        const approved = await decide();
        expect(approved.status).toBe(200);
        expect(await approved.json()).toMatchObject({ run_id: runId, approved: true });
        const rest = eventsOf(await readFrames(await follow(t, runId, pause.id)));
        expect(rest.map((e) => e.type)).toContain("tool_result");
        expect(rest.at(-1)).toMatchObject({ type: "done", text: "I will remember that the gate code is 4512." });
        expect(memory.calls).toBe(1);
        expect(memory.effects).toBe(1);
        expect((await decide()).status).toBe(409);
      });

      test("a forged or altered approval is refused with 403 and changes nothing; a refusal reaches the model", async () => {
        const { memory, options } = setup();
        await using t = await boot(options);
        const other = await startStream(t, "Remember that the sky is green.", "bo");
        await readFrames(other.response, { stopAt: isPause });
        // The JSON view answers once the run waits for a person.
        const waiting = (await (
          await t.fetch("/runs", {
            method: "POST",
            body: JSON.stringify({ text: "Remember that the gate code is 4512." }),
          })
        ).json()) as { run_id: string; status: string; approvals: Array<{ request: string }> };
        expect(waiting.status).toBe("approval_required");
        const signed = waiting.approvals[0]?.request as string;
        const [payload, signature] = signed.split(".") as [string, string];
        const altered = JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/"))) as { arguments: string };
        altered.arguments = '{"fact":"the gate code is 0000"}';
        const encoded = btoa(JSON.stringify(altered)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
        const attempts = [
          { runId: waiting.run_id, request: `${encoded}.${signature}` },
          { runId: waiting.run_id, request: `${payload}.AAAA` },
          { runId: waiting.run_id, request: "not-a-request" },
          // A genuine request, posted to another run.
          { runId: other.runId, request: signed },
        ];
        for (const { runId, request } of attempts) {
          const refused = await t.fetch(`/agent/runs/${runId}/approvals`, {
            method: "POST",
            body: JSON.stringify({ request, approved: true }),
          });
          expect(refused.status).toBe(403);
          expect(refused.headers.get("content-type")).toBe("application/problem+json");
        }
        const malformed = await t.fetch(`/agent/runs/${waiting.run_id}/approvals`, { method: "POST", body: "{" });
        expect(malformed.status).toBe(400);
        expect(memory.calls).toBe(0);

        const declined = await t.fetch(`/agent/runs/${waiting.run_id}/approvals`, {
          method: "POST",
          body: JSON.stringify({ request: signed, approved: false }),
        });
        expect(declined.status).toBe(200);
        const end = eventsOf(await readFrames(await follow(t, waiting.run_id))).at(-1) as unknown as {
          type: string;
          text: string;
        };
        expect(end.type).toBe("done");
        expect(end.text).toContain("declined");
        expect(memory.calls).toBe(0);
      });
    });

    describe("cancellation", () => {
      test("DELETE aborts the model call in flight and the stream ends with cancelled", async () => {
        const spy = spyModel(20);
        await using t = await boot({}, {}, { overrides: [override(ChatModel, spy.model)] });
        const { response, runId } = await startStream(t, LONG);
        const frames: Frame[] = [];
        const reading = readFrames(response, {
          onFrame: (frame) => {
            frames.push(frame);
            if (eventsOf(frames).length === 2) void t.fetch(`/agent/runs/${runId}`, { method: "DELETE" });
          },
        });
        await reading;
        const events = eventsOf(frames);
        expect(events.at(-1)).toMatchObject({ type: "cancelled", reason: "cancelled by the user" });
        expect(spy.signals.some((s) => s.aborted)).toBe(true);
        expect(events.some((e) => e.type === "done")).toBe(false);
      });

      test("DELETE aborts a tool in flight through its signal; cancelling a queued or ended run is answered too", async () => {
        let toolSignal: AbortSignal | undefined;
        const memory = memoryTool({
          before: (signal) => {
            toolSignal = signal;
            return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
          },
        });
        await using t = await boot({ tools: [memory.tool] });
        const { response, runId } = await startStream(t, "Remember that the boat leaves at noon.");
        await until("the tool to start", () => toolSignal !== undefined);
        const deleted = await t.fetch(`/agent/runs/${runId}`, { method: "DELETE" });
        expect(deleted.status).toBe(202);
        expect(eventsOf(await readFrames(response)).at(-1)).toMatchObject({ type: "cancelled" });
        expect(toolSignal?.aborted).toBe(true);
        expect(memory.effects).toBe(0);
        expect((await t.fetch(`/agent/runs/${crypto.randomUUID()}`, { method: "DELETE" })).status).toBe(404);
      });
    });

    describe("limits", () => {
      test("steps per run: the run ends with a limit event and done max_steps", async () => {
        await using t = await boot({}, { AGENT_MAX_STEPS: "1" });
        const { response } = await startStream(t, "What is 6 * 7?");
        const events = eventsOf(await readFrames(response));
        expect(events.at(-2)).toMatchObject({ type: "limit", limit: "steps", max: 1, used: 1 });
        expect(events.at(-1)).toMatchObject({ type: "done", reason: "max_steps" });
      });

      test("tokens per run: the run ends with a limit event and done max_tokens", async () => {
        await using t = await boot({}, { AGENT_MAX_TOKENS_PER_RUN: "5" });
        const { response } = await startStream(t, "What is 6 * 7?");
        const events = eventsOf(await readFrames(response));
        expect(events.at(-2)).toMatchObject({ type: "limit", limit: "tokens", max: 5 });
        expect(events.at(-1)).toMatchObject({ type: "done", reason: "max_tokens" });
        expect(events.some((e) => e.type === "tool_result")).toBe(false);
      });

      test("runs in flight per user: one more is a 429 problem+json; the slot frees when a run ends", async () => {
        await using t = await boot({}, { AGENT_MAX_RUNS_PER_USER: "1", LLM_LOCAL_TOKEN_DELAY_MS: "10" });
        const user = `ada-${crypto.randomUUID()}`;
        const { response } = await startStream(t, LONG, user);
        const refused = await t.fetch("/runs", { method: "POST", body: JSON.stringify({ text: "hi", user }) });
        expect(refused.status).toBe(429);
        expect(refused.headers.get("content-type")).toBe("application/problem+json");
        expect(refused.headers.get("retry-after")).toBe("1");
        expect(await refused.json()).toMatchObject({ status: 429, code: "TF_AGENT_TOO_MANY_RUNS" });
        const other = await t.fetch("/runs", {
          method: "POST",
          body: JSON.stringify({ text: "hi", user: `${user}-2` }),
        });
        expect(other.status).toBe(200);
        await readFrames(response);
        const after = await t.fetch("/runs", { method: "POST", body: JSON.stringify({ text: "hi", user }) });
        expect(((await after.json()) as { status: string }).status).toBe("done");
      });
    });
  });
}
