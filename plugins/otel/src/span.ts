import type { Attributes, AttributeValue, Span, SpanKind } from "@twelvefold/kernel";

/** An event recorded inside a span. */
export interface SpanEvent {
  readonly name: string;
  /** Epoch milliseconds (fractional). */
  readonly time: number;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

/** A link from a span to another span's context (a batch job to the requests that fed it). */
export interface SpanLink {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceState: string | undefined;
  readonly sampled: boolean;
  readonly remote: boolean;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

/** Who made a span: `@twelvefold/otel` for the kernel's seams, the tracer's name for `trace.getTracer(name)`. */
export interface InstrumentationScope {
  readonly name: string;
  readonly version?: string;
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
  readonly links: readonly SpanLink[];
  readonly status: { readonly code: "unset" | "ok" | "error"; readonly message?: string };
  readonly droppedAttributes: number;
  readonly droppedEvents: number;
  readonly droppedLinks: number;
  /** `undefined` for the plugin's own spans (exported under `@twelvefold/otel`). */
  readonly scope: InstrumentationScope | undefined;
}

/** Limits from OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, OTEL_SPAN_EVENT_COUNT_LIMIT, OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT. */
export interface SpanLimits {
  readonly attributeCount: number;
  readonly eventCount: number;
  readonly valueLength: number;
  /** OTEL_SPAN_LINK_COUNT_LIMIT; 128 when not given. */
  readonly linkCount?: number;
}

/** Where ended spans go, and how errors and wall-clock time are read. */
export interface SpanSink {
  readonly limits: SpanLimits;
  now(): number;
  onEnd(span: RecordingSpan): void;
  /** Turns an error into `exception.*` attributes with secrets masked. */
  describeError(error: unknown): Attributes;
}

/** What a new span needs to know: its ids and parent, and what the API gave (start time, scope). */
export interface SpanInit {
  readonly name: string;
  readonly kind: SpanKind;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly parentRemote: boolean;
  readonly traceState: string | undefined;
  readonly baggage: string | undefined;
  readonly attributes: Attributes | undefined;
  /** Epoch milliseconds; now when not given. */
  readonly startTime?: number;
  readonly scope?: InstrumentationScope;
  readonly links?: readonly SpanLink[];
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
  addLink(): void {}
  end(): void {}
}

/** Frozen, so a push that skipped the swap below would throw rather than share events between spans. */
const NO_EVENTS = Object.freeze([]) as unknown as SpanEvent[];
const UNSET = Object.freeze({ code: "unset" as const });
const NO_LINKS = Object.freeze([]) as unknown as SpanLink[];

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
  links: SpanLink[] = NO_LINKS;
  status: { readonly code: "unset" | "ok" | "error"; readonly message?: string } = UNSET;
  droppedAttributes = 0;
  droppedEvents = 0;
  droppedLinks = 0;
  readonly scope: InstrumentationScope | undefined;
  #attributeCount = 0;
  #ended = false;
  readonly #sink: SpanSink;

  constructor(sink: SpanSink, init: SpanInit) {
    this.#sink = sink;
    this.name = init.name;
    this.traceId = init.traceId;
    this.spanId = init.spanId;
    this.parentSpanId = init.parentSpanId;
    this.parentRemote = init.parentRemote;
    this.traceState = init.traceState;
    this.baggage = init.baggage;
    this.kind = init.kind;
    this.scope = init.scope;
    this.startTime = init.startTime ?? sink.now();
    if (init.attributes) this.setAttributes(init.attributes);
    if (init.links) for (const link of init.links) this.addLink(link);
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

  /** `time` in epoch milliseconds, for events the API reports after the fact; now when not given. */
  addEvent(name: string, attributes?: Attributes, time?: number): void {
    if (this.#ended) return;
    if (this.events.length >= this.#sink.limits.eventCount) {
      this.droppedEvents++;
      return;
    }
    const clean: Record<string, AttributeValue> = {};
    if (attributes) for (const key in attributes) if (attributes[key] !== undefined) clean[key] = attributes[key];
    const event = { name, time: time ?? this.#sink.now(), attributes: clean };
    if (this.events === NO_EVENTS) this.events = [];
    this.events.push(event);
  }

  recordException(error: unknown, time?: number): void {
    this.addEvent("exception", this.#sink.describeError(error), time);
  }

  addLink(link: SpanLink): void {
    if (this.#ended) return;
    if (this.links.length >= (this.#sink.limits.linkCount ?? 128)) {
      this.droppedLinks++;
      return;
    }
    if (this.links === NO_LINKS) this.links = [];
    this.links.push(link);
  }

  setStatus(status: "ok" | "error", message?: string): void {
    if (this.#ended || this.status.code === "ok") return;
    this.status = status === "error" && message ? { code: status, message } : { code: status };
  }

  updateName(name: string): void {
    if (!this.#ended) this.name = name;
  }

  /** `time` in epoch milliseconds, for a span the API ends after the fact; now when not given. */
  end(time?: number): void {
    if (this.#ended) return;
    this.#ended = true;
    this.endTime = time ?? this.#sink.now();
    this.#sink.onEnd(this);
  }
}
