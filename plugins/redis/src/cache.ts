import type { Cache, CacheSetOptions } from "@twelvefold/kernel";
import type { RedisConnection } from "./connection.ts";

/** Options of {@link redisCache}. */
export interface RedisCacheOptions {
  /** TTL of entries set without one, in ms (REDIS_TTL); absent means they do not expire. */
  readonly defaultTtlMs?: number;
}

/** Escapes Redis glob characters, so a namespace named `a-*` clears only itself. */
const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, "\\$&");

/** Length-prefixed, so ["a","bk"] and ["ab","k"] can never meet: `2:ab:1:k`. */
const segment = (part: string) => `${part.length}:${part}:`;

/** ES2024's String.prototype.isWellFormed, which every supported runtime has; the project's lib is ES2023. */
type WellFormed = { isWellFormed(): boolean };

function checkValue(key: string, value: unknown): asserts value is string {
  if (typeof value !== "string") {
    throw new TypeError(`redis Cache: value of "${key}" must be a string: got ${typeof value}`);
  }
  // A lone surrogate cannot be encoded as UTF-8: it would come back as U+FFFD, not as it went in.
  if (!(value as unknown as WellFormed).isWellFormed()) {
    throw new TypeError(
      `redis Cache: value of "${key}" cannot be stored: it holds a lone surrogate (not well-formed Unicode)`,
    );
  }
}

/**
 * The {@link Cache} on Redis: every replica sees the same entries. Keys live under
 * `<prefix>c:`, each namespace segment length-prefixed, so namespaces never collide and `clear`
 * (SCAN and UNLINK) touches only its own. Values are stored as they are (Redis strings are
 * binary-safe); one that is not a well-formed string is refused with a TypeError, not mangled.
 *
 * @example
 * ```ts
 * const cache = redisCache(connection, { defaultTtlMs: 3_600_000 });
 * await cache.namespace("sessions").set("abc", JSON.stringify(session), { ttlMs: 60_000 });
 * ```
 */
export function redisCache(connection: RedisConnection, options: RedisCacheOptions = {}): Cache {
  return new RedisCache(connection, `${connection.prefix}c:`, options.defaultTtlMs);
}

class RedisCache implements Cache {
  readonly #connection: RedisConnection;
  readonly #base: string;
  readonly #defaultTtlMs: number | undefined;

  constructor(connection: RedisConnection, base: string, defaultTtlMs: number | undefined) {
    this.#connection = connection;
    this.#base = base;
    this.#defaultTtlMs = defaultTtlMs;
  }

  #key(key: string): string {
    return this.#base + segment(key);
  }

  async get(key: string): Promise<string | undefined> {
    const value = await this.#connection.send<string | null>(["GET", this.#key(key)], "cache get");
    return value ?? undefined;
  }

  async set(key: string, value: string, options?: CacheSetOptions): Promise<void> {
    checkValue(key, value);
    const ttlMs = options?.ttlMs ?? this.#defaultTtlMs;
    if (ttlMs !== undefined && (!Number.isFinite(ttlMs) || ttlMs <= 0)) {
      throw new RangeError(`redis Cache: ttlMs must be a positive number of milliseconds: got "${ttlMs}"`);
    }
    const args = ["SET", this.#key(key), value];
    if (ttlMs !== undefined) args.push("PX", String(Math.ceil(ttlMs)));
    await this.#connection.send(args, "cache set");
  }

  async delete(key: string): Promise<boolean> {
    return (await this.#connection.send<number>(["UNLINK", this.#key(key)], "cache delete")) === 1;
  }

  async ttl(key: string): Promise<number | undefined> {
    const ms = await this.#connection.send<number>(["PTTL", this.#key(key)], "cache ttl");
    if (ms === -2) return undefined;
    return ms === -1 ? Infinity : ms;
  }

  namespace(prefix: string): Cache {
    return new RedisCache(this.#connection, this.#base + segment(prefix), this.#defaultTtlMs);
  }

  async clear(): Promise<void> {
    const pattern = `${escapeGlob(this.#base)}*`;
    let cursor = "0";
    do {
      const [next, keys] = await this.#connection.send<[string, string[]]>(
        ["SCAN", cursor, "MATCH", pattern, "COUNT", "1000"],
        "cache clear",
      );
      if (keys.length > 0) await this.#connection.send(["UNLINK", ...keys], "cache clear");
      cursor = next;
    } while (cursor !== "0");
  }
}
