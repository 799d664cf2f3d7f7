import { problemResponse, quote, type RateLimitResult } from "@twelvefold/kernel";

/**
 * The IETF rate-limit header fields (draft-ietf-httpapi-ratelimit-headers, structured fields):
 * `RateLimit-Policy: "default";q=100;w=60` describes the quota, `RateLimit: "default";r=42;t=17`
 * the hits left and the seconds until the window resets.
 */
export function policyHeader(name: string, limit: number, windowMs: number): string {
  return `"${name}";q=${limit};w=${Math.ceil(windowMs / 1000)}`;
}

/** The `RateLimit` field value for one hit. */
export function rateLimitHeader(name: string, result: RateLimitResult): string {
  return `"${name}";r=${result.remaining};t=${Math.ceil(result.resetMs / 1000)}`;
}

/** A 429 with `Retry-After` and the kernel's `application/problem+json` body for TF_HTTP_RATE_LIMITED. */
export function rejection(policy: string, result: RateLimitResult, requestId: string, headers: Headers): Response {
  const retryAfter = Math.max(1, Math.ceil(result.resetMs / 1000));
  headers.set("retry-after", String(retryAfter));
  return problemResponse("TF_HTTP_RATE_LIMITED", {
    detail: `The ${quote(policy)} limit of ${result.limit} requests is used up; retry in ${retryAfter} s`,
    requestId,
    extensions: { retry_after: retryAfter },
    headers,
  });
}
