/** The otel plugin's error catalogue: one table of codes and message templates. */
import { defineErrors, quote, TwelvefoldError } from "@twelvefold/kernel";

const table = {
  TF_OTEL_ENCODE_FAILED: {
    message: (f: { count: number; what: "span" | "metric" | "log record" }) =>
      `otel: could not encode ${f.count} ${f.what}(s)`,
  },
  TF_OTEL_EXPORT_FAILED: {
    message: (f: { origin: string; status?: number }) =>
      `otel: export to ${quote(f.origin)} failed${f.status === undefined ? "" : `: HTTP ${f.status}`}`,
    // The collector may come back.
    retryable: true,
  },
} as const;

/** Stable codes of the otel plugin's errors. */
export type OtelErrorCode = keyof typeof table;

/**
 * An error of the otel plugin, with a stable `code`. Export failures are retryable by nature:
 * the collector may come back.
 *
 * @example
 * ```ts
 * import { OtelError } from "@twelvefold/otel";
 * const isOtel = (error: unknown) => error instanceof OtelError && error.code === "TF_OTEL_EXPORT_FAILED";
 * ```
 */
export class OtelError extends TwelvefoldError<OtelErrorCode> {
  override name = "OtelError";
}

/** The otel plugin's catalogue: `otelErrors.create(code, facts, options)`. */
export const otelErrors = defineErrors(table, OtelError);
