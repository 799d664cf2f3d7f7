/**
 * Process types as real processes: one fixture app run as dev, worker, scheduler and admin. The
 * multi-process cases share the local Redis under a key prefix of their own, removed afterwards.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createApp } from "../../packages/kernel/mod.ts";
import { redis } from "../../plugins/redis/mod.ts";
import { REDIS_URL, redisAvailable, removeKeys, uniquePrefix } from "../../plugins/redis/test/redis.ts";
import { work } from "./jobs.ts";
import { type Fixture, type Line, message, spawnFixture } from "./spawn.ts";

const running = new Set<Fixture>();
afterAll(() => {
  for (const fixture of running) fixture.process.kill("SIGKILL");
});

function start(args: string[], env: Record<string, string> = {}): Fixture {
  const fixture = spawnFixture(args, env);
  running.add(fixture);
  void fixture.exited.then(() => running.delete(fixture));
  return fixture;
}

/** Bounds a hung test only: these spawn real processes on two shared cores. */
const SLOW = 60_000;

const levels = (fixture: Fixture, level: string) => fixture.lines.filter((l) => l.level === level);

describe("dev: web, worker and scheduler in one process", () => {
  test(
    "starts all three, runs a job enqueued over HTTP and the cron job, and drains cleanly on SIGTERM",
    async () => {
      const dev = start(["dev"]);
      await dev.waitFor(message("app ready"), "the app");
      const messages = dev.lines.map((l) => l.message);
      expect(messages).toContain("listening");
      expect(messages).toContain("worker subscribed");
      expect(messages).toContain("schedule held");
      // web serves the probes there: no management server beside it.
      expect(messages).not.toContain("management listening");
      const { url } = dev.lines.find((l) => l.message === "listening") as Line & { url: string };
      expect((await fetch(`${url}/readyz`)).status).toBe(200);

      const queued = await fetch(`${url}/jobs`, { method: "POST", body: JSON.stringify({ id: "quick", ms: 0 }) });
      expect(queued.status).toBe(202);
      await dev.waitFor((l) => l.message === "job finished" && l.id === "quick", "the quick job");
      await dev.waitFor(message("tick fired"), "a tick");

      // A job in hand when SIGTERM arrives finishes before the process exits.
      await fetch(`${url}/jobs`, { method: "POST", body: JSON.stringify({ id: "in-hand", ms: 400 }) });
      await dev.waitFor((l) => l.message === "job started" && l.id === "in-hand", "the job in hand");
      dev.process.kill("SIGTERM");
      expect(await dev.exited).toBe(0);
      const order = dev.lines.map((l) => (l.message === "job finished" ? `finished ${l.id}` : l.message));
      expect(order.indexOf("finished in-hand")).toBeGreaterThan(order.indexOf("shutdown signal received"));
      expect(order.indexOf("finished in-hand")).toBeLessThan(order.indexOf("app stopped"));
      expect(levels(dev, "error")).toEqual([]);
    },
    SLOW,
  );
});

describe("admin", () => {
  test(
    "a command stopped by SIGTERM exits 143 once it returned; output on stdout, logs on stderr",
    async () => {
      const admin = start(["admin", "wait"]);
      while (!admin.output.includes("waiting")) await Bun.sleep(10);
      admin.process.kill("SIGTERM");
      expect(await admin.exited).toBe(143);
      expect(admin.output).toEqual(["waiting", "stopped"]);
      expect(admin.lines.some((l) => l.message === "signal received: stopping the command")).toBe(true);
      // No plugin that serves runs in admin.
      expect(admin.lines.some((l) => l.message === "listening" || l.message === "management listening")).toBe(false);
    },
    SLOW,
  );

  test(
    "an unknown command exits 2 listing every command; config prints the effective settings",
    async () => {
      const unknown = start(["admin", "wiat"]);
      expect(await unknown.exited).toBe(2);
      expect(unknown.errors[0]).toBe('admin: unknown command "wiat"');
      const listing = unknown.errors.join("\n");
      expect(listing).toMatch(/^ +wait +Wait until SIGINT or SIGTERM$/m);
      expect(listing).toMatch(/^ +run-job <name> +Run one scheduled job now, once, and exit$/m);
      expect(listing).toMatch(/^ +config \[--process\] +Print the effective config/m);
      expect(unknown.output).toEqual([]);

      const config = start(["admin", "config", "--process=worker"], { WORKER_CONCURRENCY: "3" });
      expect(await config.exited).toBe(0);
      expect(config.output.find((l) => l.startsWith("WORKER_CONCURRENCY"))).toMatch(
        /^WORKER_CONCURRENCY +3 +process env +worker$/,
      );
      expect(config.output.some((l) => l.startsWith("PORT "))).toBe(false);
    },
    SLOW,
  );
});

