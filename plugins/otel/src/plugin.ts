import {
  AppInfo,
  type AttributeValue,
  type ConfigOptions,
  definePlugin,
  LogContext,
  Meter,
  noopTracer,
  type Plugin,
  type Redactor,
  Tracer,
} from "@twelvefold/kernel";
import { BatchSpanProcessor, type SpanExporter } from "./batch.ts";
import { type OtelConfig, otelConfig, signalUrl, tracesUrl } from "./config.ts";
import { otlpHttpExporter } from "./otlp.ts";
import { parsePropagators } from "./propagation.ts";
import { createSampler } from "./sampler.ts";
import { problemReporter, type StopExport, startLogsExport, startMetricsExport } from "./signals.ts";
import { LeanTracer } from "./tracer.ts";

/** Options for {@link otel}: values for its OTEL_* settings (the top config layer), and the exporter. */
export type OtelOptions = ConfigOptions<typeof otelConfig> & {
  /**
   * Where finished spans go instead of OTLP/HTTP (tests, benchmarks, another protocol). Spans
   * still pass through the bounded batch processor.
   */
  readonly exporter?: SpanExporter;
};

const SCOPE = { name: "@twelvefold/otel", version: "0.1.0" };

/**
 * The tracing plugin: provides the Tracer (W3C trace context in and out, the specification's
 * samplers, OTLP/HTTP export when an endpoint is configured), puts `trace_id` and `span_id` on
 * every log line written inside a span, and flushes buffered spans at shutdown within
 * TELEMETRY_FLUSH_TIMEOUT_MS.
 *
 * @example
 * ```ts
 * createApp({ name: "agent", plugins: [otel(), http()] });
 * // OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 bun run web
 * ```
 */
