/** The redis plugin's error catalogue. */

/** Stable codes of the redis plugin's errors. */
export type RedisErrorCode =
  /** The server could not be reached when the plugin started. */
  | "TF_REDIS_CONNECT"
  /** A command failed because the connection is down (an outage, a restart): retry it later. */
  | "TF_REDIS_UNAVAILABLE"
  /** The server answered a command with an error. */
  | "TF_REDIS_COMMAND"
  /** The adapter was used after the plugin stopped. */
  | "TF_REDIS_CLOSED";

/**
 * An error from the redis plugin. `retryable` is true when the same call may succeed later
 * (the connection is down and reconnecting): callers retry those, with backoff.
 *
 * @example
 * ```ts
 * try { await queue.enqueue("emails", job); }
 * catch (e) { if (e instanceof RedisError && e.retryable) await later(() => queue.enqueue("emails", job)); }
 * ```
 */
export class RedisError extends Error {
  override name = "RedisError";
  readonly code: RedisErrorCode;
  readonly retryable: boolean;
  constructor(code: RedisErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.retryable = code === "TF_REDIS_UNAVAILABLE";
  }
}

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
  const message = error instanceof Error ? error.message : String(error);
  if (name === "ClientClosedError") {
    return new RedisError("TF_REDIS_CLOSED", `redis: ${what} after the connection was closed`, { cause: error });
  }
  if (offline.has(name) || (error as { code?: unknown })?.code === "ECONNREFUSED" || /ECONN|EPIPE/.test(message)) {
    return new RedisError("TF_REDIS_UNAVAILABLE", `redis: ${what} failed: the server is unreachable: ${message}`, {
      cause: error,
    });
  }
  return new RedisError("TF_REDIS_COMMAND", `redis: ${what} failed: ${message}`, { cause: error });
}