describe("management port", () => {
  for (const type of ["worker", "scheduler"] as const) {
    test(
      `a ${type} process serves /livez, /readyz, /health and /metrics, and turns unready when draining`,
      async () => {
        const fixture = start([type], { DRAIN_DELAY_MS: "1000" });
        const { url } = (await fixture.waitFor(message("management listening"), "the management server")) as Line & {
          url: string;
        };
        await fixture.waitFor(message("app ready"), "the app");
        expect(fixture.lines.some((l) => l.message === "listening")).toBe(false);
        expect((await fetch(`${url}/livez`)).status).toBe(200);
        expect((await fetch(`${url}/readyz`)).status).toBe(200);
        const health = await fetch(`${url}/health`);
        expect(health.status).toBe(200);
        expect(await health.json()).toMatchObject({ status: "up", name: "process-fixture" });
        const scrape = await (await fetch(`${url}/metrics`)).text();
        expect(scrape).toContain(type === "worker" ? 'worker_jobs_in_flight{topic="fixture.work"} 0' : "scheduler_");
        expect(scrape).toContain("process_resident_memory_bytes");

        fixture.process.kill("SIGTERM");
        await fixture.waitFor(message("draining"), "the drain");
        const unready = await fetch(`${url}/readyz`);
        expect(unready.status).toBe(503);
        expect(await fixture.exited).toBe(0);
      },
      SLOW,
    );
  }
});

describe.if(redisAvailable)("several processes over Redis", () => {
  const prefix = uniquePrefix();
  const shared = { REDIS_URL, REDIS_KEY_PREFIX: prefix };
  afterAll(() => removeKeys(prefix));

  test(
    "three scheduler processes fire each occurrence of a per-second job exactly once",
    async () => {
      const replicas = [1, 2, 3].map(() => start(["scheduler"], { ...shared, LOG_LEVEL: "debug" }));
      await Promise.all(replicas.map((r) => r.waitFor(message("app ready"), "a replica")));
      const fired = () => replicas.flatMap((r) => r.lines.filter((l) => l.message === "tick fired"));
      while (new Set(fired().map((l) => l.scheduled_at)).size < 6) await Bun.sleep(100);
      for (const replica of replicas) replica.process.kill("SIGTERM");
      expect(await Promise.all(replicas.map((r) => r.exited))).toEqual([0, 0, 0]);

      const times = fired().map((l) => l.scheduled_at as string);
      // Once per occurrence: no occurrence fired twice, over all three processes.
      expect(times.length).toBe(new Set(times).size);
      expect(times.length).toBeGreaterThanOrEqual(6);
      // Every replica met the occurrences the others had taken: they contended for each one.
      const taken = replicas.map((r) => r.lines.filter((l) => l.message === "occurrence taken by another replica"));
      expect(taken.filter((lines) => lines.length > 0).length).toBeGreaterThanOrEqual(2);
      for (const replica of replicas) expect(levels(replica, "error")).toEqual([]);
    },
    SLOW,
  );

  test(
    "a worker SIGKILLed mid-job leaves the job to another worker, which finishes it",
    async () => {
      const settings = { ...shared, WORKER_VISIBILITY_TIMEOUT_MS: "1000" };
      const first = start(["worker"], settings);
      await first.waitFor(message("app ready"), "the first worker");

      const producer = createApp({
        name: "process-fixture",
        plugins: [redis()],
        env: { ...settings, LOG_LEVEL: "warn" },
      });
      await producer.start();
      const { Queue } = await import("../../packages/kernel/mod.ts");
      await work.enqueue(producer.get(Queue), { id: "survivor", ms: 1500 });
      await producer.stop();

      await first.waitFor((l) => l.message === "job started" && l.id === "survivor", "the job on the first worker");
      first.process.kill("SIGKILL");
      expect(await first.exited).not.toBe(0);
      expect(first.lines.some((l) => l.message === "job finished")).toBe(false);

      const second = start(["worker"], settings);
      const finished = await second.waitFor(
        (l) => l.message === "job finished" && l.id === "survivor",
        "the job on the second worker",
      );
      expect(finished.attempt).toBe(2);
      second.process.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    },
    SLOW,
  );
});