export function otel(options: OtelOptions = {}): Plugin {
  const { exporter: given, ...settings } = options;
  let lastFailure: { at: number; message: string; signal: "span" | "metric" | "log" } | undefined;
  return definePlugin({
    name: "otel",
    config: otelConfig,
    options: settings,
    provides: [Tracer],
    // Read at each metrics export, when OTEL_METRICS_EXPORTER=otlp: no start order with the metrics plugin.
    late: [Meter],
    stopTimeoutMs: 15_000,
    async start({ config: c, get, find, provide, logger, redactor: redact, onReady, onStop }) {
      if (c.OTEL_SDK_DISABLED) {
        provide(Tracer, noopTracer);
        logger.info("tracing disabled by OTEL_SDK_DISABLED");
        return;
      }
      const { propagators, unknown } = parsePropagators(c.OTEL_PROPAGATORS);
      if (unknown.length > 0) logger.warn("unsupported propagators ignored", { propagators: unknown });

      const onProblem = problemReporter(
        logger,
        { dropped: "spans dropped: export queue full", failed: "span export failed" },
        (message) => {
          lastFailure = { at: Date.now(), message, signal: "span" };
        },
      );

      // The kernel masks the raw OTEL_EXPORTER_OTLP_*HEADERS strings; the decoded values (and the
      // token after an auth scheme) can turn up in error messages too.
      const signalHeaders = (own: Record<string, string> | undefined) => {
        const merged = { ...c.OTEL_EXPORTER_OTLP_HEADERS, ...own };
        redact.addSecrets(Object.values(merged).flatMap((value) => [value, value.replace(/^\S+\s+/, "")]));
        return merged;
      };
      const headers = signalHeaders(c.OTEL_EXPORTER_OTLP_TRACES_HEADERS);
      const resource = resourceAttributes(c, get(AppInfo));

      const url = tracesUrl(c);
      let exporter = given;
      if (!exporter && c.OTEL_TRACES_EXPORTER === "otlp" && url) {
        exporter = await otlpHttpExporter({
          url,
          protocol: c.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? c.OTEL_EXPORTER_OTLP_PROTOCOL,
          headers,
          compression: c.OTEL_EXPORTER_OTLP_COMPRESSION,
          timeoutMs: c.OTEL_EXPORTER_OTLP_TIMEOUT,
          resource,
          scope: SCOPE,
          redact: (text) => redact.string(text),
        });
      }
      const processor = exporter
        ? new BatchSpanProcessor(exporter, {
            maxQueueSize: c.OTEL_BSP_MAX_QUEUE_SIZE,
            maxExportBatchSize: Math.min(c.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, c.OTEL_BSP_MAX_QUEUE_SIZE),
            scheduleDelayMs: c.OTEL_BSP_SCHEDULE_DELAY,
            exportTimeoutMs: c.OTEL_BSP_EXPORT_TIMEOUT,
            onProblem,
          })
        : undefined;

      const tracer = new LeanTracer({
        sampler: createSampler(c.OTEL_TRACES_SAMPLER, c.OTEL_TRACES_SAMPLER_ARG),
        propagators,
        limits: {
          attributeCount: c.OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT,
          eventCount: c.OTEL_SPAN_EVENT_COUNT_LIMIT,
          valueLength: c.OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
          linkCount: c.OTEL_SPAN_LINK_COUNT_LIMIT,
        },
        onEnd: processor ? (span) => processor.onEnd(span) : undefined,
        describeError: (error) => describeError(error, redact),
      });
      provide(Tracer, tracer);
      // The standard API joins the plugin's traces: trace.getTracer(...) and context.active() inside a
      // handler see the request span. Loaded here, so an app with tracing off never imports the API.
      const { installGlobalApi } = await import("./api.ts");
      const uninstallGlobalApi = installGlobalApi(tracer, { propagators, logger });

      const removeMixin = get(LogContext).use(() => {
        const span = tracer.activeSpan();
        return span ? { trace_id: span.traceId, span_id: span.spanId } : undefined;
      });
      let stopMetrics: StopExport | undefined;
      let stopLogs: StopExport | undefined;
      const metricsUrl = signalUrl(c.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, c.OTEL_EXPORTER_OTLP_ENDPOINT, "metrics");
      if (c.OTEL_METRICS_EXPORTER.includes("otlp")) {
        if (!metricsUrl) {
          logger.warn("OTEL_METRICS_EXPORTER=otlp but no OTLP endpoint is set: metrics are not exported");
        } else {
          stopMetrics = await startMetricsExport(() => find(Meter), {
            config: c,
            url: metricsUrl,
            protocol: c.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ?? c.OTEL_EXPORTER_OTLP_PROTOCOL,
            headers: signalHeaders(c.OTEL_EXPORTER_OTLP_METRICS_HEADERS),
            resource,
            scope: SCOPE,
            startTime: Date.now(),
            onProblem: problemReporter(
              logger,
              { dropped: "metrics dropped", failed: "metric export failed" },
              (message) => {
                lastFailure = { at: Date.now(), message, signal: "metric" };
              },
            ),
          });
          onReady(() => {
            if (!find(Meter)?.snapshot) {
              logger.warn("OTEL_METRICS_EXPORTER=otlp but no plugin provides a Meter with snapshot(): add metrics()");
            }
          });
        }
      }
      const logsUrl = signalUrl(c.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, c.OTEL_EXPORTER_OTLP_ENDPOINT, "logs");
      if (c.OTEL_LOGS_EXPORTER.includes("otlp")) {
        if (!logsUrl) {
          logger.warn("OTEL_LOGS_EXPORTER=otlp but no OTLP endpoint is set: logs are not exported");
        } else {
          stopLogs = await startLogsExport(get(LogContext), {
            config: c,
            url: logsUrl,
            protocol: c.OTEL_EXPORTER_OTLP_LOGS_PROTOCOL ?? c.OTEL_EXPORTER_OTLP_PROTOCOL,
            headers: signalHeaders(c.OTEL_EXPORTER_OTLP_LOGS_HEADERS),
            resource,
            scope: SCOPE,
            onProblem: problemReporter(
              logger,
              { dropped: "log records dropped: export queue full", failed: "log export failed" },
              (message) => {
                lastFailure = { at: Date.now(), message, signal: "log" };
              },
            ),
          });
        }
      }

      onStop(async () => {
        removeMixin();
        uninstallGlobalApi();
        const queued = processor?.queued ?? 0;
        await Promise.all([
          processor?.shutdown(c.TELEMETRY_FLUSH_TIMEOUT_MS),
          stopMetrics?.(c.TELEMETRY_FLUSH_TIMEOUT_MS),
        ]);
        if (processor) logger.debug("spans flushed", { spans: queued });
        // Log lines go last, so the lines written while the rest flushed go out too.
        await stopLogs?.(c.TELEMETRY_FLUSH_TIMEOUT_MS);
      });
      logger.debug("tracing ready", {
        exporter: given ? "custom" : url && c.OTEL_TRACES_EXPORTER === "otlp" ? "otlp" : "none",
        endpoint: url ? new URL(url).origin : undefined,
        sampler: c.OTEL_TRACES_SAMPLER,
      });
    },
    health() {
      if (lastFailure && Date.now() - lastFailure.at < 60_000) {
        return { status: "degraded", detail: `last ${lastFailure.signal} export failed: ${lastFailure.message}` };
      }
      return { status: "up" };
    },
  });
}

/** The OTel resource: OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME, then what the app knows. */
export function resourceAttributes(
  config: Pick<OtelConfig, "OTEL_SERVICE_NAME" | "OTEL_RESOURCE_ATTRIBUTES">,
  app: AppInfo,
): Record<string, AttributeValue> {
  const given = config.OTEL_RESOURCE_ATTRIBUTES ?? {};
  return {
    "service.version": app.version,
    "deployment.environment.name": app.environment,
    "service.instance.id": crypto.randomUUID(),
    "telemetry.sdk.name": "twelvefold",
    "telemetry.sdk.language": "nodejs",
    "telemetry.sdk.version": SCOPE.version,
    ...given,
    "service.name": config.OTEL_SERVICE_NAME ?? given["service.name"] ?? app.name,
  };
}

function describeError(error: unknown, redactor: Redactor): Record<string, AttributeValue> {
  if (!(error instanceof Error)) return { "exception.message": redactor.string(String(error)) };
  const out: Record<string, AttributeValue> = {
    "exception.type": String((error as { code?: unknown }).code ?? error.name),
    "exception.message": redactor.string(error.message),
  };
  if (error.stack) out["exception.stacktrace"] = redactor.string(error.stack);
  return out;
}
