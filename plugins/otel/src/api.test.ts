import { afterEach, describe, expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import {
  type Context,
  type ContextManager,
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { HttpApp, http } from "@twelvefold/http";
import {
  type App,
  type ChatModel,
  createApp,
  definePlugin,
  endChatSpan,
  HttpHandler,
  type Plugin,
  Queue,
  startChatSpan,
  startProducerSpan,
  Tracer,
  traced,
  tracedFetch,
  traceMessage,
} from "@twelvefold/kernel";
import { memoryQueue } from "@twelvefold/kernel/memory";
import type { SpanExporter } from "./batch.ts";
import { otel } from "./plugin.ts";
import { type OtlpReceiver, otlpReceiver } from "./receiver.ts";
import type { SpanData } from "./span.ts";

let receiver: OtlpReceiver | undefined;
const running: App[] = [];
afterEach(async () => {
  for (const app of running.splice(0)) await app.stop();
  await receiver?.close();
  receiver = undefined;
});

function capturing(): SpanExporter & { spans: SpanData[] } {
  const spans: SpanData[] = [];
  return { spans, export: async (batch) => void spans.push(...batch) };
}

async function start(plugins: Plugin[], env: Record<string, string> = {}) {
  const lines: Array<Record<string, unknown>> = [];
  const app = createApp({
    name: "api-app",
    version: "1.0.0",
    plugins,
    env: { ENVIRONMENT: "testing", LOG_LEVEL: "info", PORT: "0", HOST: "127.0.0.1", ...env },
    log: (line) => lines.push(JSON.parse(line)),
  });
  await app.start();
  running.push(app);
  return { app, lines };
}

const INCOMING = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

describe("the standard API inside a request handler", () => {
  test("an API span is a child of the request span and arrives in the same OTLP export; getActiveSpan is the request span", async () => {
    receiver = otlpReceiver();
    const seen: Record<string, unknown> = {};
    const routes = definePlugin({
      name: "routes",
      requires: [HttpApp, Tracer],
      start({ get }) {
        const tracer = get(Tracer);
        get(HttpApp).get("/work", async (c) => {
          const active = trace.getActiveSpan();
          seen.activeSpanId = active?.spanContext().spanId;
          seen.requestSpanId = tracer.activeSpan()?.spanId;
          seen.sameObject = active === trace.getActiveSpan();
          const viaApi: Record<string, string> = {};
          const viaPlugin: Record<string, string> = {};
          propagation.inject(context.active(), viaApi);
          tracer.inject(viaPlugin);
          seen.injected = { viaApi, viaPlugin };
          const result = await trace.getTracer("checkout", "2.1.0").startActiveSpan("price basket", async (span) => {
            await new Promise((resolve) => setTimeout(resolve, 1));
            seen.innerActive = trace.getActiveSpan() === span;
            span.setAttribute("basket.items", 3);
            span.end();
            return 42;
          });
          return c.json({ result });
        });
      },
    });
    const { app } = await start([otel(), http(), routes], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
    const response = await app
      .get(HttpHandler)
      .fetch(new Request("http://local/work", { headers: { traceparent: INCOMING } }));
    expect(await response.json()).toEqual({ result: 42 });
    await app.stop();

    const request = receiver.spans.find((s) => s.kind === 2);
    const child = receiver.spans.find((s) => s.name === "price basket");
    expect(request?.traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(child).toMatchObject({
      traceId: request?.traceId,
      parentSpanId: request?.spanId,
      scope: "checkout",
      kind: 1,
      // The receiver reads OTLP int values as decimal strings.
      attributes: { "basket.items": "3" },
    });
    expect(receiver.requests.map((r) => r.path)).toEqual(["/v1/traces"]);
    expect(seen).toMatchObject({ activeSpanId: request?.spanId, requestSpanId: request?.spanId, sameObject: true });
    expect(seen.innerActive).toBe(true);
    const { viaApi, viaPlugin } = seen.injected as Record<string, Record<string, string>>;
    expect(viaApi).toEqual(viaPlugin);
    expect(viaApi?.traceparent).toBe(`00-0af7651916cd43dd8448eb211c80319c-${request?.spanId}-01`);
  });

  test("baggage that came with the request is the API's baggage, and API baggage goes out with the seams' fetch", async () => {
    const exporter = capturing();
    const echo = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (r) => new Response(r.headers.get("baggage")) });
    let incoming: string | undefined;
    let outgoing: string | undefined;
    const routes = definePlugin({
      name: "routes",
      requires: [HttpApp, Tracer],
      start({ get }) {
        const tracer = get(Tracer);
        get(HttpApp).get("/b", async (c) => {
          const baggage = propagation.getActiveBaggage();
          incoming = baggage?.getEntry("tenant")?.value;
          const more = (baggage ?? propagation.createBaggage()).setEntry("user", { value: "u 1" });
          outgoing = await context.with(propagation.setBaggage(context.active(), more), async () =>
            (await tracedFetch(tracer)(`http://127.0.0.1:${echo.port}/`)).text(),
          );
          return c.text("ok");
        });
      },
    });
    const { app } = await start([otel({ exporter }), http(), routes]);
    await app
      .get(HttpHandler)
      .fetch(new Request("http://local/b", { headers: { traceparent: INCOMING, baggage: "tenant=acme" } }));
    await echo.stop(true);
    expect(incoming).toBe("acme");
    expect(outgoing).toBe("tenant=acme,user=u%201");
  });
});

describe("the kernel's seams inside an API span", () => {
  test("HTTP client, queue, LLM and database spans are children of the active API span, and log lines carry its ids", async () => {
    const exporter = capturing();
    const downstream = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (r) => new Response(r.headers.get("traceparent")),
    });
    const queue = memoryQueue();
    const model: ChatModel = {
      provider: "local",
      model: "echo-1",
      complete: async () => ({
        model: "echo-1",
        content: "hi",
        toolCalls: [],
        finishReason: "stop",
        usage: { inputTokens: 1, outputTokens: 1 },
      }),
      async *stream() {},
    };
    const worker = definePlugin({
      name: "worker",
      requires: [Tracer],
      provides: [Queue],
      start({ get, provide, onStop, logger }) {
        provide(Queue, queue);
        const tracer = get(Tracer);
        const consumer = queue.consume("jobs", (message) =>
          traceMessage(tracer, message, async () => {
            // The worker side of the hop: the API sees the consumer span as active.
            const active = trace.getActiveSpan()?.spanContext();
            logger.info("job ran", { api_span: active?.spanId });
            await queue.enqueue("done", active?.traceId ?? "none");
          }),
        );
        onStop(() => consumer.stop());
      },
    });
    const { app, lines } = await start([otel({ exporter }), worker]);
    const tracer = app.get(Tracer);
    const apiTracer = trace.getTracer("user-code");
    let apiSpanId = "";
    let traceId = "";
    let echoed = "";
    await apiTracer.startActiveSpan("handle order", { kind: SpanKind.SERVER }, async (span) => {
      ({ spanId: apiSpanId, traceId } = span.spanContext());
      app.logger.info("inside the API span");
      echoed = await (await tracedFetch(tracer)(`http://127.0.0.1:${downstream.port}/x`)).text();
      await traced(tracer, "SELECT orders", async () => undefined, { kind: "client" });
      endChatSpan(startChatSpan(tracer, model, {}), await model.complete({ messages: [] }));
      const { span: producer, headers } = startProducerSpan(tracer, "jobs");
      await queue.enqueue("jobs", { order: 1 }, { headers });
      producer.end();
      span.end();
    });
    const workerTrace = await new Promise<string>((resolve) => {
      const c = queue.consume<string>("done", async (m) => {
        resolve(m.payload);
        void c.stop();
      });
    });
    await app.stop();
    await downstream.stop(true);

    const byName = new Map(exporter.spans.map((s) => [s.name, s]));
    for (const name of ["GET", "SELECT orders", "chat echo-1", "send jobs"]) {
      expect({ name, parent: byName.get(name)?.parentSpanId, trace: byName.get(name)?.traceId }).toEqual({
        name,
        parent: apiSpanId,
        trace: traceId,
      });
    }
    const consumer = byName.get("process jobs");
    expect(consumer).toMatchObject({ traceId, parentSpanId: byName.get("send jobs")?.spanId });
    expect(workerTrace).toBe(traceId);
    expect(echoed).toBe(`00-${traceId}-${byName.get("GET")?.spanId}-01`);
    expect(byName.get("handle order")).toMatchObject({ kind: "server", scope: { name: "user-code" } });
    expect(lines.find((l) => l.message === "inside the API span")).toMatchObject({
      trace_id: traceId,
      span_id: apiSpanId,
    });
    expect(lines.find((l) => l.message === "job ran")).toMatchObject({
      trace_id: traceId,
      span_id: consumer?.spanId,
      api_span: consumer?.spanId,
    });
  });

  test("a remote context extracted through the API is the parent of the seams' spans", async () => {
    const exporter = capturing();
    const { app } = await start([otel({ exporter })]);
    const extracted = propagation.extract(ROOT_CONTEXT, {
      traceparent: INCOMING,
      tracestate: "congo=t61",
      baggage: "k=v;p=1",
    });
    expect(propagation.getBaggage(extracted)?.getEntry("k")?.value).toBe("v");
    const tracer = app.get(Tracer);
    const headers: Record<string, string> = {};
    await context.with(extracted, () =>
      traced(tracer, "continue", async () => {
        tracer.inject(headers);
      }),
    );
    await app.stop();
    expect(exporter.spans[0]).toMatchObject({
      name: "continue",
      traceId: "0af7651916cd43dd8448eb211c80319c",
      parentSpanId: "b7ad6b7169203331",
      parentRemote: true,
      traceState: "congo=t61",
    });
    expect(headers).toEqual({
      traceparent: `00-0af7651916cd43dd8448eb211c80319c-${exporter.spans[0]?.spanId}-01`,
      tracestate: "congo=t61",
      baggage: "k=v;p=1",
    });
  });

  test("the context survives await, setTimeout and callbacks bound through the API", async () => {
    const exporter = capturing();
    const { app } = await start([otel({ exporter })]);
    const tracer = app.get(Tracer);
    const seen: Array<string | undefined> = [];
    const emitter = new EventEmitter();
    await trace.getTracer("t").startActiveSpan("outer", async (span) => {
      const id = span.spanContext().spanId;
      await Promise.resolve();
      seen.push(tracer.activeSpan()?.spanId === id ? "await" : undefined);
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          seen.push(trace.getActiveSpan() === span ? "timer" : undefined);
          resolve();
        }, 2),
      );
      const bound = context.bind(context.active(), () => trace.getActiveSpan() === span);
      context.bind(context.active(), emitter);
      const listener = () => seen.push(trace.getActiveSpan() === span ? "emitter" : undefined);
      emitter.on("ping", listener);
      span.end();
      await context.with(ROOT_CONTEXT, async () => {
        seen.push(bound() ? "bound" : undefined);
        emitter.emit("ping");
        emitter.off("ping", listener);
        emitter.emit("ping");
        seen.push(trace.getActiveSpan() === undefined ? "root" : undefined);
      });
    });
    expect(seen).toEqual(["await", "timer", "bound", "emitter", "root"]);
    expect(context.active()).toBe(ROOT_CONTEXT);
  });
});

