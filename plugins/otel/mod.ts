/**
 * @module
 * Tracing for Twelvefold apps: the kernel's Tracer contract on the OpenTelemetry data model
 * (W3C trace context, the specification's samplers, GenAI-ready spans), OTLP/HTTP export in
 * batches when OTEL_EXPORTER_OTLP_ENDPOINT is set, `trace_id`/`span_id` on every log line written
 * inside a span, and a bounded flush at shutdown so spans made before SIGTERM are not lost.
 *
 * @example
 * ```ts
 * import { http } from "@twelvefold/http";
 * import { createApp, Tracer, traced } from "@twelvefold/kernel";
 * import { otel } from "@twelvefold/otel";
 *
 * const app = createApp({ name: "agent", plugins: [otel(), http()] });
 * await app.start();
 * await traced(app.get(Tracer), "warm cache", async () => {
 *   await fetch("http://127.0.0.1:9/warm").catch(() => undefined);
 * });
 * ```
 */

export type { BatchOptions, SpanExporter } from "./src/batch.ts";
export { BatchSpanProcessor } from "./src/batch.ts";
export { type OtelConfig, otelConfig, tracesUrl } from "./src/config.ts";
export { OtelError, type OtelErrorCode } from "./src/errors.ts";
export { type OtlpOptions, type OtlpProtocol, otlpHttpExporter } from "./src/otlp.ts";
export { type OtelOptions, otel, resourceAttributes } from "./src/plugin.ts";
export {
  extract,
  formatTraceparent,
  parseTraceparent,
  parseTracestate,
  type RemoteContext,
} from "./src/propagation.ts";
export { createSampler, type Sampler, type SamplerName, samplerNames, traceIdRatio } from "./src/sampler.ts";
export type { SpanData, SpanEvent, SpanLimits } from "./src/span.ts";
export { LeanTracer, type LeanTracerOptions } from "./src/tracer.ts";
