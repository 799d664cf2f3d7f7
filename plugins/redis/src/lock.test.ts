import { describe, expect, test } from "bun:test";
import { lockContract } from "@twelvefold/testing";
import { fileConnection, redisAvailable } from "../test/redis.ts";
import { redisLock } from "./lock.ts";

const connection = fileConnection();

describe.if(redisAvailable)("redis Lock", () => {
  lockContract("redis", async () => redisLock(await connection()));

  test("refuses a TTL that is not a positive whole number of ms", async () => {
    const lock = redisLock(await connection());
    await expect(lock.acquire("job", 0)).rejects.toThrow(RangeError);
    await expect(lock.extend({ key: "job", owner: "x" }, -1)).rejects.toThrow('got "-1"');
  });
});
