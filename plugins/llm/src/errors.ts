/**
 * The llm plugin's error catalogue. Every failure of a model call is an {@link LlmError} with a
 * stable code, `retryable`, and the provider's HTTP status when there was one, so callers and the
 * resilience layer decide on fields rather than on message text.
 */
import { defineErrors, quote, TwelvefoldError, type TwelvefoldErrorOptions } from "@twelvefold/kernel";

/** Facts of a failed model call: which model, at which provider, and what went wrong. */
interface CallFacts {
  readonly model: string;
  readonly provider: string;
  readonly detail: string;
}

const call = (f: CallFacts) => `llm: ${quote(f.model)} at ${quote(f.provider)}: ${f.detail}`;

const table = {
  /** 429 from the provider; `retryAfterMs` carries its hint. */
  TF_LLM_RATE_LIMITED: { message: call, retryable: true },
  /** 5xx from the provider, or an error event inside a stream. */
  TF_LLM_PROVIDER_ERROR: { message: call, retryable: true },
  /** A 4xx other than 401, 403 and 429: the same request will fail again. */
  TF_LLM_BAD_REQUEST: { message: call },
  /** 401 or 403: the key is missing, wrong or not allowed this model. */
  TF_LLM_AUTH: { message: call },
  /** The connection failed or was reset, or a stream ended before the model finished. */
  TF_LLM_CONNECTION: { message: call, retryable: true },
  /** No first chunk, a stall between chunks, or the total deadline passed (`phase` says which). */
  TF_LLM_TIMEOUT: { message: call, retryable: true },
  /** The provider sent something that is not its protocol (bad JSON, a broken event). */
  TF_LLM_MALFORMED: { message: call, retryable: true },
  /** A stream failed after output had reached the caller; `delivered` says how much. Not retried. */
  TF_LLM_STREAM_INTERRUPTED: { message: call },
  /** The model's circuit breaker is open: failing fast until `retryAfterMs`. */
  TF_LLM_CIRCUIT_OPEN: { message: call, retryable: true },
  /** LLM_MAX_CONCURRENCY calls were in flight for longer than LLM_MAX_QUEUE_WAIT_MS. */
  TF_LLM_OVERLOADED: {
    message: (f: { max: number; waitMs: number }) =>
      `llm: ${f.max} model calls in flight and none finished within ${f.waitMs} ms: try again later`,
    retryable: true,
  },
  /** Every model of a fallback chain failed; `errors` holds each one's failure. */
  TF_LLM_UNAVAILABLE: {
    message: (f: { models: readonly string[]; last: string }) =>
      `llm: every model failed (${f.models.map(quote).join(", ")}): last: ${f.last}`,
  },
  /** A tool definition that cannot be offered to a model (a bad or duplicate name). */
  TF_LLM_TOOL: { message: (f: { problem: string }) => `llm: ${f.problem}` },
} as const;

/** Stable codes of the llm plugin's errors. */
export type LlmErrorCode = keyof typeof table;

/** Which watchdog limit a {@link LlmError} of code `TF_LLM_TIMEOUT` hit. */
export type TimeoutPhase = "first_chunk" | "idle" | "deadline";

/** How much of a stream reached the caller before it failed. */
export interface Delivered {
  /** Chunks yielded to the caller (text and tool calls). */
  readonly chunks: number;
  /** Characters of text among them. */
  readonly characters: number;
}

/** Options of {@link LlmError}: the base's, and the facts of a model call. */
export interface LlmErrorOptions extends TwelvefoldErrorOptions {
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

/**
 * A failed model call, or a tool that cannot be offered to a model. `retryable` says whether the same
 * request may succeed if sent again; `status` is the provider's HTTP status when there was one.
 * Built from the plugin's catalogue, {@link llmErrors}.
 *
 * @example
 * ```ts
 * try { await model.complete(request); }
 * catch (e) { if (e instanceof LlmError && e.code === "TF_LLM_STREAM_INTERRUPTED") console.warn(e.delivered); }
 * ```
 */
export class LlmError extends TwelvefoldError<LlmErrorCode> {
  override name = "LlmError";
  readonly status: number | undefined;
  readonly provider: string | undefined;
  readonly model: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly phase: TimeoutPhase | undefined;
  readonly delivered: Delivered | undefined;
  readonly errors: readonly unknown[] | undefined;
  constructor(code: LlmErrorCode, message: string, options: LlmErrorOptions = {}) {
    super(code, message, {
      cause: options.cause,
      retryable: options.retryable ?? (table[code] as { readonly retryable?: boolean }).retryable ?? false,
    });
    this.status = options.status;
    this.provider = options.provider;
    this.model = options.model;
    this.retryAfterMs = options.retryAfterMs;
    this.phase = options.phase;
    this.delivered = options.delivered;
    this.errors = options.errors;
  }
}

/** The llm plugin's catalogue: `llmErrors.create(code, facts, options)`. */
export const llmErrors = defineErrors(table, LlmError);

/** The model-call codes, whose message names the model and provider. */
export type CallErrorCode = {
  [K in LlmErrorCode]: (typeof table)[K]["message"] extends typeof call ? K : never;
}[LlmErrorCode];

/**
 * A failed call to `who`: the message names the model and provider, and so do the error's fields.
 *
 * @example
 * ```ts
 * throw callError("TF_LLM_TIMEOUT", model, "no first chunk within 1000 ms", { phase: "first_chunk" });
 * ```
 */
export function callError(
  code: CallErrorCode,
  who: { readonly provider: string; readonly model: string },
  detail: string,
  options: LlmErrorOptions = {},
): LlmError {
  return llmErrors.create(
    code,
    { model: who.model, provider: who.provider, detail },
    {
      provider: who.provider,
      model: who.model,
      ...options,
    },
  );
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
export function codeForStatus(status: number): CallErrorCode {
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
