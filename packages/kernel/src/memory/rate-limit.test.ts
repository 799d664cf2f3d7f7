import { describe, expect, test } from "bun:test";
import { rateLimitContract } from "@twelvefold/testing";
import { memoryRateLimitStore } from "./rate-limit.ts";

rateLimitContract("memory", () => memoryRateLimitStore());

describe("memoryRateLimitStore", () => {
  test("rolls windows over by the injected clock", async () => {
    let now = 0;
    const store = memoryRateLimitStore({ now: () => now });
    expect((await store.hit("k", 1, 1_000)).allowed).toBe(true);
    now = 999;
    const late = await store.hit("k", 1, 1_000);
    expect(late).toEqual({ allowed: false, limit: 1, remaining: 0, resetMs: 1 });
    now = 1_000;
    expect(await store.hit("k", 1, 1_000)).toEqual({ allowed: true, limit: 1, remaining: 0, resetMs: 1_000 });
  });

  test("answers synchronously: the result itself, not a promise of it", () => {
    const store = memoryRateLimitStore();
    const answer = store.hit("k", 2, 1_000);
    expect(answer).not.toBeInstanceOf(Promise);
    expect(answer).toMatchObject({ allowed: true, limit: 2, remaining: 1 });
  });

  test("refuses a limit or window that makes no sense by throwing at the call", () => {
    const store = memoryRateLimitStore();
    expect(() => store.hit("k", 0, 1_000)).toThrow(RangeError);
    expect(() => store.hit("k", 1.5, 1_000)).toThrow('got "1.5"');
    expect(() => store.hit("k", 1, 0)).toThrow("windowMs");
  });
});
