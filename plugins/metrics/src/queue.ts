import { metricNames, type Queue } from "@twelvefold/kernel";
import type { MetricRegistry } from "./registry.ts";

/**
 * Registers queue depth, oldest-message age and dead letters per topic, read from `Queue.stats`
 * at scrape time. Every process that holds the queue reports the same broker-wide figures, so
 * dashboards aggregate them with `max by (topic)`, not `sum`.
 */
export function registerQueueMetrics(registry: MetricRegistry, queue: Queue, topics: readonly string[]): void {
  const stats = new Map<string, ReturnType<Queue["stats"]>>();
  // One stats call per topic per scrape serves all three gauges.
  const read = (topic: string) => {
    let pending = stats.get(topic);
    if (!pending) {
      pending = queue.stats(topic);
      stats.set(topic, pending);
      void pending.finally(() => stats.delete(topic)).catch(() => {});
    }
    return pending;
  };
  const each = async (set: (topic: string, value: Awaited<ReturnType<Queue["stats"]>>) => void) => {
    await Promise.all(topics.map(async (topic) => set(topic, await read(topic))));
  };
  registry.gauge({
    name: metricNames.queueDepth,
    help: "Messages ready for delivery, per topic.",
    labelNames: ["topic"],
    collect: (g) => each((topic, s) => g.set({ topic }, s.ready)),
  });
  registry.gauge({
    name: metricNames.queueOldestAge,
    help: "Age of the oldest ready message per topic, in seconds.",
    labelNames: ["topic"],
    collect: (g) => each((topic, s) => g.set({ topic }, s.oldestAgeMs / 1000)),
  });
  registry.gauge({
    name: metricNames.queueDeadLetters,
    help: "Messages moved to the dead-letter list, per topic.",
    labelNames: ["topic"],
    collect: (g) => each((topic, s) => g.set({ topic }, s.dead)),
  });
}
