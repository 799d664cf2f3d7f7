import { describe, expect, test } from "bun:test";
import { HttpApp, HttpAuth, honoMiddleware, http } from "@twelvefold/http";
import {
  ConfigError,
  definePlugin,
  Meter,
  type Override,
  override,
  RateLimitStore,
  type Runtime,
} from "@twelvefold/kernel";
import { memoryRateLimitStore } from "@twelvefold/kernel/memory";
import { bunRuntime } from "@twelvefold/kernel/runtime";
import { pluginContract, testApp, watchedRuntime } from "@twelvefold/testing";
import { RateLimiter, type RateLimitOptions, rateLimit } from "./plugin.ts";

pluginContract(() => rateLimit(), {
  plugins: [http()],
  badEnv: { RATE_LIMIT_PER_MINUTE: "0", RATE_LIMIT_KEY: "cookie" },
});

const routes = definePlugin({
  name: "routes",
  requires: [HttpApp, RateLimiter, HttpAuth],
  start({ get }) {
    const app = get(HttpApp);
    const limiter = get(RateLimiter);
    app.get("/hello", (c) => c.text("hi"));
    app.get("/chat/x", (c) => c.text("chat"));
    app.get(
      "/me",
      get(HttpAuth).middleware(),
      honoMiddleware(limiter.middleware({ name: "me", limit: 1, key: "subject" })),
      (c) => c.text(c.env.subject ?? ""),
    );
  },
});

async function start(
  env: Record<string, string>,
  options: RateLimitOptions = {},
  overrides: Override[] = [],
  runtime?: Runtime,
) {
  const t = await testApp({
    plugins: [http(), rateLimit(options), routes],
    overrides,
    runtime,
    env: { LOG_LEVEL: "info", SECRET_KEY: "k".repeat(32), ...env },
  });
  return {
    app: t.app,
    logs: t.logs,
    get: (path: string, headers: Record<string, string> = {}) => t.request(path, { headers }),
    handle: (path: string, headers: Record<string, string> = {}) => t.fetch(`http://t${path}`, { headers }),
    [Symbol.asyncDispose]: () => t.stop(),
  };
}

