import type { Attributes, AttributeValue, Span, SpanKind } from "@twelvefold/kernel";

/** An event recorded inside a span. */
export interface SpanEvent {
  readonly name: string;
  /** Epoch milliseconds (fractional). */
  readonly time: number;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

/** A finished span as exporters see it. Times are epoch milliseconds with sub-millisecond fraction. */
export interface SpanData {
  readonly name: string;
  readonly kind: SpanKind;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  /** True when the parent came from another process (a `traceparent` header). */
  readonly parentRemote: boolean;
  readonly traceState: string | undefined;
  readonly startTime: number;
  readonly endTime: number;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly events: readonly SpanEvent[];
  readonly status: { readonly code: "unset" | "ok" | "error"; readonly message?: string };
  readonly droppedAttributes: number;
  readonly droppedEvents: number;
}

/** Limits from OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, OTEL_SPAN_EVENT_COUNT_LIMIT, OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT. */
export interface SpanLimits {
  readonly attributeCount: number;
  readonly eventCount: number;
  readonly valueLength: number;
}

/** Where ended spans go, and how errors and wall-clock time are read. */
export interface SpanSink {
  readonly limits: SpanLimits;
  now(): number;
  onEnd(span: RecordingSpan): void;
  /** Turns an error into `exception.*` attributes with secrets masked. */
  describeError(error: unknown): Attributes;
}

/** A span that is not sampled: it carries ids for propagation and records nothing. */
export class NonRecordingSpan implements Span {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceState: string | undefined;
  readonly baggage: string | undefined;
  /** The sampling decision that propagates downstream; true when spans are sampled but nothing exports them. */
  readonly sampled: boolean;

  constructor(
    ids: { traceId: string; spanId: string; traceState: string | undefined; baggage: string | undefined },
    sampled: boolean,
  ) {
    const { traceId, spanId, traceState, baggage } = ids;
    this.sampled = sampled;
    this.traceId = traceId;
    this.spanId = spanId;
    this.traceState = traceState;
    this.baggage = baggage;
  }

  isRecording(): boolean {
    return false;
  }
  setAttribute(): void {}
  setAttributes(): void {}
  addEvent(): void {}
  recordException(): void {}
  setStatus(): void {}
  updateName(): void {}
  end(): void {}
}

/** Frozen, so a push that skipped the swap below would throw rather than share events between spans. */
const NO_EVENTS = Object.freeze([]) as unknown as SpanEvent[];
const UNSET = Object.freeze({ code: "unset" as const });

/** A sampled span; once ended it is the {@link SpanData} handed to the exporter. */
export class RecordingSpan implements Span, SpanData {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly parentRemote: boolean;
  readonly traceState: string | undefined;
  readonly baggage: string | undefined;
  readonly kind: SpanKind;
  readonly startTime: number;
  readonly sampled = true;
  name: string;
  endTime = 0;
  attributes: Record<string, AttributeValue> = {};
  // Most spans get no event and keep the unset status: they share these until one is added.
  events: SpanEvent[] = NO_EVENTS;
  status: { readonly code: "unset" | "ok" | "error"; readonly message?: string } = UNSET;
  droppedAttributes = 0;
  droppedEvents = 0;
  #attributeCount = 0;
  #ended = false;
  readonly #sink: SpanSink;

  constructor(
    sink: SpanSink,
    name: string,
    ids: {
      traceId: string;
      spanId: string;
      parentSpanId: string | undefined;
      parentRemote: boolean;
      traceState: string | undefined;
      baggage: string | undefined;
    },
    kind: SpanKind,
    attributes: Attributes | undefined,
  ) {
    this.#sink = sink;
    this.name = name;
    this.traceId = ids.traceId;
    this.spanId = ids.spanId;
    this.parentSpanId = ids.parentSpanId;
    this.parentRemote = ids.parentRemote;
    this.traceState = ids.traceState;
    this.baggage = ids.baggage;
    this.kind = kind;
    this.startTime = sink.now();
    if (attributes) this.setAttributes(attributes);
  }

  isRecording(): boolean {
    return !this.#ended;
  }

  setAttribute(key: string, value: AttributeValue): void {
    if (this.#ended || value === undefined || value === null) return;
    if (!(key in this.attributes)) {
      if (this.#attributeCount >= this.#sink.limits.attributeCount) {
        this.droppedAttributes++;
        return;
      }
      this.#attributeCount++;
    }
    const limit = this.#sink.limits.valueLength;
    this.attributes[key] = typeof value === "string" && value.length > limit ? value.slice(0, limit) : value;
  }

  setAttributes(attributes: Attributes): void {
    for (const key in attributes) {
      const value = attributes[key];
      if (value !== undefined) this.setAttribute(key, value);
    }
  }

  addEvent(name: string, attributes?: Attributes): void {
    if (this.#ended) return;
    if (this.events.length >= this.#sink.limits.eventCount) {
      this.droppedEvents++;
      return;
    }
    const clean: Record<string, AttributeValue> = {};
    if (attributes) for (const key in attributes) if (attributes[key] !== undefined) clean[key] = attributes[key];
    const event = { name, time: this.#sink.now(), attributes: clean };
    if (this.events === NO_EVENTS) this.events = [];
    this.events.push(event);
  }

  recordException(error: unknown): void {
    this.addEvent("exception", this.#sink.describeError(error));
  }

  setStatus(status: "ok" | "error", message?: string): void {
    if (this.#ended || this.status.code === "ok") return;
    this.status = status === "error" && message ? { code: status, message } : { code: status };
  }

  updateName(name: string): void {
    if (!this.#ended) this.name = name;
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.endTime = this.#sink.now();
    this.#sink.onEnd(this);
  }
}
