// Queue figures reach the Meter: depth, oldest age and dead letters from Queue.stats (the metrics
// plugin reads them at scrape), and handled jobs in queue_jobs_total, counted once, by the worker.
import { describe, expect, test } from "bun:test";
import { defineJob, Queue, worker } from "@twelvefold/kernel";
import { testApp } from "@twelvefold/testing";
import * as v from "valibot";
import { http } from "../../http/mod.ts";
import { metrics } from "../../metrics/mod.ts";
import { redis } from "../mod.ts";
import { REDIS_URL, redisAvailable, removeKeys, uniquePrefix } from "./redis.ts";

describe.if(redisAvailable)("queue metrics on Redis", () => {
  test("/metrics shows depth, age and dead letters per topic, and each handled job once by outcome", async () => {
    const prefix = uniquePrefix();
    const failing = defineJob({
      topic: "failing",
      payload: v.string(),
      maxAttempts: 1,
      run() {
        throw new Error("no");
      },
    });
    const passing = defineJob({ topic: "passing", payload: v.number(), run() {} });
    try {
      await using t = await testApp({
        plugins: [redis(), http(), metrics(), worker({ jobs: [failing, passing] })],
        env: { REDIS_URL, REDIS_KEY_PREFIX: prefix, METRICS_QUEUE_TOPICS: "waiting,failing" },
      });
      const queue = t.get(Queue);
      await queue.enqueue("waiting", 1);
      await queue.enqueue("waiting", 2);
      await failing.enqueue(queue, "bad");
      for (const n of [1, 2, 3]) await passing.enqueue(queue, n);
      let text = "";
      for (let i = 0; i < 500 && !text.includes('topic="passing",outcome="ack"} 3'); i++) {
        await Bun.sleep(10);
        text = await (await t.fetch("/metrics")).text();
      }
      for (let i = 0; i < 200 && (await queue.stats("failing")).dead === 0; i++) await Bun.sleep(10);
      text = await (await t.fetch("/metrics")).text();
      // The worker counts what it handled; the Redis queue under it does not count the same settles again.
      expect(text).toContain('queue_jobs_total{topic="passing",outcome="ack"} 3');
      expect(text).toContain('queue_depth{topic="waiting"} 2');
      expect(text).toContain('queue_dead_letters{topic="failing"} 1');
      expect(text).toMatch(/queue_oldest_age_seconds\{topic="waiting"\} \d/);
      expect(text).toContain('queue_jobs_total{topic="failing",outcome="dead"} 1');
    } finally {
      await removeKeys(prefix);
    }
  });
});
