import type { LogLevel } from "@twelvefold/kernel";
import type { SpanExporter } from "./batch.ts";
import { otelErrors } from "./errors.ts";
import { hrTime, type OtlpOptions, otlpSender } from "./otlp.ts";

/** A log line as the kernel logger wrote it (already redacted), with when it was handed over. */
export interface LogLine {
  readonly line: string;
  readonly level: LogLevel;
  /** Epoch milliseconds it was observed. */
  readonly observed: number;
}

// SeverityNumber of the logs data model: the first number of each range.
const SEVERITY: Record<LogLevel, number> = { debug: 5, info: 9, warn: 13, error: 17 };
const ID = /^[0-9a-f]+$/;

/** The OTLP log record for one line: body, severity, time and trace ids from its fields, the rest as attributes. */
function toRecord(entry: LogLine, resource: object, scope: object) {
  let fields: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(entry.line);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) fields = parsed as Record<string, unknown>;
  } catch {
    // LOG_FORMAT=pretty: the line is the body.
  }
  const observed = hrTime(entry.observed);
  const base = {
    hrTimeObserved: observed,
    severityNumber: SEVERITY[entry.level],
    severityText: entry.level.toUpperCase(),
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
  };
  if (!fields) return { ...base, hrTime: observed, body: entry.line, attributes: {} };
  const { timestamp, level: _level, message, trace_id, span_id, ...attributes } = fields;
  const at = typeof timestamp === "string" ? Date.parse(timestamp) : Number.NaN;
  const traced = typeof trace_id === "string" && typeof span_id === "string" && ID.test(trace_id) && ID.test(span_id);
  return {
    ...base,
    hrTime: Number.isNaN(at) ? observed : hrTime(at),
    body: typeof message === "string" ? message : String(message ?? ""),
    attributes,
    spanContext: traced ? { traceId: trace_id, spanId: span_id, traceFlags: 1 } : undefined,
  };
}

/**
 * Exports the app's log lines with OTLP over HTTP: each line's message as the body, its level as
 * the severity, its `trace_id`/`span_id` as the record's trace context and its other fields as
 * attributes. Lines are parsed here, in the batch, off the logging call's path. Encoded by
 * `@opentelemetry/otlp-transformer`, loaded only when logs export is on.
 */
export async function otlpLogsExporter(options: Omit<OtlpOptions, "redact">): Promise<SpanExporter<LogLine>> {
  const { ProtobufLogsSerializer, JsonLogsSerializer } = await import("@opentelemetry/otlp-transformer");
  const serializer = options.protocol === "http/json" ? JsonLogsSerializer : ProtobufLogsSerializer;
  const resource = { attributes: { ...options.resource } };
  const scope = { name: options.scope.name, version: options.scope.version };
  const send = otlpSender(options);
  return {
    async export(lines, signal) {
      const encoded = serializer.serializeRequest(lines.map((line) => toRecord(line, resource, scope)) as never);
      if (!encoded) throw otelErrors.create("TF_OTEL_ENCODE_FAILED", { count: lines.length, what: "log record" });
      await send(encoded, signal);
    },
  };
}
