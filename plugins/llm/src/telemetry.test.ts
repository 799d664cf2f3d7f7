import { describe, expect, test } from "bun:test";
import type { Counter, Gauge, Histogram, Labels, Meter } from "@twelvefold/kernel";
import { faultServer, faults } from "@twelvefold/testing";
import { localModel } from "./local.ts";
import { openaiModel } from "./openai.ts";
import { resilientModel } from "./resilient.ts";
import { createInstruments } from "./telemetry.ts";
import { fastPolicy } from "./testdata/policy.ts";
import { recordingTracer } from "./testdata/tracer.ts";

/** A Meter that keeps every observation, as `name{labels} value` lines. */
function recordingMeter(): Meter & { readonly seen: string[] } {
  const seen: string[] = [];
  const line = (name: string, labels: Labels | undefined, value: number) =>
    seen.push(`${name}${JSON.stringify(labels ?? {})} ${value}`);
  return {
    seen,
    counter: (o): Counter => ({ inc: (labels, value = 1) => line(o.name, labels, value) }),
    gauge: (o): Gauge => ({
      set: (labels, value) => line(o.name, labels, value),
      inc: (labels, value = 1) => line(o.name, labels, value),
      dec: (labels, value = 1) => line(o.name, labels, -value),
    }),
    histogram: (o): Histogram => ({ observe: (labels, value) => line(o.name, labels, value) }),
  };
}

const request = { messages: [{ role: "user" as const, content: "hello" }], temperature: 0.2, maxTokens: 50 };

describe("instruments", () => {
  test("each call is a chat span per the GenAI conventions; content is left off unless asked for", async () => {
    const tracer = recordingTracer();
    const model = resilientModel(localModel(), {
      instruments: createInstruments({ tracer, prices: { local: { input: 1, output: 1 } } }),
    });
    for await (const _ of model.stream(request)) {
      // read to the end
    }
    const [span] = tracer.spans;
    expect(span?.name).toBe("chat local-deterministic");
    expect(span?.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "local",
      "gen_ai.request.model": "local-deterministic",
      "gen_ai.request.temperature": 0.2,
      "gen_ai.request.max_tokens": 50,
      "gen_ai.response.model": "local-deterministic",
      "gen_ai.response.finish_reasons": ["stop"],
      "gen_ai.usage.input_tokens": 2,
      "gen_ai.usage.output_tokens": 5,
      "gen_ai.response.time_to_first_chunk": expect.any(Number),
      "llm.cost_usd": 7 / 1_000_000,
    });
    expect(span?.attributes["gen_ai.input.messages"]).toBeUndefined();
    expect(span?.attributes["gen_ai.output.messages"]).toBeUndefined();
    expect(span?.ended).toBe(true);
  });

  test("with content recording on, the prompt and the completion go on the span", async () => {
    const tracer = recordingTracer();
    const model = resilientModel(localModel(), { instruments: createInstruments({ tracer, recordContent: true }) });
    await model.complete(request);
    const attributes = tracer.spans[0]?.attributes ?? {};
    expect(JSON.parse(String(attributes["gen_ai.input.messages"]))).toEqual([
      { role: "user", parts: [{ type: "text", content: "hello" }] },
    ]);
    expect(JSON.parse(String(attributes["gen_ai.output.messages"]))).toEqual([
      { role: "assistant", parts: [{ type: "text", content: "Hello from the local model!" }] },
    ]);
  });

  test("a failed attempt is its own failed span with error.type and the status; retries, breaker and fallbacks are counted", async () => {
    await using server = await faultServer({ script: [faults.serverError(503)], fallback: faults.status(500) });
    const tracer = recordingTracer();
    const meter = recordingMeter();
    const model = resilientModel([openaiModel({ model: "a", baseURL: server.url }), localModel()], {
      ...fastPolicy,
      retry: { maxRetries: 1, baseMs: 1, capMs: 1, maxWaitMs: 100 },
      breaker: { failures: 2, windowMs: 10_000, cooldownMs: 60_000 },
      instruments: createInstruments({ tracer, meter }),
    });
    expect((await model.complete(request)).model).toBe("local-deterministic");
    expect(
      tracer.spans.map((s) => [
        s.name,
        s.status,
        s.attributes["error.type"],
        s.attributes["http.response.status_code"],
      ]),
    ).toEqual([
      ["chat a", "error", "TF_LLM_PROVIDER_ERROR", 503],
      ["chat a", "error", "TF_LLM_PROVIDER_ERROR", 500],
      ["chat local-deterministic", undefined, undefined, undefined],
    ]);
    expect(meter.seen).toEqual(
      expect.arrayContaining([
        'llm_retries_total{"provider":"openai","model":"a","code":"TF_LLM_PROVIDER_ERROR"} 1',
        'llm_breaker_transitions_total{"provider":"openai","model":"a","state":"open"} 1',
        'llm_breaker_state{"provider":"openai","model":"a"} 2',
        'llm_fallbacks_total{"from":"a","to":"local-deterministic"} 1',
        expect.stringMatching(/^gen_ai_client_operation_duration_seconds\{.*"error_type":"TF_LLM_PROVIDER_ERROR"\} /),
        expect.stringMatching(/^llm_request_duration_seconds\{"model":"a","outcome":"error"\} /),
      ]),
    );
  });

  test("a stream the caller leaves early ends its span without a verdict or a figure", async () => {
    const tracer = recordingTracer();
    const meter = recordingMeter();
    const model = resilientModel(localModel(), { instruments: createInstruments({ tracer, meter }) });
    for await (const _ of model.stream(request)) break;
    expect(tracer.spans[0]).toMatchObject({ ended: true, status: undefined, attributes: { "llm.cancelled": true } });
    expect(meter.seen.filter((l) => l.startsWith("gen_ai_client_operation_duration"))).toEqual([]);
  });
});
