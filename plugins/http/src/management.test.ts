import { describe, expect, test } from "bun:test";
import { createApp, definePlugin, HttpRoutes, type Plugin, type ProcessType } from "@twelvefold/kernel";
import { pluginContract } from "@twelvefold/testing";
import { ManagementListener, management } from "./management.ts";
import { http } from "./plugin.ts";

const loopback = { MANAGEMENT_PORT: "0", MANAGEMENT_HOST: "127.0.0.1" };

pluginContract(() => management(), { process: "worker", env: loopback, badEnv: { MANAGEMENT_PORT: "ninety" } });

/** A plugin that serves `/metrics` through HttpRoutes, as the metrics plugin does. */
const scrape = definePlugin({
  name: "scrape",
  optional: [HttpRoutes],
  start({ find }) {
    find(HttpRoutes)?.add("GET", "/metrics", () => new Response("jobs_total 3\n"), { probe: true });
  },
});

function boot(plugins: Plugin[], process: ProcessType | ProcessType[], env: Record<string, string> = {}) {
  const logs: Array<Record<string, unknown>> = [];
  const app = createApp({
    name: "worker-app",
    plugins: [http({ PORT: 0, HOST: "127.0.0.1" }), management(), ...plugins],
    process,
    env: { ENVIRONMENT: "testing", LOG_LEVEL: "info", ...loopback, ...env },
    log: (line) => logs.push(JSON.parse(line)),
  });
  return { app, logs, url: () => app.get(ManagementListener).url };
}

describe("management server", () => {
  test("a worker serves /livez, /readyz, /health and what plugins add, on MANAGEMENT_PORT", async () => {
    const { app, url } = boot([scrape], "worker");
    await app.start();
    try {
      const get = (path: string) => fetch(url() + path);
      expect((await get("/livez")).status).toBe(200);
      const ready = await get("/readyz");
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: "ready" });
      const health = await get("/health");
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: "up", name: "worker-app" });
      expect(await (await get("/metrics")).text()).toBe("jobs_total 3\n");
      expect((await get("/nope")).status).toBe(404);
      expect((await fetch(`${url()}/livez`, { method: "HEAD" })).status).toBe(200);
    } finally {
      await app.stop();
    }
  });

  test("runs in a worker or a scheduler, never beside web (dev), nor in admin", async () => {
    for (const [process, runs] of [
      ["worker", true],
      ["scheduler", true],
      [["worker", "scheduler"], true],
      ["web", false],
      [["web", "worker", "scheduler"], false],
      ["admin", false],
    ] as const) {
      const { app, logs } = boot([], process as ProcessType | ProcessType[]);
      await app.start();
      expect([process, logs.some((l) => l.message === "management listening")]).toEqual([process, runs]);
      await app.stop();
    }
  });

  test("/readyz is 503 while the process is still starting, and again once draining begins", async () => {
    const { promise: release, resolve } = Promise.withResolvers<void>();
    let starting = false;
    const slow = definePlugin({
      name: "consumers",
      optional: [HttpRoutes],
      async start() {
        starting = true;
        await release;
      },
    });
    const { app, logs } = boot([slow], "worker", { DRAIN_DELAY_MS: "300" });
    const started = app.start();
    while (!starting) await Bun.sleep(1);
    const listening = logs.find((l) => l.message === "management listening") as { url: string };
    const before = await fetch(`${listening.url}/readyz`);
    expect(before.status).toBe(503);
    expect(await before.json()).toMatchObject({ status: "not ready", phase: "starting" });
    expect((await fetch(`${listening.url}/livez`)).status).toBe(200);
    resolve();
    await started;
    expect((await fetch(`${listening.url}/readyz`)).status).toBe(200);
    const stopping = app.stop();
    const during = await fetch(`${listening.url}/readyz`);
    expect(during.status).toBe(503);
    expect(await during.json()).toMatchObject({ phase: "draining" });
    await stopping;
    expect(await fetch(`${listening.url}/livez`).catch(() => "closed")).toBe("closed");
  });

  test("middleware a plugin adds runs on its routes, never on the probes", async () => {
    const seen: string[] = [];
    const debug = definePlugin({
      name: "debug",
      requires: [HttpRoutes],
      start({ get }) {
        const routes = get(HttpRoutes);
        routes.use(
          async (_request, facts, next) => {
            seen.push(facts.path);
            const response = await next();
            response.headers.set("x-seen", "1");
            return response;
          },
          { name: "seen" },
        );
        routes.add("GET", "/debug/vars", () => new Response("{}"));
      },
    });
    const { app, url } = boot([debug], "scheduler");
    await app.start();
    try {
      const vars = await fetch(`${url()}/debug/vars`);
      expect(vars.headers.get("x-seen")).toBe("1");
      await fetch(`${url()}/readyz`);
      expect(seen).toEqual(["/debug/vars"]);
    } finally {
      await app.stop();
    }
  });

  test("a route that throws answers 500 and is logged", async () => {
    const broken = definePlugin({
      name: "broken",
      requires: [HttpRoutes],
      start: ({ get }) =>
        get(HttpRoutes).add("GET", "/boom", () => {
          throw new Error("gauge read failed");
        }),
    });
    const { app, url, logs } = boot([broken], "worker");
    await app.start();
    try {
      expect((await fetch(`${url()}/boom`)).status).toBe(500);
      expect(logs.some((l) => l.message === "management request failed")).toBe(true);
    } finally {
      await app.stop();
    }
  });
});
