import { describe, expect, test } from "bun:test";
import { definePlugin, HttpRoutes, Meter, override, Tracer } from "@twelvefold/kernel";
import { sign } from "hono/jwt";
import * as v from "valibot";
import { rawExchange } from "../../../test/raw.ts";
import { startApp } from "../test/start.ts";
import { HttpAuth } from "./auth.ts";
import { HttpApp, HttpListener } from "./plugin.ts";
import { PROBLEM_JSON } from "./problem.ts";
import { fakeMeter, fakeTracer } from "./testdata/fakes.ts";
import { readJson } from "./validate.ts";

const routes = definePlugin({
  name: "routes",
  requires: [HttpApp],
  start({ get }) {
    const app = get(HttpApp);
    app.get("/items/:id", (c) => c.json({ id: c.req.param("id"), url: c.req.url }));
    app.get("/echo", async (c) => c.text(String((await c.req.text()).length)));
    app.post("/upload", async (c) => c.text(String((await c.req.text()).length)));
  },
});

const port = (t: { app: { get: (token: typeof HttpListener) => HttpListener } }) => t.app.get(HttpListener).port;
const bodyOf = (text: string) => text.slice(text.indexOf("\r\n\r\n") + 4);

describe("Host (RFC 9112 section 3.2)", () => {
  test("an empty, repeated or malformed Host is a 400 problem+json, logged like any answer", async () => {
    await using t = await startApp([routes]);
    const heads = [
      "GET /items/1 HTTP/1.1\r\nHost:\r\n",
      "GET /items/1 HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n",
      "GET /items/1 HTTP/1.1\r\nHost: a b\r\n",
      "GET /items/1 HTTP/1.1\r\nHost: a.example:99999\r\n",
      "GET /livez HTTP/1.1\r\nHost: a/b\r\n",
    ];
    for (const head of heads) {
      const got = await rawExchange(port(t), `${head}Connection: close\r\n\r\n`);
      expect(got.status).toBe(400);
      expect(got.text.toLowerCase()).toContain("content-type: application/problem+json");
      expect(JSON.parse(bodyOf(got.text))).toMatchObject({ code: "TF_HTTP_BAD_REQUEST", status: 400 });
    }
    const logged = t.logs.filter((l) => l.message === "request" && l.status === 400);
    expect(logged).toHaveLength(heads.length);
    // A well-formed Host, with a port or as an IP literal, is served.
    for (const host of ["api.example:8443", "[::1]:80", "127.0.0.1"]) {
      const got = await rawExchange(port(t), `GET /items/2 HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      expect(got.status).toBe(200);
    }
  });

  test("HTTP/1.1 without Host is refused; HTTP/1.0 without Host is routed by its real path", async () => {
    await using t = await startApp([routes]);
    const missing = await rawExchange(port(t), "GET /livez HTTP/1.1\r\nConnection: close\r\n\r\n");
    expect(missing.status).toBe(400);
    // HAProxy's default health check.
    const check = await rawExchange(port(t), "GET /livez HTTP/1.0\r\n\r\n");
    expect(check.status).toBe(200);
    expect(bodyOf(check.text)).toBe('{"status":"alive"}');
    const item = await rawExchange(port(t), "GET /items/42 HTTP/1.0\r\n\r\n");
    expect(item.status).toBe(200);
    const body = JSON.parse(bodyOf(item.text)) as { id: string; url: string };
    expect(body.id).toBe("42");
    // Handlers see an absolute URL, as with any other request.
    expect(new URL(body.url).pathname).toBe("/items/42");
    // A longer path is never served as a shorter one.
    expect((await rawExchange(port(t), "GET /items/42/more HTTP/1.0\r\n\r\n")).status).toBe(404);
    expect((await rawExchange(port(t), "GET /livezzz HTTP/1.0\r\n\r\n")).status).toBe(404);
  });
});

describe("body limits", () => {
  test("a declared oversized body is a 413 with its access line, metric and span", async () => {
    const { tracer, spans } = fakeTracer();
    const { meter, observed } = fakeMeter();
    await using t = await startApp([routes], {
      env: { HTTP_BODY_LIMIT_BYTES: "100" },
      overrides: [override(Tracer, tracer), override(Meter, meter)],
    });
    const response = await t.fetch("/upload", { method: "POST", body: "x".repeat(500) });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { code: string }).code).toBe("TF_HTTP_BODY_TOO_LARGE");
    expect(t.logs.find((l) => l.message === "request")).toMatchObject({
      status: 413,
      route: "/upload",
      path: "/upload",
    });
    expect(observed.find((o) => o.metric === "http_requests_total")?.labels).toEqual({
      method: "POST",
      route: "/upload",
      status: 413,
    });
    expect(spans[0]).toMatchObject({ name: "POST /upload", ended: true });
    expect(spans[0]?.attributes["http.response.status_code"]).toBe(413);
  });

  test("a declared GET body counts against the limit too (chunked ones: test/edge, per runtime)", async () => {
    await using t = await startApp([routes], { env: { HTTP_BODY_LIMIT_BYTES: "100" } });
    const declared = await rawExchange(
      port(t),
      `GET /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 500\r\nConnection: close\r\n\r\n${"x".repeat(500)}`,
    );
    expect(declared.status).toBe(413);
    expect(declared.text).toContain("TF_HTTP_BODY_TOO_LARGE");
  });
});

describe("one normalized path", () => {
  test("routing, labels and plugin middleware see the same decoded, slash- and dot-free path", async () => {
    const seen: string[] = [];
    const watcher = definePlugin({
      name: "watcher",
      requires: [HttpRoutes],
      start({ get }) {
        get(HttpRoutes).use(
          (_request, facts, next) => {
            seen.push(`${facts.path} ${facts.route}`);
            return next();
          },
          { name: "watch" },
        );
      },
    });
    await using t = await startApp([routes, watcher]);
    for (const path of ["/items/7", "/%69tems/7", "//items/7", "/x/../items/7", "/items/./7"]) {
      const got = await rawExchange(port(t), `GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);
      expect(got.status).toBe(200);
    }
    expect(new Set(seen)).toEqual(new Set(["/items/7 /items/:id"]));
    const lines = t.logs.filter((l) => l.message === "request");
    expect(new Set(lines.map((l) => `${l.path} ${l.route}`))).toEqual(new Set(["/items/7 /items/:id"]));
  });
});

