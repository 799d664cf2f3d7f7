import { token } from "../token.ts";
import type { ChatRequest, ChatUsage, FinishReason } from "./chat-model.ts";
import type { QueueMessage } from "./queue.ts";

/** Attribute values as OpenTelemetry allows them. */
export type AttributeValue = string | number | boolean | readonly string[] | readonly number[];
export type Attributes = Record<string, AttributeValue | undefined>;

/** An operation being traced. */
export interface Span {
  /** 32 lowercase hex digits; all zeros for the no-op span. */
  readonly traceId: string;
  /** 16 lowercase hex digits; all zeros for the no-op span. */
  readonly spanId: string;
  /** False when the sampler dropped the span: what is set on it goes nowhere, so skip costly attributes. */
  isRecording(): boolean;
  setAttribute(key: string, value: AttributeValue): void;
  setAttributes(attributes: Attributes): void;
  /** A timestamped event inside the span (a retry, a streamed first token). */
  addEvent(name: string, attributes?: Attributes): void;
  /** Adds an `exception` event (type, message, stacktrace, secrets masked); does not set the status. */
  recordException(error: unknown): void;
  setStatus(status: "ok" | "error", message?: string): void;
  updateName(name: string): void;
  /** Ends the span; later calls do nothing. */
  end(): void;
}

/** How a span relates to its peers (OpenTelemetry SpanKind). */
export type SpanKind = "internal" | "server" | "client" | "producer" | "consumer";

/** Options for {@link Tracer.startSpan}. */
export interface StartSpanOptions {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  /**
   * Headers to continue a remote trace from (`traceparent`, `tracestate`). When given, the remote
   * context is the parent, not the active span; an absent or invalid `traceparent` starts a new trace.
   */
  readonly carrier?: Readonly<Record<string, string>> | Headers;
  /** Start a new trace even inside an active span. */
  readonly root?: boolean;
}

/**
 * The Tracer contract, a small seam over OpenTelemetry so that plugins instrument without
 * importing the SDK. The otel plugin provides it; without it, use {@link noopTracer}: nothing is
 * traced and nothing costs.
 *
 * Every adapter must guarantee:
 * - a span's parent is the `carrier`'s remote context when given, else the active span;
 * - `withSpan` makes the span active for everything `fn` does, across `await`;
 * - `inject` writes W3C `traceparent` (and `tracestate` when present), or nothing outside a span;
 * - no call throws into the caller.
 */
export interface Tracer {
  startSpan(name: string, options?: StartSpanOptions): Span;
  /** Runs `fn` with `span` active, so child spans, log lines and `inject` see it. */
  withSpan<T>(span: Span, fn: () => T): T;
  /** Writes the active span's W3C trace context into `carrier` (fetch headers, queue headers). */
  inject(carrier: Record<string, string> | Headers): void;
  /** The active span, if any. */
  activeSpan(): Span | undefined;
}

/** The app's tracer, provided by the otel plugin. */
export const Tracer = token<Tracer>("twelvefold/Tracer");

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

/** Label values keyed by label name. */
export type Labels = Readonly<Record<string, string | number>>;

/** A monotonically increasing count. */
export interface Counter {
  inc(labels?: Labels, value?: number): void;
}

/** A value that goes up and down. */
export interface Gauge {
  set(labels: Labels | undefined, value: number): void;
  inc(labels?: Labels, value?: number): void;
  dec(labels?: Labels, value?: number): void;
}

/** A distribution of observed values (durations, sizes) in buckets. */
export interface Histogram {
  observe(labels: Labels | undefined, value: number): void;
}

/** What defines a metric. Names follow Prometheus conventions (`_total`, `_seconds`, `_bytes`). */
export interface MetricOptions {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly string[];
}

/**
 * The Meter contract: register metrics that the metrics plugin exposes on `/metrics`.
 * Registering the same name twice returns the same metric.
 */
export interface Meter {
  counter(options: MetricOptions): Counter;
  /** `collect` runs at each scrape, to read a figure only then (queue depth, pool size). */
  gauge(options: MetricOptions & { readonly collect?: (gauge: Gauge) => void | Promise<void> }): Gauge;
  histogram(options: MetricOptions & { readonly buckets?: readonly number[] }): Histogram;
}

/** The app's meter, provided by the metrics plugin. */
export const Meter = token<Meter>("twelvefold/Meter");

/**
 * The metric names the dashboards in deploy/monitoring/ read. Plugins that record these figures
 * register them under exactly these names and labels.
 */
export const metricNames = {
  /** Counter; labels method, route (the template, never the raw path), status. */
  httpRequests: "http_requests_total",
  /** Histogram in seconds; labels method, route. */
  httpRequestDuration: "http_request_duration_seconds",
  /** Gauge; no labels. */
  httpRequestsInFlight: "http_requests_in_flight",
  /** Gauge; label topic: ready messages. */
  queueDepth: "queue_depth",
  /** Gauge in seconds; label topic: age of the oldest ready message. */
  queueOldestAge: "queue_oldest_age_seconds",
  /** Gauge; label topic: dead-lettered messages. */
  queueDeadLetters: "queue_dead_letters",
  /** Counter; labels topic, outcome (`ack`, `retry`, `dead`). */
  queueJobs: "queue_jobs_total",
  /** Counter; labels model, type (`input` or `output`). */
  llmTokens: "llm_tokens_total",
  /** Histogram in seconds; labels model, outcome (`ok` or `error`). */
  llmRequestDuration: "llm_request_duration_seconds",
  /** Counter; no labels (the limiter runs before routing, so it knows no route template). */
  rateLimitRejections: "rate_limit_rejections_total",
  /** Gauge; label state (`idle`, `busy`, `max`). */
  dbPoolConnections: "db_pool_connections",
} as const;

/** Histogram buckets in seconds for request latencies, from 5 ms to 10 s. */
export const latencyBuckets: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Histogram buckets in seconds for LLM calls, from 100 ms to 2 minutes. */
export const llmBuckets: readonly number[] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120];

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
