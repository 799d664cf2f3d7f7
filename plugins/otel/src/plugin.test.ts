import { afterEach, describe, expect, test } from "bun:test";
import {
  type ChatModel,
  type ChatRequest,
  ConfigError,
  definePlugin,
  endChatSpan,
  Queue,
  startChatSpan,
  startProducerSpan,
  Tracer,
  traced,
  tracedFetch,
  traceMessage,
} from "@twelvefold/kernel";
import { memoryQueue } from "@twelvefold/kernel/memory";
import { pluginContract, testApp } from "@twelvefold/testing";
import type { SpanExporter } from "./batch.ts";
import { otel } from "./plugin.ts";
import { type OtlpReceiver, otlpReceiver } from "./receiver.ts";
import type { SpanData } from "./span.ts";

pluginContract(() => otel(), { badEnv: { OTEL_TRACES_SAMPLER: "sometimes", OTEL_BSP_MAX_QUEUE_SIZE: "0" } });

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

function capturing(): SpanExporter & { spans: SpanData[] } {
  const spans: SpanData[] = [];
  return { spans, export: async (batch) => void spans.push(...batch) };
}

async function app(
  env: Record<string, string>,
  options: Parameters<typeof otel>[0] = {},
  extra = [] as ReturnType<typeof definePlugin>[],
) {
  const t = await testApp({
    name: "traced-app",
    version: "2.0.0",
    plugins: [otel(options), ...extra],
    env: { LOG_LEVEL: "info", ...env },
    start: false,
  });
  return { app: t.app, logs: t.logs };
}

describe("otel plugin", () => {
  test("log lines written inside a span carry its trace_id and span_id; others do not", async () => {
    const exporter = capturing();
    const { app: a, logs } = await app({}, { exporter });
    await a.start();
    const tracer = a.get(Tracer);
    const span = tracer.startSpan("request");
    tracer.withSpan(span, () => a.logger.info("inside"));
    span.end();
    a.logger.info("outside");
    await a.stop();
    const parsed = logs;
    expect(parsed.find((l) => l.message === "inside")).toMatchObject({ trace_id: span.traceId, span_id: span.spanId });
    expect(parsed.find((l) => l.message === "outside")).not.toHaveProperty("trace_id");
  });

  test("OTEL_EXPORTER_OTLP_ENDPOINT exports with the service name, resource attributes and protocol from OTEL_*", async () => {
    receiver = otlpReceiver();
    const { app: a } = await app({
      OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.endpoint}/`,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "agent-web",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.region=eu%2Dwest,team=ai",
      OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=collector-secret-1",
    });
    await a.start();
    await traced(a.get(Tracer), "job", () => undefined);
    await a.stop();
    expect(receiver.requests[0]).toMatchObject({ path: "/v1/traces", contentType: "application/json" });
    expect(receiver.spans[0]).toMatchObject({
      name: "job",
      resource: {
        "service.name": "agent-web",
        "service.version": "2.0.0",
        "deployment.environment.name": "testing",
        "deployment.region": "eu-west",
        team: "ai",
      },
    });
  });

  test("the traces-specific endpoint is used as given", async () => {
    receiver = otlpReceiver();
    const { app: a } = await app({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.endpoint}/custom/path` });
    await a.start();
    await traced(a.get(Tracer), "job", () => undefined);
    await a.stop();
    expect(receiver.requests[0]?.path).toBe("/custom/path");
    expect(receiver.spans).toHaveLength(1);
  });

  test("OTEL_TRACES_SAMPLER=always_off exports nothing but still propagates an unsampled context", async () => {
    const exporter = capturing();
    const { app: a } = await app({ OTEL_TRACES_SAMPLER: "always_off" }, { exporter });
    await a.start();
    const tracer = a.get(Tracer);
    const headers: Record<string, string> = {};
    await traced(tracer, "job", () => tracer.inject(headers));
    await a.stop();
    expect(exporter.spans).toHaveLength(0);
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });

  test("OTEL_TRACES_SAMPLER=traceidratio with argument 0 samples nothing", async () => {
    const exporter = capturing();
    const { app: a } = await app({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0" }, { exporter });
    await a.start();
    for (let i = 0; i < 20; i++) a.get(Tracer).startSpan("x").end();
    await a.stop();
    expect(exporter.spans).toHaveLength(0);
  });

  test("OTEL_SDK_DISABLED provides a tracer that records nothing", async () => {
    const exporter = capturing();
    const { app: a } = await app({ OTEL_SDK_DISABLED: "true" }, { exporter });
    await a.start();
    const span = a.get(Tracer).startSpan("x");
    expect(span.isRecording()).toBe(false);
    span.end();
    await a.stop();
    expect(exporter.spans).toHaveLength(0);
  });

  test("unsupported OTEL_* values are config errors naming the variable, and header secrets are not echoed", async () => {
    const { app: a } = await app({
      OTEL_TRACES_SAMPLER: "jaeger_remote",
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      OTEL_TRACES_SAMPLER_ARG: "2",
      OTEL_EXPORTER_OTLP_HEADERS: "no-equals-secret-value",
    });
    const error = await a.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const names = (error as ConfigError).issues.map((i) => i.name).sort();
    expect(names).toEqual([
      "OTEL_EXPORTER_OTLP_HEADERS",
      "OTEL_EXPORTER_OTLP_PROTOCOL",
      "OTEL_TRACES_SAMPLER",
      "OTEL_TRACES_SAMPLER_ARG",
    ]);
    expect((error as Error).message).not.toContain("no-equals-secret-value");
  });

  test("an unreachable collector degrades health and is logged once, never thrown", async () => {
    const { app: a, logs } = await app({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9",
      OTEL_EXPORTER_OTLP_TIMEOUT: "200",
      OTEL_BSP_SCHEDULE_DELAY: "1",
      TELEMETRY_FLUSH_TIMEOUT_MS: "1000",
    });
    await a.start();
    expect((await a.lifecycle.health()).checks.otel?.status).toBe("up");
    for (let i = 0; i < 3; i++) await traced(a.get(Tracer), "job", () => undefined);
    let status: string | undefined;
    for (let i = 0; i < 100 && status !== "degraded"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = (await a.lifecycle.health()).checks.otel?.status;
    }
    expect(status).toBe("degraded");
    await a.stop();
    const warnings = logs.filter((l) => l.message === "span export failed");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ plugin: "otel", error: { code: "TF_OTEL_EXPORT_FAILED" } });
  }, 15_000);

  test("spans beyond OTEL_BSP_MAX_QUEUE_SIZE are dropped with a warning", async () => {
    const never: SpanExporter = { export: () => new Promise(() => {}) };
    const { app: a, logs } = await app(
      { OTEL_BSP_MAX_QUEUE_SIZE: "2", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "2", TELEMETRY_FLUSH_TIMEOUT_MS: "50" },
      { exporter: never },
    );
    await a.start();
    for (let i = 0; i < 10; i++) a.get(Tracer).startSpan("x").end();
    await a.stop();
    const warning = logs.find((l) => l.message === "spans dropped: export queue full");
    expect(warning).toMatchObject({ plugin: "otel", kind: "dropped" });
  });

  test("exceptions on spans carry type, message and stack with config secrets masked", async () => {
    const exporter = capturing();
    const { app: a } = await app(
      { OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20collector-secret-9" },
      { exporter },
    );
    await a.start();
    const span = a.get(Tracer).startSpan("x");
    span.recordException(new RangeError("token collector-secret-9 refused"));
    span.recordException("plain string collector-secret-9");
    span.end();
    await a.stop();
    const events = exporter.spans[0]?.events ?? [];
    expect(events[0]?.attributes).toMatchObject({
      "exception.type": "RangeError",
      "exception.message": "token [redacted] refused",
    });
    expect(String(events[0]?.attributes["exception.stacktrace"])).toContain("RangeError");
    expect(events[1]?.attributes).toEqual({ "exception.message": "plain string [redacted]" });
  });
});

