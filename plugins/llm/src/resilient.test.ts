import { describe, expect, test } from "bun:test";
import type { ChatChunk, ChatModel, ChatRequest, ChatResponse } from "@twelvefold/kernel";
import { type FaultServer, faultServer, faults } from "@twelvefold/testing";
import { ConcurrencyLimit } from "./concurrency.ts";
import { LlmError } from "./errors.ts";
import { localModel } from "./local.ts";
import { openaiModel } from "./openai.ts";
import { type ResilienceOptions, resilientModel } from "./resilient.ts";
import { createInstruments } from "./telemetry.ts";
import { fastPolicy } from "./testdata/policy.ts";

const request: ChatRequest = { messages: [{ role: "user", content: "one two three" }] };

async function drain(stream: AsyncIterable<ChatChunk>, into: ChatChunk[] = []): Promise<ChatChunk[]> {
  for await (const chunk of stream) into.push(chunk);
  return into;
}

async function failure(work: Promise<unknown>): Promise<LlmError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LlmError);
  return error as LlmError;
}

function over(server: FaultServer, name = "fault-1"): ChatModel {
  return openaiModel({ model: name, baseURL: server.url });
}

function policy(changes: Partial<ResilienceOptions> & { maxRetries?: number }): ResilienceOptions {
  const { maxRetries, ...rest } = changes;
  return {
    ...fastPolicy,
    retry: { ...(fastPolicy.retry as NonNullable<ResilienceOptions["retry"]>), maxRetries: maxRetries ?? 2 },
    ...rest,
  };
}

describe("retries", () => {
  test("a Retry-After over LLM_RETRY_MAX_WAIT_MS is not retried early: the call fails at once with the hint", async () => {
    await using server = await faultServer({ script: [faults.rateLimited("120"), faults.ok()] });
    const model = resilientModel(over(server), fastPolicy);
    const error = await failure(model.complete(request));
    expect(error).toMatchObject({ code: "TF_LLM_RATE_LIMITED", status: 429, retryAfterMs: 120_000 });
    expect(server.requests.length).toBe(1);
  });

  test("cancelling during the backoff rejects with the signal's reason and sends nothing more", async () => {
    await using server = await faultServer({ script: [faults.rateLimited("3"), faults.ok()] });
    const model = resilientModel(over(server), fastPolicy);
    const controller = new AbortController();
    const reason = new Error("user left");
    const call = model.complete(request, { signal: controller.signal });
    while (server.requests.length === 0) await Bun.sleep(5);
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    expect(server.requests.length).toBe(1);
  });

  test("a 400 is neither retried nor passed to a fallback model", async () => {
    await using bad = await faultServer({ fallback: faults.status(400) });
    await using good = await faultServer();
    const model = resilientModel([over(bad, "a"), over(good, "b")], fastPolicy);
    expect(await failure(model.complete(request))).toMatchObject({ code: "TF_LLM_BAD_REQUEST", status: 400 });
    expect([bad.requests.length, good.requests.length]).toEqual([1, 0]);
  });
});

describe("no retry once output reached the caller", () => {
  test("the error says how much was delivered, and its cause says what cut the stream", async () => {
    await using server = await faultServer({ script: [faults.stallMidStream(3), faults.ok()] });
    const model = resilientModel(over(server), fastPolicy);
    const chunks: ChatChunk[] = [];
    const error = await failure(drain(model.stream(request), chunks));
    expect(error).toMatchObject({
      code: "TF_LLM_STREAM_INTERRUPTED",
      retryable: false,
      delivered: { chunks: 2, characters: 9 },
    });
    expect(error.message).toContain("after 2 chunks (9 characters) reached the caller");
    expect(error.cause).toMatchObject({ code: "TF_LLM_TIMEOUT", phase: "idle", retryable: true });
    expect(chunks.map((c) => (c.type === "text" ? c.text : c.type))).toEqual(["echo:", " one"]);
    expect(server.requests.length).toBe(1);
  });
});

