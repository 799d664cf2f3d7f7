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

  test("locks taken once and left to expire are swept out, so they do not pile up", async () => {
    let now = 0;
    const lock = memoryLock({ now: () => now });
    const held = () => (lock as unknown as { size: number }).size;
    for (let second = 0; second < 10_000; second++) {
      now = second * 1000;
      expect(await lock.acquire(`report:${second}`, 5_000)).toBeDefined();
    }
    expect(held()).toBeLessThan(2_100);
    // The five still within their TTL are kept.
    for (let second = 9_995; second < 10_000; second++) {
      expect(await lock.acquire(`report:${second}`, 5_000)).toBeUndefined();
    }
  });

  test("refuses a TTL that is not positive", async () => {
    await expect(memoryLock().acquire("job", -1)).rejects.toThrow(RangeError);
  });
});
