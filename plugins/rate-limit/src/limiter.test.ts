import { describe, expect, test } from "bun:test";
import type { LogFields, Logger, RateLimitResult, RateLimitStore, RequestFacts } from "@twelvefold/kernel";
import { memoryRateLimitStore } from "@twelvefold/kernel/memory";
import { createRateLimiter, type StoreOutage } from "./limiter.ts";

const facts = (clientIp = "203.0.113.9"): RequestFacts => ({
  requestId: "req-00000001",
  clientIp,
  path: "/work",
  route: "/work",
  subject: undefined,
  signal: new AbortController().signal,
});

/** The memory store behind a promise: results and failures asynchronous, as a networked store answers. */
function promising(store: RateLimitStore): RateLimitStore {
  return { hit: async (...args) => store.hit(...args), reset: (key) => store.reset(key) };
}

/** A store that fails every hit, synchronously (throws at the call) or asynchronously (rejects). */
function failing(shape: "sync" | "async"): RateLimitStore {
  const error = new Error("store: connection refused");
  return {
    hit: () => {
      if (shape === "sync") throw error;
      return Promise.reject(error);
    },
    reset: async () => {},
  };
}

const nexts = {
  sync: () => new Response("ok"),
  async: async () => new Response("ok"),
};

/** What a user sees of an answer, and whether it came as a promise. */
async function seen(answer: Response | Promise<Response>) {
  const response = await answer;
  return {
    promise: answer instanceof Promise,
    status: response.status,
    policy: response.headers.get("ratelimit-policy"),
    ratelimit: response.headers.get("ratelimit"),
    retryAfter: response.headers.get("retry-after"),
  };
}

function capturingLogger(): { logger: Logger; lines: Array<[string, string]> } {
  const lines: Array<[string, string]> = [];
  const log = (level: string) => (message: string, _fields?: LogFields) => void lines.push([level, message]);
  const logger: Logger = {
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    enabled: () => true,
    child: () => logger,
  };
  return { logger, lines };
}

