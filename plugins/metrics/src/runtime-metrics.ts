import { monitorEventLoopDelay } from "node:perf_hooks";
import { cpuUsage, memoryUsage } from "node:process";
import type { AppInfo } from "@twelvefold/kernel";
import type { MetricRegistry } from "./registry.ts";

/** What {@link registerProcessMetrics} reads; injectable for tests. */
export interface ProcessProbe {
  cpuUsage(): { user: number; system: number };
  memoryUsage(): { rss: number; heapUsed: number; heapTotal: number; external: number };
  /** Epoch milliseconds now. */
  now(): number;
}

// node:process and node:perf_hooks exist on Bun, Deno and Node alike.
const nodeProbe: ProcessProbe = {
  cpuUsage: () => cpuUsage(),
  memoryUsage: () => memoryUsage(),
  now: Date.now,
};

/** Event-loop delay in seconds since the last read: a perf_hooks histogram, or a timer probe where there is none. */
interface DelayMonitor {
  read(): { mean: number; p50: number; p99: number; max: number };
  stop(): void;
}

function delayMonitor(): DelayMonitor {
  try {
    const histogram = monitorEventLoopDelay({ resolution: 20 });
    histogram.enable();
    return {
      read() {
        const empty = histogram.count === 0;
        const out = empty
          ? { mean: 0, p50: 0, p99: 0, max: 0 }
          : {
              mean: histogram.mean / 1e9,
              p50: histogram.percentile(50) / 1e9,
              p99: histogram.percentile(99) / 1e9,
              max: histogram.max / 1e9,
            };
        histogram.reset();
        return out;
      },
      stop: () => histogram.disable(),
    };
  } catch {
    return timerDelayMonitor();
  }
}

/** The fallback: how late a 20 ms timer fires, sampled; the timer never keeps the process alive. */
function timerDelayMonitor(): DelayMonitor {
  const samples: number[] = [];
  let expected = performance.now() + 20;
  const timer = setInterval(() => {
    const now = performance.now();
    if (samples.length < 10_000) samples.push(Math.max(0, now - expected) / 1000);
    expected = now + 20;
  }, 20);
  (timer as { unref?: () => void }).unref?.();
  return {
    read() {
      const sorted = samples.splice(0).sort((a, b) => a - b);
      if (sorted.length === 0) return { mean: 0, p50: 0, p99: 0, max: 0 };
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
      const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
      return { mean, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] as number };
    },
    stop: () => clearInterval(timer),
  };
}

/**
 * Registers the process figures: CPU seconds, resident memory, heap, start time, uptime,
 * event-loop delay and an `app_info` series carrying name, version and environment. Values are
 * read at scrape time only. Returns a function that stops the event-loop monitor.
 */
export function registerProcessMetrics(
  registry: MetricRegistry,
  app: AppInfo,
  probe: ProcessProbe = nodeProbe,
): () => void {
  registry.gauge({
    name: "app_info",
    help: "The app's name, version and environment; always 1.",
    labelNames: ["name", "version", "environment"],
    collect: (g) => g.set({ name: app.name, version: app.version, environment: app.environment }, 1),
  });
  const cpu = (key: "user" | "system") => (c: { set(labels: undefined, value: number): void }) =>
    c.set(undefined, probe.cpuUsage()[key] / 1e6);
  registry.counter({
    name: "process_cpu_user_seconds_total",
    help: "User CPU time spent, in seconds.",
    collect: cpu("user"),
  });
  registry.counter({
    name: "process_cpu_system_seconds_total",
    help: "System CPU time spent, in seconds.",
    collect: cpu("system"),
  });
  registry.counter({
    name: "process_cpu_seconds_total",
    help: "User and system CPU time spent, in seconds.",
    collect: (c) => {
      const { user, system } = probe.cpuUsage();
      c.set(undefined, (user + system) / 1e6);
    },
  });
  const memory = (key: "rss" | "heapUsed" | "heapTotal" | "external") => (g: { set(l: undefined, v: number): void }) =>
    g.set(undefined, probe.memoryUsage()[key]);
  registry.gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size, in bytes.",
    collect: memory("rss"),
  });
  registry.gauge({
    name: "process_heap_used_bytes",
    help: "JavaScript heap in use, in bytes.",
    collect: memory("heapUsed"),
  });
  registry.gauge({
    name: "process_heap_total_bytes",
    help: "JavaScript heap reserved, in bytes.",
    collect: memory("heapTotal"),
  });
  registry.gauge({
    name: "process_external_memory_bytes",
    help: "Memory held outside the JavaScript heap (buffers), in bytes.",
    collect: memory("external"),
  });
  registry.gauge({
    name: "process_start_time_seconds",
    help: "Start time of the process since the Unix epoch, in seconds.",
    collect: (g) => g.set(undefined, Math.round(app.startedAt / 1000)),
  });
  registry.gauge({
    name: "process_uptime_seconds",
    help: "Time since the process started, in seconds.",
    collect: (g) => g.set(undefined, Math.max(0, (probe.now() - app.startedAt) / 1000)),
  });
  const monitor = delayMonitor();
  let reading: ReturnType<DelayMonitor["read"]> | undefined;
  const delay = (key: keyof ReturnType<DelayMonitor["read"]>) => (g: { set(l: undefined, v: number): void }) => {
    // One read per scrape serves all four gauges; the monitor resets on read.
    reading ??= monitor.read();
    g.set(undefined, reading[key]);
    queueMicrotask(() => {
      reading = undefined;
    });
  };
  const since = "since the previous scrape, in seconds.";
  registry.gauge({
    name: "process_event_loop_delay_mean_seconds",
    help: `Mean event-loop delay ${since}`,
    collect: delay("mean"),
  });
  registry.gauge({
    name: "process_event_loop_delay_p50_seconds",
    help: `Median event-loop delay ${since}`,
    collect: delay("p50"),
  });
  registry.gauge({
    name: "process_event_loop_delay_p99_seconds",
    help: `99th percentile event-loop delay ${since}`,
    collect: delay("p99"),
  });
  registry.gauge({
    name: "process_event_loop_delay_max_seconds",
    help: `Largest event-loop delay ${since}`,
    collect: delay("max"),
  });
  return () => monitor.stop();
}
