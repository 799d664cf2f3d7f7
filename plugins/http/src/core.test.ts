import { describe, expect, test } from "bun:test";
import { definePlugin, type HttpMiddleware, HttpRoutes, Meter, override, Tracer } from "@twelvefold/kernel";
import { bunRuntime } from "@twelvefold/kernel/runtime";
import { watchedRuntime } from "@twelvefold/testing";
import { startApp } from "../test/start.ts";
import { requestFacts } from "./core.ts";
import { HttpError } from "./errors.ts";
import { HttpApp } from "./plugin.ts";
import { PROBLEM_JSON } from "./problem.ts";
import { fakeMeter, fakeTracer } from "./testdata/fakes.ts";

/** A plugin that adds kernel middleware (as the rate limiter does) and one route. */
function withMiddleware(...middleware: HttpMiddleware[]) {
  const calls: string[] = [];
  const plugin = definePlugin({
    name: "guarded",
    requires: [HttpApp, HttpRoutes],
    start({ get }) {
      get(HttpApp).get("/work", (c) => {
        calls.push("route");
        return c.json({ done: true });
      });
      middleware.forEach((mw, index) => {
        get(HttpRoutes).use(mw, { name: `mw-${index}` });
      });
    },
  });
  return { plugin, calls };
}

describe("http core", () => {
  test("middleware from plugins runs in the order added, around the route; one can answer without the route", async () => {
    const order: string[] = [];
    const tag =
      (name: string): HttpMiddleware =>
      async (_request, _facts, next) => {
        order.push(`${name} in`);
        const response = await next();
        order.push(`${name} out`);
        response.headers.append("x-through", name);
        return response;
      };
    const quota: HttpMiddleware = (request, _facts, next) =>
      request.headers.has("x-over-quota") ? new Response("slow down", { status: 429 }) : next();
    const { plugin, calls } = withMiddleware(tag("first"), tag("second"), quota);
    await using t = await startApp([plugin]);

    const ok = await t.fetch("/work");
    expect(ok.status).toBe(200);
    expect(order).toEqual(["first in", "second in", "second out", "first out"]);
    expect(ok.headers.get("x-through")).toBe("second, first");
    expect(calls).toEqual(["route"]);

    const refused = await t.fetch("/work", { headers: { "x-over-quota": "1" } });
    expect(refused.status).toBe(429);
    expect(await refused.text()).toBe("slow down");
    expect(refused.headers.get("x-through")).toBe("second, first");
    expect(refused.headers.get("x-request-id")).not.toBeNull();
    expect(calls).toEqual(["route"]);
  });

  test("on Bun, a route and middleware that answer synchronously hand the runtime a Response, recorded in full; an await makes it a promise", async () => {
    // Synchronous itself, as the rate limiter over the memory store is: it adds a header to what follows.
    const tagging: HttpMiddleware = (_request, _facts, next) => {
      const answer = next();
      const tag = (response: Response) => {
        response.headers.set("x-tagged", "yes");
        return response;
      };
      return answer instanceof Promise ? answer.then(tag) : tag(answer);
    };
    const routes = definePlugin({
      name: "routes",
      requires: [HttpApp, HttpRoutes],
      start({ get }) {
        get(HttpApp).get("/now", (c) => c.json({ when: "now" }));
        get(HttpApp).get("/later", async (c) => {
          await Bun.sleep(1);
          return c.json({ when: "later" });
        });
        get(HttpRoutes).use(tagging, { name: "tagging" });
      },
    });
    const { runtime, answers } = watchedRuntime(bunRuntime());
    const { tracer, spans } = fakeTracer();
    const { meter, observed } = fakeMeter();
    await using t = await startApp([routes], {
      runtime,
      env: { HTTP_BODY_LIMIT_BYTES: "16" },
      overrides: [override(Tracer, tracer), override(Meter, meter)],
    });
    answers.length = 0;

    for (const path of ["/now", "/later"]) {
      const response = await t.fetch(path);
      expect(response.status).toBe(200);
      expect(response.headers.get("x-tagged")).toBe("yes");
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
      expect(await response.json()).toEqual({ when: path.slice(1) });
    }
    expect(answers).toEqual(["response", "promise"]);
    // Both are recorded alike: span, metrics and access line, once the turn's answers are out.
    expect(spans.map((s) => [s.name, s.ended, s.attributes["http.response.status_code"]])).toEqual([
      ["GET /now", true, 200],
      ["GET /later", true, 200],
    ]);
    expect(observed.filter((o) => o.metric === "http_requests_total").map((o) => o.labels)).toEqual([
      { method: "GET", route: "/now", status: 200 },
      { method: "GET", route: "/later", status: 200 },
    ]);
    expect(t.logs.filter((l) => l.message === "request").map((l) => [l.route, l.status])).toEqual([
      ["/now", 200],
      ["/later", 200],
    ]);
    // A refusal before any handler (a declared body over the limit) is answered synchronously too.
    const tooLarge = await t.fetch("/now", { method: "POST", body: "x".repeat(100) });
    expect(tooLarge.status).toBe(413);
    expect(answers).toEqual(["response", "promise", "response"]);
    expect(t.logs.filter((l) => l.message === "request").map((l) => l.status)).toEqual([200, 200, 413]);
  });

  for (const timeout of ["30000", "0"]) {
    test(`a middleware that throws is a problem+json answer, the request still logged (HTTP_REQUEST_TIMEOUT_MS=${timeout})`, async () => {
      // Both shapes a middleware fails in: a synchronous throw and a rejected promise.
      const failing: HttpMiddleware = (request) => {
        if (request.headers.has("x-limited")) {
          throw new HttpError("TF_HTTP_RATE_LIMITED", "ratelimit: over the limit", {
            detail: "Too many requests",
            headers: { "retry-after": "7" },
          });
        }
        return Promise.reject(new Error("redis password=hunter2 refused at cache.internal:6379"));
      };
      const { plugin, calls } = withMiddleware(failing);
      await using t = await startApp([plugin], { env: { HTTP_REQUEST_TIMEOUT_MS: timeout } });

      const crashed = await t.fetch("/work");
      expect(crashed.status).toBe(500);
      expect(crashed.headers.get("content-type")).toBe(PROBLEM_JSON);
      const requestId = crashed.headers.get("x-request-id");
      const text = await crashed.text();
      expect(text).not.toContain("hunter2");
      expect(text).not.toContain("cache.internal");
      expect(JSON.parse(text)).toMatchObject({ code: "TF_HTTP_INTERNAL", request_id: requestId });
      const logged = t.logs.find((l) => l.message === "request failed") as { error: { message: string } };
      expect(logged).toMatchObject({ request_id: requestId, level: "error" });
      expect(logged.error.message).toContain("cache.internal:6379");
      expect(t.logs.find((l) => l.message === "request")).toMatchObject({ status: 500, request_id: requestId });

      const limited = await t.fetch("/work", { headers: { "x-limited": "1" } });
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).toBe("7");
      expect(await limited.json()).toMatchObject({ code: "TF_HTTP_RATE_LIMITED", detail: "Too many requests" });
      // An HttpError is the client's answer, not a server fault: only the crash was logged.
      expect(t.logs.filter((l) => l.message === "request failed")).toHaveLength(1);
      expect(calls).toEqual([]);
    });
  }

  test("handlers read the request id and client address through requestFacts", async () => {
    const whoami = definePlugin({
      name: "whoami",
      requires: [HttpApp],
      start({ get }) {
        get(HttpApp).get("/whoami", async (c) => {
          // Read after an await and after the body: Bun once lost the peer address by then (oven-sh/bun#11756).
          await new Promise((resolve) => setTimeout(resolve, 5));
          await c.req.text();
          const facts = requestFacts(c);
          return c.json({ requestId: facts.requestId, clientIp: facts.clientIp, subject: facts.subject ?? null });
        });
      },
    });
    await using t = await startApp([whoami]);
    const response = await t.fetch("/whoami", { headers: { "x-request-id": "trace-0001-abcd" } });
    expect(await response.json()).toEqual({ requestId: "trace-0001-abcd", clientIp: "127.0.0.1", subject: null });
    expect(response.headers.get("x-request-id")).toBe("trace-0001-abcd");
  });

  test("a response with immutable headers (a proxied fetch on Node or Deno) still gets the request id and security headers", async () => {
    const proxy = definePlugin({
      name: "proxy",
      requires: [HttpApp],
      start({ get }) {
        get(HttpApp).get("/proxied", () => {
          const upstream = new Response("<p>from upstream</p>", {
            status: 202,
            headers: { "content-type": "text/html", "x-upstream": "yes" },
          });
          // Bun's fetch responses are mutable; undici's and Deno's are not. Give this one their guard.
          Object.defineProperty(upstream.headers, "set", {
            value: () => {
              throw new TypeError("immutable");
            },
          });
          return upstream;
        });
      },
    });
    await using t = await startApp([proxy]);
    const response = await t.fetch("/proxied");
    expect(response.status).toBe(202);
    expect(await response.text()).toBe("<p>from upstream</p>");
    expect(response.headers.get("x-upstream")).toBe("yes");
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("content-security-policy")).toContain("default-src 'self'");
  });

  test("an in-process request whose caller gave up is a 499, answered synchronously or not", async () => {
    const routes = definePlugin({
      name: "gone",
      requires: [HttpApp],
      start({ get }) {
        get(HttpApp).get("/now", (c) => c.text("now"));
        get(HttpApp).get("/later", async (c) => {
          await Bun.sleep(20);
          return c.text("later");
        });
      },
    });
    await using t = await startApp([routes]);
    // Given up before it was handled: the synchronous path must still look at the signal.
    await t.handle("/now", { signal: AbortSignal.abort() });
    // Given up while the handler waits.
    const caller = new AbortController();
    const later = t.handle("/later", { signal: caller.signal });
    caller.abort();
    await later;
    expect((await t.handle("/now")).status).toBe(200);
    expect(t.logs.filter((l) => l.message === "request").map((l) => [l.path, l.status])).toEqual([
      ["/now", 499],
      ["/later", 499],
      ["/now", 200],
    ]);
  });
});
