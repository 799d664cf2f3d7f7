/**
 * Instrumentation helpers over the Tracer and Meter contracts: a no-op tracer, spans around
 * functions, fetch and queue messages, and the GenAI semantic conventions for LLM calls. They
 * live apart from the contracts so a reader of the contracts sees only what adapters implement.
 */
import type { ChatRequest, ChatUsage, FinishReason } from "./contracts/chat-model.ts";
import type { QueueMessage } from "./contracts/queue.ts";
import {
  llmBuckets,
  type Meter,
  metricNames,
  type Span,
  type StartSpanOptions,
  type Tracer,
} from "./contracts/telemetry.ts";

const noopSpan: Span = Object.freeze({
  traceId: "0".repeat(32),
  spanId: "0".repeat(16),
  isRecording: () => false,
  setAttribute() {},
  setAttributes() {},
  addEvent() {},
  recordException() {},
  setStatus() {},
  updateName() {},
  end() {},
});

/**
 * A Tracer that records nothing, for code whose app has no otel plugin.
 *
 * @example
 * ```ts
 * const tracer = ctx.find(Tracer) ?? noopTracer;
 * ```
 */
export const noopTracer: Tracer = Object.freeze({
  startSpan: () => noopSpan,
  withSpan: <T>(_span: Span, fn: () => T): T => fn(),
  inject() {},
  activeSpan: () => undefined,
});

/**
 * Runs `fn` inside a new active span and ends it when `fn` settles; a thrown error is recorded on
 * the span, marks it failed, and is rethrown.
 *
 * @example
 * ```ts
 * const rows = await traced(tracer, "load history", () => db.select().from(messages), { kind: "client" });
 * ```
 */
