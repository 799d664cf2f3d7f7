// Queue figures reach the Meter: depth, oldest age and dead letters from Queue.stats (the metrics
// plugin reads them at scrape), and settled jobs in queue_jobs_total.
import { describe, expect, test } from "bun:test";
import { Queue } from "@twelvefold/kernel";
import { testApp } from "@twelvefold/testing";
import { http } from "../../http/mod.ts";
import { metrics } from "../../metrics/mod.ts";
import { redis } from "../mod.ts";
import { REDIS_URL, redisAvailable, removeKeys, uniquePrefix } from "./redis.ts";

describe.if(redisAvailable)("queue metrics on Redis", () => {
  test("/metrics shows depth, age and dead letters per topic, and jobs by outcome", async () => {
    const prefix = uniquePrefix();
    try {
      await using t = await testApp({
        plugins: [redis(), http(), metrics()],
        env: { REDIS_URL, REDIS_KEY_PREFIX: prefix, METRICS_QUEUE_TOPICS: "waiting,failing" },
      });
      const queue = t.get(Queue);
      await queue.enqueue("waiting", 1);
      await queue.enqueue("waiting", 2);
      const consumer = queue.consume("failing", async () => {
        throw new Error("no");
      });
      await queue.enqueue("failing", "bad", { maxAttempts: 1 });
      for (let i = 0; i < 200 && (await queue.stats("failing")).dead === 0; i++) await Bun.sleep(10);
      await consumer.stop();
      const text = await (await t.fetch("/metrics")).text();
      expect(text).toContain('queue_depth{topic="waiting"} 2');
      expect(text).toContain('queue_dead_letters{topic="failing"} 1');
      expect(text).toMatch(/queue_oldest_age_seconds\{topic="waiting"\} \d/);
      expect(text).toContain('queue_jobs_total{topic="failing",outcome="dead"} 1');
    } finally {
      await removeKeys(prefix);
    }
  });
});
