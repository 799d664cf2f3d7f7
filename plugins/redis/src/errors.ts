/** The redis plugin's error catalogue. */
import { defineErrors, quote, TwelvefoldError } from "@twelvefold/kernel";

const table = {
  /** The server could not be reached when the plugin started. */
  TF_REDIS_CONNECT: {
    message: (f: { server: string; reason: string }) => `redis: cannot connect to ${quote(f.server)}: ${f.reason}`,
  },
  /** A command failed because the connection is down (an outage, a restart): retry it later. */
  TF_REDIS_UNAVAILABLE: {
    message: (f: { what: string; reason: string }) => `redis: ${f.what} failed: the server is unreachable: ${f.reason}`,
    retryable: true,
  },
  /** The server answered a command with an error. */
  TF_REDIS_COMMAND: { message: (f: { what: string; reason: string }) => `redis: ${f.what} failed: ${f.reason}` },
  /** The adapter was used after the plugin stopped. */
  TF_REDIS_CLOSED: { message: (f: { what: string }) => `redis: ${f.what} after the connection was closed` },
} as const;

/** Stable codes of the redis plugin's errors. */
export type RedisErrorCode = keyof typeof table;

/**
 * An error from the redis plugin. `retryable` is true when the same call may succeed later
 * (the connection is down and reconnecting): callers retry those, with backoff.
 *
 * @example
 * ```ts
 * import { RedisError } from "@twelvefold/redis";
 * try { await enqueue(); }
 * catch (e) { if (e instanceof RedisError && e.retryable) setTimeout(enqueue, 1_000); }
 * declare function enqueue(): Promise<void>;
 * ```
 */
export class RedisError extends TwelvefoldError<RedisErrorCode> {
  override name = "RedisError";
}

/** The redis plugin's catalogue: `redisErrors.create(code, facts, { cause })`. */
export const redisErrors = defineErrors(table, RedisError);

/** Error classes of node-redis that mean "not connected right now", by name (the module loads lazily). */
const offline = new Set([
  "ClientOfflineError",
  "SocketClosedUnexpectedlyError",
  "ConnectionTimeoutError",
  "SocketTimeoutError",
  "DisconnectsClientError",
]);

/** Wraps a node-redis failure in a {@link RedisError} whose message says what failed. */
export function toRedisError(error: unknown, what: string): RedisError {
  if (error instanceof RedisError) return error;
  const name = error instanceof Error ? error.constructor.name : "";
  const reason = error instanceof Error ? error.message : String(error);
  if (name === "ClientClosedError") return redisErrors.create("TF_REDIS_CLOSED", { what }, { cause: error });
  if (offline.has(name) || /ECONN|EPIPE/.test(reason)) {
    return redisErrors.create("TF_REDIS_UNAVAILABLE", { what, reason }, { cause: error });
  }
  return redisErrors.create("TF_REDIS_COMMAND", { what, reason }, { cause: error });
}
