import { afterEach, describe, expect, test } from "bun:test";
import { createApp, definePlugin, Meter, type Plugin, Tracer, traced } from "@twelvefold/kernel";
import { metrics } from "@twelvefold/metrics";
import { otel } from "./plugin.ts";
import { type OtlpReceiver, otlpReceiver } from "./receiver.ts";
import { spawnApp, watchStdout } from "./testdata/child.ts";

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

async function runUntilSigterm(env: Record<string, string>) {
  const child = spawnApp("signals-app.ts", env);
  const lines: string[] = [];
  try {
    await watchStdout(child.stdout, '"work done"', lines);
    child.kill("SIGTERM");
    const code = await child.exited;
    expect({ code, stderr: await new Response(child.stderr).text() }).toEqual({ code: 0, stderr: "" });
  } finally {
    child.kill("SIGKILL");
  }
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("OTLP metrics and logs", () => {
  test("metrics and log lines recorded before SIGTERM reach a real OTLP receiver, flushed at stop", async () => {
    receiver = otlpReceiver();
    const stdout = await runUntilSigterm({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_METRICS_EXPORTER: "otlp,prometheus",
      OTEL_LOGS_EXPORTER: "otlp",
      // Nothing would be exported for ten minutes: only the flush at stop can deliver these.
      OTEL_METRIC_EXPORT_INTERVAL: "600000",
      OTEL_BLRP_SCHEDULE_DELAY: "600000",
      OTEL_BSP_SCHEDULE_DELAY: "600000",
      METRICS_PROCESS: "false",
    });
    expect(new Set(receiver.requests.map((r) => r.path))).toEqual(new Set(["/v1/traces", "/v1/metrics", "/v1/logs"]));

    const jobs = receiver.metrics.find((m) => m.name === "jobs_total");
    expect(jobs).toMatchObject({
      type: "sum",
      monotonic: true,
      temporality: 2,
      description: "Jobs run.",
      points: [{ attributes: { queue: "mail" }, value: 3 }],
      resource: { "service.name": "signals-app", "service.version": "3.0.0" },
      scope: "@twelvefold/otel",
    });
    expect(receiver.metrics.find((m) => m.name === "job_duration_seconds")).toMatchObject({
      type: "histogram",
      unit: "s",
      temporality: 2,
      points: [{ count: 3, sum: 2.55, bounds: [0.1, 1], bucketCounts: [1, 1, 1] }],
    });

    const finished = receiver.logs.filter((l) => l.body === "job finished");
    const spans = receiver.spans.filter((s) => s.name === "job");
    expect(finished).toHaveLength(3);
    expect(spans).toHaveLength(3);
    expect(finished[0]).toMatchObject({
      severityNumber: 9,
      severityText: "INFO",
      traceId: spans[0]?.traceId,
      spanId: spans[0]?.spanId,
      attributes: { seconds: 0.05, plugin: "work", service: "signals-app" },
      resource: { "service.name": "signals-app" },
    });
    // The trace ids are the record's, not attributes; the line's timestamp is the record's time.
    expect(finished[0]?.attributes).not.toHaveProperty("trace_id");
    const line = stdout.find((l) => l.message === "job finished");
    expect(finished[0]?.time).toBe(Date.parse(String(line?.timestamp)));
    expect(receiver.logs.find((l) => l.body === "work drained")).toMatchObject({
      severityNumber: 13,
      severityText: "WARN",
    });
    expect(receiver.logs.every((l) => l.traceId === "" || l.traceId.length === 32)).toBe(true);
  }, 30_000);

  test("with OTEL_METRICS_EXPORTER and OTEL_LOGS_EXPORTER unset, only traces are exported", async () => {
    receiver = otlpReceiver();
    await runUntilSigterm({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: "600000" });
    expect(receiver.requests.map((r) => r.path)).toEqual(["/v1/traces"]);
    expect(receiver.metrics).toEqual([]);
    expect(receiver.logs).toEqual([]);
  }, 30_000);
});

function inProcess(env: Record<string, string>, plugins: Plugin[] = [metrics()]) {
  const lines: Array<Record<string, unknown>> = [];
  const app = createApp({
    name: "signals-in-process",
    plugins: [otel(), ...plugins],
    env: { ENVIRONMENT: "testing", LOG_LEVEL: "info", METRICS_PROCESS: "false", ...env },
    log: (line) => lines.push(JSON.parse(line)),
  });
  return { app, lines };
}

describe("OTLP metrics and logs in process", () => {
  test("the export interval sends metrics while running, and nested log fields arrive as nested attributes", async () => {
    receiver = otlpReceiver();
    const { app } = inProcess({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_METRICS_EXPORTER: "otlp",
      OTEL_LOGS_EXPORTER: "otlp",
      OTEL_METRIC_EXPORT_INTERVAL: "20",
      OTEL_BLRP_SCHEDULE_DELAY: "20",
    });
    await app.start();
    app
      .get(Meter)
      .gauge({ name: "queue_depth", help: "Ready messages.", labelNames: ["topic"] })
      .set({ topic: "a" }, 4);
    app
      .get(Meter)
      .histogram({ name: "size_bytes", help: "Sizes.", buckets: [10] })
      .observe(undefined, 50);
    app.logger.error("boom", { error: { code: "E1", detail: { retry: false } } });
    const receiverNow = receiver;
    await receiverNow.waitUntil(
      () => receiverNow.metrics.some((m) => m.name === "size_bytes") && receiverNow.logs.some((l) => l.body === "boom"),
    );
    await app.stop();
    expect(receiver.metrics.find((m) => m.name === "queue_depth")).toMatchObject({
      type: "gauge",
      points: [{ attributes: { topic: "a" }, value: 4 }],
    });
    expect(receiver.metrics.find((m) => m.name === "size_bytes")).toMatchObject({
      type: "histogram",
      unit: "By",
      points: [{ count: 1, sum: 50, bounds: [10], bucketCounts: [0, 1] }],
    });
    expect(receiver.logs.find((l) => l.body === "boom")).toMatchObject({
      severityNumber: 17,
      severityText: "ERROR",
      attributes: { error: { code: "E1", detail: { retry: false } } },
    });
  });

  test("a collector that refuses metrics and logs is logged at stop, never thrown", async () => {
    receiver = otlpReceiver();
    receiver.failNext(400, 400, 400, 400);
    const { app, lines } = inProcess({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_METRICS_EXPORTER: "otlp",
      OTEL_LOGS_EXPORTER: "otlp",
      OTEL_METRIC_EXPORT_INTERVAL: "600000",
      OTEL_BLRP_SCHEDULE_DELAY: "600000",
    });
    await app.start();
    app.get(Meter).counter({ name: "refused_total", help: "Refused." }).inc();
    await app.stop();
    const warnings = lines.filter((l) => l.message === "metric export failed" || l.message === "log export failed");
    expect(warnings.map((w) => w.message).sort()).toEqual(["log export failed", "metric export failed"]);
    expect(warnings[0]).toMatchObject({ plugin: "otel", error: { code: "TF_OTEL_EXPORT_FAILED" } });
  });

  test("no endpoint, or no Meter with a snapshot, is a warning at start, not an error", async () => {
    const bare = definePlugin({
      name: "bare-meter",
      provides: [Meter],
      start: ({ provide }) =>
        provide(Meter, {
          counter: () => ({ inc() {} }),
          gauge: () => ({ set() {}, inc() {}, dec() {} }),
          histogram: () => ({ observe() {} }),
        }),
    });
    const noEndpoint = inProcess({ OTEL_METRICS_EXPORTER: "otlp", OTEL_LOGS_EXPORTER: "otlp" });
    await noEndpoint.app.start();
    await noEndpoint.app.stop();
    expect(noEndpoint.lines.map((l) => l.message)).toEqual(
      expect.arrayContaining([
        "OTEL_METRICS_EXPORTER=otlp but no OTLP endpoint is set: metrics are not exported",
        "OTEL_LOGS_EXPORTER=otlp but no OTLP endpoint is set: logs are not exported",
      ]),
    );
    receiver = otlpReceiver();
    const noSnapshot = inProcess({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_METRICS_EXPORTER: "otlp" }, [
      bare,
    ]);
    await noSnapshot.app.start();
    await traced(noSnapshot.app.get(Tracer), "x", () => undefined);
    await noSnapshot.app.stop();
    expect(noSnapshot.lines.map((l) => l.message)).toContain(
      "OTEL_METRICS_EXPORTER=otlp but no plugin provides a Meter with snapshot(): add metrics()",
    );
    expect(receiver.metrics).toEqual([]);
  });

  test("an unknown exporter name is a config error naming the variable", async () => {
    const { app } = inProcess({ OTEL_METRICS_EXPORTER: "otlp,statsd" });
    const error = await app.start().catch((e: unknown) => e);
    expect((error as { issues?: Array<{ name: string }> }).issues?.map((i) => i.name)).toEqual([
      "OTEL_METRICS_EXPORTER",
    ]);
  });
});
