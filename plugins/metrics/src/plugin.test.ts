import { describe, expect, test } from "bun:test";
import { definePlugin, Meter, override, Queue } from "@twelvefold/kernel";
import { memoryQueue } from "@twelvefold/kernel/memory";
import { pluginContract, testApp } from "@twelvefold/testing";
import { CONTENT_TYPE } from "./exposition.ts";
import { metrics } from "./plugin.ts";
import { fakeRoutes, recorder, scrape } from "./testdata/scrape.ts";

pluginContract(() => metrics(), { badEnv: { METRICS_PATH: "metrics", METRICS_MAX_SERIES: "0" } });

describe("metrics plugin", () => {
  test("GET /metrics serves other plugins' figures and process figures as Prometheus text", async () => {
    const { routes, response, text } = await scrape();
    expect([...routes.keys()]).toEqual(["GET /metrics"]);
    expect(routes.get("GET /metrics")?.options).toEqual({ probe: true });
    expect(response?.status).toBe(200);
    expect(response?.headers.get("content-type")).toBe(CONTENT_TYPE);
    expect(text).toContain('http_requests_total{method="POST",route="/chat/sessions/:id/messages",status="500"} 1');
    expect(text).toContain(
      'http_request_duration_seconds_bucket{method="GET",route="/chat/sessions/:id/history",le="0.025"} 1',
    );
    expect(text).toContain('queue_depth{topic="chat.reply"} 4');
    expect(text).toContain('llm_tokens_total{model="gpt-4o-mini",type="output"} 30');
    expect(text).toContain('app_info{name="agent",version="1.0.0",environment="testing"} 1');
    expect(text).toMatch(/\nprocess_resident_memory_bytes \d+\n/);
  });

  test("METRICS_PATH moves the endpoint and METRICS_PROCESS=false leaves process figures out", async () => {
    const { routes, text } = await scrape([recorder], { METRICS_PATH: "/internal/metrics", METRICS_PROCESS: "false" });
    expect([...routes.keys()]).toEqual(["GET /internal/metrics"]);
    expect(text).not.toContain("process_");
    expect(text).toContain("http_requests_total");
  });

  test("a failing collect callback is logged and the scrape still answers", async () => {
    const broken = definePlugin({
      name: "broken",
      requires: [Meter],
      start({ get }) {
        get(Meter).gauge({
          name: "pool_size",
          help: "x",
          collect: () => {
            throw new Error("pool gone");
          },
        });
      },
    });
    const { text, logs } = await scrape([broken], { LOG_LEVEL: "warn" });
    expect(text).toContain("process_cpu_seconds_total");
    const warning = logs.find((l) => l.message === "metric collection failed");
    expect(warning).toMatchObject({ plugin: "metrics", metric: "pool_size", error: { message: "pool gone" } });
  });

  test("METRICS_QUEUE_TOPICS exposes depth, oldest age and dead letters of those topics", async () => {
    await using queue = memoryQueue();
    await queue.enqueue("mail", { to: "a" });
    await queue.enqueue("mail", { to: "b" });
    const routes = fakeRoutes();
    const t = await testApp({
      plugins: [routes.plugin, metrics({ METRICS_QUEUE_TOPICS: ["mail", "chat"] })],
      overrides: [override(Queue, queue)],
      env: { METRICS_PROCESS: "false" },
    });
    const route = routes.added.get("GET /metrics");
    const text = await (await route?.handler(new Request("http://local/metrics")))?.text();
    await t.stop();
    expect(text).toContain('queue_depth{topic="mail"} 2\nqueue_depth{topic="chat"} 0');
    expect(text).toMatch(/queue_oldest_age_seconds\{topic="mail"\} \d/);
    expect(text).toContain('queue_dead_letters{topic="mail"} 0');
  });

  test("METRICS_QUEUE_TOPICS without a Queue is a warning, not a failure", async () => {
    const { logs } = await scrape([], { METRICS_QUEUE_TOPICS: "mail", LOG_LEVEL: "warn" });
    expect(logs.map((l) => l.message)).toContain("METRICS_QUEUE_TOPICS is set but no plugin provides a Queue");
  });

  test("without an http plugin the Meter still works and nothing is served", async () => {
    let meter: Meter | undefined;
    const probe = definePlugin({
      name: "probe",
      requires: [Meter],
      start({ get }) {
        meter = get(Meter);
      },
    });
    await using t = await testApp({ plugins: [metrics(), probe] });
    expect(() => meter?.counter({ name: "jobs_total", help: "Jobs." }).inc()).not.toThrow();
    expect(t.logs.some((l) => l.message === "metrics ready" && l.path === undefined)).toBe(true);
  });
});
