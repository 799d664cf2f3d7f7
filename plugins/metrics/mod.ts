/**
 * @module
 * Prometheus metrics for Twelvefold apps: a lean registry implementing the kernel's Meter
 * contract, process figures (CPU, memory, heap, uptime, event-loop delay), and `GET /metrics` in
 * the Prometheus text format through the http plugin's routes. Other plugins record their figures
 * (request rate and latency, queue depth, LLM tokens) through the Meter in the registry.
 *
 * @example
 * ```ts
 * import { http } from "@twelvefold/http";
 * import { createApp, Meter } from "@twelvefold/kernel";
 * import { metrics } from "@twelvefold/metrics";
 *
 * const app = createApp({ name: "agent", plugins: [http(), metrics()] });
 * await app.start();
 * app.get(Meter).counter({ name: "jobs_total", help: "Jobs run.", labelNames: ["queue"] }).inc({ queue: "mail" });
 * ```
 */

export { MetricsError, type MetricsErrorCode } from "./src/errors.ts";
export { CONTENT_TYPE } from "./src/exposition.ts";
export { type MetricsOptions, metrics } from "./src/plugin.ts";
export { registerQueueMetrics } from "./src/queue.ts";
export { DEFAULT_BUCKETS, MetricRegistry, type RegistryOptions } from "./src/registry.ts";
export { type ProcessProbe, registerProcessMetrics } from "./src/runtime-metrics.ts";