describe("JSON bodies", () => {
  const Note = v.object({ text: v.string() });
  const notes = definePlugin({
    name: "notes",
    requires: [HttpApp],
    start({ get }) {
      get(HttpApp).post("/notes", async (c) => c.json(await readJson(c, Note), 201));
    },
  });

  test("need application/json or a +json type: a form or text/plain POST is a 415 and never reaches the handler", async () => {
    await using t = await startApp([notes]);
    const post = (contentType: string | undefined) =>
      t.fetch("/notes", {
        method: "POST",
        headers: contentType === undefined ? {} : { "content-type": contentType },
        body: new TextEncoder().encode('{"text":"hi"}'),
      });
    for (const type of [
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      undefined,
    ]) {
      const refused = await post(type);
      expect(refused.status).toBe(415);
      expect(refused.headers.get("content-type")).toBe(PROBLEM_JSON);
      expect(((await refused.json()) as { code: string }).code).toBe("TF_HTTP_UNSUPPORTED_MEDIA_TYPE");
    }
    for (const type of ["application/json", "Application/JSON; charset=utf-8", "application/merge-patch+json"]) {
      const accepted = await post(type);
      expect(accepted.status).toBe(201);
      expect(await accepted.json()).toEqual({ text: "hi" });
    }
  });
});

