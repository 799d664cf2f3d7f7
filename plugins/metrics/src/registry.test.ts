import { describe, expect, test } from "bun:test";
import { MetricsError } from "./errors.ts";
import { MetricRegistry } from "./registry.ts";

describe("MetricRegistry", () => {
  test('counters render HELP, TYPE and one line per label set (200 and "200" are one set)', async () => {
    const registry = new MetricRegistry();
    const requests = registry.counter({
      name: "http_requests_total",
      help: "HTTP requests answered.",
      labelNames: ["method", "route", "status"],
    });
    requests.inc({ method: "GET", route: "/chat/sessions/:id", status: 200 });
    requests.inc({ method: "GET", route: "/chat/sessions/:id", status: "200" }, 2);
    requests.inc({ method: "POST", route: "/chat/sessions", status: 201 });
    expect(await registry.collect()).toBe(
      [
        "# HELP http_requests_total HTTP requests answered.",
        "# TYPE http_requests_total counter",
        'http_requests_total{method="GET",route="/chat/sessions/:id",status="200"} 3',
        'http_requests_total{method="POST",route="/chat/sessions",status="201"} 1',
        "",
      ].join("\n"),
    );
  });

  test("histograms render cumulative buckets up to +Inf, then _sum and _count", () => {
    const registry = new MetricRegistry();
    const duration = registry.histogram({
      name: "http_request_duration_seconds",
      help: "Time to answer.",
      labelNames: ["route"],
      buckets: [0.1, 0.5, 1],
    });
    for (const value of [0.05, 0.1, 0.3, 2]) duration.observe({ route: "/a" }, value);
    expect(registry.render()).toBe(
      [
        "# HELP http_request_duration_seconds Time to answer.",
        "# TYPE http_request_duration_seconds histogram",
        'http_request_duration_seconds_bucket{route="/a",le="0.1"} 2',
        'http_request_duration_seconds_bucket{route="/a",le="0.5"} 3',
        'http_request_duration_seconds_bucket{route="/a",le="1"} 3',
        'http_request_duration_seconds_bucket{route="/a",le="+Inf"} 4',
        'http_request_duration_seconds_sum{route="/a"} 2.45',
        'http_request_duration_seconds_count{route="/a"} 4',
        "",
      ].join("\n"),
    );
  });

  test("a histogram without labels renders before any observation, with zero counts", () => {
    const registry = new MetricRegistry();
    registry.histogram({ name: "job_seconds", help: "Job time.", buckets: [1] });
    expect(registry.render()).toContain('job_seconds_bucket{le="+Inf"} 0\njob_seconds_sum 0\njob_seconds_count 0');
  });

  test("gauges go up and down; collected gauges are read at scrape time and drop label sets no longer reported", async () => {
    const registry = new MetricRegistry();
    const inFlight = registry.gauge({ name: "http_requests_in_flight", help: "Requests being handled." });
    inFlight.inc();
    inFlight.inc(undefined, 2);
    inFlight.dec();
    let topics: Record<string, number> = { mail: 3, chat: 1 };
    registry.gauge({
      name: "queue_depth",
      help: "Ready messages.",
      labelNames: ["topic"],
      collect: (g) => {
        for (const [topic, depth] of Object.entries(topics)) g.set({ topic }, depth);
      },
    });
    expect(await registry.collect()).toContain(
      'http_requests_in_flight 2\n# HELP queue_depth Ready messages.\n# TYPE queue_depth gauge\nqueue_depth{topic="mail"} 3\nqueue_depth{topic="chat"} 1\n',
    );
    topics = { chat: 0 };
    const text = await registry.collect();
    expect(text).toContain('queue_depth{topic="chat"} 0');
    expect(text).not.toContain("mail");
  });

  test("label values and help text are escaped; special values use Prometheus spelling", () => {
    const registry = new MetricRegistry();
    registry
      .gauge({ name: "odd", help: 'Back\\slash and\nnewline "quoted"', labelNames: ["v"] })
      .set({ v: 'a"b\\c\nd' }, Number.NaN);
    registry.gauge({ name: "inf", help: "x" }).set(undefined, Number.POSITIVE_INFINITY);
    const text = registry.render();
    expect(text).toContain('# HELP odd Back\\\\slash and\\nnewline "quoted"');
    expect(text).toContain('odd{v="a\\"b\\\\c\\nd"} NaN');
    expect(text).toContain("inf +Inf");
  });

  test("the same name registered twice returns the same metric; a conflicting one is refused", () => {
    const registry = new MetricRegistry();
    const a = registry.counter({ name: "jobs_total", help: "Jobs.", labelNames: ["queue"] });
    const b = registry.counter({ name: "jobs_total", help: "Jobs.", labelNames: ["queue"] });
    a.inc({ queue: "q" });
    b.inc({ queue: "q" });
    expect(registry.render()).toContain('jobs_total{queue="q"} 2');
    expect(() => registry.gauge({ name: "jobs_total", help: "x" })).toThrow(MetricsError);
    expect(() => registry.counter({ name: "jobs_total", help: "x", labelNames: ["other"] })).toThrow(
      /already registered/,
    );
    registry.histogram({ name: "latency_seconds", help: "x" });
    expect(() => registry.gauge({ name: "latency_seconds_bucket", help: "x" })).toThrow(MetricsError);
  });

  test("invalid names are refused at registration with a coded error", () => {
    const registry = new MetricRegistry();
    expect(() => registry.counter({ name: "requests", help: "x" })).toThrow(/must end in "_total"/);
    expect(() => registry.gauge({ name: "bad-name", help: "x" })).toThrow(
      expect.objectContaining({ code: "TF_METRICS_INVALID_NAME" }),
    );
    expect(() => registry.gauge({ name: "g", help: "x", labelNames: ["__reserved"] })).toThrow(MetricsError);
    expect(() => registry.histogram({ name: "h", help: "x", labelNames: ["le"] })).toThrow(MetricsError);
  });

  test("recording never throws: negative or NaN counter increments and NaN observations are ignored", () => {
    const registry = new MetricRegistry();
    const counter = registry.counter({ name: "c_total", help: "x" });
    counter.inc(undefined, -1);
    counter.inc(undefined, Number.NaN);
    counter.inc({ unknown: "label" });
    registry.histogram({ name: "h_seconds", help: "x", buckets: [1] }).observe(undefined, Number.NaN);
    expect(registry.render()).toContain("c_total 1\n");
    expect(registry.render()).toContain("h_seconds_count 0");
  });

  test("label sets past the series limit are dropped and counted, so memory stays bounded", () => {
    const registry = new MetricRegistry({ maxSeriesPerMetric: 3 });
    const counter = registry.counter({ name: "by_path_total", help: "x", labelNames: ["path"] });
    for (let i = 0; i < 10; i++) counter.inc({ path: `/users/${i}` });
    const text = registry.render();
    expect(text.match(/^by_path_total\{/gm)).toHaveLength(3);
    expect(text).toContain('metrics_series_dropped_total{metric="by_path_total"} 7');
  });

  test("a failing or stuck collect callback is reported and does not spoil the scrape", async () => {
    const problems: string[] = [];
    const errors = new Map<string, unknown>();
    const registry = new MetricRegistry({
      collectTimeoutMs: 20,
      onCollectError: (metric, error) => {
        problems.push(metric);
        errors.set(metric, error);
      },
    });
    registry.gauge({
      name: "broken",
      help: "x",
      collect: () => {
        throw new Error("db down");
      },
    });
    registry.gauge({ name: "stuck", help: "x", collect: () => new Promise(() => {}) });
    registry.gauge({ name: "fine", help: "x", collect: (g) => g.set(undefined, 5) });
    const text = await registry.collect();
    expect(text).toContain("fine 5");
    expect(problems.sort()).toEqual(["broken", "stuck"]);
    const stuck = errors.get("stuck");
    expect(stuck).toBeInstanceOf(MetricsError);
    expect((stuck as MetricsError).code).toBe("TF_METRICS_COLLECT_TIMEOUT");
    expect((stuck as MetricsError).message).toBe('metrics: the collect callback of "stuck" took longer than 20 ms');
  });
});

describe("MetricRegistry.snapshot", () => {
  test("returns every metric as recorded, label values by name, histogram buckets with the overflow, after collecting", async () => {
    const registry = new MetricRegistry();
    registry.counter({ name: "jobs_total", help: "Jobs.", labelNames: ["queue"] }).inc({ queue: "mail" }, 2);
    registry.gauge({ name: "depth", help: "Depth.", collect: (g) => g.set(undefined, 7) });
    const h = registry.histogram({ name: "took_seconds", help: "Took.", buckets: [0.1, 1] });
    for (const value of [0.05, 0.5, 5, 7]) h.observe(undefined, value);
    expect(await registry.snapshot()).toEqual([
      { name: "jobs_total", help: "Jobs.", kind: "counter", series: [{ labels: { queue: "mail" }, value: 2 }] },
      { name: "depth", help: "Depth.", kind: "gauge", series: [{ labels: {}, value: 7 }] },
      {
        name: "took_seconds",
        help: "Took.",
        kind: "histogram",
        buckets: [0.1, 1],
        series: [{ labels: {}, value: 12.55, bucketCounts: [1, 1, 2], count: 4 }],
      },
    ]);
  });
});
