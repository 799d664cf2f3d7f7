import { describe, expect, test } from "bun:test";
import { Cache, ConfigError, EventLog, embeddedInfo, Lock, Queue, RateLimitStore } from "@twelvefold/kernel";
import { pluginContract, testApp } from "@twelvefold/testing";
import { REDIS_URL, redisAvailable, removeKeys, uniquePrefix } from "../test/redis.ts";
import { ownRedis } from "../test/server.ts";
import { redis } from "./plugin.ts";

const prefix = uniquePrefix();

pluginContract(() => redis(), { env: {}, badEnv: { REDIS_URL: "http://not-redis:6379", REDIS_TTL: "soon" } });

describe.if(redisAvailable)("on a real server", () => {
  pluginContract(() => redis({ REDIS_KEY_PREFIX: prefix }), { env: { REDIS_URL } });

  test("provides the Redis adapters, which share data between apps", async () => {
    const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix };
    await using a = await testApp({ plugins: [redis()], env });
    await using b = await testApp({ plugins: [redis()], env });
    await a.get(Cache).set("shared", "yes");
    expect(await b.get(Cache).get("shared")).toBe("yes");
    expect(embeddedInfo(a.get(Queue))).toBeUndefined();
    expect((await a.get(RateLimitStore).hit("k", 1, 10_000)).allowed).toBe(true);
    expect((await b.get(RateLimitStore).hit("k", 1, 10_000)).allowed).toBe(false);
    const lease = await a.get(Lock).acquire("job", 10_000);
    expect(lease).toBeDefined();
    expect(await b.get(Lock).acquire("job", 10_000)).toBeUndefined();
    const id = await a.get(EventLog).append("run", "from a");
    expect(await b.get(EventLog).read("run")).toEqual([{ id, data: "from a" }]);
    expect(a.logs.some((l) => l.message === "redis: connected" && l.server === "127.0.0.1:6379")).toBe(true);
    await removeKeys(prefix);
  });
});

describe("without REDIS_URL", () => {
  test("the memory adapters stand in, node-redis is never loaded, and the app says once that it runs single-process", async () => {
    const child = Bun.spawn(["bun", new URL("../test/no-url.ts", import.meta.url).pathname], { stdout: "pipe" });
    const out = JSON.parse(await new Response(child.stdout).text()) as {
      loaded: boolean;
      lines: Array<{ message: string; level: string }>;
    };
    expect(await child.exited).toBe(0);
    expect(out.loaded).toBe(false);
    const notes = out.lines.filter((l) => l.message.includes("running single-process"));
    expect(notes).toHaveLength(1);
    expect(notes[0]?.level).toBe("warn");
  });

  test("health says so", async () => {
    await using t = await testApp({ plugins: [redis()] });
    expect(embeddedInfo(t.get(Queue))?.name).toBe("memory Queue");
    const report = await t.app.lifecycle.health();
    expect(report.checks.redis).toMatchObject({ status: "up", detail: "memory adapters (single process)" });
  });

  test("production refuses to start, naming REDIS_URL", async () => {
    const t = await testApp({ plugins: [redis()], env: { ENVIRONMENT: "production" }, start: false });
    const error = await t.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.name)).toContain("REDIS_URL");
  });
});

test("a server that cannot be reached fails the start within REDIS_CONNECT_TIMEOUT_MS, naming the address", async () => {
  await using server = await ownRedis();
  await server.stop();
  const t = await testApp({
    plugins: [redis()],
    env: { REDIS_URL: `redis://:hunter2secret@127.0.0.1:${server.port}`, REDIS_CONNECT_TIMEOUT_MS: "300" },
    start: false,
  });
  const error = (await t.start().catch((e: unknown) => e)) as Error;
  expect(error.message).toContain(`cannot connect to "127.0.0.1:${server.port}": connect ECONNREFUSED`);
  expect(error.message).not.toContain("hunter2secret");
});

describe("a server that may evict keys", () => {
  test("is refused in production (a config error: exit 78) and a warning in development", async () => {
    await using server = await ownRedis({ args: ["--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lru"] });
    const refused = await testApp({
      plugins: [redis()],
      env: { ENVIRONMENT: "production", REDIS_URL: server.url },
      start: false,
    });
    const error = await refused.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      expect.objectContaining({ name: "maxmemory-policy", received: '"allkeys-lru"' }),
    ]);
    await using warned = await testApp({ plugins: [redis()], env: { REDIS_URL: server.url } });
    expect(warned.logs.some((l) => l.level === "warn" && l.message.includes('maxmemory-policy "allkeys-lru"'))).toBe(
      true,
    );
  });
});

describe("an outage", () => {
  test("fails commands at once with a retryable error, turns health down, and recovers by itself", async () => {
    await using server = await ownRedis();
    await using t = await testApp({ plugins: [redis()], env: { REDIS_URL: server.url } });
    const cache = t.get(Cache);
    await cache.set("k", "v");
    await server.stop();
    const failure = await waitFor(async () => {
      const error = await cache.get("k").then(
        () => undefined,
        (e: unknown) => e as { retryable?: boolean; code?: string },
      );
      return error?.retryable ? error : undefined;
    });
    expect(failure.code).toBe("TF_REDIS_UNAVAILABLE");
    expect((await t.app.lifecycle.health()).checks.redis?.status).toBe("down");
    await server.start();
    await waitFor(
      async () =>
        (await cache.set("k", "back").then(
          () => true,
          () => false,
        )) || undefined,
    );
    expect(await cache.get("k")).toBe("back");
    expect((await t.app.lifecycle.health()).checks.redis?.status).toBe("up");
    expect(t.logs.filter((l) => l.message.startsWith("redis: connection lost"))).toHaveLength(1);
    expect(t.logs.filter((l) => l.message === "redis: connection restored")).toHaveLength(1);
  });
});

/** Polls `check` every 20 ms until it returns something, for up to 10 s. */
async function waitFor<T>(check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await Bun.sleep(20);
  }
  throw new Error("waitFor: gave up after 10 s");
}
