import { describe, expect, test } from "bun:test";
import { CircuitBreaker } from "./breaker.ts";
import { ConcurrencyLimit } from "./concurrency.ts";
import { LlmError, retryAfterMs } from "./errors.ts";
import { type RetryPolicy, retryDelay, sleep } from "./retry.ts";

const policy: RetryPolicy = { maxRetries: 3, baseMs: 100, capMs: 1_000, maxWaitMs: 5_000 };
const unavailable = new LlmError("TF_LLM_PROVIDER_ERROR", "llm: down", { status: 503 });

describe("retryDelay", () => {
  test("full jitter: a uniform draw from zero to a ceiling that doubles per retry, capped", () => {
    expect([0, 1, 2].map((attempt) => retryDelay(policy, attempt, unavailable, () => 0.999))).toEqual([99, 199, 399]);
    expect(retryDelay(policy, 0, unavailable, () => 0)).toBe(0);
    expect(retryDelay({ ...policy, maxRetries: 9 }, 8, unavailable, () => 0.999)).toBe(999);
  });

  test("never sooner than Retry-After, and not at all when the hint is over the longest wait", () => {
    const limited = (ms: number) =>
      new LlmError("TF_LLM_RATE_LIMITED", "llm: slow down", { status: 429, retryAfterMs: ms });
    expect(retryDelay(policy, 0, limited(2_000), () => 0.5)).toBe(2_000);
    expect(retryDelay(policy, 0, limited(5_001), () => 0.5)).toBeUndefined();
  });

  test("no retry for what will not change, or once the retries are spent", () => {
    expect(retryDelay(policy, 0, new LlmError("TF_LLM_BAD_REQUEST", "llm: bad"))).toBeUndefined();
    expect(retryDelay(policy, 0, new Error("plain"))).toBeUndefined();
    expect(retryDelay(policy, 3, unavailable)).toBeUndefined();
  });

  test("sleep rejects with the signal's reason when aborted", async () => {
    const controller = new AbortController();
    const waiting = sleep(10_000, controller.signal);
    controller.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
    await expect(sleep(1, controller.signal)).rejects.toThrow("stop");
  });
});

describe("retryAfterMs", () => {
  test("reads retry-after-ms, seconds and HTTP dates; ignores what it cannot read", () => {
    expect(retryAfterMs(new Headers({ "retry-after-ms": "250" }))).toBe(250);
    expect(retryAfterMs(new Headers({ "retry-after": "2" }))).toBe(2_000);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(retryAfterMs(new Headers({ "retry-after": "Thu, 01 Jan 2026 00:00:30 GMT" }), now)).toBe(30_000);
    expect(retryAfterMs(new Headers({ "retry-after": "soon" }))).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});

describe("CircuitBreaker", () => {
  test("opens at the threshold within the window only; old failures fall out of it", () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failures: 3, windowMs: 1_000, cooldownMs: 500 }, { now: () => now });
    breaker.failure();
    breaker.failure();
    now = 1_500;
    breaker.failure();
    expect(breaker.state).toBe("closed");
    breaker.failure();
    breaker.failure();
    expect(breaker.state).toBe("open");
    expect(breaker.admit()).toEqual({ allowed: false, retryAfterMs: 500 });
    now = 2_000;
    expect(breaker.state).toBe("half_open");
    expect(breaker.admit()).toEqual({ allowed: true, probe: true });
    expect(breaker.admit().allowed).toBe(false);
    breaker.release();
    expect(breaker.admit()).toEqual({ allowed: true, probe: true });
    breaker.success();
    expect(breaker.state).toBe("closed");
  });

  test("with a threshold of 0 it never opens", () => {
    const breaker = new CircuitBreaker({ failures: 0, windowMs: 1, cooldownMs: 1 });
    for (let i = 0; i < 10; i++) breaker.failure();
    expect(breaker.admit()).toEqual({ allowed: true, probe: false });
  });
});

describe("ConcurrencyLimit", () => {
  test("a waiter whose signal aborts leaves the queue with the reason; a release hands the slot on", async () => {
    const limit = new ConcurrencyLimit(1, 10_000);
    const release = await limit.acquire();
    const controller = new AbortController();
    const leaving = limit.acquire(controller.signal);
    const staying = limit.acquire();
    expect(limit.waiting).toBe(2);
    controller.abort(new Error("gone"));
    await expect(leaving).rejects.toThrow("gone");
    release();
    release();
    const next = await staying;
    expect([limit.active, limit.waiting]).toEqual([1, 0]);
    next();
    expect(limit.active).toBe(0);
    await expect(limit.acquire(controller.signal)).rejects.toThrow("gone");
  });

  test("refuses a cap that is not a whole number above 0", () => {
    expect(() => new ConcurrencyLimit(0, 1)).toThrow(RangeError);
  });
});
