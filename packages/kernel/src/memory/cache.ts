import type { Cache, CacheSetOptions } from "../contracts/cache.ts";
import { markEmbedded } from "../token.ts";
import { checkTtl, type MemoryOptions } from "./options.ts";

interface Entry {
  readonly value: string;
  /** Epoch ms, or Infinity for no expiry. */
  readonly expiresAt: number;
}

interface Store {
  readonly entries: Map<string, Entry>;
  readonly now: () => number;
  writes: number;
}

/** Sweep expired entries once per this many writes, so keys nobody reads again do not pile up. */
const SWEEP_EVERY = 1024;

/**
 * Creates the in-process {@link Cache}: the embedded default when no plugin provides one.
 *
 * Honest limits: single process (two replicas have two caches), everything is lost on restart,
 * and nothing bounds its size besides TTLs. Expiry is lazy (checked on read, swept every
 * 1024 writes), so it holds no timer and never keeps a process alive.
 *
 * @example
 * ```ts
 * import { memoryCache } from "@twelvefold/kernel/memory";
 * const cache = memoryCache();
 * await cache.namespace("sessions").set("abc", "{}", { ttlMs: 60_000 });
 * ```
 */
export function memoryCache(options: MemoryOptions = {}): Cache {
  const store: Store = { entries: new Map(), now: options.now ?? Date.now, writes: 0 };
  return markEmbedded(new MemoryCache(store, []), { name: "memory Cache", losesData: false });
}

class MemoryCache implements Cache {
  readonly #store: Store;
  readonly #path: readonly string[];
  /** Every key of this namespace (nested ones included) starts with it: `["a",` for path ["a"]. */
  readonly #prefix: string;

  constructor(store: Store, path: readonly string[]) {
    this.#store = store;
    this.#path = path;
    // JSON of the path keeps namespaces unambiguous: ["a","bk"] never collides with ["ab","k"].
    this.#prefix = path.length === 0 ? "[" : `${JSON.stringify(path).slice(0, -1)},`;
  }

  #key(key: string): string {
    return JSON.stringify([...this.#path, key]);
  }

  #live(key: string): Entry | undefined {
    const entry = this.#store.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#store.now()) {
      this.#store.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  async get(key: string): Promise<string | undefined> {
    return this.#live(this.#key(key))?.value;
  }

  async set(key: string, value: string, options?: CacheSetOptions): Promise<void> {
    if (typeof value !== "string") {
      throw new TypeError(`memory Cache: value of "${key}" must be a string: got ${typeof value}`);
    }
    const ttlMs = options?.ttlMs;
    if (ttlMs !== undefined) checkTtl("memory Cache", ttlMs);
    const store = this.#store;
    const now = store.now();
    store.entries.set(this.#key(key), { value, expiresAt: ttlMs === undefined ? Infinity : now + ttlMs });
    if (++store.writes % SWEEP_EVERY === 0) {
      for (const [k, entry] of store.entries) if (entry.expiresAt <= now) store.entries.delete(k);
    }
  }

  async delete(key: string): Promise<boolean> {
    const full = this.#key(key);
    const existed = this.#live(full) !== undefined;
    this.#store.entries.delete(full);
    return existed;
  }

  async ttl(key: string): Promise<number | undefined> {
    const entry = this.#live(this.#key(key));
    if (entry === undefined) return undefined;
    return entry.expiresAt === Infinity ? Infinity : entry.expiresAt - this.#store.now();
  }

  namespace(prefix: string): Cache {
    return new MemoryCache(this.#store, [...this.#path, prefix]);
  }

  async clear(): Promise<void> {
    for (const key of this.#store.entries.keys()) if (key.startsWith(this.#prefix)) this.#store.entries.delete(key);
  }
}
