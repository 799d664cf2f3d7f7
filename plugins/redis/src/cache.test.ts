import { describe, expect, test } from "bun:test";
import { jsonCache } from "@twelvefold/kernel";
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

  test("JSON values set without a TTL take the REDIS_TTL default too", async () => {
    const json = jsonCache(redisCache(await connection(), { defaultTtlMs: 60_000 }).namespace("sessions"));
    await json.set("abc", { user: "ada" });
    expect(await json.get("abc")).toEqual({ user: "ada" });
    expect(await json.ttl("abc")).toBeGreaterThan(55_000);
    expect(await json.ttl("abc")).toBeLessThanOrEqual(60_000);
  });
});
