/**
 * In-process cost per request of the full stack against bare Hono, without sockets or wrk:
 * steadier than wrk on a shared machine, for finding where the time goes. Then, with the otel
 * plugin in, the cost of one span: through the kernel's Tracer, and through the standard
 * @opentelemetry/api (the bridge's adapter), started and ended inside a request span as a
 * handler would; SPANS sets how many.
 * `BENCH_WITHOUT=otel,rate-limit HTTP_ACCESS_LOG=false bun bench/micro.ts`; N sets the request count.
 */
import { trace } from "@opentelemetry/api";
import { Hono } from "hono";
import { createApp, definePlugin, HttpHandler, Tracer } from "../packages/kernel/mod.ts";
import { HttpApp, http } from "../plugins/http/mod.ts";
import { metrics } from "../plugins/metrics/mod.ts";
import { otel } from "../plugins/otel/mod.ts";
import { rateLimit } from "../plugins/rate-limit/mod.ts";

const N = Number(process.env.N ?? 100_000);
const body = { message: "Hello, World!", items: [1, 2, 3] };

const bare = new Hono();
bare.get("/bench/json", (c) => c.json(body));

const routes = definePlugin({
  name: "bench-routes",
  requires: [HttpApp],
  start({ get }) {
    get(HttpApp).get("/bench/json", (c) => c.json(body));
  },
});
const without = new Set((process.env.BENCH_WITHOUT ?? "").split(","));
const plugins = [otel({ exporter: { export: async () => {} } }), metrics(), http(), rateLimit(), routes].filter(
  (p) => !without.has(p.name),
);
const app = createApp({
  name: "micro",
  plugins,
  env: {
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    ENVIRONMENT: "staging",
    LOG_FORMAT: "json",
    OTEL_TRACES_SAMPLER: "always_on",
    RATE_LIMIT_PER_MINUTE: "1000000000",
    ...process.env,
  },
  // Log lines are rendered either way; MICRO_STDOUT=1 also writes them (run with > /dev/null).
  ...(process.env.MICRO_STDOUT ? {} : { log: () => {} }),
});
await app.start();
const full = app.get(HttpHandler);

async function measure(label: string, fetch: (r: Request) => Response | Promise<Response>): Promise<number> {
  for (let i = 0; i < 5_000; i++) await (await fetch(new Request("http://x/bench/json"))).arrayBuffer();
  const began = performance.now();
  for (let i = 0; i < N; i++) await (await fetch(new Request("http://x/bench/json"))).arrayBuffer();
  const us = ((performance.now() - began) * 1000) / N;
  console.log(`${label.padEnd(6)} ${us.toFixed(2)} µs/request`);
  return us;
}

// Alternating rounds, best of each: the minimum is the figure least disturbed by the rest of the machine.
const ROUNDS = Number(process.env.ROUNDS ?? 3);
let b = Number.POSITIVE_INFINITY;
let f = Number.POSITIVE_INFINITY;
for (let round = 0; round < ROUNDS; round++) {
  b = Math.min(b, await measure("bare", (r) => bare.fetch(r)));
  f = Math.min(f, await measure("full", (r) => full.fetch(r)));
}
console.log(
  `best of ${ROUNDS}: bare ${b.toFixed(2)} µs, full ${f.toFixed(2)} µs, full - bare: ${(f - b).toFixed(2)} µs`,
);

if (!without.has("otel")) {
  const SPANS = Number(process.env.SPANS ?? 200_000);
  const tracer = app.get(Tracer);
  const api = trace.getTracer("bench");
  const request = tracer.startSpan("GET /bench/json", { kind: "server" });
  const ways: Record<string, () => void> = {
    "kernel Tracer": () => tracer.startSpan("child").end(),
    "API startSpan": () => api.startSpan("child").end(),
    "API startActiveSpan": () => api.startActiveSpan("child", (span) => span.end()),
  };
  // Spans go in chunks with a pause between, timed without it: the batch processor exports (to a
  // discarding exporter) in the pause, so spans are queued as in a server, never dropped as overflow.
  const perSpan = async (run: () => void): Promise<number> => {
    let spent = 0;
    for (let done = 0; done < SPANS; done += 1_000) {
      const began = performance.now();
      tracer.withSpan(request, () => {
        for (let i = 0; i < 1_000; i++) run();
      });
      spent += performance.now() - began;
      await Bun.sleep(0);
    }
    return (spent * 1000) / SPANS;
  };
  const best: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [label, run] of Object.entries(ways)) {
      best[label] = Math.min(best[label] ?? Number.POSITIVE_INFINITY, await perSpan(run));
    }
  }
  request.end();
  for (const [label, us] of Object.entries(best)) {
    console.log(
      `span via ${label.padEnd(19)} ${us.toFixed(3)} µs (best of ${ROUNDS}, ${SPANS} spans inside a request span)`,
    );
  }
}
await app.stop();
