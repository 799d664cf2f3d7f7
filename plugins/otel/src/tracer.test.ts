import { describe, expect, test } from "bun:test";
import { failSpan, traced } from "@twelvefold/kernel";
import { createSampler } from "./sampler.ts";
import type { RecordingSpan } from "./span.ts";
import { LeanTracer, type LeanTracerOptions } from "./tracer.ts";

const INCOMING = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

function setup(options: Partial<LeanTracerOptions> = {}) {
  const ended: RecordingSpan[] = [];
  let clock = 1_000;
  const tracer = new LeanTracer({
    sampler: createSampler("parentbased_always_on", undefined),
    propagators: { traceContext: true, baggage: true },
    limits: { attributeCount: 128, eventCount: 128, valueLength: 4096 },
    onEnd: (span) => ended.push(span),
    describeError: (error) => ({ "exception.message": String((error as Error).message) }),
    now: () => clock++,
    ...options,
  });
  return { tracer, ended };
}

describe("LeanTracer", () => {
  test("a span started inside withSpan is its child, across awaits", async () => {
    const { tracer, ended } = setup();
    const parent = tracer.startSpan("parent", { kind: "server" });
    await tracer.withSpan(parent, async () => {
      await Promise.resolve();
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect(tracer.activeSpan()).toBe(parent);
      tracer.startSpan("child").end();
    });
    parent.end();
    const [child, root] = ended;
    expect(child).toMatchObject({
      name: "child",
      traceId: parent.traceId,
      parentSpanId: parent.spanId,
      kind: "internal",
    });
    expect(root).toMatchObject({ name: "parent", parentSpanId: undefined, kind: "server" });
    expect(root?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(root?.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(tracer.activeSpan()).toBeUndefined();
  });

  test("concurrent requests keep their own active span", async () => {
    const { tracer } = setup();
    const seen = await Promise.all(
      [1, 2, 3].map((n) => {
        const span = tracer.startSpan(`r${n}`);
        return tracer.withSpan(span, async () => {
          await new Promise((resolve) => setTimeout(resolve, 3 - n));
          return tracer.activeSpan() === span;
        });
      }),
    );
    expect(seen).toEqual([true, true, true]);
  });

  test("an incoming traceparent continues the trace, and inject passes it on with tracestate and baggage", () => {
    const { tracer, ended } = setup();
    const server = tracer.startSpan("GET /", {
      kind: "server",
      carrier: new Headers({ traceparent: INCOMING, tracestate: "congo=t61", baggage: "tenant=acme" }),
    });
    const outgoing: Record<string, string> = {};
    tracer.withSpan(server, () => tracer.inject(outgoing));
    server.end();
    expect(ended[0]).toMatchObject({
      traceId: "0af7651916cd43dd8448eb211c80319c",
      parentSpanId: "b7ad6b7169203331",
      parentRemote: true,
      traceState: "congo=t61",
    });
    expect(outgoing).toEqual({
      traceparent: `00-0af7651916cd43dd8448eb211c80319c-${server.spanId}-01`,
      tracestate: "congo=t61",
      baggage: "tenant=acme",
    });
  });

  test("an invalid traceparent starts a new trace; inject outside a span writes nothing", () => {
    const { tracer } = setup();
    const span = tracer.startSpan("GET /", { carrier: { traceparent: "00-bogus" } });
    expect(span.traceId).not.toBe("0af7651916cd43dd8448eb211c80319c");
    const headers = new Headers();
    tracer.inject(headers);
    expect([...headers]).toEqual([]);
  });

  test("an unsampled parent yields non-recording children that still propagate the decision", () => {
    const { tracer, ended } = setup();
    const server = tracer.startSpan("GET /", { carrier: { traceparent: INCOMING.replace(/01$/, "00") } });
    expect(server.isRecording()).toBe(false);
    const headers: Record<string, string> = {};
    tracer.withSpan(server, () => {
      tracer.startSpan("child").end();
      tracer.inject(headers);
    });
    server.end();
    expect(ended).toHaveLength(0);
    expect(headers.traceparent).toBe(`00-0af7651916cd43dd8448eb211c80319c-${server.spanId}-00`);
  });

  test("calls on an unsampled span are accepted and go nowhere", () => {
    const { tracer, ended } = setup({ sampler: createSampler("always_off", undefined) });
    const span = tracer.startSpan("dropped");
    span.setAttribute("a", 1);
    span.setAttributes({ b: 2 });
    span.addEvent("e");
    span.recordException(new Error("x"));
    span.setStatus("error");
    span.updateName("renamed");
    span.end();
    expect(span.isRecording()).toBe(false);
    expect(ended).toHaveLength(0);
  });

  test("with no exporter, spans carry ids and sampling for propagation but record nothing", () => {
    const { tracer } = setup({ onEnd: undefined });
    const span = tracer.startSpan("GET /");
    expect(span.isRecording()).toBe(false);
    const headers: Record<string, string> = {};
    tracer.withSpan(span, () => tracer.inject(headers));
    expect(headers.traceparent).toBe(`00-${span.traceId}-${span.spanId}-01`);
  });

  test("root: true starts a new trace inside an active span", () => {
    const { tracer } = setup();
    const outer = tracer.startSpan("outer");
    const inner = tracer.withSpan(outer, () => tracer.startSpan("job", { root: true }));
    expect(inner.traceId).not.toBe(outer.traceId);
  });

  test("attributes, events, status and exceptions are recorded until end, within the limits", () => {
    const { tracer, ended } = setup({ limits: { attributeCount: 3, eventCount: 1, valueLength: 5 } });
    const span = tracer.startSpan("op", { attributes: { a: 1, skipped: undefined } });
    span.setAttributes({ b: "long value", c: true, d: "dropped" });
    span.setAttribute("a", 2);
    span.addEvent("first", { n: 1 });
    span.addEvent("second");
    span.updateName("renamed");
    failSpan(span, new Error("boom"));
    span.end();
    span.setAttribute("late", 1);
    span.end();
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({
      name: "renamed",
      attributes: { a: 2, b: "long ", c: true },
      droppedAttributes: 2,
      droppedEvents: 2,
      status: { code: "error", message: "boom" },
    });
    expect(ended[0]?.events.map((e) => e.name)).toEqual(["first"]);
    expect(ended[0]?.endTime).toBeGreaterThan(ended[0]?.startTime ?? Number.POSITIVE_INFINITY);
  });

  test("events and status belong to their own span: a quiet span next to a busy one stays empty and unset", () => {
    const { tracer, ended } = setup();
    const quiet = tracer.startSpan("quiet");
    const busy = tracer.startSpan("busy");
    busy.addEvent("one");
    busy.addEvent("two");
    busy.setStatus("error", "bad");
    quiet.end();
    busy.end();
    expect(ended.map((s) => [s.name, s.events.length, s.status.code])).toEqual([
      ["quiet", 0, "unset"],
      ["busy", 2, "error"],
    ]);
  });

  test("traced() ends the span, marks failures and rethrows", async () => {
    const { tracer, ended } = setup();
    await expect(traced(tracer, "fails", () => Promise.reject(new TypeError("nope")))).rejects.toThrow("nope");
    expect(await traced(tracer, "works", (span) => span.traceId.length)).toBe(32);
    expect(ended.map((s) => [s.name, s.status.code])).toEqual([
      ["fails", "error"],
      ["works", "unset"],
    ]);
    expect(ended[0]?.attributes["error.type"]).toBe("TypeError");
    expect(ended[0]?.events[0]).toMatchObject({ name: "exception", attributes: { "exception.message": "nope" } });
  });

  test("a span that set status ok keeps it", () => {
    const { tracer, ended } = setup();
    const span = tracer.startSpan("op");
    span.setStatus("ok");
    span.setStatus("error", "late");
    span.end();
    expect(ended[0]?.status).toEqual({ code: "ok" });
  });
});
