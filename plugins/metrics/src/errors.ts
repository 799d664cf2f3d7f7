/** The metrics plugin's error catalogue: one table of codes and message templates. */
import { defineErrors, quote, TwelvefoldError } from "@twelvefold/kernel";

const table = {
  TF_METRICS_INVALID_NAME: {
    message: (f: { metric: string; problem: string }) => `metrics: ${quote(f.metric)}: ${f.problem}`,
  },
  TF_METRICS_CONFLICT: {
    message: (f: { metric: string; kind: string; labels: readonly string[] }) =>
      `metrics: ${quote(f.metric)} is already registered as a ${f.kind} with labels [${f.labels.join(", ")}]`,
  },
  TF_METRICS_COLLECT_TIMEOUT: {
    message: (f: { metric: string; timeoutMs: number }) =>
      `metrics: the collect callback of ${quote(f.metric)} took longer than ${f.timeoutMs} ms`,
    retryable: true,
  },
} as const;

/** Stable codes of the metrics plugin's errors. */
export type MetricsErrorCode = keyof typeof table;

/**
 * A metric registration the exposition format cannot represent: a bad metric or label name, or
 * one name registered twice with a different type or labels. Raised at registration, never while
 * recording.
 *
 * @example
 * ```ts
 * import { MetricsError } from "@twelvefold/metrics";
 * const clash = (error: unknown) => error instanceof MetricsError && error.code === "TF_METRICS_CONFLICT";
 * ```
 */
export class MetricsError extends TwelvefoldError<MetricsErrorCode> {
  override name = "MetricsError";
}

/** The metrics plugin's catalogue: `metricsErrors.create(code, facts)`. */
export const metricsErrors = defineErrors(table, MetricsError);
