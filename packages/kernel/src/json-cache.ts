import type { Cache, CacheSetOptions } from "./contracts/cache.ts";
import { kernelErrors } from "./errors.ts";

/**
 * A JSON view of a {@link Cache}: `set` stores `JSON.stringify(value)` as the entry's text and
 * `get` gives back `JSON.parse` of it. Every other property is the cache's own: namespaces are the
 * cache's namespaces, and a `set` without `ttlMs` takes the cache's default TTL (REDIS_TTL on the
 * redis Cache). `get<T>` trusts the stored text to be a `T`, as cache-manager's `get<T>` does;
 * validate it where another writer could have stored something else.
 */
export interface JsonCache {
  /** The parsed value, or `undefined` when the key is missing (a stored `null` comes back `null`). */
  get<T = unknown>(key: string): Promise<T | undefined>;
  /** Stores the value's JSON text; refuses a value JSON cannot hold, and then stores nothing. */
  set(key: string, value: unknown, options?: CacheSetOptions): Promise<void>;
  /** Removes the key; true when it existed. */
  delete(key: string): Promise<boolean>;
  /** Remaining time to live in ms: `undefined` when missing, `Infinity` when it never expires. */
  ttl(key: string): Promise<number | undefined>;
  /** A JSON view of the cache's namespace `prefix`. */
  namespace(prefix: string): JsonCache;
  /** Removes every key of this namespace (the whole cache for the root). */
  clear(): Promise<void>;
  /** The cache underneath, for text entries beside the JSON ones. */
  readonly text: Cache;
}

/**
 * Wraps any {@link Cache} in a {@link JsonCache}, so every adapter (memory, redis, yours) stores
 * JSON values the same way without implementing anything. A value JSON cannot hold (a BigInt, a
 * cycle, or `undefined`, a function or a symbol as the whole value) is refused with a
 * `KernelError` of code `TF_CACHE_UNSERIALIZABLE` that says where in the value the problem is;
 * stored text that is not JSON is reported as `TF_CACHE_NOT_JSON`, never returned as a string.
 * Values come back as `JSON.parse` builds them: a `Date` as its ISO string, a `Map` as `{}`, and
 * an object property holding `undefined` or a function is left out, as `JSON.stringify` does.
 *
 * @example
 * ```ts
 * import { Cache, jsonCache, type ServiceReader } from "@twelvefold/kernel";
 *
 * interface Session { user: string; turns: number }
 * declare const services: ServiceReader;
 *
 * const sessions = jsonCache(services.get(Cache)).namespace("sessions");
 * await sessions.set("abc", { user: "ada", turns: 1 }, { ttlMs: 60_000 });
 * const session = await sessions.get<Session>("abc"); // { user: "ada", turns: 1 }
 * ```
 */
export function jsonCache(cache: Cache): JsonCache {
  return {
    text: cache,
    async get<T>(key: string): Promise<T | undefined> {
      const text = await cache.get(key);
      if (text === undefined) return undefined;
      try {
        return JSON.parse(text) as T;
      } catch {
        // No cause: the parser's message quotes the stored text, which may be anything.
        throw kernelErrors.create("TF_CACHE_NOT_JSON", { key });
      }
    },
    async set(key: string, value: unknown, options?: CacheSetOptions): Promise<void> {
      await cache.set(key, serialize(key, value), options);
    },
    delete: (key) => cache.delete(key),
    ttl: (key) => cache.ttl(key),
    namespace: (prefix) => jsonCache(cache.namespace(prefix)),
    clear: () => cache.clear(),
  };
}

function serialize(key: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw kernelErrors.create("TF_CACHE_UNSERIALIZABLE", { key, reason: whyNot(value) }, { cause: error });
  }
  if (text === undefined) {
    const what = value === undefined ? "undefined" : `a ${typeof value}`;
    throw kernelErrors.create("TF_CACHE_UNSERIALIZABLE", {
      key,
      reason: `the value is ${what}, which JSON cannot hold`,
    });
  }
  return text;
}

/** The path of a property, the way JavaScript would write it: `$.usage.total`, `$.items[2]`, `$["a b"]`. */
const step = (path: string, property: string | number) =>
  typeof property === "number"
    ? `${path}[${property}]`
    : /^[A-Za-z_$][\w$]*$/.test(property)
      ? `${path}.${property}`
      : `${path}[${JSON.stringify(property)}]`;

/**
 * Why JSON.stringify threw, found by walking the value as it does (toJSON first): the first BigInt
 * or cycle, with its path. Runs only after a failure, so storing a good value costs nothing extra.
 */
function whyNot(root: unknown): string {
  const ancestors: object[] = [];
  const ancestorPaths: string[] = [];
  const visit = (input: unknown, holderKey: string, path: string): string | undefined => {
    let value = input;
    if (value !== null && typeof value === "object") {
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function") value = toJSON.call(value, holderKey);
    }
    if (typeof value === "bigint") return `a BigInt at ${path}`;
    if (value === null || typeof value !== "object") return undefined;
    const seen = ancestors.indexOf(value);
    if (seen !== -1) return `a cycle at ${path}, which refers back to ${ancestorPaths[seen]}`;
    ancestors.push(value);
    ancestorPaths.push(path);
    try {
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const found = visit(value[i], String(i), step(path, i));
          if (found) return found;
        }
      } else {
        for (const [property, child] of Object.entries(value)) {
          const found = visit(child, property, step(path, property));
          if (found) return found;
        }
      }
      return undefined;
    } finally {
      ancestors.pop();
      ancestorPaths.pop();
    }
  };
  try {
    return visit(root, "", "$") ?? "JSON.stringify failed on it (see the cause)";
  } catch {
    // A toJSON that throws, or a value too deep to walk: the cause carries what JSON.stringify said.
    return "JSON.stringify failed on it (see the cause)";
  }
}
