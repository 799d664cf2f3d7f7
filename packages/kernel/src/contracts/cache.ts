import { memoryCache } from "../memory/cache.ts";
import { token } from "../token.ts";

/** Options for {@link Cache.set}. */
export interface CacheSetOptions {
  /** Time to live in milliseconds; absent means the entry does not expire. */
  readonly ttlMs?: number;
}

/**
 * The Cache contract: a string key-value store with expiry, for data that can be rebuilt.
 *
 * Every adapter must guarantee:
 * - `get` after `set` returns the value exactly as set (any well-formed Unicode string, NUL included,
 *   the empty string, values of a mebibyte and more);
 * - an entry whose TTL has passed is never returned again;
 * - `namespace(prefix)` gives a view whose keys, `clear` included, never touch another namespace;
 * - concurrent calls are safe; the last completed `set` of a key wins.
 */
export interface Cache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, options?: CacheSetOptions): Promise<void>;
  /** Removes the key; true when it existed. */
  delete(key: string): Promise<boolean>;
  /** Remaining time to live in ms: `undefined` when missing, `Infinity` when it never expires. */
  ttl(key: string): Promise<number | undefined>;
  /** A view of this cache whose keys are prefixed by `prefix`. */
  namespace(prefix: string): Cache;
  /** Removes every key of this namespace (the whole cache for the root). */
  clear(): Promise<void>;
}

/** The app's cache: the memory adapter unless a plugin (redis) provides one. */
export const Cache = token<Cache>("twelvefold/Cache", { fallback: () => memoryCache() });
