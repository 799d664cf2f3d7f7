import { describe, expect, test } from "bun:test";
import type { QueueMessage } from "./contracts/queue.ts";
import type { Attributes, Labels, Meter, Span, StartSpanOptions, Tracer } from "./contracts/telemetry.ts";
import {
  chatMetrics,
  endChatSpan,
  failSpan,
  noopTracer,
  startChatSpan,
  startProducerSpan,
  toolSpanOptions,
  traced,
  tracedFetch,
  traceMessage,
} from "./instrument.ts";

interface Recorded {
  name: string;
  options: StartSpanOptions | undefined;
  attributes: Attributes;
  status?: string;
  events: string[];
  ended: boolean;
}

/** A tracer that records calls; the active span is a plain variable (no async context needed here). */
function recordingTracer() {
  const spans: Recorded[] = [];
  let active: Span | undefined;
  let next = 1;
  const tracer: Tracer = {
    startSpan(name, options) {
      const record: Recorded = { name, options, attributes: { ...options?.attributes }, events: [], ended: false };
      spans.push(record);
      const id = (next++).toString(16).padStart(16, "0");
      return {
        traceId: "1".repeat(32),
        spanId: id,
        isRecording: () => !record.ended,
        setAttribute(key, value) {
          record.attributes[key] = value;
        },
        setAttributes: (attributes) => void Object.assign(record.attributes, attributes),
        addEvent: (event) => void record.events.push(event),
        recordException: () => void record.events.push("exception"),
        setStatus(status) {
          record.status = status;
        },
        updateName(name) {
          record.name = name;
        },
        end() {
          record.ended = true;
        },
      };
    },
    withSpan(span, fn) {
      const previous = active;
      active = span;
      try {
        return fn();
      } finally {
        active = previous;
      }
    },
    inject(carrier) {
      if (!active) return;
      const value = `00-${active.traceId}-${active.spanId}-01`;
      if (carrier instanceof Headers) carrier.set("traceparent", value);
      else carrier.traceparent = value;
    },
    activeSpan: () => active,
  };
  return { tracer, spans };
}

describe("noopTracer", () => {
  test("records nothing, runs the function, and injects nothing", async () => {
    const span = noopTracer.startSpan("x");
    for (const call of [
      () => span.setAttribute("a", 1),
      () => span.setAttributes({ a: 1 }),
      () => span.addEvent("e"),
      () => span.recordException(new Error("x")),
      () => span.setStatus("error"),
      () => span.updateName("y"),
      () => span.end(),
    ]) {
      expect(call).not.toThrow();
    }
    expect(span.isRecording()).toBe(false);
    expect(noopTracer.withSpan(span, () => 42)).toBe(42);
    const headers = new Headers();
    noopTracer.inject(headers);
    expect([...headers]).toEqual([]);
    expect(noopTracer.activeSpan()).toBeUndefined();
    expect(await traced(noopTracer, "op", () => "done")).toBe("done");
  });
});

