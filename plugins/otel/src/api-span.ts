/**
 * The @opentelemetry/api Span over the plugin's spans, and the kernel Span over a span of some
 * other OpenTelemetry SDK: the two directions of the bridge, each a thin delegation.
 */
import {
  createTraceState,
  type Exception,
  type Link,
  type SpanAttributes,
  type SpanAttributeValue,
  type SpanContext,
  type SpanStatus,
  SpanStatusCode,
  type Span as StandardSpan,
  type TimeInput,
} from "@opentelemetry/api";
import type { Attributes, AttributeValue, Span } from "@twelvefold/kernel";
import type { SpanLink } from "./span.ts";
import type { PluginSpan } from "./tracer.ts";

const origin = performance.timeOrigin;

/**
 * A TimeInput as epoch milliseconds, as the OpenTelemetry SDK reads it: `[seconds, nanoseconds]`,
 * a Date, epoch milliseconds, or (a number below the time origin) milliseconds from `performance.now()`.
 */
export function toEpochMillis(time: TimeInput): number {
  if (Array.isArray(time)) return time[0] * 1000 + time[1] / 1e6;
  if (time instanceof Date) return time.getTime();
  return time < origin ? origin + time : time;
}

function isTimeInput(value: unknown): value is TimeInput {
  return typeof value === "number" || value instanceof Date || Array.isArray(value);
}

/** An API exception (an Error, a string, or an object with a message, name or code) as an Error. */
function toError(exception: Exception): unknown {
  if (typeof exception === "string" || exception instanceof Error) return exception;
  const error = new Error(exception.message ?? "");
  error.name = exception.name ?? "Error";
  if (exception.stack) error.stack = exception.stack;
  if (exception.code !== undefined) Object.assign(error, { code: exception.code });
  return error;
}

/** An API Link as the plugin records it. */
export function toLink(link: Link): SpanLink {
  const { context } = link;
  const attributes: Record<string, AttributeValue> = {};
  for (const key in link.attributes) {
    const value = link.attributes[key];
    if (value !== undefined && value !== null) attributes[key] = value as AttributeValue;
  }
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    traceState: context.traceState?.serialize() || undefined,
    sampled: (context.traceFlags & 1) === 1,
    remote: context.isRemote === true,
    attributes,
  };
}

/**
 * The standard API's Span over one of the plugin's spans: what `trace.getTracer(...)` hands out,
 * and what `trace.getActiveSpan()` returns inside a handler (the request span). Every call goes
 * to the plugin's span, which applies the limits and ends up in the same export.
 */
export class ApiSpan implements StandardSpan {
  readonly span: PluginSpan;
  #context: SpanContext | undefined;

  constructor(span: PluginSpan) {
    this.span = span;
  }

  spanContext(): SpanContext {
    if (this.#context) return this.#context;
    const { traceId, spanId, sampled, traceState } = this.span;
    this.#context = { traceId, spanId, traceFlags: sampled ? 1 : 0, isRemote: false };
    if (traceState) this.#context.traceState = createTraceState(traceState);
    return this.#context;
  }

  setAttribute(key: string, value: SpanAttributeValue): this {
    if (value !== undefined && value !== null) this.span.setAttribute(key, value as AttributeValue);
    return this;
  }

  setAttributes(attributes: SpanAttributes): this {
    this.span.setAttributes(attributes as Attributes);
    return this;
  }

  addEvent(name: string, attributesOrTime?: SpanAttributes | TimeInput, time?: TimeInput): this {
    if (isTimeInput(attributesOrTime)) this.span.addEvent(name, undefined, toEpochMillis(attributesOrTime));
    else this.span.addEvent(name, attributesOrTime as Attributes, time === undefined ? undefined : toEpochMillis(time));
    return this;
  }

  addLink(link: Link): this {
    this.span.addLink(toLink(link));
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (status.code === SpanStatusCode.OK) this.span.setStatus("ok");
    else if (status.code === SpanStatusCode.ERROR) this.span.setStatus("error", status.message);
    return this;
  }

  updateName(name: string): this {
    this.span.updateName(name);
    return this;
  }

  end(endTime?: TimeInput): void {
    this.span.end(endTime === undefined ? undefined : toEpochMillis(endTime));
  }

  isRecording(): boolean {
    return this.span.isRecording();
  }

  recordException(exception: Exception, time?: TimeInput): void {
    this.span.recordException(toError(exception), time === undefined ? undefined : toEpochMillis(time));
  }
}

/**
 * The kernel's Span over a span of another OpenTelemetry SDK (or a remote span context that API
 * code made active): what `Tracer.activeSpan()` returns inside it, so log lines carry its ids.
 */
export class ForeignSpan implements Span {
  readonly traceId: string;
  readonly spanId: string;
  readonly #span: StandardSpan;

  constructor(span: StandardSpan) {
    this.#span = span;
    ({ traceId: this.traceId, spanId: this.spanId } = span.spanContext());
  }

  isRecording(): boolean {
    return this.#span.isRecording();
  }
  setAttribute(key: string, value: AttributeValue): void {
    this.#span.setAttribute(key, value);
  }
  setAttributes(attributes: Attributes): void {
    this.#span.setAttributes(attributes);
  }
  addEvent(name: string, attributes?: Attributes): void {
    this.#span.addEvent(name, attributes);
  }
  recordException(error: unknown): void {
    this.#span.recordException(error instanceof Error || typeof error === "string" ? error : String(error));
  }
  setStatus(status: "ok" | "error", message?: string): void {
    this.#span.setStatus({ code: status === "ok" ? SpanStatusCode.OK : SpanStatusCode.ERROR, message });
  }
  updateName(name: string): void {
    this.#span.updateName(name);
  }
  end(): void {
    this.#span.end();
  }
}
