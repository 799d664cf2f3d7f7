/** Stable codes of the otel plugin's errors. */
export type OtelErrorCode = "TF_OTEL_EXPORT_FAILED" | "TF_OTEL_CONFIG";

/**
 * An error of the otel plugin, with a stable `code`. Export failures are retryable by nature:
 * the collector may come back.
 */
export class OtelError extends Error {
  override name = "OtelError";
  readonly code: OtelErrorCode;
  readonly retryable: boolean;
  constructor(code: OtelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.retryable = code === "TF_OTEL_EXPORT_FAILED";
  }
}
