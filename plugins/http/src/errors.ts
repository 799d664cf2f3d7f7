/**
 * The http plugin's error catalogue. An {@link HttpError} thrown from a handler becomes an
 * `application/problem+json` response (RFC 9457) whose `type` is stable per {@link HttpErrorCode}.
 */
import { defineErrors, problemTypes, TwelvefoldError, type TwelvefoldErrorOptions } from "@twelvefold/kernel";

const reason = (f: { reason: string }) => `http: ${f.reason}`;

/**
 * The http plugin's one table: per code, the problem's status, title and `type` slug, the message
 * template, and whether a client may retry.
 */
const table = {
  TF_HTTP_BAD_REQUEST: { ...problemTypes.TF_HTTP_BAD_REQUEST, message: reason },
  TF_HTTP_VALIDATION: {
    ...problemTypes.TF_HTTP_VALIDATION,
    message: (f: { count: number }) => `http: request failed validation: ${f.count} problem(s)`,
  },
  TF_HTTP_UNAUTHORIZED: { ...problemTypes.TF_HTTP_UNAUTHORIZED, message: reason },
  TF_HTTP_FORBIDDEN: { ...problemTypes.TF_HTTP_FORBIDDEN, message: reason },
  TF_HTTP_NOT_FOUND: { ...problemTypes.TF_HTTP_NOT_FOUND, message: reason },
  TF_HTTP_METHOD_NOT_ALLOWED: {
    ...problemTypes.TF_HTTP_METHOD_NOT_ALLOWED,
    message: reason,
  },
  TF_HTTP_CONFLICT: { ...problemTypes.TF_HTTP_CONFLICT, message: reason },
  TF_HTTP_BODY_TOO_LARGE: {
    ...problemTypes.TF_HTTP_BODY_TOO_LARGE,
    message: (f: { limit: number }) => `http: request body exceeds ${f.limit} bytes`,
  },
  TF_HTTP_UNSUPPORTED_MEDIA_TYPE: {
    ...problemTypes.TF_HTTP_UNSUPPORTED_MEDIA_TYPE,
    message: (f: { expected: string; got: string }) => `http: request body must be ${f.expected}: got "${f.got}"`,
  },
  TF_HTTP_RATE_LIMITED: {
    ...problemTypes.TF_HTTP_RATE_LIMITED,
    message: reason,
    retryable: true,
  },
  TF_HTTP_UNAVAILABLE: {
    ...problemTypes.TF_HTTP_UNAVAILABLE,
    message: reason,
    retryable: true,
  },
  TF_HTTP_TIMEOUT: {
    ...problemTypes.TF_HTTP_TIMEOUT,
    message: (f: { timeoutMs: number }) => `http: request timed out after ${f.timeoutMs} ms`,
    retryable: true,
  },
  TF_HTTP_INTERNAL: { ...problemTypes.TF_HTTP_INTERNAL, message: reason },
  TF_HTTP_DRAIN_DEADLINE: {
    ...problemTypes.TF_HTTP_DRAIN_DEADLINE,
    message: (f: { aborted: number }) => `http: drain deadline passed: aborted ${f.aborted} request(s) still running`,
    retryable: true,
  },
  TF_HTTP_ROUTES_CLOSED: {
    ...problemTypes.TF_HTTP_ROUTES_CLOSED,
    message: (f: { what: string }) => `http: cannot add ${f.what} after the first request: add it during start`,
  },
  // HttpAuth.sign() on an app with no SECRET_KEY (tokens verified against a JWKS cannot be signed here).
  TF_HTTP_NO_SIGNING_KEY: {
    ...problemTypes.TF_HTTP_NO_SIGNING_KEY,
    message: () => "http: cannot sign tokens: SECRET_KEY is not set",
  },
} as const;

/** Stable codes; each maps to one problem `type` URI and one status. */
export type HttpErrorCode = keyof typeof table;

/** One failing field of a validation problem. */
export interface InvalidParam {
  /** Dotted path of the field (`messages.0.text`); empty for the body as a whole. */
  readonly name: string;
  readonly reason: string;
}

/** Options for {@link HttpError}. */
export interface HttpErrorOptions extends TwelvefoldErrorOptions {
  /** Shown to the client as `detail`: write it for them, never put a secret or internals in it. */
  readonly detail?: string;
  /** Extra problem members (`invalid_params`, `retry_after`). */
  readonly extensions?: Readonly<Record<string, unknown>>;
  /** Extra response headers (`WWW-Authenticate`, `Retry-After`). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * An error meant for the client: thrown from a handler or middleware, it becomes a problem+json
 * response with the code's status. Anything else thrown becomes a bare 500.
 *
 * @example
 * ```ts
 * import { HttpError, httpErrors } from "@twelvefold/http";
 *
 * throw httpErrors.create("TF_HTTP_NOT_FOUND", { reason: 'session not found: "s-42"' }, { detail: "No such session" });
 * // the same, by hand:
 * throw new HttpError("TF_HTTP_NOT_FOUND", 'http: session not found: "s-42"', { detail: "No such session" });
 * ```
 */
export class HttpError extends TwelvefoldError<HttpErrorCode> {
  override name = "HttpError";
  readonly status: number;
  readonly detail: string | undefined;
  readonly extensions: Readonly<Record<string, unknown>> | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  constructor(code: HttpErrorCode, message: string, options: HttpErrorOptions = {}) {
    super(code, message, { retryable: (table[code] as { retryable?: boolean }).retryable, ...options });
    this.status = table[code].status;
    this.detail = options.detail;
    this.extensions = options.extensions;
    this.headers = options.headers;
  }
}

/** The drain deadline passed with requests still running; the process then exits 1. */
export class DrainDeadlineError extends HttpError {
  override name = "DrainDeadlineError";
  readonly aborted: number;
  constructor(aborted: number) {
    super("TF_HTTP_DRAIN_DEADLINE", httpErrors.message("TF_HTTP_DRAIN_DEADLINE", { aborted }));
    this.aborted = aborted;
  }
}

/**
 * The http plugin's error catalogue: `httpErrors.create(code, facts, options)` builds the
 * {@link HttpError} with the code's message template.
 *
 * @example
 * ```ts
 * import { httpErrors } from "@twelvefold/http";
 * throw httpErrors.create("TF_HTTP_FORBIDDEN", { reason: "not the owner of the session" }, { detail: "Not yours" });
 * ```
 */
export const httpErrors = defineErrors(table, HttpError);
