// Shared by plugin.test.ts and promtool.test.ts: an app with the metrics plugin, a stand-in for
// the http plugin's routes, and a plugin that records what the http, queue and llm plugins record.
import {
  chatMetrics,
  definePlugin,
  type FetchHandler,
  HttpRoutes,
  latencyBuckets,
  Meter,
  metricNames,
  type Plugin,
  type RouteOptions,
} from "@twelvefold/kernel";
import { testApp } from "@twelvefold/testing";
import { metrics } from "../plugin.ts";

/** Stands in for the http plugin: records the routes other plugins add. */
export function fakeRoutes() {
  const added = new Map<string, { handler: FetchHandler; options: RouteOptions | undefined }>();
  const plugin = definePlugin({
    name: "fake-http",
    provides: [HttpRoutes],
    start({ provide }) {
      provide(HttpRoutes, {
        add: (method, path, handler, options) => void added.set(`${method} ${path}`, { handler, options }),
        use() {},
      });
    },
  });
  return { plugin, added };
}

/** Records what the http, queue and llm plugins record, under the names the dashboard reads. */
export const recorder = definePlugin({
  name: "recorder",
  requires: [Meter],
  start({ get }) {
    const meter = get(Meter);
    const total = meter.counter({
      name: metricNames.httpRequests,
      help: "HTTP requests answered.",
      labelNames: ["method", "route", "status"],
    });
    const duration = meter.histogram({
      name: metricNames.httpRequestDuration,
      help: "Time to answer HTTP requests.",
      labelNames: ["method", "route"],
      buckets: latencyBuckets,
    });
    meter.gauge({ name: metricNames.httpRequestsInFlight, help: "HTTP requests being handled." }).set(undefined, 1);
    total.inc({ method: "GET", route: "/chat/sessions/:id/history", status: 200 });
    total.inc({ method: "POST", route: "/chat/sessions/:id/messages", status: 500 });
    duration.observe({ method: "GET", route: "/chat/sessions/:id/history" }, 0.012);
    meter.gauge({
      name: metricNames.queueDepth,
      help: "Ready messages per topic.",
      labelNames: ["topic"],
      collect: (g) => g.set({ topic: "chat.reply" }, 4),
    });
    meter.gauge({
      name: metricNames.queueOldestAge,
      help: "Age of the oldest ready message per topic, in seconds.",
      labelNames: ["topic"],
      collect: (g) => g.set({ topic: "chat.reply" }, 1.5),
    });
    chatMetrics(meter)(
      "gpt-4o-mini",
      { model: "gpt-4o-mini", finishReason: "stop", usage: { inputTokens: 120, outputTokens: 30 } },
      0.8,
    );
    meter
      .counter({
        name: metricNames.rateLimitRejections,
        help: "Requests refused by the rate limiter.",
      })
      .inc();
  },
});

/** Starts an app with the metrics plugin on the kit's harness and returns the `/metrics` text and the log. */
export async function scrape(plugins: Plugin[] = [recorder], env: Record<string, string> = {}) {
  const routes = fakeRoutes();
  await using t = await testApp({
    name: "agent",
    version: "1.0.0",
    plugins: [routes.plugin, metrics(), ...plugins],
    env,
  });
  const route = [...routes.added.values()][0];
  const response = route ? await route.handler(new Request("http://local/metrics")) : undefined;
  return { routes: routes.added, response, text: await response?.text(), logs: t.logs };
}
