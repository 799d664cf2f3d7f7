// A real app for signals.test.ts: the otel and metrics plugins with OTLP export of metrics and
// logs on. Once ready it records a few figures and writes a log line inside a span, says so on
// stdout, and waits for SIGTERM. The export intervals are long, so only the flush at stop can
// deliver what it recorded; its drain hook logs one more line while the app shuts down.
import { createApp, definePlugin, Meter, Tracer, traced } from "@twelvefold/kernel";
import { metrics } from "@twelvefold/metrics";
import { otel } from "../../mod.ts";

const work = definePlugin({
  name: "work",
  requires: [Tracer, Meter],
  start({ get, onDrain, logger, lifecycle }) {
    const keepAlive = setInterval(() => {}, 60_000);
    onDrain(() => {
      clearInterval(keepAlive);
      logger.warn("work drained", { in_flight: 0 });
    });
    const jobs = get(Meter).counter({ name: "jobs_total", help: "Jobs run.", labelNames: ["queue"] });
    const took = get(Meter).histogram({ name: "job_duration_seconds", help: "Job time.", buckets: [0.1, 1] });
    const run = async () => {
      if (!lifecycle.ready) return void setTimeout(run, 5);
      for (const seconds of [0.05, 0.5, 2]) {
        await traced(get(Tracer), "job", async (span) => {
          jobs.inc({ queue: "mail" });
          took.observe(undefined, seconds);
          logger.info("job finished", { seconds, span: span.spanId });
        });
      }
      logger.info("work done");
    };
    setTimeout(run, 0);
  },
});

await createApp({ name: "signals-app", version: "3.0.0", plugins: [otel(), metrics(), work] }).run();
