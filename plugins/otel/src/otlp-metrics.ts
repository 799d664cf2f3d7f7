import type { AttributeValue, MetricSnapshot } from "@twelvefold/kernel";
import { otelErrors } from "./errors.ts";
import { hrTime, type OtlpOptions, otlpSender } from "./otlp.ts";

/** Options for {@link otlpMetricsExporter}: the OTLP options (the URL is the metrics one) and when counting began. */
export interface OtlpMetricsOptions extends Omit<OtlpOptions, "redact"> {
  /** Epoch milliseconds the cumulative counters and histograms count from (the process start). */
  readonly startTime: number;
}

/** Sends metric snapshots somewhere; rejects when they were not delivered. */
export interface MetricExporter {
  export(metrics: readonly MetricSnapshot[], signal: AbortSignal): Promise<void>;
}

// The SDK's enums, as @opentelemetry/otlp-transformer reads them (sdk-metrics' DataPointType,
// AggregationTemporality; the API's ValueType): numbers, so sdk-metrics need not be a dependency.
const HISTOGRAM = 0;
const GAUGE = 2;
const SUM = 3;
const CUMULATIVE = 1;
const DOUBLE = 1;

/** OTLP's unit for a Prometheus-style name's unit suffix. */
function unitOf(name: string): string {
  if (/_seconds(_total)?$/.test(name)) return "s";
  if (/_bytes(_total)?$/.test(name)) return "By";
  return "";
}

/**
 * Exports the Meter's snapshots with OTLP over HTTP, for back ends without a Prometheus scraper:
 * counters as cumulative monotonic sums, gauges as gauges, histograms as cumulative explicit-bucket
 * histograms, names as `/metrics` shows them. Encoded by `@opentelemetry/otlp-transformer`, loaded
 * only when metrics export is on.
 */
export async function otlpMetricsExporter(options: OtlpMetricsOptions): Promise<MetricExporter> {
  const { ProtobufMetricsSerializer, JsonMetricsSerializer } = await import("@opentelemetry/otlp-transformer");
  const serializer = options.protocol === "http/json" ? JsonMetricsSerializer : ProtobufMetricsSerializer;
  const resource = { attributes: { ...options.resource } };
  const scope = { name: options.scope.name, version: options.scope.version };
  const start = hrTime(options.startTime);
  const send = otlpSender(options);
  return {
    async export(metrics, signal) {
      const now = hrTime(Date.now());
      const data = metrics
        .filter((metric) => metric.series.length > 0)
        .map((metric) => {
          const descriptor = {
            name: metric.name,
            description: metric.help,
            unit: unitOf(metric.name),
            valueType: DOUBLE,
          };
          const point = (series: MetricSnapshot["series"][number], value: unknown) => ({
            startTime: start,
            endTime: now,
            attributes: series.labels as Record<string, AttributeValue>,
            value,
          });
          if (metric.kind === "histogram") {
            const boundaries = [...(metric.buckets ?? [])];
            return {
              descriptor,
              aggregationTemporality: CUMULATIVE,
              dataPointType: HISTOGRAM,
              dataPoints: metric.series.map((series) =>
                point(series, {
                  count: series.count ?? 0,
                  sum: series.value,
                  buckets: { boundaries, counts: [...(series.bucketCounts ?? [])] },
                }),
              ),
            };
          }
          return {
            descriptor,
            aggregationTemporality: CUMULATIVE,
            dataPointType: metric.kind === "counter" ? SUM : GAUGE,
            isMonotonic: metric.kind === "counter",
            dataPoints: metric.series.map((series) => point(series, series.value)),
          };
        });
      if (data.length === 0) return;
      const encoded = serializer.serializeRequest({ resource, scopeMetrics: [{ scope, metrics: data }] } as never);
      if (!encoded) throw otelErrors.create("TF_OTEL_ENCODE_FAILED", { count: data.length, what: "metric" });
      await send(encoded, signal);
    },
  };
}
