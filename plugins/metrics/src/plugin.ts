import { AppInfo, type ConfigOptions, definePlugin, HttpRoutes, Meter, type Plugin, Queue } from "@twelvefold/kernel";
import { metricsConfig } from "./config.ts";
import { CONTENT_TYPE } from "./exposition.ts";
import { registerQueueMetrics } from "./queue.ts";
import { MetricRegistry } from "./registry.ts";
import { registerProcessMetrics } from "./runtime-metrics.ts";

/** Options for {@link metrics}: values for its settings (the top config layer), and a registry. */
export type MetricsOptions = ConfigOptions<typeof metricsConfig> & {
  /** Use this registry instead of a new one (to expose metrics registered before the app starts). */
  readonly registry?: MetricRegistry;
};

/**
 * The metrics plugin: provides the Meter that other plugins register their figures with, adds
 * process figures and the depth of the queue topics named in METRICS_QUEUE_TOPICS, and serves them in the Prometheus text format on `GET /metrics` when an http
 * plugin provides HttpRoutes (a worker without HTTP still records; nothing is served).
 *
 * @example
 * ```ts
 * createApp({ name: "agent", plugins: [http(), metrics()] });
 * // curl localhost:8000/metrics
 * ```
 */
export function metrics(options: MetricsOptions = {}): Plugin {
  const { registry: given, ...settings } = options;
  return definePlugin({
    name: "metrics",
    config: metricsConfig,
    options: settings,
    provides: [Meter],
    optional: [HttpRoutes, Queue],
    start({ config, get, find, provide, logger, onStop }) {
      const registry =
        given ??
        new MetricRegistry({
          maxSeriesPerMetric: config.METRICS_MAX_SERIES,
          onCollectError: (metric, error) => logger.warn("metric collection failed", { metric, error }),
        });
      provide(Meter, registry);
      if (config.METRICS_PROCESS) onStop(registerProcessMetrics(registry, get(AppInfo)));
      if (config.METRICS_QUEUE_TOPICS.length > 0) {
        const queue = find(Queue);
        if (queue) registerQueueMetrics(registry, queue, config.METRICS_QUEUE_TOPICS);
        else logger.warn("METRICS_QUEUE_TOPICS is set but no plugin provides a Queue");
      }
      const routes = find(HttpRoutes);
      if (routes) {
        routes.add(
          "GET",
          config.METRICS_PATH,
          async function scrapeMetrics() {
            return new Response(await registry.collect(), { headers: { "content-type": CONTENT_TYPE } });
          },
          { probe: true },
        );
      }
      logger.debug("metrics ready", { path: routes ? config.METRICS_PATH : undefined });
    },
  });
}