describe("createRateLimiter", () => {
  test("a store and a next() that answer synchronously give a Response, not a promise", () => {
    const limit = createRateLimiter(memoryRateLimitStore(), { policies: [{ name: "default", limit: 1 }] });
    const admitted = limit(new Request("http://t/work"), facts(), nexts.sync);
    expect(admitted).toBeInstanceOf(Response);
    expect((admitted as Response).headers.get("ratelimit")).toMatch(/^"default";r=0;t=60$/);
    const refused = limit(new Request("http://t/work"), facts(), nexts.sync);
    expect(refused).toBeInstanceOf(Response);
    expect((refused as Response).status).toBe(429);
  });

  test("every shape of store and next() gives the same answers; only a promise anywhere makes the answer one", async () => {
    const answers: Record<string, unknown[]> = {};
    for (const store of ["sync", "async"] as const) {
      for (const next of ["sync", "async"] as const) {
        const memory = memoryRateLimitStore();
        const limit = createRateLimiter(store === "sync" ? memory : promising(memory), {
          policies: [{ name: "default", limit: 2 }],
        });
        const run = () => seen(limit(new Request("http://t/work"), facts(), nexts[next]));
        const three = [await run(), await run(), await run()];
        for (const answer of three.slice(0, 2)) {
          expect(answer.promise).toBe(store === "async" || next === "async");
        }
        // The 429 needs no next(): a promise only when the store answered with one.
        expect(three[2]?.promise).toBe(store === "async");
        answers[`${store} store, ${next} next`] = three.map(({ promise: _, ...rest }) => rest);
      }
    }
    const [first, ...rest] = Object.values(answers);
    expect(first).toEqual([
      { status: 200, policy: '"default";q=2;w=60', ratelimit: '"default";r=1;t=60', retryAfter: null },
      { status: 200, policy: '"default";q=2;w=60', ratelimit: '"default";r=0;t=60', retryAfter: null },
      { status: 429, policy: '"default";q=2;w=60', ratelimit: '"default";r=0;t=60', retryAfter: "60" },
    ]);
    for (const other of rest) expect(other).toEqual(first as unknown[]);
  });

  for (const shape of ["sync", "async"] as const) {
    test(`a store failing ${shape === "sync" ? "by throwing" : "by rejecting"}: no outage policy admits unlimited and warns once in 10 s`, async () => {
      const { logger, lines } = capturingLogger();
      const limit = createRateLimiter(failing(shape), { policies: [{ name: "default", limit: 1 }], logger });
      for (let i = 0; i < 3; i++) {
        const answer = await seen(limit(new Request("http://t/work"), facts(), nexts.sync));
        expect(answer).toEqual({
          promise: shape === "async",
          status: 200,
          policy: null,
          ratelimit: null,
          retryAfter: null,
        });
      }
      expect(lines).toEqual([["warn", "rate-limit store failed: admitting requests unlimited"]]);
    });

    test(`a store failing ${shape === "sync" ? "by throwing" : "by rejecting"}: the outage policy decides, and hears the recovery`, async () => {
      const events: string[] = [];
      let broken = true;
      const memory = memoryRateLimitStore();
      const flaky: RateLimitStore = {
        hit: (...args) => (broken ? failing(shape).hit(...args) : memory.hit(...args)),
        reset: (key) => memory.reset(key),
      };
      let outageOn = false;
      const outage: StoreOutage = {
        get failing() {
          return outageOn;
        },
        failed(_error, limit, windowMs): RateLimitResult {
          events.push("failed");
          outageOn = true;
          return { allowed: false, limit, remaining: 0, resetMs: Math.min(windowMs, 1_000) };
        },
        recovered() {
          events.push("recovered");
          outageOn = false;
        },
      };
      const limit = createRateLimiter(flaky, { policies: [{ name: "default", limit: 5 }], outage });
      const refused = await seen(limit(new Request("http://t/work"), facts(), nexts.sync));
      expect(refused).toEqual({
        promise: shape === "async",
        status: 429,
        policy: '"default";q=5;w=60',
        ratelimit: '"default";r=0;t=1',
        retryAfter: "1",
      });
      broken = false;
      expect((await seen(limit(new Request("http://t/work"), facts(), nexts.sync))).status).toBe(200);
      expect((await seen(limit(new Request("http://t/work"), facts(), nexts.sync))).status).toBe(200);
      expect(events).toEqual(["failed", "recovered"]);
    });
  }

  test("a key that cannot be made admits unlimited and warns, even with an outage policy", async () => {
    const { logger, lines } = capturingLogger();
    const outage: StoreOutage = {
      failing: false,
      failed: () => {
        throw new Error("not a store failure");
      },
      recovered: () => {},
    };
    const limit = createRateLimiter(memoryRateLimitStore(), {
      policies: [
        {
          name: "custom",
          limit: 1,
          key: () => {
            throw new Error("no tenant");
          },
        },
      ],
      logger,
      outage,
    });
    const answer = limit(new Request("http://t/work"), facts(), nexts.sync);
    expect(answer).toBeInstanceOf(Response);
    expect(await seen(answer)).toMatchObject({ status: 200, ratelimit: null });
    expect(lines).toEqual([["warn", "rate-limit store failed: admitting requests unlimited"]]);
  });

  test("an API key is hashed asynchronously, and counted the same", async () => {
    const keys: string[] = [];
    const memory = memoryRateLimitStore();
    const recording: RateLimitStore = {
      hit: (key, ...rest) => {
        keys.push(key);
        return memory.hit(key, ...rest);
      },
      reset: (key) => memory.reset(key),
    };
    const limit = createRateLimiter(recording, { policies: [{ name: "default", limit: 1, key: "api-key" }] });
    const request = () => new Request("http://t/work", { headers: { "x-api-key": "sk-alpha-123" } });
    expect((await seen(limit(request(), facts(), nexts.sync))).status).toBe(200);
    expect((await seen(limit(request(), facts("198.51.100.7"), nexts.sync))).status).toBe(429);
    expect(keys[0]).toMatch(/^rl:default:key:[0-9a-f]{64}$/);
    expect(keys[1]).toBe(keys[0] as string);
  });
});
