import { defineConfig, env, type InferConfig, secret } from "@twelvefold/kernel";
import * as v from "valibot";
import { samplerNames } from "./sampler.ts";

/**
 * Parses the `key=value,key2=value2` lists of OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS
 * (values percent-decoded); `undefined` when a member is malformed.
 */
export function parseKeyValues(text: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const member of text.split(",")) {
    if (member.trim() === "") continue;
    const at = member.indexOf("=");
    if (at <= 0) return undefined;
    const key = member.slice(0, at).trim();
    try {
      out[key] = decodeURIComponent(member.slice(at + 1).trim());
    } catch {
      return undefined;
    }
    if (key === "") return undefined;
  }
  return out;
}

const keyValues = (expected: string) =>
  v.pipe(
    v.string(expected),
    v.check((s) => parseKeyValues(s) !== undefined, expected),
    v.transform((s) => parseKeyValues(s) ?? {}),
  );

/** An optional setting where an empty value means unset, as the OpenTelemetry specification says. */
function unsetIfBlank<S extends v.GenericSchema<string, unknown>>(schema: S) {
  return v.pipe(
    v.optional(v.string()),
    v.transform((s) => (s === undefined || s.trim() === "" ? undefined : s)),
    v.optional(schema),
  );
}

const protocol = env.picklist(["http/protobuf", "http/json"]);
const endpoint = () => unsetIfBlank(env.url({ protocols: ["http:", "https:"] }));
const headerList = () => secret(unsetIfBlank(keyValues("comma-separated key=value pairs")));

/** An OTEL_*_EXPORTER list: comma-separated names from `allowed`. */
function exporters<const T extends readonly string[]>(allowed: T) {
  const expected = `a comma-separated list of ${allowed.join(", ")}`;
  return v.pipe(
    env.list(),
    v.check((names) => names.every((n) => allowed.includes(n)), expected),
    v.transform((names) => names as T[number][]),
  );
}
const milliseconds = env.integer({ min: 1, max: 600_000 });

/** The standard OTEL_* variables this plugin reads. */
export const otelConfig = defineConfig({
  OTEL_SDK_DISABLED: v.optional(env.boolean(), "false"),
  OTEL_SERVICE_NAME: unsetIfBlank(env.string()),
  OTEL_RESOURCE_ATTRIBUTES: unsetIfBlank(keyValues("comma-separated key=value pairs")),
  OTEL_TRACES_SAMPLER: v.optional(env.picklist(samplerNames), "parentbased_always_on"),
  OTEL_TRACES_SAMPLER_ARG: unsetIfBlank(env.number({ min: 0, max: 1 })),
  OTEL_PROPAGATORS: v.optional(env.list(), "tracecontext,baggage"),
  OTEL_TRACES_EXPORTER: v.optional(env.picklist(["otlp", "none"]), "otlp"),
  /**
   * `otlp` also exports the Meter's metrics over OTLP, beside the metrics plugin's `/metrics`
   * (`prometheus`); off by default, unlike the specification, because `/metrics` is the default path.
   */
  OTEL_METRICS_EXPORTER: v.optional(exporters(["otlp", "prometheus", "none"]), "none"),
  /** `otlp` also exports every log line over OTLP, beside stdout (`console`); off by default. */
  OTEL_LOGS_EXPORTER: v.optional(exporters(["otlp", "console", "none"]), "none"),
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint(),
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: endpoint(),
  OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: endpoint(),
  OTEL_EXPORTER_OTLP_HEADERS: headerList(),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: headerList(),
  OTEL_EXPORTER_OTLP_METRICS_HEADERS: headerList(),
  OTEL_EXPORTER_OTLP_LOGS_HEADERS: headerList(),
  OTEL_EXPORTER_OTLP_PROTOCOL: v.optional(protocol, "http/protobuf"),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: unsetIfBlank(protocol),
  OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: unsetIfBlank(protocol),
  OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: unsetIfBlank(protocol),
  OTEL_EXPORTER_OTLP_COMPRESSION: v.optional(env.picklist(["none", "gzip"]), "none"),
  OTEL_EXPORTER_OTLP_TIMEOUT: v.optional(milliseconds, "10000"),
  OTEL_BSP_SCHEDULE_DELAY: v.optional(env.integer({ min: 0, max: 600_000 }), "5000"),
  OTEL_BSP_EXPORT_TIMEOUT: v.optional(milliseconds, "30000"),
  OTEL_BSP_MAX_QUEUE_SIZE: v.optional(env.integer({ min: 1, max: 1_000_000 }), "2048"),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: v.optional(env.integer({ min: 1, max: 1_000_000 }), "512"),
  OTEL_METRIC_EXPORT_INTERVAL: v.optional(milliseconds, "60000"),
  OTEL_METRIC_EXPORT_TIMEOUT: v.optional(milliseconds, "30000"),
  OTEL_BLRP_SCHEDULE_DELAY: v.optional(env.integer({ min: 0, max: 600_000 }), "1000"),
  OTEL_BLRP_EXPORT_TIMEOUT: v.optional(milliseconds, "30000"),
  OTEL_BLRP_MAX_QUEUE_SIZE: v.optional(env.integer({ min: 1, max: 1_000_000 }), "2048"),
  OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: v.optional(env.integer({ min: 1, max: 1_000_000 }), "512"),
  OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: v.optional(env.integer({ min: 0 }), "128"),
  OTEL_SPAN_EVENT_COUNT_LIMIT: v.optional(env.integer({ min: 0 }), "128"),
  OTEL_SPAN_LINK_COUNT_LIMIT: v.optional(env.integer({ min: 0 }), "128"),
  OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: v.optional(env.integer({ min: 1 }), "4096"),
  /** Budget of the flush at shutdown (spans, and metrics and logs when exported); what is still queued after it is dropped and counted. */
  TELEMETRY_FLUSH_TIMEOUT_MS: v.optional(milliseconds, "5000"),
});

/** The parsed otel config. */
export type OtelConfig = InferConfig<typeof otelConfig>;

/**
 * The traces URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, else OTEL_EXPORTER_OTLP_ENDPOINT
 * with `/v1/traces` appended (the specification's rule); `undefined` when neither is set.
 */
export function tracesUrl(
  config: Pick<OtelConfig, "OTEL_EXPORTER_OTLP_ENDPOINT" | "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT">,
): string | undefined {
  return signalUrl(config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, config.OTEL_EXPORTER_OTLP_ENDPOINT, "traces");
}

/** The URL of one signal: its own endpoint as given, else the base endpoint with `/v1/<signal>`. */
export function signalUrl(
  own: string | undefined,
  base: string | undefined,
  signal: "traces" | "metrics" | "logs",
): string | undefined {
  if (own) return own;
  if (!base) return undefined;
  return `${base.replace(/\/+$/, "")}/v1/${signal}`;
}
