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

/** The response with the quota's `RateLimit-Policy` and `RateLimit` fields. */
function labelled(response: Response, policy: Compiled, result: RateLimitResult): Response {
  const headers = response.headers;
  headers.set("ratelimit-policy", policy.policyHeader);
  headers.set("ratelimit", rateLimitHeader(policy.name, result));
  return response;
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
  const { outage, logger, onReject } = options;
  let lastWarning = 0;

  /** The store key of a request; a promise only for a hashed API key. */
  const keyOf = (policy: Compiled, request: Request, facts: RequestFacts): string | Promise<string> => {
    const { key } = policy;
    if (key === "ip") return policy.ipPrefix + facts.clientIp;
    if (key === "subject" && facts.subject !== undefined) return `${policy.prefix}sub:${facts.subject}`;
    if (key === "api-key") {
      const apiKey = request.headers.get(apiKeyHeader);
      // Hashed: store keys show up in Redis and in logs, API keys must not.
      if (apiKey) {
        return crypto.subtle
          .digest("SHA-256", new TextEncoder().encode(apiKey))
          .then((digest) => `${policy.prefix}key:${hex(digest)}`);
      }
    }
    if (typeof key === "function") {
      const custom = key(request, facts);
      if (custom !== undefined) return `${policy.prefix}fn:${custom}`;
    }
    return `${policy.prefix}ip:${facts.clientIp}`;
  };

  /**
   * What a failure means, the one place that decides it: a failed hit goes to the outage policy
   * (the plugin's RATE_LIMIT_FAIL_OPEN), which answers with a result to act on; a key that could
   * not be made, or a hit failing with no outage policy, admits the request unlimited (no headers)
   * and warns at most every 10 s. `undefined` means admit unlimited.
   */
  const failed = (error: unknown, policy: Compiled, hitting: boolean): RateLimitResult | undefined => {
    if (hitting && outage !== undefined) return outage.failed(error, policy.limit, policy.windowMs);
    const now = Date.now();
    if (now - lastWarning > 10_000) {
      lastWarning = now;
      logger?.warn("rate-limit store failed: admitting requests unlimited", { error, policy: policy.name });
    }
    return undefined;
  };

  /** Acts on a result: a 429 over the quota, else what follows, with the quota's headers added. */
  const decide = (
    policy: Compiled,
    result: RateLimitResult | undefined,
    facts: RequestFacts,
    next: () => Response | Promise<Response>,
  ): Response | Promise<Response> => {
    if (result === undefined) return next();
    if (!result.allowed) {
      onReject?.(policy.name);
      return labelled(rejection(policy.name, result, facts.requestId, new Headers()), policy, result);
    }
    const answer = next();
    if (answer instanceof Promise) return answer.then((response) => labelled(response, policy, result));
    return labelled(answer, policy, result);
  };

  /** Counts the request under `key` and acts on it: synchronously when the store answers so. */
  const count = (
    policy: Compiled,
    key: string,
    facts: RequestFacts,
    next: () => Response | Promise<Response>,
  ): Response | Promise<Response> => {
    let answer: RateLimitResult | Promise<RateLimitResult>;
    try {
      answer = store.hit(key, policy.limit, policy.windowMs);
    } catch (error) {
      return decide(policy, failed(error, policy, true), facts, next);
    }
    if (answer instanceof Promise) {
      return answer.then(
        (result) => {
          if (outage?.failing) outage.recovered();
          return decide(policy, result, facts, next);
        },
        (error: unknown) => decide(policy, failed(error, policy, true), facts, next),
      );
    }
    if (outage?.failing) outage.recovered();
    return decide(policy, answer, facts, next);
  };

  /**
   * Synchronous from end to end when the store answers synchronously (the memory one) and what
   * follows does (a route answering at once): then the request is answered with no microtask turn
   * of the limiter's own. A store or a `next()` that answers with a promise makes the answer a
   * promise, with the same headers, 429s and outage handling.
   */
  return function rateLimit(request, facts, next) {
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
    const matched = policy;
    let key: string | Promise<string>;
    try {
      key = keyOf(matched, request, facts);
    } catch (error) {
      return decide(matched, failed(error, matched, false), facts, next);
    }
    if (typeof key === "string") return count(matched, key, facts, next);
    return key.then(
      (hashed) => count(matched, hashed, facts, next),
      (error: unknown) => decide(matched, failed(error, matched, false), facts, next),
    );
  };
}
