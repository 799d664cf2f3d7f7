import { type ConfigProblem, defineConfig, env, type InferConfig, secret } from "@twelvefold/kernel";
import * as v from "valibot";
import { isProxyEntry } from "./client-ip.ts";

/**
 * The http plugin's settings, keyed by env var name. SECRET_KEY is optional (only the JWT
 * middleware needs it) except in production, which requires one of at least 32 characters.
 */
export const httpConfig = defineConfig(
  {
    PORT: v.optional(env.port(), "8000"),
    HOST: v.optional(env.string({ minLength: 1 }), "0.0.0.0"),
    SECRET_KEY: secret(v.optional(env.string({ minLength: 1 }))),
    JWT_EXPIRE_MINUTES: v.optional(env.integer({ min: 1 }), "60"),
    /** Verify tokens against this JWKS instead of HS256 with SECRET_KEY. */
    JWT_JWKS_URL: v.optional(env.url({ protocols: ["https:", "http:"] })),
    JWT_AUDIENCE: v.optional(env.string({ minLength: 1 })),
    JWT_ISSUER: v.optional(env.string({ minLength: 1 })),
    /**
     * Seconds a token's exp, nbf and iat may be off by. 30 covers issuers whose clocks run a little
     * ahead (a token issued "one second in the future" is otherwise refused) and adds at most that
     * much to a stolen token's life; hosts kept in sync by NTP are off by far less.
     */
    JWT_CLOCK_SKEW_S: v.optional(env.integer({ min: 0, max: 300 }), "30"),
    /** Largest request body, in bytes (413 above it). */
    HTTP_BODY_LIMIT_BYTES: v.optional(env.integer({ min: 1 }), String(1024 * 1024)),
    /** Time a handler has to produce a response (504 after it, its work aborted); 0 turns it off. */
    HTTP_REQUEST_TIMEOUT_MS: v.optional(env.integer({ min: 0 }), "30000"),
    /** Largest request head, in bytes, where the runtime allows setting it (Node). */
    HTTP_MAX_HEADER_BYTES: v.optional(env.integer({ min: 1024 }), "16384"),
    /** Seconds an idle keep-alive connection stays open. */
    HTTP_IDLE_TIMEOUT_S: v.optional(env.integer({ min: 1, max: 255 }), "10"),
    /** Origins allowed by CORS; empty means no cross-origin access. `*` cannot go with credentials. */
    HTTP_CORS_ORIGINS: v.optional(env.list(), ""),
    HTTP_CORS_CREDENTIALS: v.optional(env.boolean(), "false"),
    /** Proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed; none by default. */
    TRUSTED_PROXIES: v.optional(
      v.pipe(
        env.list(),
        v.check((entries) => entries.every(isProxyEntry), "a comma-separated list of addresses or CIDR ranges"),
      ),
      "",
    ),
    /**
     * Clients (addresses or CIDR ranges of `clientIp`, or `*` for all) whose incoming W3C baggage
     * is propagated. From any other client it is dropped at the edge, so none by default: baggage
     * rides on every outgoing call (LLM providers, internal services) and into spans, and a public
     * client must not choose what those calls carry. List your own services that send it.
     */
    HTTP_BAGGAGE_TRUSTED: v.optional(
      v.pipe(
        env.list(),
        v.check(
          (entries) => entries.every((entry) => entry === "*" || isProxyEntry(entry)),
          "a comma-separated list of addresses or CIDR ranges, or *",
        ),
      ),
      "",
    ),
    /** Strict-Transport-Security max-age in seconds; 0 leaves the header out. */
    HTTP_HSTS_MAX_AGE: v.optional(env.integer({ min: 0 }), "31536000"),
    HTTP_FRAME_OPTIONS: v.optional(env.picklist(["DENY", "SAMEORIGIN"]), "DENY"),
    HTTP_REFERRER_POLICY: v.optional(
      env.picklist(["no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"]),
      "no-referrer",
    ),
    /** Content-Security-Policy, sent with HTML responses. */
    HTTP_CSP: v.optional(env.string({ minLength: 1 }), "default-src 'self'; frame-ancestors 'none'; object-src 'none'"),
    /**
     * At drain, the listener closes once the requests in flight when draining began have answered
     * (each with `Connection: close`), or after this long, whichever comes first.
     */
    HTTP_DRAIN_GRACE_MS: v.optional(env.integer({ min: 0 }), "1000"),
    /**
     * Milliseconds of silence after which a server-sent event stream sends a `: keep-alive`
     * comment, so proxies (and clients) do not take it for dead. 15 s is the common choice.
     */
    HTTP_SSE_KEEPALIVE_MS: v.optional(env.integer({ min: 100 }), "15000"),
    /** One JSON line per request (probes excepted). */
    HTTP_ACCESS_LOG: v.optional(env.boolean(), "true"),
  },
  { production: { SECRET_KEY: secret(env.string({ minLength: 32 })) } },
);

/** The parsed settings. */
export type HttpConfig = InferConfig<typeof httpConfig>;

/** The rules across settings, reported with every other config problem (exit 78). */
export function checkHttpConfig(config: HttpConfig): ConfigProblem[] {
  if (config.HTTP_CORS_CREDENTIALS && config.HTTP_CORS_ORIGINS.includes("*")) {
    return [
      { name: "HTTP_CORS_ORIGINS", expected: 'a list of origins without "*" when HTTP_CORS_CREDENTIALS is true' },
    ];
  }
  return [];
}
