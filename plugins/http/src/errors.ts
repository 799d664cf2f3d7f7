/**
 * The http plugin's error catalogue. An {@link HttpError} thrown from a handler becomes an
 * `application/problem+json` response (RFC 9457) whose `type` is stable per {@link HttpErrorCode}.
 */

/** Stable codes; each maps to one problem `type` URI and one status. */
export type HttpErrorCode =
  | "TF_HTTP_BAD_REQUEST"
  | "TF_HTTP_VALIDATION"
  | "TF_HTTP_UNAUTHORIZED"
  | "TF_HTTP_FORBIDDEN"
  | "TF_HTTP_NOT_FOUND"
  | "TF_HTTP_METHOD_NOT_ALLOWED"
  | "TF_HTTP_BODY_TOO_LARGE"
  | "TF_HTTP_RATE_LIMITED"
  | "TF_HTTP_UNAVAILABLE"
  | "TF_HTTP_TIMEOUT"
  | "TF_HTTP_INTERNAL"
  | "TF_HTTP_DRAIN_DEADLINE"
  | "TF_HTTP_ROUTES_CLOSED";

/** Status, title and problem type of each code. */
export const problemTypes: Readonly<Record<HttpErrorCode, { status: number; title: string; type: string }>> = {
  TF_HTTP_BAD_REQUEST: { status: 400, title: "Bad request", type: "bad-request" },
  TF_HTTP_VALIDATION: { status: 422, title: "Validation failed", type: "validation" },
  TF_HTTP_UNAUTHORIZED: { status: 401, title: "Unauthorized", type: "unauthorized" },
  TF_HTTP_FORBIDDEN: { status: 403, title: "Forbidden", type: "forbidden" },
  TF_HTTP_NOT_FOUND: { status: 404, title: "Not found", type: "not-found" },
  TF_HTTP_METHOD_NOT_ALLOWED: { status: 405, title: "Method not allowed", type: "method-not-allowed" },
  TF_HTTP_BODY_TOO_LARGE: { status: 413, title: "Request body too large", type: "body-too-large" },
  TF_HTTP_RATE_LIMITED: { status: 429, title: "Too many requests", type: "rate-limited" },
  TF_HTTP_UNAVAILABLE: { status: 503, title: "Service unavailable", type: "unavailable" },
  TF_HTTP_TIMEOUT: { status: 504, title: "Request timed out", type: "timeout" },
  TF_HTTP_INTERNAL: { status: 500, title: "Internal server error", type: "internal" },
  TF_HTTP_DRAIN_DEADLINE: { status: 503, title: "Shutting down", type: "unavailable" },
  TF_HTTP_ROUTES_CLOSED: { status: 500, title: "Internal server error", type: "internal" },
};

/** Prefix of every problem `type`; the code's slug follows it. */
export const PROBLEM_BASE = "https://twelvefold.dev/problems/";

/** One failing field of a validation problem. */
export interface InvalidParam {
  /** Dotted path of the field (`messages.0.text`); empty for the body as a whole. */
  readonly name: string;
  readonly reason: string;
}

/** Options for {@link HttpError}. */
export interface HttpErrorOptions {
  /** Shown to the client as `detail`: write it for them, never put a secret or internals in it. */
  readonly detail?: string;
  /** Extra problem members (`invalid_params`, `retry_after`). */
  readonly extensions?: Readonly<Record<string, unknown>>;
  /** Extra response headers (`WWW-Authenticate`, `Retry-After`). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

/**
 * An error meant for the client: thrown from a handler or middleware, it becomes a problem+json
 * response with the code's status. Anything else thrown becomes a bare 500.
 *
 * @example
 * ```ts
 * throw new HttpError("TF_HTTP_NOT_FOUND", "http: session not found: \"s-42\"", { detail: "No such session" });
 * ```
 */
export class HttpError extends Error {
  override name = "HttpError";
  readonly code: HttpErrorCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly extensions: Readonly<Record<string, unknown>> | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  constructor(code: HttpErrorCode, message: string, options: HttpErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.status = problemTypes[code].status;
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
    super("TF_HTTP_DRAIN_DEADLINE", `http: drain deadline passed: aborted "${aborted}" request(s) still running`);
    this.aborted = aborted;
  }
}
