import { token } from "../token.ts";

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
  /**
   * Ends the span, at `endTime` (epoch milliseconds, fractions allowed) when it ended earlier than
   * the call (a server span recorded once the answer is out), else now; later calls do nothing.
   */
  end(endTime?: number): void;
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

/** One label set of a metric as recorded: a counter's or gauge's value, or a histogram's buckets. */
export interface MetricSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** The count or gauge value; for a histogram, the sum of the observed values. */
  readonly value: number;
  /** Histograms: observations per bucket (not cumulative), one more than `buckets` for those above the last bound. */
  readonly bucketCounts?: readonly number[];
  /** Histograms: how many values were observed. */
  readonly count?: number;
}

/** A metric and its series at one moment, for exporters other than the `/metrics` scrape (OTLP). */
export interface MetricSnapshot {
  readonly name: string;
  readonly help: string;
  readonly kind: "counter" | "gauge" | "histogram";
  /** Histograms: the upper bounds of the buckets, ascending. */
  readonly buckets?: readonly number[];
  readonly series: readonly MetricSeries[];
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
  /**
   * Every metric as recorded now, after running the `collect` callbacks as a scrape does: how the
   * otel plugin exports metrics over OTLP (OTEL_METRICS_EXPORTER=otlp). Optional: a Meter without
   * it is simply not exported. Counters and histograms are cumulative since the process started.
   *
   * @example
   * ```ts
   * for (const metric of (await meter.snapshot?.()) ?? []) logger.debug("metric", { name: metric.name, series: metric.series.length });
   * ```
   */
  snapshot?(): Promise<readonly MetricSnapshot[]>;
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