describe("tracing helpers", () => {
  test("failSpan records the exception, error.type from the code or name, and an error status", () => {
    const { tracer, spans } = recordingTracer();
    failSpan(tracer.startSpan("a"), Object.assign(new Error("boom"), { code: "E_BOOM" }));
    failSpan(tracer.startSpan("b"), "a string");
    expect(spans[0]).toMatchObject({ attributes: { "error.type": "E_BOOM" }, status: "error", events: ["exception"] });
    expect(spans[1]?.attributes["error.type"]).toBe("string");
  });

  test("tracedFetch makes a client span without the query string and injects its context", async () => {
    const { tracer, spans } = recordingTracer();
    const seen: Request[] = [];
    const fake = (async (input: Request) => {
      seen.push(input);
      return new Response("no", { status: input.url.includes("missing") ? 404 : 200 });
    }) as unknown as typeof fetch;
    const traced = tracedFetch(tracer, fake);
    await traced("https://user:pw@api.example.com/v1/models?key=secret", { headers: { accept: "application/json" } });
    await traced(new URL("http://api.example.com:8080/missing"));
    expect(spans[0]).toMatchObject({
      name: "GET",
      options: { kind: "client" },
      attributes: {
        "url.full": "https://api.example.com/v1/models",
        "server.address": "api.example.com",
        "server.port": 443,
        "http.response.status_code": 200,
      },
      ended: true,
    });
    expect(seen[0]?.headers.get("traceparent")).toBe(`00-${"1".repeat(32)}-0000000000000001-01`);
    expect(seen[0]?.headers.get("accept")).toBe("application/json");
    expect(spans[1]).toMatchObject({ attributes: { "server.port": 8080, "error.type": "404" }, status: "error" });
  });

  test("tracedFetch records a network failure and rethrows it", async () => {
    const { tracer, spans } = recordingTracer();
    const failing = (async () => {
      throw new TypeError("connection refused");
    }) as unknown as typeof fetch;
    await expect(tracedFetch(tracer, failing)("http://127.0.0.1:9/")).rejects.toThrow("connection refused");
    expect(spans[0]).toMatchObject({ status: "error", attributes: { "error.type": "TypeError" }, ended: true });
  });

  test("a producer span's headers carry its context, and the consumer span continues from them", async () => {
    const { tracer, spans } = recordingTracer();
    const { span, headers } = startProducerSpan(tracer, "mail", { "x-tenant": "t1" });
    span.end();
    expect(headers).toEqual({ "x-tenant": "t1", traceparent: `00-${"1".repeat(32)}-${span.spanId}-01` });
    const message = {
      id: "m1",
      topic: "mail",
      payload: {},
      headers,
      attempt: 2,
      maxAttempts: 5,
      enqueuedAt: 0,
    } as QueueMessage;
    await traceMessage(tracer, message, async () => undefined);
    expect(spans[1]).toMatchObject({
      name: "process mail",
      options: { kind: "consumer", carrier: headers },
      attributes: {
        "messaging.destination.name": "mail",
        "messaging.message.id": "m1",
        "messaging.message.delivery_attempt": 2,
      },
    });
  });

  test("chat spans follow the GenAI conventions, and a failed call is marked", () => {
    const { tracer, spans } = recordingTracer();
    const model = { provider: "openai", model: "gpt-4o-mini" };
    const ok = startChatSpan(tracer, model, { temperature: 0.1 });
    endChatSpan(ok, {
      model: "gpt-4o-mini-2024",
      finishReason: "tool_calls",
      usage: { inputTokens: 10, outputTokens: 5 },
    });
    endChatSpan(startChatSpan(tracer, model, {}), new Error("rate limited"));
    expect(spans[0]).toMatchObject({
      name: "chat gpt-4o-mini",
      options: { kind: "client" },
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.temperature": 0.1,
        "gen_ai.response.finish_reasons": ["tool_calls"],
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 5,
      },
      ended: true,
    });
    expect(spans[1]).toMatchObject({ status: "error", ended: true, attributes: { "error.type": "Error" } });
    expect(toolSpanOptions({ id: "call_1", name: "search" })).toEqual({
      kind: "internal",
      attributes: {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "search",
        "gen_ai.tool.call.id": "call_1",
      },
    });
  });
});

describe("chatMetrics", () => {
  test("records tokens by type on success and the duration by outcome either way", () => {
    const seen: Array<[string, Labels | undefined, number | undefined]> = [];
    const meter: Meter = {
      counter: (o) => ({ inc: (labels, value) => void seen.push([o.name, labels, value]) }),
      gauge: () => ({ set() {}, inc() {}, dec() {} }),
      histogram: (o) => ({ observe: (labels, value) => void seen.push([o.name, labels, value]) }),
    };
    const record = chatMetrics(meter);
    record(
      "gpt-4o-mini",
      { model: "gpt-4o-mini", finishReason: "stop", usage: { inputTokens: 12, outputTokens: 3 } },
      0.8,
    );
    record("gpt-4o-mini", new Error("429"), 0.1);
    expect(seen).toEqual([
      ["llm_tokens_total", { model: "gpt-4o-mini", type: "input" }, 12],
      ["llm_tokens_total", { model: "gpt-4o-mini", type: "output" }, 3],
      ["llm_request_duration_seconds", { model: "gpt-4o-mini", outcome: "ok" }, 0.8],
      ["llm_request_duration_seconds", { model: "gpt-4o-mini", outcome: "error" }, 0.1],
    ]);
  });
});
