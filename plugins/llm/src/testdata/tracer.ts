import type { AttributeValue, Span, Tracer } from "@twelvefold/kernel";

/** One span as the recording tracer saw it. */
export interface RecordedSpan {
  readonly name: string;
  readonly attributes: Record<string, AttributeValue | undefined>;
  readonly parent: string | undefined;
  status: "ok" | "error" | undefined;
  ended: boolean;
}

/** A Tracer that keeps every span in memory, with the name of the span active when it began. */
export function recordingTracer(): Tracer & { readonly spans: RecordedSpan[] } {
  const spans: RecordedSpan[] = [];
  let active: string | undefined;
  const names = new WeakMap<Span, string>();
  return {
    spans,
    startSpan(name, options) {
      const record: RecordedSpan = {
        name,
        attributes: { ...options?.attributes },
        parent: active,
        status: undefined,
        ended: false,
      };
      spans.push(record);
      const span: Span = {
        traceId: "1".repeat(32),
        spanId: String(spans.length).padStart(16, "0"),
        isRecording: () => true,
        setAttribute: (key, value) => {
          record.attributes[key] = value;
        },
        setAttributes: (attributes) => Object.assign(record.attributes, attributes),
        addEvent() {},
        recordException() {},
        setStatus: (status) => {
          record.status = status;
        },
        updateName() {},
        end: () => {
          record.ended = true;
        },
      };
      names.set(span, name);
      return span;
    },
    withSpan(span, fn) {
      const before = active;
      active = names.get(span);
      try {
        return fn();
      } finally {
        active = before;
      }
    },
    inject() {},
    activeSpan: () => undefined,
  };
}
