import { token } from "../token.ts";

/** Attribute values as OpenTelemetry allows them. */
export type AttributeValue = string | number | boolean | readonly string[] | readonly number[];
export type Attributes = Record<string, AttributeValue | undefined>;

/** An operation being traced. */
export interface Span {
  readonly traceId: string;
  readonly spanId: string;
  setAttribute(key: string, value: AttributeValue): void;
  setAttributes(attributes: Attributes): void;
  recordException(error: unknown): void;
  setStatus(status: "ok" | "error", message?: string): void;
  updateName(name: string): void;
  end(): void;
}

/** How a span relates to its peers (OpenTelemetry SpanKind). */
export type SpanKind = "internal" | "server" | "client" | "producer" | "consumer";

/** Options for {@link Tracer.startSpan}. */
export interface StartSpanOptions {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  /** Headers to continue a remote trace from (`traceparent`, `tracestate`). */
  readonly carrier?: Readonly<Record<string, string>> | Headers;
}

/**
 * The Tracer contract, a small seam over OpenTelemetry so that plugins instrument without
 * importing the SDK. The otel plugin provides it; without it nothing is traced and nothing costs.
 */
export interface Tracer {
  startSpan(name: string, options?: StartSpanOptions): Span;
  /** Runs `fn` with `span` active, so child spans, log lines and `inject` see it. */
  withSpan<T>(span: Span, fn: () => T): T;
  /** Writes the active span's W3C trace context into `carrier` (fetch headers, queue headers). */
  inject(carrier: Record<string, string> | Headers): void;
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

/**
 * The Meter contract: register metrics that the metrics plugin exposes on `/metrics`.
 * Registering the same name twice returns the same metric.
 */
export interface Meter {
  counter(options: MetricOptions): Counter;
  gauge(options: MetricOptions & { readonly collect?: (gauge: Gauge) => void | Promise<void> }): Gauge;
  histogram(options: MetricOptions & { readonly buckets?: readonly number[] }): Histogram;
}

/** The app's meter, provided by the metrics plugin. */
export const Meter = token<Meter>("twelvefold/Meter");