describe("rate-limit plugin", () => {
  test("RATE_LIMIT_PER_MINUTE per client, with IETF headers, then a 429 problem with Retry-After", async () => {
    await using t = await start({ RATE_LIMIT_PER_MINUTE: "2" });
    const first = await t.get("/hello");
    expect(first.status).toBe(200);
    expect(first.headers.get("ratelimit-policy")).toBe('"default";q=2;w=60');
    expect(first.headers.get("ratelimit")).toMatch(/^"default";r=1;t=\d+$/);
    expect((await t.get("/hello")).headers.get("ratelimit")).toMatch(/^"default";r=0;t=/);
    const refused = await t.get("/hello");
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(refused.headers.get("x-request-id")).not.toBeNull();
    expect(refused.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await refused.json()).toMatchObject({ status: 429, type: "https://twelvefold.dev/problems/rate-limited" });
    // Probes are exempt.
    for (let i = 0; i < 3; i++) expect((await t.get("/livez")).status).toBe(200);
  });

  test("a per-route policy applies to its routes only", async () => {
    await using t = await start({}, { policies: [{ name: "chat", match: "/chat/*", limit: 1 }] });
    expect((await t.handle("/chat/x")).status).toBe(200);
    const refused = await t.handle("/chat/x");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("ratelimit-policy")).toBe('"chat";q=1;w=60');
    expect((await t.handle("/hello")).status).toBe(200);
  });

  test("over the memory store, Bun gets a Response, not a promise; over a store that answers by promise, the same answers as one", async () => {
    const seen: Record<string, unknown[]> = {};
    for (const shape of ["memory", "promising"] as const) {
      // The Bun runtime, noting whether each answer it was handed was a promise.
      const { runtime, answers: kinds } = watchedRuntime(bunRuntime());
      const memory = memoryRateLimitStore();
      const store: RateLimitStore =
        shape === "memory"
          ? memory
          : { hit: async (...args) => memory.hit(...args), reset: (key) => memory.reset(key) };
      await using t = await start({ RATE_LIMIT_PER_MINUTE: "2" }, {}, [override(RateLimitStore, store)], runtime);
      kinds.length = 0;
      const answers = [];
      for (let i = 0; i < 3; i++) {
        const response = await t.get("/hello");
        answers.push({
          status: response.status,
          policy: response.headers.get("ratelimit-policy"),
          ratelimit: response.headers.get("ratelimit")?.replace(/t=\d+$/, "t=?"),
          retryAfter: response.headers.get("retry-after") !== null,
          requestId: response.headers.get("x-request-id") !== null,
          body: response.status === 429 ? ((await response.json()) as { code: string }).code : await response.text(),
        });
      }
      expect(kinds).toEqual(
        shape === "memory" ? ["response", "response", "response"] : ["promise", "promise", "promise"],
      );
      seen[shape] = answers;
      expect(t.logs.filter((l) => l.message === "request").map((l) => [l.status, l.route])).toEqual([
        [200, "/hello"],
        [200, "/hello"],
        [429, "/hello"],
      ]);
    }
    expect(seen.memory).toEqual([
      {
        status: 200,
        policy: '"default";q=2;w=60',
        ratelimit: '"default";r=1;t=?',
        retryAfter: false,
        requestId: true,
        body: "hi",
      },
      {
        status: 200,
        policy: '"default";q=2;w=60',
        ratelimit: '"default";r=0;t=?',
        retryAfter: false,
        requestId: true,
        body: "hi",
      },
      {
        status: 429,
        policy: '"default";q=2;w=60',
        ratelimit: '"default";r=0;t=?',
        retryAfter: true,
        requestId: true,
        body: "TF_HTTP_RATE_LIMITED",
      },
    ]);
    expect(seen.promising).toEqual(seen.memory as unknown[]);
  });

  test("a store failing synchronously (throwing at the call) is an outage like a rejected hit", async () => {
    const throwing: RateLimitStore = {
      hit: () => {
        throw new Error("store: connection refused");
      },
      reset: () => Promise.resolve(),
    };
    {
      await using t = await start({}, {}, [override(RateLimitStore, throwing)]);
      expect((await t.get("/hello")).status).toBe(200);
      expect((await t.get("/hello")).status).toBe(200);
      expect(t.logs.filter((l) => l.message === "rate-limit store failed: admitting requests unlimited")).toHaveLength(
        1,
      );
    }
    await using t = await start({ RATE_LIMIT_FAIL_OPEN: "false" }, {}, [override(RateLimitStore, throwing)]);
    const refused = await t.get("/hello");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(
      t.logs.filter((l) => l.message === "rate-limit store failed: refusing requests until it is back"),
    ).toHaveLength(1);
  });

  test("X-Forwarded-For separates clients only behind a trusted proxy", async () => {
    {
      await using t = await start({ RATE_LIMIT_PER_MINUTE: "1" });
      expect((await t.get("/hello", { "x-forwarded-for": "198.51.100.1" })).status).toBe(200);
      expect((await t.get("/hello", { "x-forwarded-for": "198.51.100.2" })).status).toBe(429);
    }
    await using t = await start({ RATE_LIMIT_PER_MINUTE: "1", TRUSTED_PROXIES: "127.0.0.1" });
    expect((await t.get("/hello", { "x-forwarded-for": "198.51.100.1" })).status).toBe(200);
    expect((await t.get("/hello", { "x-forwarded-for": "198.51.100.2" })).status).toBe(200);
    expect((await t.get("/hello", { "x-forwarded-for": "198.51.100.1" })).status).toBe(429);
  });

  test("keyed by API key, stored hashed", async () => {
    const keys: string[] = [];
    const counts = new Map<string, number>();
    const store: RateLimitStore = {
      async hit(key, limit) {
        keys.push(key);
        const count = (counts.get(key) ?? 0) + 1;
        counts.set(key, count);
        return { allowed: count <= limit, limit, remaining: Math.max(0, limit - count), resetMs: 60_000 };
      },
      async reset(key) {
        counts.delete(key);
      },
    };
    await using t = await start({ RATE_LIMIT_PER_MINUTE: "1", RATE_LIMIT_KEY: "api-key" }, {}, [
      override(RateLimitStore, store),
    ]);
    expect((await t.handle("/hello", { "x-api-key": "sk-alpha-123" })).status).toBe(200);
    expect((await t.handle("/hello", { "x-api-key": "sk-beta-456" })).status).toBe(200);
    expect((await t.handle("/hello", { "x-api-key": "sk-alpha-123" })).status).toBe(429);
    expect(keys.join(" ")).not.toContain("sk-");
  });

  test("keyed by authenticated subject on a route, after authentication", async () => {
    await using t = await start({});
    const auth = t.app.get(HttpAuth);
    const alice = { authorization: `Bearer ${await auth.sign("alice")}` };
    const bob = { authorization: `Bearer ${await auth.sign("bob")}` };
    expect((await t.handle("/me", alice)).status).toBe(200);
    expect((await t.handle("/me", bob)).status).toBe(200);
    expect((await t.handle("/me", alice)).status).toBe(429);
  });

  test("a failing store admits requests and says so in the log", async () => {
    const broken: RateLimitStore = {
      hit: () => Promise.reject(new Error("redis: connection refused")),
      reset: () => Promise.resolve(),
    };
    await using t = await start({}, {}, [override(RateLimitStore, broken)]);
    expect((await t.handle("/hello")).status).toBe(200);
    expect((await t.handle("/hello")).status).toBe(200);
    expect(t.logs.filter((l) => l.message === "rate-limit store failed: admitting requests unlimited")).toHaveLength(1);
  });

  test("rejections are counted in rate_limit_rejections_total when a Meter is present", async () => {
    const counted: string[] = [];
    const meter: Meter = {
      counter: (o) => ({ inc: () => void counted.push(o.name) }),
      gauge: () => ({ set() {}, inc() {}, dec() {} }),
      histogram: () => ({ observe() {} }),
    };
    await using t = await start({ RATE_LIMIT_PER_MINUTE: "1" }, {}, [override(Meter, meter)]);
    await t.handle("/hello");
    await t.handle("/hello");
    await t.handle("/hello");
    expect(counted.filter((name) => name === "rate_limit_rejections_total")).toHaveLength(2);
  });

  test("an impossible policy is refused at start", async () => {
    const t = await testApp({ plugins: [http(), rateLimit({ policies: [{ name: "x", limit: 0 }] })], start: false });
    await expect(t.start()).rejects.toThrow('policy "x" has an invalid limit');
  });

  test("options are settings: validated like the environment and shown with source options", async () => {
    const t = await testApp({ plugins: [http(), rateLimit({ RATE_LIMIT_PER_MINUTE: 0 })], start: false });
    const error = (await t.start().catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(
      'RATE_LIMIT_PER_MINUTE (rate-limit): expected an integer of at least 1, got "0" [from options]',
    );
    await using good = await start({}, { RATE_LIMIT_PER_MINUTE: 1 });
    expect((await good.app.inspectConfig()).find((e) => e.name === "RATE_LIMIT_PER_MINUTE")).toMatchObject({
      value: "1",
      source: "options",
    });
    expect((await good.get("/hello")).status).toBe(200);
    expect((await good.get("/hello")).status).toBe(429);
  });

  test("runs in the web process only: a worker, with no http plugin, starts without it", async () => {
    await using worker = await testApp({ plugins: [http(), rateLimit()], process: "worker" });
    expect(worker.logs.some((l) => l.message === "plugin started" && l.plugin === "rate-limit")).toBe(false);
    expect(() => worker.get(RateLimiter)).toThrow();
  });
});
