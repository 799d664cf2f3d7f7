import { describe, expect, test } from "bun:test";
import { createApp, definePlugin, type HealthStatus, type Lifecycle } from "@twelvefold/kernel";
import { Hono } from "hono";
import { startApp } from "../test/start.ts";
import type { HttpEnv } from "./core.ts";
import { HttpApp, HttpListener, http } from "./plugin.ts";
import { addProbes, beforeOpen } from "./probes.ts";
import { PROBLEM_JSON } from "./problem.ts";

/** A dependency whose health check reports whatever the test sets. */
function dependency(name: string, initial: HealthStatus, detail?: string) {
  const state = { status: initial, detail };
  const plugin = definePlugin({
    name,
    start() {},
    health: () => ({ status: state.status, ...(state.detail ? { detail: state.detail } : {}) }),
  });
  return { plugin, state };
}

const routes = definePlugin({
  name: "routes",
  requires: [HttpApp],
  start({ get }) {
    get(HttpApp).get("/items", (c) => c.json([]));
  },
});

describe("http probes", () => {
  test("/health reports every check; degraded stays 200, any check down makes it 503", async () => {
    const db = dependency("db", "up");
    const cache = dependency("cache", "degraded", "replica lag");
    await using t = await startApp([db.plugin, cache.plugin]);

    const degraded = await t.fetch("/health");
    expect(degraded.status).toBe(200);
    expect(degraded.headers.get("cache-control")).toBe("no-store");
    const body = (await degraded.json()) as { status: string; checks: Record<string, Record<string, unknown>> };
    expect(body.status).toBe("degraded");
    expect(body.checks.db).toEqual({ status: "up", latency_ms: expect.any(Number) });
    expect(body.checks.cache).toEqual({ status: "degraded", latency_ms: expect.any(Number), detail: "replica lag" });

    db.state.status = "down";
    db.state.detail = "connection refused";
    const down = await t.fetch("/health");
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({
      status: "down",
      checks: { db: { status: "down", detail: "connection refused" }, cache: { status: "degraded" } },
    });
    // Readiness is about the lifecycle, not the checks: still ready while running.
    expect((await t.fetch("/readyz")).status).toBe(200);
  });

  test("while plugins are still starting: /livez answers, /readyz is 503 'starting', routes are 503 with Retry-After", async () => {
    const { promise: listening, resolve: listen } = Promise.withResolvers<string>();
    const { promise: warm, resolve: warmUp } = Promise.withResolvers<void>();
    const warmup = definePlugin({
      name: "warmup",
      requires: [HttpListener],
      async start({ get }) {
        listen(get(HttpListener).url);
        await warm;
      },
    });
    const app = createApp({
      name: "test",
      plugins: [http(), routes, warmup],
      env: { ENVIRONMENT: "testing", PORT: "0", HOST: "127.0.0.1" },
      log: () => {},
    });
    const starting = app.start();
    try {
      const url = await listening;
      const live = await fetch(`${url}/livez`);
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ status: "alive" });

      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: "not ready", phase: "starting", checks: {} });

      const route = await fetch(`${url}/items`);
      expect(route.status).toBe(503);
      expect(route.headers.get("content-type")).toBe(PROBLEM_JSON);
      expect(route.headers.get("retry-after")).toBe("1");
      expect(route.headers.get("x-content-type-options")).toBe("nosniff");
      expect(await route.json()).toMatchObject({ code: "TF_HTTP_UNAVAILABLE", detail: "The service is starting" });

      warmUp();
      await starting;
      // Once every plugin has started, the same route is served.
      expect((await fetch(`${url}/items`)).status).toBe(200);
    } finally {
      warmUp();
      await starting.catch(() => {});
      await app.stop().catch(() => {});
    }
  });

  test("draining before any request: /readyz is 503 with the phase and the failing checks, routes still answer", async () => {
    const { promise: drained, resolve: drain } = Promise.withResolvers<void>();
    const queue = dependency("queue", "down", "broker unreachable");
    const slow = definePlugin({
      name: "slow",
      start({ onDrain }) {
        onDrain(() => drained);
      },
      health: () => ({ status: "up" }),
    });
    const t = await startApp([routes, queue.plugin, slow]);
    const stopping = t.app.stop();
    try {
      const ready = await t.handle("/readyz");
      expect(ready.status).toBe(503);
      // Only the checks that are not up are listed.
      expect(await ready.json()).toEqual({
        status: "not ready",
        phase: "draining",
        checks: { queue: { status: "down", detail: "broker unreachable" } },
      });
      // The router opened at readiness, so routes keep answering while load balancers notice the 503.
      const route = await t.handle("/items");
      expect(route.status).toBe(200);
      expect(route.headers.get("connection")).toBe("close");
    } finally {
      drain();
      await stopping;
    }
  });

  test("/readyz stays a 503 with the phase when the health report itself fails", async () => {
    const lifecycle = {
      phase: "draining",
      ready: false,
      health: () => Promise.reject(new Error("registry gone")),
    } as unknown as Lifecycle;
    const expected = { status: "not ready", phase: "draining", checks: {} };

    const app = new Hono<HttpEnv>();
    addProbes(app, lifecycle);
    const routed = await app.request("/readyz");
    expect(routed.status).toBe(503);
    expect(await routed.json()).toEqual(expected);

    const gated = await beforeOpen(new Request("http://test/readyz"), lifecycle);
    expect(gated.status).toBe(503);
    expect(await gated.json()).toEqual(expected);
  });
});
