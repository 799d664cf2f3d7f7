import type { Cache, CacheSetOptions } from "@twelvefold/kernel";
import { cacheContract } from "@twelvefold/testing";

interface Entry {
  readonly value: string;
  readonly expiresAt: number;
}

/** A third party's Cache adapter: one Map; a namespace is a key prefix. */
class TinyCache implements Cache {
  readonly #store: Map<string, Entry>;
  readonly #prefix: string;

  constructor(store = new Map<string, Entry>(), prefix = "") {
    this.#store = store;
    this.#prefix = prefix;
  }

  // Encoding the key keeps namespace "a" + key "b/x" apart from namespace "a/b" + key "x".
  #key(key: string): string {
    return this.#prefix + encodeURIComponent(key);
  }

  #live(key: string): Entry | undefined {
    const entry = this.#store.get(this.#key(key));
    if (entry && entry.expiresAt <= Date.now()) this.#store.delete(this.#key(key));
    return entry && entry.expiresAt > Date.now() ? entry : undefined;
  }

  async get(key: string): Promise<string | undefined> {
    return this.#live(key)?.value;
  }

  async set(key: string, value: string, options?: CacheSetOptions): Promise<void> {
    const expiresAt = options?.ttlMs === undefined ? Infinity : Date.now() + options.ttlMs;
    this.#store.set(this.#key(key), { value, expiresAt });
  }

  async delete(key: string): Promise<boolean> {
    const existed = this.#live(key) !== undefined;
    this.#store.delete(this.#key(key));
    return existed;
  }

  async ttl(key: string): Promise<number | undefined> {
    const entry = this.#live(key);
    return entry && entry.expiresAt - Date.now();
  }

  namespace(name: string): Cache {
    return new TinyCache(this.#store, `${this.#prefix}${encodeURIComponent(name)}/`);
  }

  async clear(): Promise<void> {
    for (const key of this.#store.keys()) if (key.startsWith(this.#prefix)) this.#store.delete(key);
  }
}

// One line runs the whole Cache contract, a fresh adapter per case.
cacheContract("tiny", () => new TinyCache());
