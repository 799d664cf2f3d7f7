// Portability smoke test: the kernel core runs unchanged on Bun, Deno and Node.
// Uses only node:assert and the kernel, so every runtime can run it as it is:
//   bun test/portability/smoke.ts | deno run -A test/portability/smoke.ts | tsx test/portability/smoke.ts
import assert from "node:assert/strict";
import * as v from "valibot";
import { ConfigError, createApp, definePlugin, detectRuntime, env, secret, token } from "../../packages/kernel/mod.ts";
import { HttpApp, HttpListener, http } from "../../plugins/http/mod.ts";

interface Greeter {
  greet(name: string): string;
}
const Greeter = token<Greeter>("portability/Greeter");

const events: string[] = [];
const greeter = definePlugin({
  name: "greeter",
  config: { GREETING: v.optional(env.string(), "Hello"), GREETER_KEY: secret(env.string({ minLength: 8 })) },
  provides: [Greeter],
  start({ config, provide, onStop }) {
    events.push("start greeter");
    provide(Greeter, { greet: (name) => `${config.GREETING}, ${name}` });
    onStop(() => {
      events.push("stop greeter");
    });
  },
});
const user = definePlugin({
  name: "user",
  requires: [Greeter],
  start({ get, onStop }) {
    events.push(`start user: ${get(Greeter).greet("world")}`);
    onStop(() => {
      events.push("stop user");
    });
  },
});

let checks = 0;
const check = async (name: string, body: () => Promise<void>) => {
  await body();
  checks++;
  console.log(`ok - ${name}`);
};

const runtime = detectRuntime().name;

await check(`${runtime}: two plugins start in order and stop in reverse`, async () => {
  const lines: string[] = [];
  const app = createApp({
    name: "portable",
    plugins: [user, greeter],
    env: { ENVIRONMENT: "testing", LOG_LEVEL: "info", GREETER_KEY: "key-that-is-long" },
    log: (line) => lines.push(line),
  });
  await app.start();
  assert.equal(app.lifecycle.ready, true);
  await app.stop();
  assert.deepEqual(events, ["start greeter", "start user: Hello, world", "stop user", "stop greeter"]);
  assert.equal(app.phase, "stopped");
  assert.ok(lines.some((l) => JSON.parse(l).message === "app ready"));
});

await check(`${runtime}: config errors are reported together, secrets redacted`, async () => {
  const app = createApp({
    name: "portable",
    plugins: [user, greeter],
    env: { ENVIRONMENT: "testing", GREETER_KEY: "short-1", LOG_LEVEL: "loud" },
    log: () => {},
  });
  const error = await app.start().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConfigError);
  assert.deepEqual(error.issues.map((i) => i.name).sort(), ["GREETER_KEY", "LOG_LEVEL"]);
  assert.ok(!error.message.includes("short-1"));
});

await check(`${runtime}: the runtime adapter serves HTTP on a port and stops`, async () => {
  const server = await detectRuntime().serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (request) => Response.json({ path: new URL(request.url).pathname, runtime }),
  });
  try {
    const response = await fetch(`http://127.0.0.1:${server.port}/portable`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { path: "/portable", runtime });
  } finally {
    await server.stop({ force: true });
  }
});

await check(`${runtime}: a handler that throws is a bare 500, never the runtime's error page`, async () => {
  const server = await detectRuntime().serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () => {
      throw new Error("db password=hunter2 refused");
    },
  });
  try {
    const response = await fetch(`http://127.0.0.1:${server.port}/`);
    assert.equal(response.status, 500);
    assert.ok(!(await response.text()).includes("hunter2"));
  } finally {
    await server.stop({ force: true });
  }
});

/** A body sent without a length, as a client streaming an upload does. */
function chunked(bytes: number): ReadableStream<Uint8Array> {
  const piece = new TextEncoder().encode("x".repeat(100));
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      sent += piece.byteLength;
      controller.enqueue(piece);
    },
  });
}

const upload = definePlugin({
  name: "upload",
  requires: [HttpApp],
  start({ get }) {
    get(HttpApp).post("/upload", async (c) => c.text(String((await c.req.text()).length)));
  },
});

await check(`${runtime}: the http plugin serves probes, problem+json and body limits, then stops`, async () => {
  const app = createApp({
    name: "portable-http",
    plugins: [http(), upload],
    env: { ENVIRONMENT: "testing", PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "warn", HTTP_BODY_LIMIT_BYTES: "1000" },
    log: () => {},
  });
  await app.start();
  try {
    const { url } = app.get(HttpListener);
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 200);
    assert.match(ready.headers.get("x-request-id") ?? "", /^[\w.:-]{8,128}$/);
    assert.equal(ready.headers.get("x-content-type-options"), "nosniff");
    await ready.body?.cancel();
    // A chunked upload is counted as it is read: within the limit it arrives, over it it is a 413.
    const upload = (bytes: number) =>
      fetch(`${url}/upload`, { method: "POST", body: chunked(bytes), duplex: "half" } as RequestInit);
    const within = await upload(500);
    assert.equal(within.status, 200);
    assert.equal(await within.text(), "500");
    const over = await upload(5000);
    assert.equal(over.status, 413);
    assert.equal(over.headers.get("content-type"), "application/problem+json");
    await over.body?.cancel();
    const missing = await fetch(`${url}/nowhere`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("content-type"), "application/problem+json");
    await missing.body?.cancel();
  } finally {
    await app.stop();
  }
  assert.equal(app.phase, "stopped");
});

console.log(`${checks} passed, 0 failed`);