describe("JWT clock skew", () => {
  const SECRET = "a-test-secret-of-at-least-32-characters!";
  const me = definePlugin({
    name: "me",
    requires: [HttpApp, HttpAuth],
    start({ get }) {
      get(HttpApp).get("/me", get(HttpAuth).middleware(), (c) => c.json({ subject: c.env.subject }));
    },
  });
  const token = (claims: Record<string, number>) => sign({ sub: "u-1", ...claims }, SECRET, "HS256");
  const now = () => Math.floor(Date.now() / 1000);

  test("JWT_CLOCK_SKEW_S (30 s by default) covers exp, nbf and iat; past it a token is refused", async () => {
    await using t = await startApp([me], { env: { SECRET_KEY: SECRET } });
    const ask = async (claims: Record<string, number>) =>
      (await t.handle("/me", { headers: { authorization: `Bearer ${await token(claims)}` } })).status;
    // Issued by a host whose clock runs a second ahead.
    expect(await ask({ iat: now() + 1, nbf: now() + 1, exp: now() + 600 })).toBe(200);
    expect(await ask({ iat: now() - 600, exp: now() - 10 })).toBe(200);
    expect(await ask({ iat: now() - 600, exp: now() - 60 })).toBe(401);
    expect(await ask({ nbf: now() + 120, exp: now() + 600 })).toBe(401);
    expect(await ask({ iat: now() + 120, exp: now() + 600 })).toBe(401);
    expect(await ask({ iat: now() })).toBe(401);
  });

  test("with JWT_CLOCK_SKEW_S=0 a token issued a second ahead is refused", async () => {
    await using t = await startApp([me], { env: { SECRET_KEY: SECRET, JWT_CLOCK_SKEW_S: "0" } });
    const ahead = await token({ iat: now() + 2, exp: now() + 600 });
    const response = await t.handle("/me", { headers: { authorization: `Bearer ${ahead}` } });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });
});

test('the "draining" log line counts the requests in flight', async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  let entered = 0;
  const hold = definePlugin({
    name: "hold",
    requires: [HttpApp],
    start({ get }) {
      get(HttpApp).get("/hold", async (c) => {
        entered++;
        await released;
        return c.text("done");
      });
    },
  });
  await using t = await startApp([hold]);
  const pending = [t.fetch("/hold"), t.fetch("/hold"), t.fetch("/hold")];
  while (entered < 3) await Bun.sleep(5);
  const stopping = t.app.stop();
  release();
  const answers = await Promise.all(pending);
  expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
  await stopping;
  expect(t.logs.find((l) => l.message === "draining")?.in_flight).toBe(3);
});

describe("inbound baggage", () => {
  const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  const carrierOf = async (env: Record<string, string>) => {
    const { tracer, spans } = fakeTracer();
    await using t = await startApp([routes], { env, overrides: [override(Tracer, tracer)] });
    await (await t.fetch("/items/1", { headers: { traceparent, baggage: "role=admin" } })).body?.cancel();
    const carrier = spans[0]?.carrier;
    const get = (name: string) =>
      carrier instanceof Headers ? carrier.get(name) : ((carrier as Record<string, string>)[name] ?? null);
    return { traceparent: get("traceparent"), baggage: get("baggage") };
  };

  test("from a client not in HTTP_BAGGAGE_TRUSTED (by default, anyone) it is dropped; the trace still continues", async () => {
    expect(await carrierOf({})).toEqual({ traceparent, baggage: null });
    expect(await carrierOf({ HTTP_BAGGAGE_TRUSTED: "10.0.0.0/8" })).toEqual({ traceparent, baggage: null });
  });

  test("from a listed client, or with *, it reaches the tracer", async () => {
    expect(await carrierOf({ HTTP_BAGGAGE_TRUSTED: "127.0.0.0/8" })).toEqual({ traceparent, baggage: "role=admin" });
    expect(await carrierOf({ HTTP_BAGGAGE_TRUSTED: "*" })).toEqual({ traceparent, baggage: "role=admin" });
  });
});
