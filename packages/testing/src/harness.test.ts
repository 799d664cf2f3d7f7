import { describe, expect, test } from "bun:test";
import {
  Cache,
  ConfigError,
  definePlugin,
  env,
  HttpHandler,
  HttpListener,
  Logger,
  override,
  token,
} from "@twelvefold/kernel";
import { memoryCache } from "@twelvefold/kernel/memory";
import * as v from "valibot";
import { TestingError, testApp } from "../mod.ts";

/** A stand-in for the http plugin: answers in-process through the HttpHandler token. */
const hello = definePlugin({
  name: "hello",
  config: { GREETING: v.optional(env.string(), "hello") },
  requires: [Cache],
  provides: [HttpHandler],
  start({ config, get, provide, logger }) {
    const cache = get(Cache);
    provide(HttpHandler, {
      async fetch(request) {
        const url = new URL(request.url);
        if (request.method === "POST") {
          await cache.set("last", await request.text());
          return new Response(null, { status: 204 });
        }
        logger.info("greeted", { path: url.pathname });
        return Response.json({
          greeting: config.GREETING,
          path: url.pathname,
          last: (await cache.get("last")) ?? null,
        });
      },
    });
  },
});

describe("testApp", () => {
  test("boots the plugins, calls routes in-process and captures parsed log lines", async () => {
    await using t = await testApp({ plugins: [hello], env: { GREETING: "hi" } });
    expect((await t.fetch("/x", { method: "POST", body: "posted" })).status).toBe(204);
    const response = await t.fetch("/greet?x=1");
    expect(await response.json()).toEqual({ greeting: "hi", path: "/greet", last: "posted" });
    expect(t.logs).toContainEqual(expect.objectContaining({ level: "info", message: "greeted", plugin: "hello" }));
    expect(t.logs).toContainEqual(expect.objectContaining({ message: "app ready", environment: "testing" }));
  });

  test("accepts a Request, and overrides replace what plugins would get", async () => {
    const cache = memoryCache();
    await cache.set("last", "from the override");
    await using t = await testApp({ plugins: [hello], overrides: [override(Cache, cache)] });
    const response = await t.fetch(new Request("http://localhost/r"));
    expect(((await response.json()) as { last: string }).last).toBe("from the override");
    expect(t.get(Cache)).toBe(cache);
  });

  test("builds the memory fallbacks for tokens nobody provides", async () => {
    await using t = await testApp({ plugins: [hello] });
    await t.fetch("/", { method: "POST", body: "kept" });
    expect(await t.get(Cache).get("last")).toBe("kept");
  });

  test("fetch without an HttpHandler fails with a clear error", async () => {
    await using t = await testApp();
    const error = await t.fetch("/").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TestingError);
    expect((error as TestingError).code).toBe("TF_TESTING_NO_HTTP_HANDLER");
    expect((error as TestingError).message).toContain('"twelvefold/HttpHandler"');
  });

  test("start: false lets a test watch a failing start", async () => {
    const t = await testApp({ plugins: [hello], env: { GREETING: undefined, ENVIRONMENT: "nowhere" }, start: false });
    expect(t.app.phase).toBe("created");
    await expect(t.start()).rejects.toBeInstanceOf(ConfigError);
    await t.stop();
  });

  test("disposal stops the app", async () => {
    let stopped = 0;
    const stopper = definePlugin({
      name: "stopper",
      start({ onStop }) {
        onStop(() => {
          stopped++;
        });
      },
    });
    {
      await using t = await testApp({ plugins: [stopper] });
      expect(t.app.phase).toBe("ready");
      expect(t.get(Logger)).toBeDefined();
    }
    expect(stopped).toBe(1);
  });

  test("never reads the process environment", async () => {
    const Seen = token<string>("test/Seen");
    const probe = definePlugin({
      name: "probe",
      config: { HOME: v.optional(env.string(), "unset") },
      provides: [Seen],
      start({ config, provide }) {
        provide(Seen, config.HOME);
      },
    });
    await using t = await testApp({ plugins: [probe] });
    expect(t.get(Seen)).toBe("unset");
  });
});

/** A stand-in for the http plugin's socket: serves on PORT and HOST through the app's runtime. */
const listening = definePlugin({
  name: "listening",
  config: { PORT: env.port(), HOST: env.string({ minLength: 1 }) },
  provides: [HttpListener],
  async start({ config, runtime, provide, onStop }) {
    const server = await runtime.serve({
      port: config.PORT,
      hostname: config.HOST,
      fetch: (request) => Response.json({ path: new URL(request.url).pathname }),
    });
    provide(HttpListener, {
      port: server.port,
      hostname: server.hostname,
      url: `http://${server.hostname}:${server.port}`,
    });
    onStop(() => server.stop({ force: true }));
  },
});

describe("testApp over a socket", () => {
  test("binds a free loopback port by default (PORT=0, HOST=127.0.0.1) and calls it through url", async () => {
    await using t = await testApp({ plugins: [listening] });
    expect(t.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(t.url).not.toEndWith(":0");
    expect(await (await t.request("/over/the/wire")).json()).toEqual({ path: "/over/the/wire" });
    expect(await (await fetch(`${t.url}/again`)).json()).toEqual({ path: "/again" });
  });

  test("without a listener, url and request fail with a TestingError naming the token", async () => {
    await using t = await testApp({ plugins: [hello] });
    expect(() => t.url).toThrow(TestingError);
    expect(() => t.url).toThrow('no plugin provides "twelvefold/HttpListener"');
    await expect(t.request("/")).rejects.toThrow(TestingError);
  });
});
