/** Stable codes of the metrics plugin's errors. */
export type MetricsErrorCode = "TF_METRICS_INVALID_NAME" | "TF_METRICS_CONFLICT";

/**
 * A metric registration the exposition format cannot represent: a bad metric or label name, or
 * one name registered twice with a different type or labels. Raised at registration, never while
 * recording.
 */
export class MetricsError extends Error {
  override name = "MetricsError";
  readonly code: MetricsErrorCode;
  constructor(code: MetricsErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
