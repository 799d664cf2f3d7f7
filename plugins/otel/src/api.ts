/**
 * The bridge to the standard @opentelemetry/api: the plugin's tracer as the global
 * TracerProvider, a context manager over the tracer's own async storage, and the plugin's W3C
 * propagator as the global propagator. Loaded only when the plugin starts with tracing on.
 */
import { EventEmitter } from "node:events";
import {
  type Context,
  type ContextManagementToken,
  type ContextManager,
  context as contextApi,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type SpanOptions,
  type Span as StandardSpan,
  type Tracer as StandardTracer,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import type { Logger, Span, SpanKind } from "@twelvefold/kernel";
import { ApiSpan, ForeignSpan, toEpochMillis, toLink } from "./api-span.ts";
import { baggageFromHeader, serializeBaggage, W3CPropagator } from "./global-propagator.ts";
import type { Propagators } from "./propagation.ts";
import type { InstrumentationScope } from "./span.ts";
import { type ContextReader, isPluginSpan, type LeanTracer, type ParentContext, type PluginSpan } from "./tracer.ts";

const KINDS: readonly SpanKind[] = ["internal", "server", "client", "producer", "consumer"];

/** Reads API contexts for the tracer, and makes its spans into API contexts, with the views cached per span. */
class Reader implements ContextReader {
  readonly #views = new WeakMap<object, ApiSpan>();
  readonly #contexts = new WeakMap<PluginSpan, Context>();
  readonly #foreign = new WeakMap<StandardSpan, ForeignSpan>();

  /** The API view of one of the plugin's spans; the same object every time. */
  view(span: PluginSpan): ApiSpan {
    let view = this.#views.get(span);
    if (!view) {
      view = new ApiSpan(span);
      this.#views.set(span, view);
    }
    return view;
  }

  /** A context with only `span` in it: what `context.active()` returns when the kernel's seams made it active. */
  contextOf(span: PluginSpan): Context {
    let context = this.#contexts.get(span);
    if (!context) {
      context = trace.setSpan(ROOT_CONTEXT, this.view(span));
      // The baggage that came in with the request is the API's baggage inside it.
      const baggage = span.baggage ? baggageFromHeader(span.baggage) : undefined;
      if (baggage) context = propagation.setBaggage(context, baggage);
      this.#contexts.set(span, context);
    }
    return context;
  }

  parent(context: object): ParentContext | undefined {
    const ctx = context as Context;
    const span = trace.getSpan(ctx);
    let parent: ParentContext | undefined;
    if (span instanceof ApiSpan) parent = span.span;
    else if (span) {
      const sc = span.spanContext();
      if (!isSpanContextValid(sc)) return undefined;
      parent = {
        traceId: sc.traceId,
        spanId: sc.spanId,
        sampled: (sc.traceFlags & 1) === 1,
        traceState: sc.traceState?.serialize() || undefined,
        baggage: undefined,
        remote: sc.isRemote === true,
      };
    } else return undefined;
    // Baggage set through the API travels with the trace from here on, as the API's own propagators send it.
    const baggage = propagation.getBaggage(ctx);
    return baggage ? { ...parent, baggage: serializeBaggage(baggage) } : parent;
  }

  span(context: object): Span | undefined {
    const span = trace.getSpan(context as Context);
    if (span === undefined) return undefined;
    if (span instanceof ApiSpan) return span.span;
    if (!isSpanContextValid(span.spanContext())) return undefined;
    let foreign = this.#foreign.get(span);
    if (!foreign) {
      foreign = new ForeignSpan(span);
      this.#foreign.set(span, foreign);
    }
    return foreign;
  }

  with(context: object, span: PluginSpan): object {
    return trace.setSpan(context as Context, this.view(span));
  }
}

const ADD_LISTENER = ["addListener", "on", "once", "prependListener", "prependOnceListener"] as const;

/**
 * The context manager of the global API, over the tracer's own AsyncLocalStorage: the request
 * span the http plugin made active is `context.active()`'s span, and a context made active with
 * `context.with` is where the kernel's seams find their parent. AsyncLocalStorage carries both
 * across `await`, timers and callbacks on Bun, Node and Deno alike.
 */
export class BridgeContextManager implements ContextManager {
  readonly #tracer: LeanTracer;
  readonly #reader: Reader;
  readonly #listeners = Symbol("twelvefold.otel.listeners");

  constructor(tracer: LeanTracer, reader: Reader) {
    this.#tracer = tracer;
    this.#reader = reader;
  }

  active(): Context {
    const current = this.#tracer.current();
    if (current === undefined) return ROOT_CONTEXT;
    if (isPluginSpan(current)) return this.#reader.contextOf(current);
    return current as Context;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const callback = thisArg == null ? fn : (fn.bind(thisArg) as F);
    return this.#tracer.runIn(context, callback, ...args);
  }

  bind<T>(context: Context, target: T): T {
    if (target instanceof EventEmitter) return this.#bindEmitter(context, target) as T;
    if (typeof target !== "function") return target;
    const manager = this;
    const fn = target as unknown as (...args: unknown[]) => unknown;
    const bound = function bound(this: unknown, ...args: unknown[]) {
      return manager.with(context, () => fn.apply(this, args));
    };
    Object.defineProperty(bound, "length", { value: fn.length });
    return bound as T;
  }

  attach(context: Context): ContextManagementToken {
    const previous = this.#tracer.current();
    this.#tracer.enter(context);
    let disposed = false;
    return {
      dispose: () => {
        if (disposed) return;
        disposed = true;
        this.#tracer.enter(previous);
      },
    };
  }

  enable(): this {
    return this;
  }

  disable(): this {
    return this;
  }

  /** Listeners added to `emitter` from now on run in `context` (what instrumentations ask of request objects). */
  #bindEmitter(context: Context, emitter: EventEmitter): EventEmitter {
    const record = emitter as unknown as Record<symbol, Map<string | symbol, WeakMap<object, unknown>> | undefined>;
    if (record[this.#listeners]) return emitter;
    const wrapped = new Map<string | symbol, WeakMap<object, unknown>>();
    record[this.#listeners] = wrapped;
    const target = emitter as unknown as Record<string, (...args: unknown[]) => unknown>;
    const manager = this;
    let adding = false;
    for (const method of ADD_LISTENER) {
      const original = target[method];
      if (typeof original !== "function") continue;
      target[method] = function addBound(this: unknown, event: unknown, listener: unknown) {
        // `once` adds through `on`: wrap only the outer call, or removeListener cannot find it.
        if (adding) return original.call(this, event, listener);
        const bound = manager.bind(context, listener);
        let forEvent = wrapped.get(event as string);
        if (!forEvent) {
          forEvent = new WeakMap();
          wrapped.set(event as string, forEvent);
        }
        forEvent.set(listener as object, bound);
        adding = true;
        try {
          return original.call(this, event, bound);
        } finally {
          adding = false;
        }
      };
    }
    for (const method of ["removeListener", "off"] as const) {
      const original = target[method];
      if (typeof original !== "function") continue;
      target[method] = function removeBound(this: unknown, event: unknown, listener: unknown) {
        return original.call(this, event, wrapped.get(event as string)?.get(listener as object) ?? listener);
      };
    }
    return emitter;
  }
}

/** Tracers of the global API, one per instrumentation scope, all over the plugin's tracer. */
class BridgeTracerProvider implements TracerProvider {
  readonly #tracers = new Map<string, BridgeTracer>();
  readonly #tracer: LeanTracer;
  readonly #reader: Reader;
  stopped = false;

  constructor(tracer: LeanTracer, reader: Reader) {
    this.#tracer = tracer;
    this.#reader = reader;
  }

  getTracer(name: string, version?: string): StandardTracer {
    const key = `${name}@${version ?? ""}`;
    let tracer = this.#tracers.get(key);
    if (!tracer) {
      // One scope object per tracer: the OTLP encoder groups spans by scope identity.
      const scope: InstrumentationScope = version ? { name, version } : { name };
      tracer = new BridgeTracer(this, { tracer: this.#tracer, reader: this.#reader, scope });
      this.#tracers.set(key, tracer);
    }
    return tracer;
  }
}

/** The API's Tracer: spans are the plugin's, their parent read from the given or active context. */
class BridgeTracer implements StandardTracer {
  readonly #provider: BridgeTracerProvider;
  readonly #tracer: LeanTracer;
  readonly #reader: Reader;
  readonly #scope: InstrumentationScope;

  constructor(
    provider: BridgeTracerProvider,
    parts: { tracer: LeanTracer; reader: Reader; scope: InstrumentationScope },
  ) {
    this.#provider = provider;
    this.#tracer = parts.tracer;
    this.#reader = parts.reader;
    this.#scope = parts.scope;
  }

  startSpan(name: string, options: SpanOptions = {}, context: Context = contextApi.active()): StandardSpan {
    // A tracer handed out before the app stopped keeps working, recording nothing.
    if (this.#provider.stopped) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    const parent = options.root ? undefined : this.#reader.parent(context);
    const span = this.#tracer.startChild(
      name,
      {
        kind: KINDS[options.kind ?? 0] ?? "internal",
        attributes: options.attributes as Parameters<LeanTracer["startChild"]>[1]["attributes"],
        startTime: options.startTime === undefined ? undefined : toEpochMillis(options.startTime),
        scope: this.#scope,
        links: options.links?.map(toLink),
      },
      parent,
    );
    return new ApiSpan(span);
  }

  startActiveSpan<F extends (span: StandardSpan) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: StandardSpan) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: StandardSpan) => unknown>(
    name: string,
    options: SpanOptions,
    context: Context,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: StandardSpan) => unknown>(
    name: string,
    ...rest: [F] | [SpanOptions, F] | [SpanOptions, Context, F]
  ): ReturnType<F> {
    const fn = rest[rest.length - 1] as F;
    const options = rest.length > 1 ? (rest[0] as SpanOptions) : undefined;
    const parent = rest.length > 2 ? (rest[1] as Context) : contextApi.active();
    const span = this.startSpan(name, options, parent);
    return contextApi.with(trace.setSpan(parent, span), () => fn(span) as ReturnType<F>);
  }
}

/** The global API slots as every copy of @opentelemetry/api 1.x shares them. */
type GlobalSlots = { trace?: unknown; context?: unknown; propagation?: unknown };
const API_KEY = Symbol.for("opentelemetry.js.api.1");
const slots = (): GlobalSlots | undefined => (globalThis as Record<symbol, GlobalSlots | undefined>)[API_KEY];

/** What {@link installGlobalApi} needs. */
export interface GlobalApiOptions {
  readonly propagators: Propagators;
  readonly logger: Logger;
}

/**
 * Makes the plugin's tracer the global TracerProvider, context manager and propagator of
 * @opentelemetry/api, and returns the function that removes them again (at stop).
 *
 * When another SDK already owns the global API, it is left alone: the plugin's spans then read
 * that SDK's active context, so the kernel's seams still join its traces, and a log line says so.
 */
export function installGlobalApi(tracer: LeanTracer, options: GlobalApiOptions): () => void {
  const reader = new Reader();
  const taken = slots();
  if (taken?.trace || taken?.context || taken?.propagation) {
    options.logger.info("another OpenTelemetry SDK owns the global API: following its active context", {
      taken: Object.keys(taken).filter((key) => key !== "version"),
    });
    tracer.bridge(reader, () => contextApi.active());
    return () => tracer.bridge(undefined);
  }
  const provider = new BridgeTracerProvider(tracer, reader);
  const manager = new BridgeContextManager(tracer, reader);
  const propagator = new W3CPropagator(options.propagators, (ctx) => reader.parent(ctx));
  tracer.bridge(reader);
  trace.setGlobalTracerProvider(provider);
  contextApi.setGlobalContextManager(manager);
  propagation.setGlobalPropagator(propagator);
  return function uninstallGlobalApi() {
    provider.stopped = true;
    tracer.bridge(undefined);
    // Only what is still ours: a later SDK that took a slot over keeps it.
    const now = slots();
    const delegate = (trace.getTracerProvider() as { getDelegate?: () => unknown }).getDelegate?.();
    if (delegate === provider) trace.disable();
    if (now?.context === manager) contextApi.disable();
    if (now?.propagation === propagator) propagation.disable();
  };
}