describe("stream watchdog", () => {
  const once = policy({ maxRetries: 0 });

  test("fires on a stall before the first chunk, naming the phase", async () => {
    await using server = await faultServer({ script: [faults.stallBeforeFirstChunk()] });
    const error = await failure(drain(resilientModel(over(server), once).stream(request)));
    expect(error).toMatchObject({ code: "TF_LLM_TIMEOUT", phase: "first_chunk", retryable: true, model: "fault-1" });
    expect(error.message).toBe('llm: "fault-1" at "openai": no first chunk within 1000 ms');
  });

  test("fires on a stall between chunks", async () => {
    // The role-only delta counts as a sign of life: the stall after it is an idle stall.
    await using server = await faultServer({ script: [faults.stallMidStream(1)] });
    const error = await failure(drain(resilientModel(over(server), once).stream(request)));
    expect(error).toMatchObject({ code: "TF_LLM_TIMEOUT", phase: "idle" });
  });

  test("fires at the total deadline on a trickle that never stalls", async () => {
    await using server = await faultServer({ script: [faults.trickle(150)] });
    const model = resilientModel(over(server), { ...once, watchdog: { firstChunkMs: 0, idleMs: 0, totalMs: 400 } });
    const error = await failure(drain(model.stream(request)));
    expect(error.code).toBe("TF_LLM_STREAM_INTERRUPTED");
    expect(error.cause).toMatchObject({ code: "TF_LLM_TIMEOUT", phase: "deadline" });
  });

  test("bounds a completion by the total deadline", async () => {
    await using server = await faultServer({ script: [faults.stallBeforeFirstChunk()] });
    const model = resilientModel(over(server), { ...once, watchdog: { firstChunkMs: 50, idleMs: 50, totalMs: 300 } });
    expect(await failure(model.complete(request))).toMatchObject({ code: "TF_LLM_TIMEOUT", phase: "deadline" });
  });

  test("does not hang on an adapter that ignores its abort signal", async () => {
    const deaf: ChatModel = {
      provider: "deaf",
      model: "deaf-1",
      complete: () => new Promise<ChatResponse>(() => {}),
      async *stream() {
        yield { type: "text", text: "hi" };
        await new Promise(() => {});
      },
    };
    const model = resilientModel(deaf, { ...once, watchdog: { firstChunkMs: 100, idleMs: 100, totalMs: 200 } });
    expect(await failure(model.complete(request))).toMatchObject({ code: "TF_LLM_TIMEOUT" });
    expect(await failure(drain(model.stream(request)))).toMatchObject({ code: "TF_LLM_STREAM_INTERRUPTED" });
  });
});

describe("circuit breaker", () => {
  const breaking = policy({ maxRetries: 0, breaker: { failures: 2, windowMs: 10_000, cooldownMs: 300 } });

  test("opens after repeated failures, fails fast, half-opens to one probe, and closes on its success", async () => {
    await using server = await faultServer({ fallback: faults.serverError() });
    const states: string[] = [];
    const instruments = createInstruments();
    const model = resilientModel(over(server), {
      ...breaking,
      instruments: { ...instruments, breaker: (_m, state) => states.push(state) },
    });
    await failure(model.complete(request));
    await failure(model.complete(request));
    expect(model.chain[0]?.state).toBe("open");
    const fast = await failure(model.complete(request));
    expect(fast).toMatchObject({ code: "TF_LLM_CIRCUIT_OPEN", retryable: true });
    expect(fast.retryAfterMs).toBeGreaterThan(0);
    expect(server.requests.length).toBe(2);

    while (model.chain[0]?.state !== "half_open") await Bun.sleep(20);
    server.setFallback(faults.ok());
    // Two calls at once while half open: one is the probe, the other fails fast.
    const [probe, other] = await Promise.allSettled([model.complete(request), model.complete(request)]);
    expect(probe.status).toBe("fulfilled");
    expect(other.status === "rejected" && (other.reason as LlmError).code).toBe("TF_LLM_CIRCUIT_OPEN");
    expect(model.chain[0]?.state as string).toBe("closed");
    expect((await model.complete(request)).content).toBe("echo: one two three");
    expect(states).toEqual(["open", "half_open", "closed"]);
  });

  test("a failed probe opens it again for another cooldown", async () => {
    await using server = await faultServer({ fallback: faults.serverError() });
    const model = resilientModel(over(server), breaking);
    await failure(model.complete(request));
    await failure(model.complete(request));
    while (model.chain[0]?.state !== "half_open") await Bun.sleep(20);
    expect(await failure(model.complete(request))).toMatchObject({ code: "TF_LLM_PROVIDER_ERROR" });
    expect(model.chain[0]?.state as string).toBe("open");
    expect(server.requests.length).toBe(3);
  });
});

