import { describe, expect, test } from "bun:test";
import { KernelError } from "./errors.ts";
import { jsonCache } from "./json-cache.ts";
import { memoryCache } from "./memory/cache.ts";

describe("jsonCache", () => {
  test("values come back as JSON.parse builds them: a Date as its ISO string, undefined properties left out", async () => {
    const json = jsonCache(memoryCache());
    await json.set("k", { at: new Date("2026-01-02T03:04:05.000Z"), gone: undefined, list: [undefined] });
    expect(await json.get("k")).toEqual({ at: "2026-01-02T03:04:05.000Z", list: [null] });
  });

  test("a refused value is a KernelError that keeps JSON.stringify's error as its cause", async () => {
    const error = await jsonCache(memoryCache())
      .set("big", [1, { n: 2n }])
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(KernelError);
    expect((error as KernelError).message).toBe('cache: cannot store "big" as JSON: a BigInt at $[1].n');
    expect((error as KernelError).cause).toBeInstanceOf(TypeError);
  });

  test("the path of an odd property name is written with brackets, and toJSON is followed as JSON.stringify does", async () => {
    const json = jsonCache(memoryCache());
    await expect(json.set("k", { "a b": { toJSON: () => ({ deep: 1n }) } })).rejects.toThrow(
      'a BigInt at $["a b"].deep',
    );
  });

  test("a TTL is the cache's: the memory cache's injected clock expires a JSON entry", async () => {
    let now = 0;
    const json = jsonCache(memoryCache({ now: () => now }));
    await json.set("k", { v: 1 }, { ttlMs: 10 });
    now += 10;
    expect(await json.get("k")).toBeUndefined();
  });
});
