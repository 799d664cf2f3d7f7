import { describe, expect, test } from "bun:test";
import { rateLimitContract } from "@twelvefold/testing";
import { fileConnection, redisAvailable } from "../test/redis.ts";
import { redisRateLimitStore } from "./rate-limit.ts";

const connection = fileConnection();

describe.if(redisAvailable)("redis RateLimitStore", () => {
  rateLimitContract("redis", async () => redisRateLimitStore(await connection()));

  test("refuses a limit or window that makes no sense, before any round trip", async () => {
    const store = redisRateLimitStore(await connection());
    await expect(store.hit("k", 0, 1_000)).rejects.toThrow(RangeError);
    await expect(store.hit("k", 1, 1.5)).rejects.toThrow('got "1.5"');
  });
});
