/**
 * Problem details (RFC 9457) as every Twelvefold HTTP answer writes them: the standard codes with
 * their status, title and `type`, and the builder. Beside the http contract, so a plugin that
 * answers a request itself (the rate limiter's 429) writes the same body the http plugin does.
 */

/** The media type of every error body. */
export const PROBLEM_JSON = "application/problem+json";

/** Prefix of every problem `type`; the code's slug follows it. */
export const PROBLEM_BASE = "https://twelvefold.dev/problems/";

/** Status, title and problem type of each standard code. */
export const problemTypes = {
  TF_HTTP_BAD_REQUEST: { status: 400, title: "Bad request", type: "bad-request" },
  TF_HTTP_VALIDATION: { status: 422, title: "Validation failed", type: "validation" },
  TF_HTTP_UNAUTHORIZED: { status: 401, title: "Unauthorized", type: "unauthorized" },
  TF_HTTP_FORBIDDEN: { status: 403, title: "Forbidden", type: "forbidden" },
  TF_HTTP_NOT_FOUND: { status: 404, title: "Not found", type: "not-found" },
  TF_HTTP_METHOD_NOT_ALLOWED: { status: 405, title: "Method not allowed", type: "method-not-allowed" },
  TF_HTTP_CONFLICT: { status: 409, title: "Conflict", type: "conflict" },
  TF_HTTP_BODY_TOO_LARGE: { status: 413, title: "Request body too large", type: "body-too-large" },
  TF_HTTP_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: "Unsupported media type", type: "unsupported-media-type" },
  TF_HTTP_RATE_LIMITED: { status: 429, title: "Too many requests", type: "rate-limited" },
  TF_HTTP_UNAVAILABLE: { status: 503, title: "Service unavailable", type: "unavailable" },
  TF_HTTP_TIMEOUT: { status: 504, title: "Request timed out", type: "timeout" },
  TF_HTTP_INTERNAL: { status: 500, title: "Internal server error", type: "internal" },
  TF_HTTP_DRAIN_DEADLINE: { status: 503, title: "Shutting down", type: "unavailable" },
  TF_HTTP_ROUTES_CLOSED: { status: 500, title: "Internal server error", type: "internal" },
  TF_HTTP_NO_SIGNING_KEY: { status: 500, title: "Internal server error", type: "internal" },
} as const satisfies Record<string, { status: number; title: string; type: string }>;

/** A standard problem code; each maps to one `type` URI and one status. */
export type ProblemCode = keyof typeof problemTypes;

/** An RFC 9457 problem object as Twelvefold writes it. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly instance?: string;
  readonly code: ProblemCode;
  readonly request_id?: string;
  readonly [extension: string]: unknown;
}

/** Options for {@link problemResponse}. */
export interface ProblemOptions {
  /** Shown to the client: write it for them, never put a secret or internals in it. */
  readonly detail?: string;
  readonly requestId?: string;
  /** Extra problem members (`invalid_params`, `retry_after`). */
  readonly extensions?: Readonly<Record<string, unknown>>;
  /** Extra response headers (`WWW-Authenticate`, `Retry-After`). */
  readonly headers?: Readonly<Record<string, string>> | Headers;
}

/**
 * Builds an `application/problem+json` response for a code: stable `type`, `title` and status,
 * plus the request id so a user can quote it to support.
 *
 * @example
 * ```ts
 * import { problemResponse } from "@twelvefold/kernel";
 * const answer = problemResponse("TF_HTTP_NOT_FOUND", { detail: "No such session", requestId: "r-1" });
 * ```
 */
export function problemResponse(code: ProblemCode, options: ProblemOptions = {}): Response {
  const known = problemTypes[code];
  const body: Problem = {
    type: PROBLEM_BASE + known.type,
    title: known.title,
    status: known.status,
    code,
    ...(options.detail === undefined ? {} : { detail: options.detail }),
    ...(options.requestId === undefined ? {} : { request_id: options.requestId }),
    ...options.extensions,
  };
  const headers = new Headers(options.headers);
  headers.set("content-type", PROBLEM_JSON);
  return new Response(JSON.stringify(body), { status: known.status, headers });
}
