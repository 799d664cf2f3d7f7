import { describe, expect, test } from "bun:test";
import { ConfigError, createApp, definePlugin, HttpRoutes } from "@twelvefold/kernel";
import { pluginContract } from "@twelvefold/testing";
import * as v from "valibot";
import { startApp } from "../test/start.ts";
import { HttpError } from "./errors.ts";
import { HttpApp, http } from "./plugin.ts";
import { PROBLEM_JSON } from "./problem.ts";
import { readJson } from "./validate.ts";

pluginContract(() => http(), { badEnv: { PORT: "eighty", HTTP_BODY_LIMIT_BYTES: "0" } });

const Item = v.object({ name: v.pipe(v.string(), v.minLength(1)), count: v.pipe(v.number(), v.integer()) });

const routes = definePlugin({
  name: "routes",
  requires: [HttpApp],
  start({ get }) {
    const app = get(HttpApp);
    app.get("/items/:id", (c) => c.json({ id: c.req.param("id") }));
    app.post("/items", async (c) => c.json(await readJson(c, Item), 201));
    app.get("/boom", () => {
      throw new Error("database password=hunter2 rejected at db.internal:5432");
    });
    app.get("/teapot", () => {
      throw new HttpError("TF_HTTP_FORBIDDEN", "http: not allowed", { detail: "Not for you" });
    });
    app.get("/page", (c) => c.html("<p>hi</p>"));
    app.post("/echo", async (c) => c.text(String((await c.req.text()).length)));
  },
});

/** A body sent chunked (no Content-Length), as a client streaming an upload does. */
function chunked(bytes: number): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode("x".repeat(100));
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const piece = chunk.subarray(0, Math.min(100, bytes - sent));
      sent += piece.byteLength;
      controller.enqueue(piece);
    },
  });
}

/** A plugin with `GET /slow`, whose work is `work(signal)` before it answers "too late". */
function slowRoute(work: (signal: AbortSignal) => Promise<unknown>) {
  return definePlugin({
    name: "slow",
    requires: [HttpApp],
    start({ get }) {
      get(HttpApp).get("/slow", async (c) => {
        await work(c.env.signal);
        return c.text("too late");
      });
    },
  });
}

