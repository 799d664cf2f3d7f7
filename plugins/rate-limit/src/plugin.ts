import {
  type ConfigOptions,
  definePlugin,
  type HttpMiddleware,
  HttpRoutes,
  type Logger,
  Meter,
  metricNames,
  type Plugin,
  type RateLimitResult,
  RateLimitStore,
  token,
} from "@twelvefold/kernel";
import { rateLimitConfig } from "./config.ts";
import { createRateLimiter, type RatePolicy, type StoreOutage } from "./limiter.ts";

/** Builds more limiters over the app's store, for routes that need their own (after authentication, say). */
export interface RateLimiter {
  /** A middleware for one policy (or several, first match wins) over the app's RateLimitStore. */
  middleware(...policies: RatePolicy[]): HttpMiddleware;
}

/** The rate-limit plugin's limiter factory, for apps. */
export const RateLimiter = token<RateLimiter>("twelvefold/rate-limit/RateLimiter");

/**
 * What the limiter does while its store fails: RATE_LIMIT_FAIL_OPEN admits (or refuses) every
 * request, and the outage is logged once when it begins and once when it ends, not per request.
 * The limiter consults it only when a hit fails or while an outage lasts, so a working store is
 * called directly, with no wrapper (and no extra promise) per request.
 */
class FailOpenOutage implements StoreOutage {
  failing = false;
  readonly #failOpen: boolean;
  readonly #logger: Logger;

  constructor(failOpen: boolean, logger: Logger) {
    this.#failOpen = failOpen;
    this.#logger = logger;
  }

  failed(error: unknown, limit: number, windowMs: number): RateLimitResult {
    const failOpen = this.#failOpen;
    if (!this.failing) {
      this.failing = true;
      const what = failOpen ? "admitting requests unlimited" : "refusing requests until it is back";
      this.#logger.warn(`rate-limit store failed: ${what}`, { error, fail_open: failOpen });
    }
    // Refused requests are told to retry in a second.
    return { allowed: failOpen, limit, remaining: failOpen ? limit : 0, resetMs: Math.min(windowMs, 1_000) };
  }

  recovered(): void {
    this.failing = false;
    this.#logger.info("rate-limit store is back: limiting again");
  }
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
      const store = get(RateLimitStore);
      const outage = new FailOpenOutage(config.RATE_LIMIT_FAIL_OPEN, logger);
      const rejections = find(Meter)?.counter({
        name: metricNames.rateLimitRejections,
        help: "Requests refused with 429 by the rate limiter.",
      });
      const onReject = rejections ? () => rejections.inc() : undefined;
      const build = (list: readonly RatePolicy[]) =>
        createRateLimiter(store, {
          policies: list,
          apiKeyHeader: config.RATE_LIMIT_API_KEY_HEADER,
          logger,
          onReject,
          outage,
        });
      const fallback: RatePolicy = { name: "default", limit: config.RATE_LIMIT_PER_MINUTE, key: config.RATE_LIMIT_KEY };
      get(HttpRoutes).use(build([...policies, fallback]), { name: "rate-limit" });
      provide(RateLimiter, { middleware: (...list) => build(list) });
      logger.debug("rate limiting", { per_minute: config.RATE_LIMIT_PER_MINUTE, key: config.RATE_LIMIT_KEY });
    },
  });
}
