import { AsyncLocalStorage } from "node:async_hooks";
import type { Attributes, Span, SpanKind, StartSpanOptions, Tracer } from "@twelvefold/kernel";
import { newSpanId, newTraceId } from "./ids.ts";
import { extract, formatTraceparent, type Propagators, setHeader } from "./propagation.ts";
import type { Sampler } from "./sampler.ts";
import {
  type InstrumentationScope,
  NonRecordingSpan,
  RecordingSpan,
  type SpanLimits,
  type SpanLink,
  type SpanSink,
} from "./span.ts";

/** One of the plugin's own spans. */
export type PluginSpan = RecordingSpan | NonRecordingSpan;

/** What a new span inherits from its parent. The plugin's spans are parents as they are. */
export interface ParentContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
  readonly traceState: string | undefined;
  readonly baggage: string | undefined;
  /** True when the parent came from another process. */
  readonly remote?: boolean;
}

/**
 * How the tracer reads a context that is not one of its spans: the @opentelemetry/api bridge
 * stores the API's `Context` objects in the same async storage (see api.ts), so spans of the
 * kernel's seams find an API span as their parent, and API code finds the request span.
 */
export interface ContextReader {
  /** The parent a new span gets in `context`: its span's, or `undefined` for a new trace. */
  parent(context: object): ParentContext | undefined;
  /** The active span in `context`, as a kernel Span (for log correlation and `activeSpan()`). */
  span(context: object): Span | undefined;
  /** `context` with `span` made active, keeping its other values (baggage, an instrumentation's keys). */
  with(context: object, span: PluginSpan): object;
}

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

/** Options of {@link LeanTracer.startChild}, the API bridge's way to start a span. */
export interface ChildSpanOptions {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  /** Epoch milliseconds. */
  readonly startTime?: number;
  readonly scope?: InstrumentationScope;
  readonly links?: readonly SpanLink[];
}

const origin = performance.timeOrigin;
const preciseNow = () => origin + performance.now();

/** True for one of the plugin's own spans (not an API Context the bridge stored). */
export const isPluginSpan = (value: unknown): value is PluginSpan =>
  value instanceof RecordingSpan || value instanceof NonRecordingSpan;

/**
 * The Tracer contract implemented directly on the OpenTelemetry data model: W3C ids and
 * propagation, the specification's samplers, and the active span carried across `await` by
 * AsyncLocalStorage. It does per request only what a span needs, which is what keeps tracing
 * every request affordable; encoding and export happen off the request path, in batches.
 *
 * The async storage holds either one of its spans (what the kernel's seams put there) or, once
 * the @opentelemetry/api bridge is installed, an API `Context`, read through a {@link ContextReader}.
 */
export class LeanTracer implements Tracer, SpanSink {
  readonly limits: SpanLimits;
  readonly #storage = new AsyncLocalStorage<PluginSpan | object>();
  readonly #sampler: Sampler;
  readonly #propagators: Propagators;
  readonly #onEnd: ((span: RecordingSpan) => void) | undefined;
  readonly #describeError: (error: unknown) => Attributes;
  readonly #now: () => number;
  #reader: ContextReader | undefined;
  /** Set once the bridge stored a Context: only then does `withSpan` look at what is active. */
  #contexts = false;
  /** The active context of an OpenTelemetry SDK that owns the global API, read when nothing of ours is active. */
  #external: (() => object | undefined) | undefined;

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
    if (options?.carrier) return this.#start(name, options, extract(options.carrier, this.#propagators), true);
    const parent = options?.root ? undefined : this.#parent();
    return this.#start(name, options, parent, parent?.remote === true);
  }

  /**
   * Starts a span under `parent` (or a new trace when it is `undefined`), for the API bridge,
   * which reads the parent from an explicit `Context`.
   */
  startChild(name: string, options: ChildSpanOptions, parent: ParentContext | undefined): PluginSpan {
    return this.#start(name, options, parent, parent?.remote === true);
  }

  withSpan<T>(span: Span, fn: () => T): T {
    if (!isPluginSpan(span)) return fn();
    if (this.#contexts) {
      const current = this.#storage.getStore();
      if (current !== undefined && !isPluginSpan(current) && this.#reader) {
        return this.#storage.run(this.#reader.with(current, span), fn);
      }
    }
    return this.#storage.run(span, fn);
  }

  inject(carrier: Record<string, string> | Headers): void {
    const span = this.#parent();
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
    const current = this.#storage.getStore();
    if (current === undefined) {
      const external = this.#external?.();
      return external && this.#reader?.span(external);
    }
    return isPluginSpan(current) ? current : this.#reader?.span(current);
  }

  /** What is active now: one of the plugin's spans, a Context the bridge stored, or `undefined`. */
  current(): PluginSpan | object | undefined {
    return this.#storage.getStore();
  }

  /** Runs `fn` with `value` (a span or an API Context) active. */
  runIn<A extends unknown[], R>(value: PluginSpan | object, fn: (...args: A) => R, ...args: A): R {
    if (!isPluginSpan(value)) this.#contexts = true;
    return this.#storage.run(value, fn, ...args);
  }

  /** Makes `value` active for the rest of the current synchronous execution and what it schedules. */
  enter(value: PluginSpan | object | undefined): void {
    if (value !== undefined && !isPluginSpan(value)) this.#contexts = true;
    this.#storage.enterWith(value as PluginSpan | object);
  }

  /**
   * Installs (or with `undefined` removes) the reader of API contexts, and optionally the active
   * context of a foreign SDK that owns the global API, so the seams' spans still join its traces.
   */
  bridge(reader: ContextReader | undefined, external?: () => object | undefined): void {
    this.#reader = reader;
    this.#external = reader ? external : undefined;
  }

  #parent(): ParentContext | undefined {
    const current = this.#storage.getStore();
    if (current === undefined) {
      const external = this.#external?.();
      return external && this.#reader?.parent(external);
    }
    return isPluginSpan(current) ? current : this.#reader?.parent(current);
  }

  #start(
    name: string,
    options: ChildSpanOptions | StartSpanOptions | undefined,
    parent: ParentContext | undefined,
    remote: boolean,
  ): PluginSpan {
    const spanId = newSpanId();
    let traceId: string;
    let parentSpanId: string | undefined;
    let parentRemote = false;
    let traceState: string | undefined;
    let baggage: string | undefined;
    let sampled: boolean;
    if (parent) {
      ({ traceId, traceState, baggage } = parent);
      parentSpanId = parent.spanId;
      parentRemote = remote;
      sampled = this.#sampler(traceId, { sampled: parent.sampled, remote: parentRemote });
    } else {
      traceId = newTraceId();
      sampled = this.#sampler(traceId, undefined);
    }
    if (!sampled || !this.#onEnd) return new NonRecordingSpan({ traceId, spanId, traceState, baggage }, sampled);
    const child = options as ChildSpanOptions | undefined;
    return new RecordingSpan(this, {
      name,
      kind: options?.kind ?? "internal",
      traceId,
      spanId,
      parentSpanId,
      parentRemote,
      traceState,
      baggage,
      attributes: options?.attributes,
      startTime: child?.startTime,
      scope: child?.scope,
      links: child?.links,
    });
  }
}
