/**
 * @module
 * The rate-limit plugin: per-route quotas keyed by client address (trusted proxies honoured by
 * the http plugin), API key or authenticated subject, counted in whatever RateLimitStore the
 * registry holds. Responses carry the IETF `RateLimit` and `RateLimit-Policy` fields; a request
 * over its quota is a 429 with `Retry-After` and a problem+json body.
 *
 * @example
 * ```ts
 * import { createApp } from "@twelvefold/kernel";
 * import { http } from "@twelvefold/http";
 * import { rateLimit } from "@twelvefold/rate-limit";
 *
 * await createApp({
 *   name: "agent",
 *   plugins: [http(), rateLimit({ policies: [{ name: "chat", match: "/chat/*", limit: 20 }] })],
 * }).run();
 * ```
 */
export { rateLimitConfig } from "./src/config.ts";
export { type RateLimitErrorCode, RateLimitPolicyError } from "./src/errors.ts";
export {
  createRateLimiter,
  type RateKey,
  type RateLimiterOptions,
  type RatePolicy,
} from "./src/limiter.ts";
export { RateLimiter, type RateLimitOptions, rateLimit } from "./src/plugin.ts";