export async function traced<T>(
  tracer: Tracer,
  name: string,
  fn: (span: Span) => T | Promise<T>,
  options?: StartSpanOptions,
): Promise<T> {
  const span = tracer.startSpan(name, options);
  try {
    return await tracer.withSpan(span, () => fn(span));
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Records `error` on `span` with the OTel `error.type` attribute and an error status. */
export function failSpan(span: Span, error: unknown): void {
  span.recordException(error);
  const type = error instanceof Error ? ((error as { code?: unknown }).code ?? error.name) : typeof error;
  span.setAttribute("error.type", String(type));
  span.setStatus("error", error instanceof Error ? error.message : undefined);
}

/**
 * Wraps `fetch` so each call is a client span and carries the W3C trace context downstream.
 * URL credentials and query strings stay out of the span.
 *
 * @example
 * ```ts
 * const fetchTraced = tracedFetch(tracer);
 * const res = await fetchTraced("https://api.example.com/v1/models");
 * ```
 */
export function tracedFetch(
  tracer: Tracer,
  base: typeof fetch = fetch,
): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  return async function fetchWithTrace(input, init) {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const span = tracer.startSpan(request.method, {
      kind: "client",
      attributes: {
        "http.request.method": request.method,
        "url.full": `${url.protocol}//${url.host}${url.pathname}`,
        "server.address": url.hostname,
        "server.port": Number(url.port) || (url.protocol === "https:" ? 443 : 80),
      },
    });
    try {
      const headers = new Headers(request.headers);
      tracer.withSpan(span, () => tracer.inject(headers));
      const response = await base(new Request(request, { headers }));
      span.setAttribute("http.response.status_code", response.status);
      if (response.status >= 400) {
        span.setAttribute("error.type", String(response.status));
        span.setStatus("error");
      }
      return response;
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  };
}

/**
 * Starts a `send {topic}` producer span and returns it with the message headers that carry its
 * trace context; pass the headers to `Queue.enqueue`, then end the span.
 *
 * @example
 * ```ts
 * const { span, headers } = startProducerSpan(tracer, "chat.reply");
 * try { await queue.enqueue("chat.reply", payload, { headers }); } finally { span.end(); }
 * ```
 */
export function startProducerSpan(
  tracer: Tracer,
  topic: string,
  headers: Readonly<Record<string, string>> = {},
): { span: Span; headers: Record<string, string> } {
  const span = tracer.startSpan(`send ${topic}`, {
    kind: "producer",
    attributes: { "messaging.operation.type": "send", "messaging.destination.name": topic },
  });
  const out = { ...headers };
  tracer.withSpan(span, () => tracer.inject(out));
  return { span, headers: out };
}

/**
 * Runs a queue handler inside a `process {topic}` consumer span that continues the producer's
 * trace from the message headers, so one trace spans web -> queue -> worker.
 *
 * @example
 * ```ts
 * queue.consume("chat.reply", (message) => traceMessage(tracer, message, () => reply(message.payload)));
 * ```
 */
export function traceMessage<T>(
  tracer: Tracer,
  message: QueueMessage,
  handler: (span: Span) => Promise<T>,
): Promise<T> {
  return traced(tracer, `process ${message.topic}`, handler, {
    kind: "consumer",
    carrier: message.headers,
    attributes: {
      "messaging.operation.type": "process",
      "messaging.destination.name": message.topic,
      "messaging.message.id": message.id,
      "messaging.message.delivery_attempt": message.attempt,
    },
  });
}

/** What an LLM call's span needs to know about the model (a ChatModel satisfies it). */
export interface GenAiModel {
  /** `gen_ai.provider.name`, e.g. `"openai"`. */
  readonly provider: string;
  readonly model: string;
}

/**
 * Starts an LLM call span per the OpenTelemetry GenAI semantic conventions: named
 * `chat {model}`, kind client, with `gen_ai.operation.name`, `gen_ai.provider.name`,
 * `gen_ai.request.model` and the request's temperature and token limit. End it with {@link endChatSpan}.
 *
 * @example
 * ```ts
 * const span = startChatSpan(tracer, model, request);
 * try { endChatSpan(span, await model.complete(request)); } catch (e) { endChatSpan(span, e); throw e; }
 * ```
 */
export function startChatSpan(
  tracer: Tracer,
  model: GenAiModel,
  request: Pick<ChatRequest, "temperature" | "maxTokens">,
): Span {
  return tracer.startSpan(`chat ${model.model}`, {
    kind: "client",
    attributes: {
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": model.provider,
      // Back ends that predate semantic conventions 1.37 read the provider from gen_ai.system.
      "gen_ai.system": model.provider,
      "gen_ai.request.model": model.model,
      "gen_ai.request.temperature": request.temperature,
      "gen_ai.request.max_tokens": request.maxTokens,
    },
  });
}

/** What a finished LLM call reports: a ChatResponse or a stream's `done` chunk satisfies it. */
export interface GenAiResult {
  readonly model: string;
  readonly finishReason: FinishReason;
  readonly usage: ChatUsage;
}

/** Ends a span from {@link startChatSpan} with the response's model, finish reason and token usage, or with the error. */
export function endChatSpan(span: Span, outcome: GenAiResult | unknown): void {
  const result = outcome as Partial<GenAiResult> | undefined;
  if (result && typeof result === "object" && result.usage && typeof result.model === "string") {
    span.setAttributes({
      "gen_ai.response.model": result.model,
      "gen_ai.response.finish_reasons": result.finishReason ? [result.finishReason] : undefined,
      "gen_ai.usage.input_tokens": result.usage.inputTokens,
      "gen_ai.usage.output_tokens": result.usage.outputTokens,
    });
  } else {
    failSpan(span, outcome);
  }
  span.end();
}

/**
 * Starts an `execute_tool {name}` span (GenAI conventions) for an agent's tool call.
 *
 * @example
 * ```ts
 * await traced(tracer, `execute_tool ${call.name}`, () => run(call), toolSpanOptions(call));
 * ```
 */
export function toolSpanOptions(call: { readonly id: string; readonly name: string }): StartSpanOptions {
  return {
    kind: "internal",
    attributes: {
      "gen_ai.operation.name": "execute_tool",
      "gen_ai.tool.name": call.name,
      "gen_ai.tool.call.id": call.id,
    },
  };
}

/**
 * Registers the LLM figures the dashboards read (`llm_tokens_total{model,type}`,
 * `llm_request_duration_seconds{model,outcome}`) and returns a function that records one call:
 * its tokens when it succeeded, its duration either way.
 *
 * @example
 * ```ts
 * const recordChat = chatMetrics(meter);
 * const began = performance.now();
 * try {
 *   const response = await model.complete(request);
 *   recordChat(model.model, response, (performance.now() - began) / 1000);
 * } catch (error) {
 *   recordChat(model.model, error, (performance.now() - began) / 1000);
 *   throw error;
 * }
 * ```
 */
export function chatMetrics(meter: Meter): (model: string, outcome: GenAiResult | unknown, seconds: number) => void {
  const tokens = meter.counter({
    name: metricNames.llmTokens,
    help: "LLM tokens used, by model and type (input or output).",
    labelNames: ["model", "type"],
  });
  const duration = meter.histogram({
    name: metricNames.llmRequestDuration,
    help: "LLM call time, by model and outcome (ok or error), in seconds.",
    labelNames: ["model", "outcome"],
    buckets: llmBuckets,
  });
  return function recordChat(model, outcome, seconds) {
    const result = outcome as Partial<GenAiResult> | undefined;
    const ok = Boolean(result && typeof result === "object" && result.usage);
    if (ok && result?.usage) {
      tokens.inc({ model, type: "input" }, result.usage.inputTokens);
      tokens.inc({ model, type: "output" }, result.usage.outputTokens);
    }
    duration.observe({ model, outcome: ok ? "ok" : "error" }, seconds);
  };
}
