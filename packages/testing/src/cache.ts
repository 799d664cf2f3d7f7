import { expect } from "bun:test";
import { type Cache, jsonCache, TwelvefoldError } from "@twelvefold/kernel";
import { type AdapterFactory, type Cases, type ContractCase, registerSuite, type SuiteOptions, sleep } from "./case.ts";

/** Options of {@link cacheContract}: the suite's options plus the adapter's capabilities. */
export interface CacheContractOptions<A extends Cache = Cache> extends SuiteOptions<A> {
  /** The adapter expires entries by TTL (default true, as the contract requires). */
  readonly ttl?: boolean;
}

/** Values that must come back exactly as they went in. */
const awkwardValues: readonly string[] = [
  "",
  " ",
  "plain ascii",
  "caf\u00e9 / cafe\u0301 (composed and decomposed)",
  "\u{1F600}\u{1F469}\u200D\u{1F4BB} emoji and a ZWJ sequence",
  "\u4E2D\u6587 \u0639\u0631\u0628\u064A \u05E2\u05D1\u05E8\u05D9\u05EA",
  "line\nbreak\r\nand\ttab",
  "nul\u0000inside",
  "\uFEFFbyte order mark",
  '{"json":"text","n":[1,2,3]}',
  "trailing spaces   ",
];

/**
 * The Cache contract's cases, as data (see {@link runCase}). Each case uses keys and namespaces of
 * its own, so the suite is safe against a shared server.
 */
