import type { AttributeValue } from "@twelvefold/kernel";
import type { SpanExporter } from "./batch.ts";
import { otelErrors } from "./errors.ts";
import type { SpanData } from "./span.ts";

/** How spans are encoded on the wire (OTEL_EXPORTER_OTLP_PROTOCOL). */
export type OtlpProtocol = "http/protobuf" | "http/json";

/** Options for {@link otlpHttpExporter}. */
export interface OtlpOptions {
  /** The full traces URL, e.g. `http://collector:4318/v1/traces`. */
  readonly url: string;
  readonly protocol: OtlpProtocol;
  readonly headers: Readonly<Record<string, string>>;
  readonly compression: "none" | "gzip";
  /** Budget of one HTTP request, retries included. */
  readonly timeoutMs: number;
  readonly resource: Readonly<Record<string, AttributeValue>>;
  readonly scope: { readonly name: string; readonly version: string };
  /** Masks secret values in attribute strings before spans are sent. */
  readonly redact: (text: string) => string;
  /** Replaces `fetch` (tests). */
  readonly fetch?: typeof fetch;
}

type HrTime = [number, number];

const kinds = { internal: 0, server: 1, client: 2, producer: 3, consumer: 4 } as const;
const statusCodes = { unset: 0, ok: 1, error: 2 } as const;
const RETRYABLE = new Set([429, 502, 503, 504]);

/** Epoch milliseconds as OTLP's `[seconds, nanoseconds]`. */
export function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

/** Attributes with secret values masked in their strings. */
export function clean(attributes: Readonly<Record<string, AttributeValue>>, redact: (text: string) => string) {
  const out: Record<string, AttributeValue> = {};
  for (const key in attributes) {
    const value = attributes[key] as AttributeValue;
    out[key] = typeof value === "string" ? redact(value) : value;
  }
  return out;
}

/**
 * Exports spans with OTLP over HTTP. The wire encoding (protobuf or JSON) is done by
 * `@opentelemetry/otlp-transformer`, OpenTelemetry's own serializer, loaded at the first export
 * (a batch, seconds after the first span), not at start: an app without an endpoint never pays its
 * import, and one with an endpoint does not pay it before it is ready. The transport is plain
 * `fetch` with retries on 429/502/503/504 within the time budget.
 */
export async function otlpHttpExporter(options: OtlpOptions): Promise<SpanExporter> {
  let loading: Promise<{ serializeRequest(spans: never): Uint8Array | undefined }> | undefined;
  const serializer = () =>
    (loading ??= import("@opentelemetry/otlp-transformer").then((m) =>
      options.protocol === "http/json" ? m.JsonTraceSerializer : m.ProtobufTraceSerializer,
    ));
  const resource = { attributes: { ...options.resource } };
  const scope = { name: options.scope.name, version: options.scope.version };
  const send = otlpSender(options);
  const toReadable = (span: SpanData) => ({
    name: span.name,
    kind: kinds[span.kind],
    spanContext: () => ({
      traceId: span.traceId,
      spanId: span.spanId,
      traceFlags: 1,
      traceState: span.traceState ? { serialize: () => span.traceState } : undefined,
    }),
    parentSpanContext: span.parentSpanId
      ? { traceId: span.traceId, spanId: span.parentSpanId, traceFlags: 1, isRemote: span.parentRemote }
      : undefined,
    startTime: hrTime(span.startTime),
    endTime: hrTime(span.endTime),
    duration: hrTime(span.endTime - span.startTime),
    ended: true,
    status: span.status.message
      ? { code: statusCodes[span.status.code], message: options.redact(span.status.message) }
      : { code: statusCodes[span.status.code] },
    attributes: clean(span.attributes, options.redact),
    links: span.links.map((link) => ({
      context: {
        traceId: link.traceId,
        spanId: link.spanId,
        traceFlags: link.sampled ? 1 : 0,
        isRemote: link.remote,
        traceState: link.traceState ? { serialize: () => link.traceState } : undefined,
      },
      attributes: clean(link.attributes, options.redact),
      droppedAttributesCount: 0,
    })),
    events: span.events.map((e) => ({
      name: e.name,
      time: hrTime(e.time),
      attributes: clean(e.attributes, options.redact),
    })),
    resource,
    // The plugin's own spans share one scope; an API tracer's spans carry the tracer's (one object each).
    instrumentationScope: span.scope ?? scope,
    droppedAttributesCount: span.droppedAttributes,
    droppedEventsCount: span.droppedEvents,
    droppedLinksCount: span.droppedLinks,
  });

  return {
    async export(spans, signal) {
      const encoded = (await serializer()).serializeRequest(spans.map(toReadable) as never);
      if (!encoded) throw otelErrors.create("TF_OTEL_ENCODE_FAILED", { count: spans.length, what: "span" });
      await send(encoded, signal);
    },
  };
}

/** How an OTLP/HTTP request is made: where to, encoded how, with which headers, within what time. */
export type OtlpSenderOptions = Pick<
  OtlpOptions,
  "url" | "protocol" | "headers" | "compression" | "timeoutMs" | "fetch"
>;

/**
 * The OTLP/HTTP transport every signal shares: one POST of an encoded request (gzip when
 * configured) with retries on 429/502/503/504 and on network errors, up to three attempts within
 * `timeoutMs` or until `signal` aborts; rejects with TF_OTEL_EXPORT_FAILED when not delivered.
 */
export function otlpSender(options: OtlpSenderOptions): (encoded: Uint8Array, signal: AbortSignal) => Promise<void> {
  const send = options.fetch ?? fetch;
  const headers: Record<string, string> = {
    ...options.headers,
    "content-type": options.protocol === "http/json" ? "application/json" : "application/x-protobuf",
  };
  if (options.compression === "gzip") headers["content-encoding"] = "gzip";
  return async function sendOtlp(encoded, signal) {
    const body = (options.compression === "gzip" ? await gzip(encoded) : encoded) as Uint8Array<ArrayBuffer>;
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]);
    for (let attempt = 1; ; attempt++) {
      let status: number;
      try {
        const response = await send(options.url, { method: "POST", headers, body, signal: deadline });
        await response.arrayBuffer().catch(() => undefined);
        status = response.status;
        if (response.ok) return;
      } catch (error) {
        if (deadline.aborted || attempt >= 3) {
          throw otelErrors.create("TF_OTEL_EXPORT_FAILED", { origin: origin(options.url) }, { cause: error });
        }
        await pause(attempt, deadline);
        continue;
      }
      if (!RETRYABLE.has(status) || attempt >= 3 || deadline.aborted) {
        throw otelErrors.create("TF_OTEL_EXPORT_FAILED", { origin: origin(options.url), status });
      }
      await pause(attempt, deadline);
    }
  };
}

function origin(url: string): string {
  return new URL(url).origin;
}

function pause(attempt: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 100 * 2 ** attempt * (0.5 + Math.random()));
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function gzip(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
