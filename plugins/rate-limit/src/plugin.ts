import {
  type ConfigOptions,
  definePlugin,
  type HttpMiddleware,
  HttpRoutes,
  type Logger,
  Meter,
  metricNames,
  type Plugin,
  RateLimitStore,
  token,
} from "@twelvefold/kernel";
import { rateLimitConfig } from "./config.ts";
import { createRateLimiter, type RatePolicy } from "./limiter.ts";

/** Builds more limiters over the app's store, for routes that need their own (after authentication, say). */
export interface RateLimiter {
  /** A middleware for one policy (or several, first match wins) over the app's RateLimitStore. */
  middleware(...policies: RatePolicy[]): HttpMiddleware;
}

/** The rate-limit plugin's limiter factory, for apps. */
export const RateLimiter = token<RateLimiter>("twelvefold/rate-limit/RateLimiter");

/**
 * The store as the limiter sees it while it fails: RATE_LIMIT_FAIL_OPEN admits (or refuses) every
 * request, and the outage is logged once when it begins and once when it ends, not per request.
 */
function followFailOpen(store: RateLimitStore, failOpen: boolean, logger: Logger): RateLimitStore {
  let failing = false;
  return {
    async hit(key, limit, windowMs) {
      try {
        const result = await store.hit(key, limit, windowMs);
        if (failing) {
          failing = false;
          logger.info("rate-limit store is back: limiting again");
        }
        return result;
      } catch (error) {
        if (!failing) {
          failing = true;
          const what = failOpen ? "admitting requests unlimited" : "refusing requests until it is back";
          logger.warn(`rate-limit store failed: ${what}`, { error, fail_open: failOpen });
        }
        // Refused requests are told to retry in a second.
        return { allowed: failOpen, limit, remaining: failOpen ? limit : 0, resetMs: Math.min(windowMs, 1_000) };
      }
    },
    reset: (key) => store.reset(key),
  };
}

/** Options of {@link rateLimit}: values for its settings (the top config layer), and policies. */
export type RateLimitOptions = ConfigOptions<typeof rateLimitConfig> & {
  /**
   * Policies checked before the default one (RATE_LIMIT_PER_MINUTE per RATE_LIMIT_KEY), first
   * match wins: `[{ name: "chat", match: "/chat/*", limit: 20 }]`.
   */
  readonly policies?: readonly RatePolicy[];
};

/**
 * The rate-limit plugin: registers the limiter on every non-probe request through the kernel's
 * `HttpRoutes.use` (so it needs no import of the http plugin), over whatever RateLimitStore the
 * registry holds: the memory one by default, Redis when the redis plugin is present.
 *
 * @example
 * ```ts
 * createApp({ name: "agent", plugins: [http(), rateLimit({ policies: [{ name: "chat", match: "/chat/*", limit: 20 }] })] });
 * ```
 */
export function rateLimit(options: RateLimitOptions = {}): Plugin {
  const { policies = [], ...settings } = options;
  return definePlugin({
    name: "rate-limit",
    // It guards the web process's routes; worker and scheduler processes serve only probes.
    processes: ["web"],
    config: rateLimitConfig,
    options: settings,
    requires: [RateLimitStore, HttpRoutes],
    optional: [Meter],
    provides: [RateLimiter],
    start({ config, get, find, provide, logger }) {
      const store = followFailOpen(get(RateLimitStore), config.RATE_LIMIT_FAIL_OPEN, logger);
      const rejections = find(Meter)?.counter({
        name: metricNames.rateLimitRejections,
        help: "Requests refused with 429 by the rate limiter.",
      });
      const onReject = rejections ? () => rejections.inc() : undefined;
      const build = (list: readonly RatePolicy[]) =>
        createRateLimiter(store, { policies: list, apiKeyHeader: config.RATE_LIMIT_API_KEY_HEADER, logger, onReject });
      const fallback: RatePolicy = { name: "default", limit: config.RATE_LIMIT_PER_MINUTE, key: config.RATE_LIMIT_KEY };
      get(HttpRoutes).use(build([...policies, fallback]), { name: "rate-limit" });
      provide(RateLimiter, { middleware: (...list) => build(list) });
      logger.debug("rate limiting", { per_minute: config.RATE_LIMIT_PER_MINUTE, key: config.RATE_LIMIT_KEY });
    },
  });
}
