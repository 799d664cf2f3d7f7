import {
  type HttpMiddleware,
  type Logger,
  quote,
  type RateLimitResult,
  type RateLimitStore,
  type RequestFacts,
} from "@twelvefold/kernel";
import { rateLimitErrors } from "./errors.ts";
import { policyHeader, rateLimitHeader, rejection } from "./headers.ts";

/** What identifies a client: its address, its API key, its authenticated subject, or your function. */
export type RateKey = "ip" | "api-key" | "subject" | ((request: Request, facts: RequestFacts) => string | undefined);

/** One quota. */
export interface RatePolicy {
  /** Names the policy in headers, store keys and messages. */
  readonly name: string;
  /**
   * The requests it covers: `"*"` (all, the default), an exact path, a prefix ending in `*`
   * (`"/chat/*"`), or a predicate. Paths are matched against the request's normalized path
   * (`facts.path`: decoded, `//` and dot segments removed), the one the router matches, so
   * `/%63hat/x` or `//chat/x` counts against `/chat/*`. The first matching policy applies.
   */
  readonly match?: string | ((request: Request, path: string) => boolean);
  /** Requests admitted per window per client. */
  readonly limit: number;
  /** Window length (default one minute). */
  readonly windowMs?: number;
  /** Default `"ip"`. A request with no API key or no subject falls back to its address. */
  readonly key?: RateKey;
}

/** Options for {@link createRateLimiter}. */
export interface RateLimiterOptions {
  readonly policies: readonly RatePolicy[];
  /** Header of the API key, for the `api-key` key (default `x-api-key`). */
  readonly apiKeyHeader?: string;
  /** Where a failing store is reported (the limiter then admits: an outage of the store is not one of the app). */
  readonly logger?: Logger;
  /** Called on every 429 (the plugin counts them in `rate_limit_rejections_total`). */
  readonly onReject?: (policy: string) => void;
  /**
   * What a failing store means (the plugin's RATE_LIMIT_FAIL_OPEN). Without it the limiter admits
   * and warns at most every 10 s.
   */
  readonly outage?: StoreOutage;
}

/** Decides the answer while the store fails, and hears when it works again; shared by the limiters over one store. */
export interface StoreOutage {
  /** True from a failed hit until the next one that works. */
  readonly failing: boolean;
  /** The result to act on for a hit that failed with `error`. */
  failed(error: unknown, limit: number, windowMs: number): RateLimitResult;
  /** A hit worked while {@link failing}. */
  recovered(): void;
}

interface Compiled {
  readonly name: string;
  readonly matches: (request: Request, path: string) => boolean;
  readonly limit: number;
  readonly windowMs: number;
  readonly key: RateKey;
  readonly policyHeader: string;
  readonly prefix: string;
  readonly ipPrefix: string;
}

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

function compile(policy: RatePolicy): Compiled {
  const windowMs = policy.windowMs ?? 60_000;
  if (!Number.isInteger(policy.limit) || policy.limit < 1) {
    throw rateLimitErrors.create("TF_RATE_LIMIT_POLICY", {
      policy: policy.name,
      problem: `has an invalid limit: ${quote(policy.limit)}: expected a positive integer`,
    });
  }
  if (!Number.isFinite(windowMs) || windowMs < 1) {
    throw rateLimitErrors.create("TF_RATE_LIMIT_POLICY", {
      policy: policy.name,
      problem: `has an invalid window: ${quote(windowMs)}: expected a positive number of milliseconds`,
    });
  }
  const match = policy.match ?? "*";
  let matches: Compiled["matches"];
  if (typeof match === "function") matches = match;
  else if (match === "*") matches = () => true;
  else if (match.endsWith("*")) {
    const prefix = match.slice(0, -1);
    matches = (_request, path) => path.startsWith(prefix);
  } else matches = (_request, path) => path === match;
  return {
    name: policy.name,
    matches,
    limit: policy.limit,
    windowMs,
    key: policy.key ?? "ip",
    policyHeader: policyHeader(policy.name, policy.limit, windowMs),
    prefix: `rl:${policy.name}:`,
    ipPrefix: `rl:${policy.name}:ip:`,
  };
}

/**
 * Builds the rate-limit middleware over any {@link RateLimitStore}: the first matching policy
 * counts the request against the client's quota; the response carries `RateLimit-Policy` and
 * `RateLimit`, and a request over the quota is a 429 with `Retry-After` and a problem+json body.
 *
 * @example
 * ```ts
 * const limit = createRateLimiter(store, {
 *   policies: [{ name: "chat", match: "/chat/*", limit: 20 }, { name: "default", limit: 100 }],
 * });
 * routes.use(limit, { name: "rate-limit" });
 * ```
 */
export function createRateLimiter(store: RateLimitStore, options: RateLimiterOptions): HttpMiddleware {
  const policies = options.policies.map(compile);
  const names = new Set<string>();
  for (const policy of policies) {
    if (names.has(policy.name)) {
      throw rateLimitErrors.create("TF_RATE_LIMIT_POLICY", { policy: policy.name, problem: "is defined twice" });
    }
    names.add(policy.name);
  }
  const apiKeyHeader = options.apiKeyHeader ?? "x-api-key";
  const outage = options.outage;
  let lastWarning = 0;

  const keyOf = async (policy: Compiled, request: Request, facts: RequestFacts): Promise<string> => {
    const { key } = policy;
    if (key === "subject" && facts.subject !== undefined) return `${policy.prefix}sub:${facts.subject}`;
    if (key === "api-key") {
      const apiKey = request.headers.get(apiKeyHeader);
      // Hashed: store keys show up in Redis and in logs, API keys must not.
      if (apiKey)
        return `${policy.prefix}key:${hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(apiKey)))}`;
    }
    if (typeof key === "function") {
      const custom = key(request, facts);
      if (custom !== undefined) return `${policy.prefix}fn:${custom}`;
    }
    return `${policy.prefix}ip:${facts.clientIp}`;
  };

  return async function rateLimit(request, facts, next) {
    // The http plugin's normalized path, the one the router matched: a respelt path counts the same.
    const path = facts.path;
    let policy: Compiled | undefined;
    for (const candidate of policies) {
      if (candidate.matches(request, path)) {
        policy = candidate;
        break;
      }
    }
    if (policy === undefined) return next();
    let result: RateLimitResult;
    let hitting = false;
    try {
      // The common case (keyed by address) stays synchronous up to the store.
      const key = policy.key === "ip" ? policy.ipPrefix + facts.clientIp : await keyOf(policy, request, facts);
      hitting = true;
      result = await store.hit(key, policy.limit, policy.windowMs);
      if (outage?.failing) outage.recovered();
    } catch (error) {
      if (hitting && outage !== undefined) result = outage.failed(error, policy.limit, policy.windowMs);
      else {
        const now = Date.now();
        if (now - lastWarning > 10_000) {
          lastWarning = now;
          options.logger?.warn("rate-limit store failed: admitting requests unlimited", { error, policy: policy.name });
        }
        return next();
      }
    }
    if (!result.allowed) {
      options.onReject?.(policy.name);
      const headers = new Headers();
      headers.set("ratelimit-policy", policy.policyHeader);
      headers.set("ratelimit", rateLimitHeader(policy.name, result));
      return rejection(policy.name, result, facts.requestId, headers);
    }
    const response = await next();
    const headers = response.headers;
    headers.set("ratelimit-policy", policy.policyHeader);
    headers.set("ratelimit", rateLimitHeader(policy.name, result));
    return response;
  };
}
