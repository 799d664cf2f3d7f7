/** A Tracer and a Meter that record what they are given, for asserting spans and metrics. */
import type { Attributes, AttributeValue, Gauge, Labels, Meter, Span, Tracer } from "@twelvefold/kernel";

export interface RecordedSpan {
  name: string;
  kind: string | undefined;
  attributes: Record<string, AttributeValue | undefined>;
  status: "unset" | "ok" | "error";
  ended: boolean;
}

export function recordingTracer(): Tracer & { spans: RecordedSpan[] } {
  const spans: RecordedSpan[] = [];
  return {
    spans,
    startSpan(name, options) {
      const record: RecordedSpan = {
        name,
        kind: options?.kind,
        attributes: { ...options?.attributes },
        status: "unset",
        ended: false,
      };
      spans.push(record);
      const span: Span = {
        traceId: "1".repeat(32),
        spanId: "2".repeat(16),
        isRecording: () => true,
        setAttribute(key, value) {
          record.attributes[key] = value;
        },
        setAttributes(attributes: Attributes) {
          Object.assign(record.attributes, attributes);
        },
        addEvent() {},
        recordException() {},
        setStatus(status) {
          record.status = status;
        },
        updateName(next) {
          record.name = next;
        },
        end() {
          record.ended = true;
        },
      };
      return span;
    },
    withSpan: (_span, fn) => fn(),
    inject() {},
    activeSpan: () => undefined,
  };
}

export interface RecordingMeter extends Meter {
  observations: Array<{ name: string; labels: Labels | undefined; value: number }>;
  /** Runs every gauge's collect callback and returns the values set, keyed `name{label=value}`. */
  collect(): Promise<Record<string, number>>;
}

export function recordingMeter(): RecordingMeter {
  const observations: RecordingMeter["observations"] = [];
  const gauges: Array<{ name: string; collect?: (gauge: Gauge) => void | Promise<void> }> = [];
  return {
    observations,
    counter: () => ({ inc() {} }),
    gauge(options) {
      gauges.push({ name: options.name, collect: options.collect });
      return { set() {}, inc() {}, dec() {} };
    },
    histogram(options) {
      return { observe: (labels, value) => observations.push({ name: options.name, labels, value }) };
    },
    async collect() {
      const values: Record<string, number> = {};
      for (const { name, collect } of gauges) {
        const key = (labels: Labels | undefined) =>
          labels
            ? `${name}{${Object.entries(labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(",")}}`
            : name;
        await collect?.({
          set: (labels, value) => {
            values[key(labels)] = value;
          },
          inc() {},
          dec() {},
        });
      }
      return values;
    },
  };
}

/** The recorded spans with these names, one each in this order (fails the test when one is missing). */
export function recordedSpans(tracer: { spans: RecordedSpan[] }, names: readonly string[]): RecordedSpan[] {
  return names.map((name) => {
    const span = tracer.spans.find((s) => s.name === name);
    if (!span)
      throw new Error(`no span named ${JSON.stringify(name)} among ${JSON.stringify(tracer.spans.map((s) => s.name))}`);
    return span;
  });
}
