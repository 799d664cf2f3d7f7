import { describe, expect, test } from "bun:test";
import { cacheContract } from "@twelvefold/testing";
import { embeddedInfo } from "../token.ts";
import { memoryCache } from "./cache.ts";

cacheContract("memory", () => memoryCache());

describe("memoryCache", () => {
  test("expires by the injected clock, without sleeping", async () => {
    let now = 1_000;
    const cache = memoryCache({ now: () => now });
    await cache.set("k", "v", { ttlMs: 50 });
    now += 49;
    expect(await cache.ttl("k")).toBe(1);
    now += 1;
    expect(await cache.get("k")).toBeUndefined();
  });

  test("refuses a TTL that is not a positive number", async () => {
    const cache = memoryCache();
    await expect(cache.set("k", "v", { ttlMs: 0 })).rejects.toThrow(RangeError);
    await expect(cache.set("k", "v", { ttlMs: Number.NaN })).rejects.toThrow('got "NaN"');
  });

  test("is marked embedded but not as losing data, so production accepts it", () => {
    expect(embeddedInfo(memoryCache())).toEqual({ name: "memory Cache", losesData: false });
  });
});