export const cacheCases: readonly ContractCase<Cache, CacheContractOptions>[] = [
  {
    name: "get of a missing key is undefined",
    async run(cache, { unique }) {
      expect(await cache.get(unique("missing"))).toBeUndefined();
    },
  },
  {
    name: "set then get returns the value, and a later set replaces it",
    async run(cache, { unique }) {
      const key = unique("k");
      await cache.set(key, "first");
      expect(await cache.get(key)).toBe("first");
      await cache.set(key, "second");
      expect(await cache.get(key)).toBe("second");
    },
  },
  {
    name: "delete removes the key and reports whether it existed",
    async run(cache, { unique }) {
      const key = unique("k");
      await cache.set(key, "v");
      expect(await cache.delete(key)).toBe(true);
      expect(await cache.get(key)).toBeUndefined();
      expect(await cache.delete(key)).toBe(false);
    },
  },
  {
    name: "values round-trip exactly: empty string, unicode, control characters",
    async run(cache, { unique }) {
      const base = unique("v");
      await Promise.all(awkwardValues.map((value, i) => cache.set(`${base}:${i}`, value)));
      const back = await Promise.all(awkwardValues.map((_, i) => cache.get(`${base}:${i}`)));
      expect(back).toEqual([...awkwardValues]);
    },
  },
  {
    name: "a large value (1 MiB of mixed text) round-trips",
    async run(cache, { unique }) {
      const key = unique("large");
      const chunk = "abc\u00e9\u4E2D\u{1F600}\n";
      const value = chunk.repeat(Math.ceil((1024 * 1024) / chunk.length));
      await cache.set(key, value);
      const back = await cache.get(key);
      expect(back?.length).toBe(value.length);
      expect(back === value).toBe(true);
    },
  },
  {
    name: "keys may hold any characters",
    async run(cache, { unique }) {
      const base = unique("key");
      const keys = [`${base} with spaces`, `${base}:a:b`, `${base}*?[x]`, `${base}\u00e9\u{1F600}`, `${base}\nline`];
      await Promise.all(keys.map((key, i) => cache.set(key, String(i))));
      expect(await Promise.all(keys.map((key) => cache.get(key)))).toEqual(keys.map((_, i) => String(i)));
      expect(await cache.get(`${base}*`)).toBeUndefined();
    },
  },
  {
    name: "ttl is Infinity for a key without expiry and undefined for a missing key",
    async run(cache, { unique }) {
      const key = unique("k");
      await cache.set(key, "v");
      expect(await cache.ttl(key)).toBe(Infinity);
      expect(await cache.ttl(unique("missing"))).toBeUndefined();
    },
  },
  {
    name: "an entry expires after its TTL and is never returned again",
    needs: "ttl",
    async run(cache, { unique, eventually }) {
      const key = unique("ttl");
      await cache.set(key, "soon gone", { ttlMs: 100 });
      expect(await cache.get(key)).toBe("soon gone");
      const left = await cache.ttl(key);
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(100);
      await eventually("expiry of a 100 ms entry", async () => (await cache.get(key)) === undefined);
      expect(await cache.ttl(key)).toBeUndefined();
      expect(await cache.delete(key)).toBe(false);
    },
  },
  {
    name: "a later set replaces the TTL: none means no expiry, a longer one keeps the entry",
    needs: "ttl",
    async run(cache, { unique }) {
      const cleared = unique("cleared");
      const longer = unique("longer");
      await cache.set(cleared, "a", { ttlMs: 60 });
      await cache.set(cleared, "b");
      await cache.set(longer, "c", { ttlMs: 60 });
      await cache.set(longer, "d", { ttlMs: 60_000 });
      await sleep(160);
      expect(await cache.get(cleared)).toBe("b");
      expect(await cache.ttl(cleared)).toBe(Infinity);
      expect(await cache.get(longer)).toBe("d");
      expect(await cache.ttl(longer)).toBeGreaterThan(1_000);
    },
  },
  {
    name: "namespaces isolate keys from each other and from the root",
    async run(cache, { unique }) {
      const key = unique("k");
      const a = cache.namespace(unique("a"));
      const b = cache.namespace(unique("b"));
      await a.set(key, "in a");
      await b.set(key, "in b");
      expect(await a.get(key)).toBe("in a");
      expect(await b.get(key)).toBe("in b");
      expect(await cache.get(key)).toBeUndefined();
      expect(await a.namespace("inner").get(key)).toBeUndefined();
      expect(await a.delete(key)).toBe(true);
      expect(await b.get(key)).toBe("in b");
    },
  },
  {
    name: "clear removes its namespace's keys and nothing else",
    async run(cache, { unique }) {
      const name = unique("ns");
      const ns = cache.namespace(name);
      const longerName = cache.namespace(`${name}x`);
      const sibling = cache.namespace(unique("other"));
      const glob = cache.namespace(`${name}-*`);
      const globVictim = cache.namespace(`${name}-y`);
      const rootKey = unique("root");
      await Promise.all([
        ns.set("k", "1"),
        ns.set("k2", "2"),
        longerName.set("k", "3"),
        sibling.set("k", "4"),
        glob.set("k", "5"),
        globVictim.set("k", "6"),
        cache.set(rootKey, "7"),
      ]);
      await ns.clear();
      expect(await ns.get("k")).toBeUndefined();
      expect(await ns.get("k2")).toBeUndefined();
      await glob.clear();
      expect(await glob.get("k")).toBeUndefined();
      expect(await longerName.get("k")).toBe("3");
      expect(await sibling.get("k")).toBe("4");
      expect(await globVictim.get("k")).toBe("6");
      expect(await cache.get(rootKey)).toBe("7");
      await Promise.all([longerName.clear(), sibling.clear(), globVictim.clear(), cache.delete(rootKey)]);
    },
  },
  {
    name: "concurrent sets and gets of many keys all land",
    async run(cache, { unique }) {
      const base = unique("many");
      const n = 200;
      const keys = Array.from({ length: n }, (_, i) => `${base}:${i}`);
      await Promise.all(keys.map((key, i) => cache.set(key, `value ${i}`)));
      expect(await Promise.all(keys.map((key) => cache.get(key)))).toEqual(keys.map((_, i) => `value ${i}`));
    },
  },
  {
    name: "concurrent writes to one key leave one of the written values, and reads never see another",
    async run(cache, { unique }) {
      const key = unique("hot");
      const written = Array.from({ length: 50 }, (_, i) => `write ${i} ${"x".repeat(i * 10)}`);
      const reads: Array<Promise<string | undefined>> = [];
      await Promise.all(
        written.map((value) => {
          reads.push(cache.get(key));
          return cache.set(key, value);
        }),
      );
      for (const read of await Promise.all(reads)) {
        if (read !== undefined) expect(written).toContain(read);
      }
      expect(written).toContain((await cache.get(key)) as string);
    },
  },
  {
    name: "JSON values round-trip through jsonCache, stored as JSON text; a stored null is not a missing key",
    async run(cache, { unique }) {
      const json = jsonCache(cache);
      const base = unique("json");
      const values: readonly unknown[] = [
        { user: "ada", turns: 3, tags: ["a", "b"], nested: { ok: true, none: null } },
        [1, 2.5, -0.125, "x", false],
        "a string",
        0,
        null,
        { text: "caf\u00e9 \u{1F600} nul\u0000 line\n", half: "lone \ud800 surrogate" },
      ];
      await Promise.all(values.map((value, i) => json.set(`${base}:${i}`, value)));
      expect(await Promise.all(values.map((_, i) => json.get(`${base}:${i}`)))).toEqual([...values]);
      expect(await cache.get(`${base}:0`)).toBe(JSON.stringify(values[0]));
      expect(await json.get(unique("missing"))).toBeUndefined();
    },
  },
  {
    name: "jsonCache refuses a value JSON cannot hold, says where, and leaves the entry as it was",
    async run(cache, { unique }) {
      const json = jsonCache(cache);
      const key = unique("bad");
      await json.set(key, { kept: true });
      const cyclic: { name: string; self?: unknown } = { name: "loop" };
      cyclic.self = { back: cyclic };
      const refused: ReadonlyArray<readonly [unknown, string]> = [
        [{ usage: { tokens: 10n } }, "a BigInt at $.usage.tokens"],
        [cyclic, "a cycle at $.self.back, which refers back to $"],
        [undefined, "the value is undefined"],
        [() => 1, "the value is a function"],
      ];
      for (const [value, reason] of refused) {
        const error = await json.set(key, value).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(TwelvefoldError);
        expect((error as TwelvefoldError).code).toBe("TF_CACHE_UNSERIALIZABLE");
        expect((error as Error).message).toContain(reason);
      }
      expect(await json.get(key)).toEqual({ kept: true });
    },
  },
  {
    name: "jsonCache reports stored text that is not JSON with TF_CACHE_NOT_JSON, without quoting it",
    async run(cache, { unique }) {
      const key = unique("text");
      await cache.set(key, "sk-not-json-secret");
      const error = await jsonCache(cache)
        .get(key)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect((error as TwelvefoldError).code).toBe("TF_CACHE_NOT_JSON");
      expect((error as Error).message).not.toContain("sk-not-json-secret");
      expect(await cache.get(key)).toBe("sk-not-json-secret");
    },
  },
  {
    name: "jsonCache namespaces are the cache's namespaces, delete and clear included",
    async run(cache, { unique }) {
      const name = unique("jns");
      const json = jsonCache(cache).namespace(name);
      await json.set("k", { n: 1 });
      expect(await cache.namespace(name).get("k")).toBe('{"n":1}');
      expect(await jsonCache(cache).get("k")).toBeUndefined();
      expect(await json.text.get("k")).toBe('{"n":1}');
      await json.set("k2", [2]);
      await json.clear();
      expect(await cache.namespace(name).get("k2")).toBeUndefined();
      await json.set("k3", 3);
      expect(await json.delete("k3")).toBe(true);
      expect(await json.get("k3")).toBeUndefined();
    },
  },
  {
    name: "jsonCache set passes its TTL to the cache",
    needs: "ttl",
    async run(cache, { unique, eventually }) {
      const json = jsonCache(cache);
      const key = unique("jttl");
      await json.set(key, { soon: "gone" }, { ttlMs: 100 });
      const left = await json.ttl(key);
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(100);
      await eventually("expiry of a 100 ms JSON entry", async () => (await json.get(key)) === undefined);
    },
  },
];

/**
 * Registers the Cache contract suite for an adapter: one `describe` block, a fresh adapter per case.
 *
 * @example
 * ```ts
 * import { cacheContract } from "@twelvefold/testing";
 * cacheContract("redis", () => redisCache({ url: REDIS_URL }), { dispose: (c) => c.close() });
 * ```
 */
export function cacheContract<A extends Cache>(
  name: string,
  makeAdapter: AdapterFactory<A>,
  options: CacheContractOptions<A> = {},
): void {
  const capabilities = new Set(options.ttl === false ? [] : ["ttl"]);
  registerSuite("Cache", name, cacheCases as Cases<A, CacheContractOptions<A>>, makeAdapter, {
    ...options,
    capabilities,
  });
}
