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
  OTEL_EXPORTER_OTLP_ENDPOINT: unsetIfBlank(env.url({ protocols: ["http:", "https:"] })),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: unsetIfBlank(env.url({ protocols: ["http:", "https:"] })),
  OTEL_EXPORTER_OTLP_HEADERS: secret(unsetIfBlank(keyValues("comma-separated key=value pairs"))),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: secret(unsetIfBlank(keyValues("comma-separated key=value pairs"))),
  OTEL_EXPORTER_OTLP_PROTOCOL: v.optional(protocol, "http/protobuf"),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: unsetIfBlank(protocol),
  OTEL_EXPORTER_OTLP_COMPRESSION: v.optional(env.picklist(["none", "gzip"]), "none"),
  OTEL_EXPORTER_OTLP_TIMEOUT: v.optional(milliseconds, "10000"),
  OTEL_BSP_SCHEDULE_DELAY: v.optional(env.integer({ min: 0, max: 600_000 }), "5000"),
  OTEL_BSP_EXPORT_TIMEOUT: v.optional(milliseconds, "30000"),
  OTEL_BSP_MAX_QUEUE_SIZE: v.optional(env.integer({ min: 1, max: 1_000_000 }), "2048"),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: v.optional(env.integer({ min: 1, max: 1_000_000 }), "512"),
  OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: v.optional(env.integer({ min: 0 }), "128"),
  OTEL_SPAN_EVENT_COUNT_LIMIT: v.optional(env.integer({ min: 0 }), "128"),
  OTEL_SPAN_LINK_COUNT_LIMIT: v.optional(env.integer({ min: 0 }), "128"),
  OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: v.optional(env.integer({ min: 1 }), "4096"),
  /** Budget of the flush at shutdown; spans still queued after it are dropped and counted. */
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
  if (config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!base) return undefined;
  return `${base.replace(/\/+$/, "")}/v1/traces`;
}
