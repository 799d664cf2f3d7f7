import { describe, expect, test } from "bun:test";
import { cacheContract } from "@twelvefold/testing";
import { fileConnection, redisAvailable } from "../test/redis.ts";
import { redisCache } from "./cache.ts";

const connection = fileConnection();

describe.if(redisAvailable)("redis Cache", () => {
  cacheContract("redis", async () => redisCache(await connection()));

  test("refuses values it could not give back as they went in", async () => {
    const cache = redisCache(await connection());
    await expect(cache.set("k", 42 as unknown as string)).rejects.toThrow('value of "k" must be a string: got number');
    await expect(cache.set("k", "half \ud800 a pair")).rejects.toThrow("lone surrogate");
    await expect(cache.set("k", "v", { ttlMs: 0 })).rejects.toThrow(RangeError);
    expect(await cache.get("k")).toBeUndefined();
  });

  test("REDIS_TTL gives entries set without a TTL that default; an explicit TTL wins", async () => {
    const cache = redisCache(await connection(), { defaultTtlMs: 60_000 });
    await cache.set("defaulted", "v");
    await cache.set("explicit", "v", { ttlMs: 5_000 });
    expect(await cache.ttl("defaulted")).toBeGreaterThan(55_000);
    expect(await cache.ttl("explicit")).toBeLessThanOrEqual(5_000);
  });
});
