// Fault tests with real processes: a worker killed mid-job, Redis restarted mid-run, four
// processes on one rate-limit key, and a late ack from a worker whose message was reclaimed.
import { afterAll, describe, expect, test } from "bun:test";
import { connectRedis, type RedisConnection } from "../src/connection.ts";
import { RedisError } from "../src/errors.ts";
import { redisQueue } from "../src/queue.ts";
import { type Child, spawnChild } from "./processes.ts";
import { REDIS_URL, redisAvailable, removeKeys, uniquePrefix } from "./redis.ts";
import { ownRedis } from "./server.ts";

const children: Child[] = [];
afterAll(async () => {
  for (const child of children) if (child.process.exitCode === null) await child.kill("SIGKILL");
});

function worker(env: Record<string, string>): Child {
  const child = spawnChild("./worker.ts", env);
  children.push(child);
  return child;
}

const finished = (child: Child) =>
  child.lines.filter((l) => l.event === "finished").map((l) => `${l.id as string}#${l.attempt as number}`);

describe.if(redisAvailable)("fault tests, real processes", () => {
  test("a worker SIGKILLed mid-job loses nothing: another worker finishes every job", async () => {
    const prefix = uniquePrefix();
    const connection = await connectRedis({ url: REDIS_URL, prefix });
    try {
      const queue = redisQueue(connection);
      const ids = new Set<string>();
      for (let n = 0; n < 20; n++) ids.add(await queue.enqueue("jobs", { n }));
      const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix, JOB_MS: "200", CONCURRENCY: "2", VISIBILITY_MS: "1000" };
      const doomed = worker(env);
      await doomed.waitFor((l) => l.event === "started");
      await doomed.kill("SIGKILL");
      const inHand = doomed.lines.filter((l) => l.event === "started").map((l) => l.id as string);
      const doneByDoomed = new Set(doomed.lines.filter((l) => l.event === "finished").map((l) => l.id as string));
      const survivor = worker(env);
      const all = async () => {
        const done = new Set([
          ...doneByDoomed,
          ...survivor.lines.filter((l) => l.event === "finished").map((l) => l.id as string),
        ]);
        return done.size === ids.size;
      };
      for (let i = 0; i < 300 && !(await all()); i++) await Bun.sleep(50);
      expect(await all()).toBe(true);
      // The jobs the killed worker held came back as their second attempt, after the visibility timeout.
      const taken = inHand.filter((id) => !doneByDoomed.has(id));
      expect(taken.length).toBeGreaterThan(0);
      for (const id of taken) {
        expect(survivor.lines.some((l) => l.event === "started" && l.id === id && l.attempt === 2)).toBe(true);
      }
      const stats = await queue.stats("jobs");
      expect([stats.ready, stats.delayed, stats.inFlight, stats.dead]).toEqual([0, 0, 0, 0]);
      await survivor.kill("SIGTERM");
      expect(survivor.process.exitCode).toBe(0);
    } finally {
      await connection.close();
      await removeKeys(prefix);
    }
  }, 30_000);

  test("Redis restarted mid-run: the worker recovers by itself, no acked job is lost or repeated", async () => {
    await using server = await ownRedis({ durable: true });
    const prefix = uniquePrefix();
    const connection = await connectRedis({ url: server.url, prefix });
    try {
      const queue = redisQueue(connection);
      const env = {
        REDIS_URL: server.url,
        REDIS_KEY_PREFIX: prefix,
        JOB_MS: "5",
        CONCURRENCY: "4",
        VISIBILITY_MS: "10000",
      };
      const child = worker(env);
      await child.waitFor((l) => l.event === "ready");
      const ids: string[] = [];
      let failures = 0;
      const enqueue = async (n: number) => {
        for (;;) {
          try {
            ids.push(await queue.enqueue("jobs", { n }));
            return;
          } catch (error) {
            // Refused at once while the server is away, and retryable: the producer tries again.
            expect(error).toBeInstanceOf(RedisError);
            expect((error as RedisError).retryable).toBe(true);
            failures++;
            await Bun.sleep(20);
          }
        }
      };
      for (let n = 0; n < 100; n++) await enqueue(n);
      await server.stop();
      const during = (async () => {
        for (let n = 100; n < 150; n++) await enqueue(n);
      })();
      await Bun.sleep(300);
      await server.start();
      await during;
      for (let n = 150; n < 200; n++) await enqueue(n);
      const done = () => new Set(child.lines.filter((l) => l.event === "finished").map((l) => l.id as string));
      for (let i = 0; i < 400 && done().size < ids.length; i++) await Bun.sleep(50);
      expect(failures).toBeGreaterThan(0);
      expect(done()).toEqual(new Set(ids));
      // Handled once each: nothing acked was delivered again.
      expect(finished(child).length).toBe(ids.length);
      expect(child.lines.filter((l) => l.event === "started").length).toBe(ids.length);
      expect(child.process.exitCode).toBeNull();
      expect(child.lines.some((l) => l.message?.startsWith("redis: connection lost"))).toBe(true);
      expect(child.lines.some((l) => l.message === "redis: connection restored")).toBe(true);
      for (let i = 0; i < 100 && (await queue.stats("jobs")).inFlight > 0; i++) await Bun.sleep(50);
      const stats = await queue.stats("jobs");
      expect([stats.ready, stats.delayed, stats.inFlight, stats.dead]).toEqual([0, 0, 0, 0]);
      await child.kill("SIGTERM");
      expect(child.process.exitCode).toBe(0);
    } finally {
      await connection.close();
    }
  }, 60_000);

  test("four processes hammering one rate-limit key admit exactly the limit", async () => {
    const prefix = uniquePrefix();
    try {
      const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix, HITS: "5000", LIMIT: "1000" };
      const hammers = [1, 2, 3, 4].map(() => spawnChild("./hammer.ts", env));
      children.push(...hammers);
      const results = await Promise.all(hammers.map((h) => h.waitFor((l) => l.event === "done", 30_000)));
      const allowed = results.reduce((sum, r) => sum + (r.allowed as number), 0);
      const refused = results.reduce((sum, r) => sum + (r.refused as number), 0);
      expect(allowed).toBe(1000);
      expect(refused).toBe(19_000);
    } finally {
      await removeKeys(prefix);
    }
  }, 60_000);

  test("a late ack from a worker whose message was reclaimed changes nothing", async () => {
    const prefix = uniquePrefix();
    const connection: RedisConnection = await connectRedis({ url: REDIS_URL, prefix });
    try {
      const queue = redisQueue(connection);
      const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix, JOB_MS: "1500", VISIBILITY_MS: "500" };
      const frozen = worker(env);
      await frozen.waitFor((l) => l.event === "ready");
      const id = await queue.enqueue("jobs", "contested");
      await frozen.waitFor((l) => l.event === "started" && l.id === id);
      // Frozen: its lease is no longer renewed, and a second worker takes the message over.
      frozen.process.kill("SIGSTOP");
      const owner = worker({ ...env, JOB_MS: "3000" });
      await owner.waitFor((l) => l.event === "started" && l.id === id && l.attempt === 2, 20_000);
      frozen.process.kill("SIGCONT");
      // The frozen worker's job finishes and tries to ack: too late, it is the other worker's now.
      await frozen.waitFor((l) => l.id === id && (l.event === "finished" || l.event === "finished-without-lease"));
      await Bun.sleep(200);
      expect((await queue.stats("jobs")).inFlight).toBe(1);
      await owner.waitFor((l) => l.event === "finished" && l.id === id, 20_000);
      for (let i = 0; i < 100 && (await queue.stats("jobs")).inFlight > 0; i++) await Bun.sleep(50);
      const stats = await queue.stats("jobs");
      expect([stats.ready, stats.delayed, stats.inFlight, stats.dead]).toEqual([0, 0, 0, 0]);
      expect(owner.lines.filter((l) => l.event === "started").length).toBe(1);
      await Promise.all([frozen.kill("SIGTERM"), owner.kill("SIGTERM")]);
    } finally {
      await connection.close();
      await removeKeys(prefix);
    }
  }, 60_000);
});
