import { AsyncLocalStorage } from "node:async_hooks";
import type { Attributes, Span, StartSpanOptions, Tracer } from "@twelvefold/kernel";
import { newSpanId, newTraceId } from "./ids.ts";
import { extract, formatTraceparent, type Propagators, setHeader } from "./propagation.ts";
import type { Sampler } from "./sampler.ts";
import { NonRecordingSpan, RecordingSpan, type SpanLimits, type SpanSink } from "./span.ts";

type AnySpan = RecordingSpan | NonRecordingSpan;

/** What {@link LeanTracer} needs. */
export interface LeanTracerOptions {
  readonly sampler: Sampler;
  readonly propagators: Propagators;
  readonly limits: SpanLimits;
  /** Receives every ended, sampled span; without it spans carry context (propagation, log ids) and record nothing. */
  readonly onEnd?: (span: RecordingSpan) => void;
  /** Turns an error into `exception.*` attributes with secrets masked. */
  readonly describeError: (error: unknown) => Attributes;
  /** Wall clock in epoch milliseconds with a sub-millisecond fraction (injectable for tests). */
  readonly now?: () => number;
}

const origin = performance.timeOrigin;
const preciseNow = () => origin + performance.now();

/**
 * The Tracer contract implemented directly on the OpenTelemetry data model: W3C ids and
 * propagation, the specification's samplers, and the active span carried across `await` by
 * AsyncLocalStorage. It does per request only what a span needs, which is what keeps tracing
 * every request affordable; encoding and export happen off the request path, in batches.
 */
export class LeanTracer implements Tracer, SpanSink {
  readonly limits: SpanLimits;
  readonly #storage = new AsyncLocalStorage<AnySpan>();
  readonly #sampler: Sampler;
  readonly #propagators: Propagators;
  readonly #onEnd: ((span: RecordingSpan) => void) | undefined;
  readonly #describeError: (error: unknown) => Attributes;
  readonly #now: () => number;

  constructor(options: LeanTracerOptions) {
    this.limits = options.limits;
    this.#sampler = options.sampler;
    this.#propagators = options.propagators;
    this.#onEnd = options.onEnd;
    this.#describeError = options.describeError;
    this.#now = options.now ?? preciseNow;
  }

  now(): number {
    return this.#now();
  }

  onEnd(span: RecordingSpan): void {
    this.#onEnd?.(span);
  }

  describeError(error: unknown): Attributes {
    return this.#describeError(error);
  }

  startSpan(name: string, options?: StartSpanOptions): Span {
    const spanId = newSpanId();
    const kind = options?.kind ?? "internal";
    let traceId: string;
    let parentSpanId: string | undefined;
    let parentRemote = false;
    let traceState: string | undefined;
    let baggage: string | undefined;
    let sampled: boolean;
    const remote = options?.carrier ? extract(options.carrier, this.#propagators) : undefined;
    const local = options?.carrier || options?.root ? undefined : this.#storage.getStore();
    if (remote) {
      ({ traceId, traceState, baggage } = remote);
      parentSpanId = remote.spanId;
      parentRemote = true;
      sampled = this.#sampler(traceId, { sampled: remote.sampled, remote: true });
    } else if (local) {
      ({ traceId, traceState, baggage } = local);
      parentSpanId = local.spanId;
      sampled = this.#sampler(traceId, { sampled: local.sampled, remote: false });
    } else {
      traceId = newTraceId();
      sampled = this.#sampler(traceId, undefined);
    }
    if (!sampled || !this.#onEnd) return new NonRecordingSpan({ traceId, spanId, traceState, baggage }, sampled);
    const ids = { traceId, spanId, parentSpanId, parentRemote, traceState, baggage };
    return new RecordingSpan(this, name, ids, kind, options?.attributes);
  }

  withSpan<T>(span: Span, fn: () => T): T {
    if (!(span instanceof RecordingSpan || span instanceof NonRecordingSpan)) return fn();
    return this.#storage.run(span, fn);
  }

  inject(carrier: Record<string, string> | Headers): void {
    const span = this.#storage.getStore();
    if (!span || !this.#propagators.traceContext) return;
    try {
      setHeader(carrier, "traceparent", formatTraceparent(span.traceId, span.spanId, span.sampled));
      if (span.traceState) setHeader(carrier, "tracestate", span.traceState);
      if (span.baggage && this.#propagators.baggage) setHeader(carrier, "baggage", span.baggage);
    } catch {
      // A frozen or immutable carrier (a Request's own headers) cannot take the context; the call goes on untraced.
    }
  }

  activeSpan(): Span | undefined {
    return this.#storage.getStore();
  }
}
