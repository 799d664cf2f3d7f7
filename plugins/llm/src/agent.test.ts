import { describe, expect, test } from "bun:test";
import type { ChatChunk, ChatModel, ChatRequest } from "@twelvefold/kernel";
import { memoryCache } from "@twelvefold/kernel/memory";
import * as v from "valibot";
import { type AgentEvent, type AgentOptions, runAgent } from "./agent.ts";
import { LlmError } from "./errors.ts";
import { localModel } from "./local.ts";
import { cacheToolResults } from "./store.ts";
import { recordingTracer } from "./testdata/tracer.ts";
import { defineTool } from "./tool.ts";
import { calculator, clock } from "./tools.ts";

const fixedClock = clock({ now: () => new Date("2026-03-01T12:00:00Z") });

async function run(options: Partial<AgentOptions> & { content?: string }): Promise<AgentEvent[]> {
  const { content = "What is 6 * 7?", ...rest } = options;
  const events: AgentEvent[] = [];
  for await (const event of runAgent({
    model: localModel(),
    tools: [calculator(), fixedClock],
    messages: [{ role: "user", content }],
    ...rest,
  })) {
    events.push(event);
  }
  return events;
}

function of<T extends AgentEvent["type"]>(events: AgentEvent[], type: T): Extract<AgentEvent, { type: T }>[] {
  return events.filter((e): e is Extract<AgentEvent, { type: T }> => e.type === type);
}

/** A per-user memory as the sample app will have, with a count of the effects it made. */
function memory() {
  const facts: string[] = [];
  const keys: Array<string | undefined> = [];
  const remember = defineTool({
    name: "remember",
    description: "Saves a fact about the user",
    input: v.object({ fact: v.string() }),
    sideEffects: true,
    run: ({ fact }, { idempotencyKey }) => {
      keys.push(idempotencyKey);
      facts.push(fact);
      return { saved: true };
    },
  });
  const recall = defineTool({
    name: "recall",
    description: "Looks up saved facts",
    input: v.object({ query: v.string() }),
    run: ({ query }) => ({ facts: facts.filter((f) => f.includes(query)) }),
  });
  return { remember, recall, facts, keys };
}