describe("spans of another SDK", () => {
  test("made active through the API, one is what the kernel's activeSpan() returns, and its calls go to it", async () => {
    const { app } = await start([otel({ exporter: capturing() })]);
    const calls: unknown[][] = [];
    const record =
      (name: string) =>
      (...args: unknown[]) => {
        calls.push([name, ...args]);
        return foreign;
      };
    const foreign = {
      spanContext: () => ({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", traceFlags: 1 }),
      isRecording: () => true,
      setAttribute: record("setAttribute"),
      setAttributes: record("setAttributes"),
      addEvent: record("addEvent"),
      addLink: record("addLink"),
      addLinks: record("addLinks"),
      setStatus: record("setStatus"),
      updateName: record("updateName"),
      end: record("end"),
      recordException: record("recordException"),
    };
    const tracer = app.get(Tracer);
    context.with(trace.setSpan(ROOT_CONTEXT, foreign), () => {
      const span = tracer.activeSpan();
      expect(span).toBe(tracer.activeSpan() as NonNullable<typeof span>);
      expect(span).toMatchObject({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" });
      expect(span?.isRecording()).toBe(true);
      span?.setAttribute("a", 1);
      span?.setAttributes({ b: 2 });
      span?.addEvent("e", { c: 3 });
      span?.recordException(new Error("x"));
      span?.recordException(42);
      span?.setStatus("error", "bad");
      span?.setStatus("ok");
      span?.updateName("n");
      span?.end();
    });
    await app.stop();
    expect(calls.map((c) => c[0])).toEqual([
      "setAttribute",
      "setAttributes",
      "addEvent",
      "recordException",
      "recordException",
      "setStatus",
      "setStatus",
      "updateName",
      "end",
    ]);
    expect(calls[4]).toEqual(["recordException", "42"]);
    expect(calls[5]).toEqual(["setStatus", { code: SpanStatusCode.ERROR, message: "bad" }]);
  });

  test("an invalid span context made active counts as no span: a new trace starts", async () => {
    const exporter = capturing();
    const { app } = await start([otel({ exporter })]);
    const tracer = app.get(Tracer);
    context.with(trace.setSpan(ROOT_CONTEXT, trace.wrapSpanContext(INVALID_SPAN_CONTEXT)), () => {
      expect(tracer.activeSpan()).toBeUndefined();
      tracer.startSpan("fresh").end();
    });
    await app.stop();
    expect(exporter.spans[0]?.parentSpanId).toBeUndefined();
  });
});

describe("attach", () => {
  test("attach makes a context active until its token is disposed", async () => {
    const { app } = await start([otel({ exporter: capturing() })]);
    const span = trace.getTracer("t").startSpan("attached");
    const token = context.attach(trace.setSpan(context.active(), span));
    expect(trace.getActiveSpan()).toBe(span);
    token.dispose();
    token.dispose();
    expect(trace.getActiveSpan()).toBeUndefined();
    span.end();
    await app.stop();
  });
});

describe("API spans", () => {
  test("attributes, events, links, status, exceptions and explicit times reach the exported span", async () => {
    const exporter = capturing();
    const { app } = await start([otel({ exporter })]);
    const tracer = trace.getTracer("lib", "1.0.0");
    const linked = { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: 1 };
    // After the time origin: smaller numbers are read as performance.now() values, as the SDK reads them.
    const began = Date.now();
    const span = tracer.startSpan("op", {
      kind: SpanKind.CLIENT,
      attributes: { a: 1 },
      links: [{ context: linked, attributes: { why: "fan-in" } }],
      startTime: began,
    });
    span
      .setAttribute("b", "x")
      .setAttributes({ c: true, skipped: undefined })
      .addEvent("first", { n: 1 }, new Date(began + 10))
      .addEvent("second", [Math.floor((began + 20) / 1000), ((began + 20) % 1000) * 1e6])
      .addLinks([{ context: { ...linked, spanId: "00f067aa0ba902b7", isRemote: true } }])
      .updateName("renamed")
      .setStatus({ code: SpanStatusCode.ERROR, message: "boom" });
    span.recordException({ name: "PaymentError", message: "card declined", code: "E42" });
    expect(span.isRecording()).toBe(true);
    span.end(began + 100);
    expect(span.isRecording()).toBe(false);
    const unset = tracer.startSpan("unset");
    unset.setStatus({ code: SpanStatusCode.UNSET });
    unset.end();
    await app.stop();
    const [op, plain] = exporter.spans;
    expect(op).toMatchObject({
      name: "renamed",
      kind: "client",
      attributes: { a: 1, b: "x", c: true },
      status: { code: "error", message: "boom" },
      startTime: began,
      endTime: began + 100,
      scope: { name: "lib", version: "1.0.0" },
      parentSpanId: undefined,
    });
    expect(op?.events.map((e) => [e.name, e.time - began])).toEqual([
      ["first", 10],
      ["second", 20],
      ["exception", expect.any(Number)],
    ]);
    expect(op?.events[2]?.attributes).toMatchObject({ "exception.type": "E42", "exception.message": "card declined" });
    const link = { traceId: linked.traceId, traceState: undefined, sampled: true };
    expect(op?.links).toEqual([
      { ...link, spanId: "b7ad6b7169203331", remote: false, attributes: { why: "fan-in" } },
      { ...link, spanId: "00f067aa0ba902b7", remote: true, attributes: {} },
    ]);
    expect(plain?.status.code).toBe("unset");
  });

  test("root: true starts a new trace inside an active span, and the unsampled decision propagates", async () => {
    const exporter = capturing();
    const { app } = await start([otel({ exporter })]);
    const tracer = trace.getTracer("t");
    let inner = "";
    let outer = "";
    tracer.startActiveSpan("outer", (span) => {
      outer = span.spanContext().traceId;
      const job = tracer.startSpan("job", { root: true });
      inner = job.spanContext().traceId;
      job.end();
      span.end();
    });
    const unsampled = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      traceFlags: 0,
      isRemote: true,
    });
    const quiet = tracer.startSpan("quiet", {}, unsampled);
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(ROOT_CONTEXT, quiet), carrier);
    quiet.end();
    await app.stop();
    expect(inner).not.toBe(outer);
    expect(quiet.isRecording()).toBe(false);
    expect(carrier.traceparent).toBe(`00-0af7651916cd43dd8448eb211c80319c-${quiet.spanContext().spanId}-00`);
    expect(exporter.spans.map((s) => s.name)).toEqual(["job", "outer"]);
  });
});

describe("registration", () => {
  test("stop unregisters the tracer, context manager and propagator; tracers handed out before record nothing", async () => {
    const exporter = capturing();
    const early = trace.getTracer("early");
    const { app } = await start([otel({ exporter })]);
    early.startSpan("while running").end();
    expect(propagation.fields()).toEqual(["traceparent", "tracestate", "baggage"]);
    await app.stop();
    const late = early.startSpan("after stop");
    expect(late.isRecording()).toBe(false);
    late.end();
    expect(trace.getTracer("new").startSpan("x").isRecording()).toBe(false);
    expect(propagation.fields()).toEqual([]);
    expect(exporter.spans.map((s) => s.name)).toEqual(["while running"]);
    // The next app registers again.
    const second = await start([otel({ exporter: capturing() })]);
    expect(trace.getTracer("new").startSpan("y").isRecording()).toBe(true);
    await second.app.stop();
  });

  test("OTEL_PROPAGATORS=none: the API writes no trace context either", async () => {
    const { app } = await start([otel({ exporter: capturing() })], { OTEL_PROPAGATORS: "none" });
    const carrier: Record<string, string> = {};
    trace.getTracer("t").startActiveSpan("s", (span) => {
      propagation.inject(context.active(), carrier);
      span.end();
    });
    expect(carrier).toEqual({});
    expect(propagation.fields()).toEqual([]);
    await app.stop();
  });

  test("OTEL_SDK_DISABLED registers nothing", async () => {
    const { app } = await start([otel()], { OTEL_SDK_DISABLED: "true" });
    expect(trace.getTracer("t").startSpan("x").isRecording()).toBe(false);
    await app.stop();
  });

  test("an SDK that owns the global API keeps it; the seams' spans and log lines follow its active span", async () => {
    // A foreign SDK's context manager: synchronous, enough for the check.
    const stack: Context[] = [];
    const foreign: ContextManager = {
      active: () => stack.at(-1) ?? ROOT_CONTEXT,
      with(ctx, fn, thisArg, ...args) {
        stack.push(ctx);
        try {
          return fn.apply(thisArg, args);
        } finally {
          stack.pop();
        }
      },
      bind: (_ctx, target) => target,
      enable() {
        return this;
      },
      disable() {
        return this;
      },
    };
    expect(context.setGlobalContextManager(foreign)).toBe(true);
    try {
      const exporter = capturing();
      const { app, lines } = await start([otel({ exporter })]);
      expect(lines.find((l) => String(l.message).startsWith("another OpenTelemetry SDK"))).toMatchObject({
        taken: ["context"],
      });
      const tracer = app.get(Tracer);
      const parent = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
        spanId: "00f067aa0ba902b7",
        traceFlags: 1,
      });
      context.with(parent, () => {
        app.logger.info("inside foreign");
        tracer.startSpan("seam").end();
      });
      await app.stop();
      expect(exporter.spans[0]).toMatchObject({
        traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
        parentSpanId: "00f067aa0ba902b7",
      });
      expect(lines.find((l) => l.message === "inside foreign")).toMatchObject({
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
        span_id: "00f067aa0ba902b7",
      });
      expect(context.active()).toBe(ROOT_CONTEXT);
    } finally {
      context.disable();
    }
  });

  test("a kernel span made active inside an API context keeps the context's other values", async () => {
    const { app } = await start([otel({ exporter: capturing() })]);
    const key = Symbol("instrumentation key");
    const tracer = app.get(Tracer);
    let kept: unknown;
    await context.with(context.active().setValue(key, "kept"), () =>
      traced(tracer, "inner", async () => {
        kept = context.active().getValue(key);
      }),
    );
    expect(kept).toBe("kept");
    await app.stop();
  });
});
