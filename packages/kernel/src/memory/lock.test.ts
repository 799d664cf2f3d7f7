import { describe, expect, test } from "bun:test";
import { lockContract } from "@twelvefold/testing";
import { memoryLock } from "./lock.ts";

lockContract("memory", () => memoryLock());

describe("memoryLock", () => {
  test("lapses by the injected clock", async () => {
    let now = 0;
    const lock = memoryLock({ now: () => now });
    const lease = await lock.acquire("job", 100);
    expect(lease?.expiresAt).toBe(100);
    now = 99;
    expect(await lock.acquire("job", 100)).toBeUndefined();
    now = 100;
    expect(await lock.acquire("job", 100)).toBeDefined();
  });

  test("refuses a TTL that is not positive", async () => {
    await expect(memoryLock().acquire("job", -1)).rejects.toThrow(RangeError);
  });
});