describe("http plugin", () => {
  test("probes answer on a real socket once every plugin has started", async () => {
    await using t = await startApp([routes]);
    const live = await t.fetch("/livez");
    expect(live.status).toBe(200);
    const ready = await t.fetch("/readyz");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready" });
    const health = await t.fetch("/health");
    const body = (await health.json()) as { status: string; version: string; uptime_seconds: number };
    expect(health.status).toBe(200);
    expect(body.status).toBe("up");
    expect(body.version).toBe("0.0.0");
    expect(typeof body.uptime_seconds).toBe("number");
    // Probes stay out of the access log.
    expect(t.logs.filter((l) => l.message === "request")).toEqual([]);
  });

  test("/readyz turns 503 as soon as draining begins", async () => {
    const t = await startApp([routes]);
    expect((await t.handle("/readyz")).status).toBe(200);
    const stopping = t.app.stop();
    const response = await t.handle("/readyz");
    expect(response.status).toBe(503);
    expect(((await response.json()) as { phase: string }).phase).toBe("draining");
    await stopping;
  });

  test("every response carries a request id, security headers, and no X-Powered-By", async () => {
    await using t = await startApp([routes]);
    const response = await t.fetch("/items/7");
    expect(await response.json()).toEqual({ id: "7" });
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get("strict-transport-security")).toContain("max-age=31536000");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    expect(response.headers.get("referrer-policy")).toBe("no-referrer");
    expect(response.headers.get("x-powered-by")).toBeNull();
    expect(response.headers.get("cross-origin-resource-policy")).toBe("same-origin");
    // The document policies go on HTML only: a JSON answer is never a document.
    expect(response.headers.get("content-security-policy")).toBeNull();
    expect(response.headers.get("cross-origin-opener-policy")).toBeNull();
    const page = await t.fetch("/page");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(page.headers.get("cross-origin-opener-policy")).toBe("same-origin");
    expect(page.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const log = t.logs.find((l) => l.message === "request");
    expect(log).toMatchObject({ method: "GET", path: "/items/7", route: "/items/:id", status: 200 });
    expect(log?.request_id).toBe(response.headers.get("x-request-id"));
  });

  test("a well-formed incoming X-Request-Id is kept, a malformed one replaced", async () => {
    await using t = await startApp([routes]);
    const kept = await t.handle("/items/1", { headers: { "x-request-id": "req-1234abcd" } });
    expect(kept.headers.get("x-request-id")).toBe("req-1234abcd");
    const replaced = await t.handle("/items/1", { headers: { "x-request-id": "bad id with spaces" } });
    // Replaced by a fresh UUID (whose hex may well spell "bad": assert the shape, not the letters).
    expect(replaced.headers.get("x-request-id")).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
  });

  test("an unknown error is a bare 500 problem while the log carries everything", async () => {
    await using t = await startApp([routes]);
    const response = await t.handle("/boom");
    expect(response.status).toBe(500);
    expect(response.headers.get("content-type")).toBe(PROBLEM_JSON);
    const text = await response.text();
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("db.internal");
    expect(text).not.toContain("at ");
    expect(JSON.parse(text)).toMatchObject({
      status: 500,
      code: "TF_HTTP_INTERNAL",
      type: expect.stringContaining("/internal"),
    });
    const logged = t.logs.find((l) => l.message === "request failed") as { error: { stack: string; message: string } };
    expect(logged.error.message).toContain("db.internal:5432");
    expect(logged.error.stack).toContain("plugin.test.ts");
  });

  test("errors are problem+json with a stable type per error", async () => {
    await using t = await startApp([routes]);
    const missing = await t.handle("/nope");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ type: "https://twelvefold.dev/problems/not-found", status: 404 });
    const forbidden = await t.handle("/teapot");
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ code: "TF_HTTP_FORBIDDEN", detail: "Not for you" });
    expect(t.logs.find((l) => l.message === "request" && l.path === "/nope")?.route).toBe("unmatched");
  });

  test("validation errors list each failing field", async () => {
    await using t = await startApp([routes]);
    const response = await t.handle("/items", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "", count: 1.5 }),
    });
    expect(response.status).toBe(422);
    const body = (await response.json()) as { invalid_params: Array<{ name: string }> };
    expect(body.invalid_params.map((p) => p.name).sort()).toEqual(["count", "name"]);
    const json = { "content-type": "application/json" };
    const malformed = await t.handle("/items", { method: "POST", headers: json, body: "{nope" });
    expect(malformed.status).toBe(400);
    const ok = await t.handle("/items", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ name: "a", count: 2 }),
    });
    expect(ok.status).toBe(201);
  });

  test("a body over the limit is a 413", async () => {
    await using t = await startApp([routes], { env: { HTTP_BODY_LIMIT_BYTES: "16" } });
    const response = await t.fetch("/items", {
      method: "POST",
      body: JSON.stringify({ name: "a long name", count: 1 }),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { code: string }).code).toBe("TF_HTTP_BODY_TOO_LARGE");
  });

  test("a chunked body (no Content-Length) is counted as it is read: over the limit it is a problem+json 413", async () => {
    await using t = await startApp([routes], { env: { HTTP_BODY_LIMIT_BYTES: "1000" } });
    const post = (path: string, bytes: number) =>
      t.fetch(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: chunked(bytes),
        duplex: "half",
      } as RequestInit);
    const within = await post("/echo", 1000);
    expect(within.status).toBe(200);
    expect(await within.text()).toBe("1000");
    // Over the limit but under the runtime's own cap (limit + 64 KiB): the plugin's count catches it.
    for (const path of ["/echo", "/items"]) {
      const over = await post(path, 5000);
      expect(over.status).toBe(413);
      expect(over.headers.get("content-type")).toBe(PROBLEM_JSON);
      expect(((await over.json()) as { code: string }).code).toBe("TF_HTTP_BODY_TOO_LARGE");
    }
  });

  test("a request over its time is a 504 and its work is aborted through its signal", async () => {
    let aborted: unknown;
    const slow = slowRoute(async (signal) => {
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
      aborted = signal.reason;
    });
    await using t = await startApp([slow], { env: { HTTP_REQUEST_TIMEOUT_MS: "30" } });
    const response = await t.handle("/slow");
    expect(response.status).toBe(504);
    expect(((await response.json()) as { code: string }).code).toBe("TF_HTTP_TIMEOUT");
    await Bun.sleep(0);
    expect(aborted).toBeInstanceOf(HttpError);
  });

  test("work that fails because its request timed out is logged as stopped, not as an error", async () => {
    // A client library given the signal rejects with an error of its own once it aborts.
    const slow = slowRoute(
      (signal) =>
        new Promise((_resolve, reject) =>
          signal.addEventListener("abort", () => reject(new DOMException("The operation was aborted", "AbortError"))),
        ),
    );
    await using t = await startApp([slow], { env: { HTTP_REQUEST_TIMEOUT_MS: "30" } });
    expect((await t.handle("/slow")).status).toBe(504);
    await Bun.sleep(5);
    expect(t.logs.filter((l) => l.level === "error")).toEqual([]);
    expect(t.logs.find((l) => l.message === "request work stopped after abort")).toMatchObject({
      level: "info",
      reason: "TF_HTTP_TIMEOUT",
      path: "/slow",
    });
  });

  test("CORS answers listed origins only, and refuses a wildcard with credentials", async () => {
    await using t = await startApp([routes], { env: { HTTP_CORS_ORIGINS: "https://app.example" } });
    const allowed = await t.handle("/items/1", { headers: { origin: "https://app.example" } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example");
    const other = await t.handle("/items/1", { headers: { origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const app = createApp({
      name: "t",
      plugins: [http()],
      env: { PORT: "0", HOST: "127.0.0.1", HTTP_CORS_ORIGINS: "*", HTTP_CORS_CREDENTIALS: "true" },
      log: () => {},
    });
    // A rule across two settings is a config error (exit 78), reported with the others.
    const error = (await app.start().catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(
      'HTTP_CORS_ORIGINS (http): expected a list of origins without "*" when HTTP_CORS_CREDENTIALS is true, got "*"',
    );
  });

  test("options are validated like the environment: a bad one is a config error, a secret one is masked", async () => {
    const key = "an-options-secret-key-of-forty-characters";
    const lines: string[] = [];
    const bad = createApp({
      name: "t",
      plugins: [http({ PORT: -5, SECRET_KEY: key, TRUSTED_PROXIES: ["10.0.0.0/8", "nope"] })],
      env: { ENVIRONMENT: "testing" },
      log: (l) => lines.push(l),
    });
    const error = (await bad.start().catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues.map((i) => [i.name, i.source])).toEqual([
      ["PORT", "options"],
      ["TRUSTED_PROXIES", "options"],
    ]);
    const good = createApp({
      name: "t",
      plugins: [http({ PORT: 0, HOST: "127.0.0.1", SECRET_KEY: key })],
      env: { ENVIRONMENT: "testing", LOG_LEVEL: "debug" },
      log: (l) => lines.push(l),
    });
    expect((await good.inspectConfig()).find((e) => e.name === "SECRET_KEY")).toMatchObject({
      value: "[redacted]",
      source: "options",
    });
    await good.start();
    await good.stop();
    expect(lines.join("\n")).not.toContain(key);
  });

  test("production requires a SECRET_KEY of at least 32 characters", async () => {
    const start = (env: Record<string, string>) =>
      createApp({
        name: "t",
        plugins: [http()],
        env: { ENVIRONMENT: "production", PORT: "0", HOST: "127.0.0.1", ...env },
        log: () => {},
      }).start();
    await expect(start({})).rejects.toBeInstanceOf(ConfigError);
    const short = await start({ SECRET_KEY: "short-secret" }).catch((e: ConfigError) => e);
    expect(short).toBeInstanceOf(ConfigError);
    expect((short as ConfigError).message).not.toContain("short-secret");
  });

  test("plugins add routes and middleware through the kernel contract; probes skip the middleware", async () => {
    const seen: string[] = [];
    const other = definePlugin({
      name: "other",
      requires: [HttpRoutes],
      start({ get }) {
        const routes = get(HttpRoutes);
        routes.add("GET", "/metrics", () => new Response("# metrics"), { probe: true });
        routes.add("GET", "/plain", () => new Response("plain"));
        routes.use(
          async (request, facts, next) => {
            seen.push(`${new URL(request.url).pathname} ${facts.clientIp}`);
            const response = await next();
            response.headers.set("x-wrapped", "yes");
            return response;
          },
          { name: "tag" },
        );
      },
    });
    await using t = await startApp([other]);
    const plain = await t.fetch("/plain");
    expect(await plain.text()).toBe("plain");
    expect(plain.headers.get("x-wrapped")).toBe("yes");
    expect(await (await t.fetch("/metrics")).text()).toBe("# metrics");
    await t.fetch("/livez");
    expect(seen).toEqual(["/plain 127.0.0.1"]);
    expect(() => t.app.get(HttpRoutes).add("GET", "/late", () => new Response())).toThrow("after the first request");
  });
});
