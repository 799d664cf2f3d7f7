/**
 * The llm plugin's error catalogue. Every failure of a model call is an {@link LlmError} with a
 * stable code, `retryable`, and the provider's HTTP status when there was one, so callers and the
 * resilience layer decide on fields rather than on message text.
 */

/** Stable codes of the llm plugin's errors. */
export type LlmErrorCode =
  /** 429 from the provider; `retryAfterMs` carries its hint. Retryable. */
  | "TF_LLM_RATE_LIMITED"
  /** 5xx from the provider. Retryable. */
  | "TF_LLM_PROVIDER_ERROR"
  /** A 4xx other than 401, 403 and 429: the same request will fail again. */
  | "TF_LLM_BAD_REQUEST"
  /** 401 or 403: the key is missing, wrong or not allowed this model. */
  | "TF_LLM_AUTH"
  /** The connection failed or was reset before an answer. Retryable. */
  | "TF_LLM_CONNECTION"
  /** No first chunk, a stall between chunks, or the total deadline passed (`phase` says which). Retryable. */
  | "TF_LLM_TIMEOUT"
  /** The provider sent something that is not its protocol (bad JSON, a broken event). Retryable. */
  | "TF_LLM_MALFORMED"
  /** A stream failed after output had reached the caller; `delivered` says how much. Not retried. */
  | "TF_LLM_STREAM_INTERRUPTED"
  /** The model's circuit breaker is open: failing fast. Retryable after `retryAfterMs`. */
  | "TF_LLM_CIRCUIT_OPEN"
  /** LLM_MAX_CONCURRENCY calls were in flight for longer than LLM_MAX_QUEUE_WAIT_MS. Retryable. */
  | "TF_LLM_OVERLOADED"
  /** Every model of a fallback chain failed; `errors` holds each one's failure. */
  | "TF_LLM_UNAVAILABLE"
  /** Settings that cannot work together (production without a provider, a bad price table). */
  | "TF_LLM_CONFIG"
  /** A tool definition that cannot be offered to a model (a bad or duplicate name). */
  | "TF_LLM_TOOL";

/** Which watchdog limit a {@link LlmError} of code `TF_LLM_TIMEOUT` hit. */
export type TimeoutPhase = "first_chunk" | "idle" | "deadline";

/** How much of a stream reached the caller before it failed. */
export interface Delivered {
  /** Chunks yielded to the caller (text and tool calls). */
  readonly chunks: number;
  /** Characters of text among them. */
  readonly characters: number;
}

/** Options of {@link LlmError}. */
export interface LlmErrorOptions {
  readonly cause?: unknown;
  /** Overrides the code's default. */
  readonly retryable?: boolean;
  /** The provider's HTTP status. */
  readonly status?: number;
  readonly provider?: string;
  readonly model?: string;
  /** How long the provider asked us to wait (Retry-After), or until a breaker half-opens. */
  readonly retryAfterMs?: number;
  readonly phase?: TimeoutPhase;
  readonly delivered?: Delivered;
  readonly errors?: readonly unknown[];
}

const retryableCodes: ReadonlySet<LlmErrorCode> = new Set<LlmErrorCode>([
  "TF_LLM_RATE_LIMITED",
  "TF_LLM_PROVIDER_ERROR",
  "TF_LLM_CONNECTION",
  "TF_LLM_TIMEOUT",
  "TF_LLM_MALFORMED",
  "TF_LLM_CIRCUIT_OPEN",
  "TF_LLM_OVERLOADED",
]);

/**
 * A failed model call, or a plugin setting that cannot work. `retryable` says whether the same
 * request may succeed if sent again; `status` is the provider's HTTP status when there was one.
 *
 * @example
 * ```ts
 * try { await model.complete(request); }
 * catch (e) { if (e instanceof LlmError && e.code === "TF_LLM_STREAM_INTERRUPTED") console.warn(e.delivered); }
 * ```
 */
export class LlmError extends Error {
  override name = "LlmError";
  readonly code: LlmErrorCode;
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly provider: string | undefined;
  readonly model: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly phase: TimeoutPhase | undefined;
  readonly delivered: Delivered | undefined;
  readonly errors: readonly unknown[] | undefined;
  constructor(code: LlmErrorCode, message: string, options: LlmErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? retryableCodes.has(code);
    this.status = options.status;
    this.provider = options.provider;
    this.model = options.model;
    this.retryAfterMs = options.retryAfterMs;
    this.phase = options.phase;
    this.delivered = options.delivered;
    this.errors = options.errors;
  }
}

/** True when `error` says the same request may succeed if sent again (any adapter's error, by its field). */
export function isRetryable(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { retryable?: unknown }).retryable === true;
}

/** The error's `status` field, when it has a numeric one. */
export function statusOf(error: unknown): number | undefined {
  const status = typeof error === "object" && error !== null ? (error as { status?: unknown }).status : undefined;
  return typeof status === "number" ? status : undefined;
}

/** The code for an HTTP status from a provider. */
export function codeForStatus(status: number): LlmErrorCode {
  if (status === 429) return "TF_LLM_RATE_LIMITED";
  if (status === 401 || status === 403) return "TF_LLM_AUTH";
  if (status === 408) return "TF_LLM_TIMEOUT";
  if (status >= 500) return "TF_LLM_PROVIDER_ERROR";
  return "TF_LLM_BAD_REQUEST";
}

/**
 * Reads a Retry-After hint from response headers, in ms: `retry-after-ms` (OpenAI's), else
 * `retry-after` as seconds or an HTTP date. Undefined when absent or unreadable.
 */
export function retryAfterMs(headers: Headers | undefined, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get("retry-after-ms");
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const value = headers.get("retry-after")?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** A provider's own error text, shortened, with anything shaped like an API key masked. */
export function providerDetail(text: string): string {
  const masked = text.replace(/\b(sk|key|api)[-_][\w*.-]{6,}/gi, "[redacted]").replace(/\s+/g, " ");
  return masked.length > 200 ? `${masked.slice(0, 197)}...` : masked;
}