describe("runAgent on the local model", () => {
  test("a tool round trip: the call, its result, then the answer, as events in order", async () => {
    const events = await run({});
    expect(events.map((e): string => e.type)).toEqual([
      "tool_call",
      "usage",
      "tool_result",
      "step",
      ...["6", " *", " 7", " =", " 42."].map(() => "text"),
      "usage",
      "step",
      "done",
    ]);
    const done = events.at(-1) as Extract<AgentEvent, { type: "done" }>;
    expect(done).toMatchObject({ reason: "stop", text: "6 * 7 = 42.", steps: 2 });
    expect(of(events, "tool_result")[0]).toMatchObject({ name: "calculator", ok: true, content: '{"result":42}' });
    expect(done.messages.map((m) => m.role)).toEqual(["user", "assistant", "tool", "assistant"]);
    expect(done.usage.inputTokens).toBe(of(events, "usage").reduce((n, e) => n + e.usage.inputTokens, 0));
  });

  test("parallel tools: both calls of one turn run at once, and both results reach the model", async () => {
    let running = 0;
    let peak = 0;
    const slow = (name: string, value: string) =>
      defineTool({
        name,
        description: name === "calculator" ? "Evaluates arithmetic" : "Tells the time",
        input: v.object({ expression: v.optional(v.string()), timeZone: v.optional(v.string()) }),
        run: async () => {
          running++;
          peak = Math.max(peak, running);
          await Bun.sleep(20);
          running--;
          return { result: value, time: value };
        },
      });
    const events = await run({
      content: "What is 2 + 2 and what time is it in Tokyo?",
      tools: [slow("calculator", "4"), slow("clock", "noon")],
    });
    expect(of(events, "tool_call").map((e) => e.call.name)).toEqual(["calculator", "clock"]);
    expect(peak).toBe(2);
    expect(of(events, "done")[0]?.text).toBe("2 + 2 = 4. The time in Asia/Tokyo is noon.");
  });

  test("a bad tool argument goes back to the model as a tool error, and the run goes on", async () => {
    const strict = defineTool({
      name: "calculator",
      description: "Evaluates arithmetic",
      input: v.object({ expression: v.number() }),
      run: () => {
        throw new Error("never reached");
      },
    });
    const events = await run({ tools: [strict] });
    const result = of(events, "tool_result")[0];
    expect(result).toMatchObject({ ok: false, name: "calculator" });
    expect(JSON.parse(result?.content ?? "")).toEqual({
      error: expect.stringContaining("invalid arguments: expression: "),
    });
    expect(of(events, "done")[0]).toMatchObject({
      reason: "stop",
      text: expect.stringContaining("I could not use calculator"),
    });
  });

  test("a tool that throws or runs out of time is a tool error the model sees", async () => {
    const broken = defineTool({
      name: "calculator",
      description: "Evaluates arithmetic",
      input: v.object({ expression: v.string() }),
      run: () => {
        throw new RangeError("division by zero");
      },
    });
    const stuck = defineTool({
      name: "clock",
      description: "Tells the time",
      input: v.object({}),
      timeoutMs: 30,
      run: (_input, { signal }) =>
        new Promise((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    });
    const events = await run({ content: "What is 1 / 0 and what time is it?", tools: [broken, stuck] });
    expect(of(events, "tool_result").map((e) => [e.name, e.ok, JSON.parse(e.content).error])).toEqual(
      expect.arrayContaining([
        ["calculator", false, "division by zero"],
        ["clock", false, '"clock" did not finish within 30 ms'],
      ]),
    );
  });

  test("an unknown tool is a tool error naming the tools there are", async () => {
    const model: ChatModel = {
      ...localModel(),
      async *stream() {
        yield { type: "tool_call", call: { id: "x", name: "teleport", arguments: "{}" } } satisfies ChatChunk;
        yield { type: "done", finishReason: "tool_calls", usage: { inputTokens: 1, outputTokens: 1 }, model: "m" };
      },
    };
    const events = await run({ model, maxSteps: 1 });
    expect(of(events, "tool_result")[0]?.content).toBe(
      JSON.stringify({ error: 'unknown tool "teleport": use one of calculator, clock' }),
    );
  });

  test("maxSteps: the run stops with a clear final event when the model never finishes", async () => {
    const events = await run({ maxSteps: 1 });
    expect(events.at(-1)).toMatchObject({ type: "done", reason: "max_steps", steps: 1, text: "" });
    expect(of(events, "step").length).toBe(1);
  });

  test("cancelling mid-stream stops the run with the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new Error("user left");
    const seen: AgentEvent[] = [];
    const iterating = (async () => {
      for await (const event of runAgent({
        model: localModel({ tokenDelayMs: 5 }),
        messages: [{ role: "user", content: "tell me something long about the sea and the sky" }],
        signal: controller.signal,
      })) {
        seen.push(event);
        if (event.type === "text") controller.abort(reason);
      }
    })();
    await expect(iterating).rejects.toBe(reason);
    expect(of(seen, "text").length).toBe(1);
    expect(of(seen, "done")).toEqual([]);
  });

  test("a side-effect tool runs once across a retried run with the same run id", async () => {
    const mem = memory();
    const store = cacheToolResults(memoryCache());
    const options = {
      content: "Remember that my cat is called Tom.",
      tools: [mem.remember, mem.recall],
      runId: "run-42",
      store,
    };
    // The first attempt dies after the tool ran, before the answer (a crash, a lost worker).
    let steps = 0;
    await expect(
      (async () => {
        for await (const event of runAgent({
          model: localModel(),
          messages: [{ role: "user", content: options.content }],
          ...options,
        })) {
          if (event.type === "step" && ++steps === 1) throw new Error("worker lost");
        }
      })(),
    ).rejects.toThrow("worker lost");
    const again = await run(options);
    expect(mem.facts).toEqual(["my cat is called Tom"]);
    expect(mem.keys).toEqual(["run-42:0:0:remember"]);
    expect(of(again, "tool_result")[0]).toMatchObject({ ok: true, replayed: true });
    expect(of(again, "done")[0]?.text).toBe("I will remember that my cat is called Tom.");
    // Another run is another effect.
    await run({ ...options, runId: "run-43" });
    expect(mem.facts.length).toBe(2);
  });

  test("a run resumes from a step checkpoint: same ids, the recorded effect reused, the answer completed", async () => {
    const mem = memory();
    const store = cacheToolResults(memoryCache());
    const first = await run({
      content: "Remember that I like tea.",
      tools: [mem.remember],
      runId: "r",
      store,
      maxSteps: 1,
    });
    const checkpoint = of(first, "step")[0];
    expect(checkpoint?.added.map((m) => m.role)).toEqual(["assistant", "tool"]);
    const resumed: AgentEvent[] = [];
    for await (const event of runAgent({
      model: localModel(),
      tools: [mem.remember],
      messages: checkpoint?.messages ?? [],
      firstStep: (checkpoint?.step ?? 0) + 1,
      runId: "r",
      store,
    })) {
      resumed.push(event);
    }
    expect(resumed.at(-1)).toMatchObject({
      type: "done",
      reason: "stop",
      steps: 2,
      text: "I will remember that I like tea.",
    });
    expect(mem.facts).toEqual(["I like tea"]);
  });

  test("stable tool-call ids: the same for the same run, step and position, whatever the provider made up", async () => {
    const a = await run({ runId: "same" });
    const b = await run({ runId: "same" });
    const c = await run({ runId: "other" });
    const id = (events: AgentEvent[]) => of(events, "tool_call")[0]?.call.id;
    expect(id(a)).toBe(id(b) as string);
    expect(id(a)).not.toBe(id(c) as string);
    expect((id(a) as string).length).toBeLessThanOrEqual(40);
    expect(of(a, "tool_result")[0]?.callId).toBe(id(a) as string);
  });

  test("a model turn cut mid-stream by a retryable failure is reset and run again", async () => {
    let attempts = 0;
    const real = localModel();
    const flaky: ChatModel = {
      ...real,
      async *stream(request: ChatRequest, options) {
        attempts++;
        for await (const chunk of real.stream(request, options)) {
          yield chunk;
          if (attempts === 1 && chunk.type === "text") {
            throw new LlmError("TF_LLM_STREAM_INTERRUPTED", "llm: cut", {
              cause: new LlmError("TF_LLM_TIMEOUT", "llm: idle"),
              retryable: false,
            });
          }
        }
      },
    };
    const events = await run({ model: flaky, content: "hello", tools: [] });
    expect(events.map((e) => e.type).slice(0, 3)).toEqual(["text", "reset", "text"]);
    expect(of(events, "done")[0]?.text).toBe("Hello from the local model!");
  });

  test("two tools with one name are refused before the run starts", async () => {
    await expect(run({ tools: [calculator(), calculator()] })).rejects.toMatchObject({ code: "TF_LLM_TOOL" });
  });

  test("an invoke_agent span holds the chat and execute_tool spans; content only when asked", async () => {
    const tracer = recordingTracer();
    const { spans } = tracer;
    await run({ tracer });
    const names = spans.map((s) => s.name);
    expect(names).toEqual(["invoke_agent agent", "execute_tool calculator"]);
    expect(spans[1]?.parent).toBe("invoke_agent agent");
    expect(spans[1]?.attributes).toMatchObject({
      "gen_ai.operation.name": "execute_tool",
      "gen_ai.tool.name": "calculator",
    });
    expect(spans[1]?.attributes["gen_ai.tool.call.arguments"]).toBeUndefined();
    expect(spans[0]?.attributes).toMatchObject({
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.usage.output_tokens": expect.any(Number),
    });
    spans.length = 0;
    await run({ tracer, recordContent: true });
    expect(spans[1]?.attributes).toMatchObject({
      "gen_ai.tool.call.arguments": '{"expression":"6 * 7"}',
      "gen_ai.tool.call.result": '{"result":42}',
    });
  });
});
