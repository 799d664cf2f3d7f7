/**
 * The process-type fixture: one app definition run as web, worker, scheduler, dev or admin by
 * the tests in this folder, with every process-type piece in it (the http and management
 * servers, metrics, a worker job, a cron job, an admin command) and Redis when REDIS_URL is set.
 */
import { createApp, defineCommand, definePlugin, Queue, Tracer, worker } from "../../packages/kernel/mod.ts";
import { HttpApp, http, management } from "../../plugins/http/mod.ts";
import { metrics } from "../../plugins/metrics/mod.ts";
import { otel } from "../../plugins/otel/mod.ts";
import { redis } from "../../plugins/redis/mod.ts";
import { scheduler } from "../../plugins/scheduler/mod.ts";
import { tick, work } from "./jobs.ts";

/** `POST /jobs {id, ms}` enqueues a work job from the web process, carrying the request's trace. */
const routes = definePlugin({
  name: "fixture-routes",
  processes: ["web"],
  requires: [HttpApp, Queue],
  optional: [Tracer],
  start({ get, find }) {
    get(HttpApp).post("/jobs", async (c) => {
      const id = await work.enqueue(get(Queue), await c.req.json(), { tracer: find(Tracer) });
      return c.json({ id }, 202);
    });
  },
});

/** `admin wait`: prints, waits for its signal, prints again. */
const wait = defineCommand({
  name: "wait",
  description: "Wait until SIGINT or SIGTERM",
  async run({ signal, print }) {
    print("waiting");
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    print("stopped");
  },
});

await createApp({
  name: "process-fixture",
  plugins: [
    otel(),
    redis(),
    metrics(),
    http(),
    management(),
    routes,
    worker({ jobs: [work] }),
    scheduler({ jobs: [tick] }),
  ],
  commands: [wait],
}).run();