describe("fallback", () => {
  test("when the first model fails retryably after its retries, the next answers and says so", async () => {
    await using down = await faultServer({ fallback: faults.serverError(502) });
    await using up = await faultServer();
    const moves: string[] = [];
    const instruments = createInstruments();
    const model = resilientModel([over(down, "big"), over(up, "small")], {
      ...fastPolicy,
      instruments: { ...instruments, fallback: (from, to) => moves.push(`${from.model} -> ${to.model}`) },
    });
    const chunks = await drain(model.stream(request));
    expect(chunks.at(-1)).toMatchObject({ type: "done", model: "small" });
    expect(down.requests.length).toBe(3);
    expect(moves).toEqual(["big -> small"]);
    expect((await model.complete(request)).model).toBe("small");
  });

  test("an open breaker sends calls straight to the next model", async () => {
    await using down = await faultServer({ fallback: faults.serverError() });
    const model = resilientModel([over(down, "big"), localModel()], {
      ...policy({ maxRetries: 0, breaker: { failures: 1, windowMs: 10_000, cooldownMs: 60_000 } }),
    });
    expect((await model.complete(request)).model).toBe("local-deterministic");
    expect(model.chain.map((m) => m.state)).toEqual(["open", "closed"]);
    expect((await model.complete(request)).model).toBe("local-deterministic");
    expect(down.requests.length).toBe(1);
  });

  test("when every model fails, one TF_LLM_UNAVAILABLE lists each failure", async () => {
    await using down = await faultServer({ fallback: faults.serverError() });
    const model = resilientModel([over(down, "a"), over(down, "b")], policy({ maxRetries: 0 }));
    const error = await failure(model.complete(request));
    expect(error).toMatchObject({ code: "TF_LLM_UNAVAILABLE", retryable: true, status: 500 });
    expect(error.errors?.map((e) => (e as LlmError).model)).toEqual(["a", "b"]);
    expect(error.message).toStartWith('llm: every model failed ("a", "b"): last: ');
  });
});

describe("concurrency cap", () => {
  function gated() {
    let active = 0;
    let peak = 0;
    const gates: Array<() => void> = [];
    const model: ChatModel = {
      provider: "gated",
      model: "gated-1",
      async complete() {
        active++;
        peak = Math.max(peak, active);
        await new Promise<void>((resolve) => gates.push(resolve));
        active--;
        return {
          model: "gated-1",
          content: "ok",
          toolCalls: [],
          finishReason: "stop",
          usage: { inputTokens: 1, outputTokens: 1 },
        };
      },
      stream: () => localModel().stream(request),
    };
    return { model, gates, peak: () => peak };
  }

  test("holds: no more calls in flight than the cap, the rest wait their turn", async () => {
    const { model, gates, peak } = gated();
    const capped = resilientModel(model, { ...fastPolicy, limit: new ConcurrencyLimit(2, 5_000) });
    const calls = Array.from({ length: 5 }, () => capped.complete(request));
    for (let done = 0; done < 5; ) {
      await Bun.sleep(5);
      const gate = gates.shift();
      if (gate) {
        gate();
        done++;
      }
    }
    expect((await Promise.all(calls)).map((r) => r.content)).toEqual(["ok", "ok", "ok", "ok", "ok"]);
    expect(peak()).toBe(2);
  });

  test("a caller that waits longer than the bound gets a retryable TF_LLM_OVERLOADED", async () => {
    const { model, gates } = gated();
    const limit = new ConcurrencyLimit(1, 50);
    const capped = resilientModel(model, { ...policy({ maxRetries: 0 }), limit });
    const first = capped.complete(request);
    expect(await failure(capped.complete(request))).toMatchObject({ code: "TF_LLM_OVERLOADED", retryable: true });
    while (gates.length === 0) await Bun.sleep(5);
    gates.shift()?.();
    await first;
    expect(limit.active).toBe(0);
  });

  test("a stream holds its slot until it is read to the end or left", async () => {
    const limit = new ConcurrencyLimit(1, 1_000);
    const model = resilientModel(localModel(), { ...fastPolicy, limit });
    for await (const _ of model.stream(request)) {
      expect(limit.active).toBe(1);
      break;
    }
    expect(limit.active).toBe(0);
  });
});
