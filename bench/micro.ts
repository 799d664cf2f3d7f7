/**
 * In-process cost per request of the full stack against bare Hono, without sockets or wrk:
 * steadier than wrk on a shared machine, for finding where the time goes.
 * `BENCH_WITHOUT=otel,rate-limit HTTP_ACCESS_LOG=false bun bench/micro.ts`; N sets the request count.
 */
import { Hono } from "hono";
import { createApp, definePlugin, HttpHandler } from "../packages/kernel/mod.ts";
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
await app.stop();
