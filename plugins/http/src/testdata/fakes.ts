/** A Tracer and a Meter that record what the http plugin reports, for tests. */
import type { Counter, Gauge, Histogram, Labels, Meter, Span, Tracer } from "@twelvefold/kernel";

/** Records each span: its name, attributes, carrier and whether it ended. */
export function fakeTracer() {
  const spans: Array<{ name: string; attributes: Record<string, unknown>; carrier: unknown; ended: boolean }> = [];
  const tracer: Tracer = {
    startSpan(name, options) {
      const record = { name, attributes: { ...options?.attributes }, carrier: options?.carrier, ended: false };
      spans.push(record);
      const span: Span = {
        traceId: "0af7651916cd43dd8448eb211c80319c",
        spanId: "b7ad6b7169203331",
        isRecording: () => true,
        setAttribute: (key, value) => {
          record.attributes[key] = value;
        },
        setAttributes: (attributes) => Object.assign(record.attributes, attributes),
        addEvent() {},
        recordException() {},
        setStatus() {},
        updateName: (next) => {
          record.name = next;
        },
        end: () => {
          record.ended = true;
        },
      };
      return span;
    },
    withSpan: (_span, fn) => fn(),
    inject() {},
    activeSpan: () => undefined,
  } as Tracer;
  return { tracer, spans };
}

/** Records each counter increment, gauge set and histogram observation. */
export function fakeMeter() {
  const observed: Array<{ metric: string; labels: Labels | undefined; value: number }> = [];
  const record =
    (metric: string) =>
    (labels: Labels | undefined, value = 1) =>
      observed.push({ metric, labels, value });
  const meter: Meter = {
    counter: (o): Counter => ({ inc: (labels, value) => record(o.name)(labels, value) }),
    gauge: (o): Gauge => ({
      set: record(o.name),
      inc: (l, v) => record(o.name)(l, v),
      dec: (l, v) => record(o.name)(l, -(v ?? 1)),
    }),
    histogram: (o): Histogram => ({ observe: record(o.name) }),
  };
  return { meter, observed };
}
