// Portability of the OpenTelemetry bridge: the same checks on Bun, Deno and Node (run by
// test/portability/run.sh). The context rides the runtime's AsyncLocalStorage from node:async_hooks
// on all three: across await, setTimeout, and a queue hop from "web" to "worker", in both
// directions (API spans under kernel spans, kernel spans under API spans). Only node:assert, the
// kernel and the standard API are used, so every runtime runs the file as it is.
import assert from "node:assert/strict";
import { context, propagation, trace } from "@opentelemetry/api";
import {
  createApp,
  definePlugin,
  detectRuntime,
  Queue,
  startProducerSpan,
  Tracer,
  traced,
  traceMessage,
} from "@twelvefold/kernel";
import { memoryQueue } from "@twelvefold/kernel/memory";
import { otel } from "../mod.ts";
import type { SpanData } from "../src/span.ts";

const runtime = detectRuntime().name;
let checks = 0;
const check = async (name: string, body: () => Promise<void>) => {
  await body();
  checks++;
  console.log(`ok - ${runtime}: ${name}`);
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const spans: SpanData[] = [];
const queue = memoryQueue();
let traceIdOfHop = "";
const hops: Array<{ apiActive: string | undefined; kernelActive: string | undefined; traceparent?: string }> = [];

const worker = definePlugin({
  name: "worker",
  requires: [Tracer],
  provides: [Queue],
  start({ get, provide, onStop }) {
    provide(Queue, queue);
    const tracer = get(Tracer);
    const consumer = queue.consume("jobs", (message) =>
      traceMessage(tracer, message, async () => {
        await sleep(1);
        // On the worker side an API span started here is a child of the consumer span.
        await trace.getTracer("worker-code").startActiveSpan("handle job", async (span) => {
          await sleep(1);
          const carrier: Record<string, string> = {};
          propagation.inject(context.active(), carrier);
          hops.push({
            apiActive: trace.getActiveSpan()?.spanContext().spanId,
            kernelActive: tracer.activeSpan()?.spanId,
            traceparent: carrier.traceparent,
          });
          span.end();
        });
      }),
    );
    onStop(() => consumer.stop());
  },
});

const app = createApp({
  name: "portable-otel",
  plugins: [otel({ exporter: { export: async (batch) => void spans.push(...batch) } }), worker],
  env: { ENVIRONMENT: "testing", LOG_LEVEL: "warn" },
  log: () => {},
});
await app.start();
const tracer = app.get(Tracer);

await check("an API span inside a kernel span is its child across await and setTimeout", async () => {
  const request = tracer.startSpan("GET /work", { kind: "server" });
  const seen = await tracer.withSpan(request, async () => {
    await sleep(1);
    const before = trace.getActiveSpan()?.spanContext().spanId;
    return trace.getTracer("handler").startActiveSpan("inner", async (span) => {
      await Promise.resolve();
      const afterAwait = trace.getActiveSpan() === span;
      const inTimer = await new Promise<boolean>((resolve) =>
        setTimeout(() => resolve(trace.getActiveSpan() === span), 2),
      );
      span.end();
      return { before, afterAwait, inTimer, id: span.spanContext().spanId };
    });
  });
  request.end();
  assert.deepEqual(seen, { before: request.spanId, afterAwait: true, inTimer: true, id: seen.id });
});

await check("kernel spans inside an API span are its children across await and setTimeout", async () => {
  await trace.getTracer("user").startActiveSpan("job", async (span) => {
    await sleep(1);
    await traced(tracer, "after await", async () => undefined);
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        tracer.startSpan("in timer").end();
        resolve();
      }, 2),
    );
    span.end();
  });
});

await check("the trace survives a queue hop: producer in the web, consumer and API span in the worker", async () => {
  let traceId = "";
  await trace.getTracer("web").startActiveSpan("POST /jobs", async (span) => {
    traceId = span.spanContext().traceId;
    await sleep(1);
    const { span: producer, headers } = startProducerSpan(tracer, "jobs");
    await queue.enqueue("jobs", { n: 1 }, { headers });
    producer.end();
    span.end();
  });
  for (let i = 0; i < 500 && hops.length === 0; i++) await sleep(10);
  assert.equal(hops.length, 1, "the worker handled the job");
  const [hop] = hops;
  assert.ok(hop?.apiActive && hop.apiActive === hop.kernelActive, "API and kernel see the same active span");
  assert.equal(hop?.traceparent, `00-${traceId}-${hop?.apiActive}-01`);
  traceIdOfHop = traceId;
});

await app.stop();

await check("every span arrived in the export with the parent the checks expect", async () => {
  const byName = new Map(spans.map((s) => [s.name, s]));
  const parentOf = (name: string) => byName.get(name)?.parentSpanId;
  assert.equal(parentOf("inner"), byName.get("GET /work")?.spanId);
  assert.equal(parentOf("after await"), byName.get("job")?.spanId);
  assert.equal(parentOf("in timer"), byName.get("job")?.spanId);
  assert.equal(byName.get("send jobs")?.parentSpanId, byName.get("POST /jobs")?.spanId);
  assert.equal(byName.get("process jobs")?.parentSpanId, byName.get("send jobs")?.spanId);
  assert.equal(byName.get("handle job")?.parentSpanId, byName.get("process jobs")?.spanId);
  for (const name of ["send jobs", "process jobs", "handle job"]) assert.equal(byName.get(name)?.traceId, traceIdOfHop);
  assert.equal(trace.getTracer("after").startSpan("stopped").isRecording(), false, "stop unregistered the API");
});

console.log(`${checks} passed, 0 failed`);
