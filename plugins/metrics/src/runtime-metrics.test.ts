import { describe, expect, test } from "bun:test";
import { MetricRegistry } from "./registry.ts";
import { registerProcessMetrics } from "./runtime-metrics.ts";

const app = { name: "agent", version: "1.2.3", environment: "staging", startedAt: 1_700_000_000_000 };

describe("registerProcessMetrics", () => {
  test("exposes CPU, memory, heap, start time, uptime and app info from the probe", async () => {
    const registry = new MetricRegistry();
    const stop = registerProcessMetrics(registry, app, {
      cpuUsage: () => ({ user: 1_500_000, system: 500_000 }),
      memoryUsage: () => ({ rss: 50_000_000, heapUsed: 10_000_000, heapTotal: 20_000_000, external: 1_000 }),
      now: () => app.startedAt + 90_500,
    });
    const text = await registry.collect();
    stop();
    for (const line of [
      'app_info{name="agent",version="1.2.3",environment="staging"} 1',
      "process_cpu_user_seconds_total 1.5",
      "process_cpu_system_seconds_total 0.5",
      "process_cpu_seconds_total 2",
      "process_resident_memory_bytes 50000000",
      "process_heap_used_bytes 10000000",
      "process_heap_total_bytes 20000000",
      "process_external_memory_bytes 1000",
      "process_start_time_seconds 1700000000",
      "process_uptime_seconds 90.5",
    ]) {
      expect(text).toContain(`\n${line}\n`);
    }
    expect(text).toContain("# TYPE process_cpu_seconds_total counter");
  });

  test("event-loop delay is measured: a blocked loop shows up in the max", async () => {
    const registry = new MetricRegistry();
    const stop = registerProcessMetrics(registry, app);
    await new Promise((resolve) => setTimeout(resolve, 60));
    const until = performance.now() + 80;
    while (performance.now() < until) {
      // Block the event loop on purpose.
    }
    await new Promise((resolve) => setTimeout(resolve, 60));
    const text = await registry.collect();
    stop();
    const max = Number(/\nprocess_event_loop_delay_max_seconds (\S+)\n/.exec(text)?.[1]);
    expect(max).toBeGreaterThan(0.04);
    for (const name of ["mean", "p50", "p99"])
      expect(text).toMatch(new RegExp(`\\nprocess_event_loop_delay_${name}_seconds \\d`));
  });
});