describe("one trace across web, queue, worker and LLM", () => {
  test("an incoming request's trace continues through the queue into the worker's LLM and fetch calls", async () => {
    const exporter = capturing();
    const downstream = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (request) => new Response(request.headers.get("traceparent") ?? "none"),
    });
    const port = downstream.port;
    const model: ChatModel = {
      provider: "local",
      model: "echo-1",
      async complete(request: ChatRequest) {
        return {
          model: "echo-1-2026",
          content: "hi",
          toolCalls: [],
          finishReason: "stop",
          usage: { inputTokens: request.messages.length * 7, outputTokens: 2 },
        };
      },
      async *stream() {},
    };
    const queue = memoryQueue();
    const worker = definePlugin({
      name: "worker",
      requires: [Tracer],
      provides: [Queue],
      start({ get, provide, onStop }) {
        provide(Queue, queue);
        const tracer = get(Tracer);
        const consumer = queue.consume("chat", (message) =>
          traceMessage(tracer, message, async () => {
            const request: ChatRequest = {
              messages: [{ role: "user", content: "hello" }],
              temperature: 0.2,
              maxTokens: 64,
            };
            const span = startChatSpan(tracer, model, request);
            endChatSpan(span, await model.complete(request));
            const echoed = await (await tracedFetch(tracer)(`http://127.0.0.1:${port}/tool?q=secret`)).text();
            await queue.enqueue("echo", echoed);
          }),
        );
        onStop(() => consumer.stop());
      },
    });
    const { app: a } = await app({}, { exporter }, [worker]);
    await a.start();
    const tracer = a.get(Tracer);
    const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const server = tracer.startSpan("POST /chat/sessions/:id/messages", {
      kind: "server",
      carrier: { traceparent: incoming },
    });
    await tracer.withSpan(server, async () => {
      const { span, headers } = startProducerSpan(tracer, "chat");
      await queue.enqueue("chat", { text: "hello" }, { headers });
      span.end();
    });
    server.end();
    const echoed = await new Promise<string>((resolve) => {
      const c = queue.consume<string>("echo", async (m) => {
        resolve(m.payload);
        void c.stop();
      });
    });
    await a.stop();
    await downstream.stop(true);

    const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const byName = new Map(exporter.spans.map((s) => [s.name, s]));
    expect([...byName.keys()].sort()).toEqual([
      "GET",
      "POST /chat/sessions/:id/messages",
      "chat echo-1",
      "process chat",
      "send chat",
    ]);
    for (const span of exporter.spans) expect(span.traceId).toBe(trace);
    const process = byName.get("process chat");
    expect(byName.get("send chat")?.parentSpanId).toBe(byName.get("POST /chat/sessions/:id/messages")?.spanId);
    expect(process).toMatchObject({ kind: "consumer", parentSpanId: byName.get("send chat")?.spanId });
    expect(byName.get("chat echo-1")).toMatchObject({
      kind: "client",
      parentSpanId: process?.spanId,
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "local",
        "gen_ai.request.model": "echo-1",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 64,
        "gen_ai.response.model": "echo-1-2026",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 7,
        "gen_ai.usage.output_tokens": 2,
      },
    });
    const fetchSpan = byName.get("GET");
    expect(fetchSpan).toMatchObject({
      kind: "client",
      attributes: {
        "http.request.method": "GET",
        "http.response.status_code": 200,
        "url.full": `http://127.0.0.1:${port}/tool`,
      },
    });
    expect(echoed).toBe(`00-${trace}-${fetchSpan?.spanId}-01`);
  });
});
