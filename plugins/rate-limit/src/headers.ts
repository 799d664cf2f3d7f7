import type { RateLimitResult } from "@twelvefold/kernel";

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

/** Problem `type` of a rejection; the same URI the http plugin uses for its 429s. */
export const RATE_LIMITED_TYPE = "https://twelvefold.dev/problems/rate-limited";

/** A 429 with `Retry-After` and an `application/problem+json` body. */
export function rejection(policy: string, result: RateLimitResult, requestId: string, headers: Headers): Response {
  const retryAfter = Math.max(1, Math.ceil(result.resetMs / 1000));
  headers.set("retry-after", String(retryAfter));
  headers.set("content-type", "application/problem+json");
  const body = {
    type: RATE_LIMITED_TYPE,
    title: "Too many requests",
    status: 429,
    code: "TF_HTTP_RATE_LIMITED",
    detail: `The "${policy}" limit of ${result.limit} requests is used up; retry in ${retryAfter} s`,
    request_id: requestId,
    retry_after: retryAfter,
  };
  return new Response(JSON.stringify(body), { status: 429, headers });
}
