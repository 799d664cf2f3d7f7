import { describe, expect, test } from "bun:test";
import { definePlugin } from "@twelvefold/kernel";
import { Hono } from "hono";
import { startApp } from "../test/start.ts";
import { HttpApp } from "./plugin.ts";

/** Routes of every shape Hono offers, to see which template each request is logged and counted under. */
const shapes = definePlugin({
  name: "shapes",
  requires: [HttpApp],
  start({ get }) {
    const app = get(HttpApp);
    app.use("/admin/*", async (c, next) => {
      if (c.req.header("authorization") === undefined) return c.json({ error: "no" }, 401);
      await next();
    });
    app.get("/admin/users/:id", (c) => c.json({ id: c.req.param("id") }));
    app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
    app.get("/users/me", (c) => c.json({ me: true }));
    const v1 = new Hono();
    v1.get("/ping", (c) => c.text("pong"));
    app.route("/v1", v1);
  },
});

function routeOf(logs: Array<Record<string, unknown>>, path: string, method = "GET"): unknown {
  return logs.find((l) => l.message === "request" && l.path === path && l.method === method)?.route;
}

describe("route templates in logs, spans and metrics", () => {
  for (const cors of [false, true]) {
    test(`each request is labelled by the route that answered${cors ? ", with CORS in Hono's chain" : ""}`, async () => {
      await using t = await startApp([shapes], cors ? { env: { HTTP_CORS_ORIGINS: "https://app.example" } } : {});
      expect((await t.handle("/users/42")).status).toBe(200);
      // The first matching route answers, and it is the one named: not the later, more specific one.
      expect(await (await t.handle("/users/me")).json()).toEqual({ id: "me" });
      expect((await t.handle("/admin/users/7")).status).toBe(401);
      expect((await t.handle("/admin/users/8", { headers: { authorization: "x" } })).status).toBe(200);
      expect(await (await t.handle("/v1/ping")).text()).toBe("pong");
      expect((await t.handle("/users/42", { method: "HEAD" })).status).toBe(200);
      expect((await t.handle("/nowhere")).status).toBe(404);

      expect(routeOf(t.logs, "/users/42")).toBe("/users/:id");
      expect(routeOf(t.logs, "/users/me")).toBe("/users/:id");
      // A middleware that answers is named by its own pattern.
      expect(routeOf(t.logs, "/admin/users/7")).toBe("/admin/*");
      expect(routeOf(t.logs, "/admin/users/8")).toBe("/admin/users/:id");
      expect(routeOf(t.logs, "/v1/ping")).toBe("/v1/ping");
      expect(routeOf(t.logs, "/users/42", "HEAD")).toBe("/users/:id");
      // Unknown paths share one label, so scanners cannot blow up the metric's cardinality.
      expect(routeOf(t.logs, "/nowhere")).toBe("unmatched");
    });
  }

  test("the app's Hono instance still answers app.request() and app.fetch() without the http plugin's state", async () => {
    await using t = await startApp([shapes]);
    const app = t.app.get(HttpApp);
    const response = await app.request("/users/5");
    expect(await response.json()).toEqual({ id: "5" });
    // An env of the caller's own is left as it was given.
    const env = {};
    expect((await app.fetch(new Request("http://test/users/6"), env as never)).status).toBe(200);
    expect(env).toEqual({});
  });
});
