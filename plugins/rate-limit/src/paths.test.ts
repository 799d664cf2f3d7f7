import { expect, test } from "bun:test";
import { HttpApp, HttpListener, http } from "@twelvefold/http";
import { createApp, definePlugin } from "@twelvefold/kernel";
import { rawExchange } from "../../../test/raw.ts";
import { rateLimit } from "./plugin.ts";

const routes = definePlugin({
  name: "routes",
  requires: [HttpApp],
  start({ get }) {
    get(HttpApp).get("/chat/:id", (c) => c.text(`chat ${c.req.param("id")}`));
  },
});

test("encoded, doubled-slash and dot-segment spellings of a limited path count against its policy, and a 429 is labelled with the route", async () => {
  const logs: Array<Record<string, unknown>> = [];
  const app = createApp({
    name: "t",
    plugins: [http(), rateLimit({ policies: [{ name: "chat", match: "/chat/*", limit: 3 }] }), routes],
    env: { ENVIRONMENT: "testing", PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", RATE_LIMIT_PER_MINUTE: "1000" },
    log: (line) => logs.push(JSON.parse(line)),
  });
  await app.start();
  try {
    const { port } = app.get(HttpListener);
    const spellings = ["/chat/x", "/%63hat/x", "//chat/x", "/a/../chat/x", "/chat/./x", "/a/%2e%2e/chat/x"];
    const answers: Array<number | undefined> = [];
    for (const path of spellings) {
      const got = await rawExchange(port, `GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);
      answers.push(got.status);
      if (got.status === 200) expect(got.text.endsWith("chat x")).toBe(true);
    }
    // One quota for all six: three admitted, three refused, whichever spelling.
    expect(answers).toEqual([200, 200, 200, 429, 429, 429]);
    const refused = logs.filter((l) => l.message === "request" && l.status === 429);
    expect(refused.map((l) => l.route)).toEqual(["/chat/:id", "/chat/:id", "/chat/:id"]);
    expect(refused.map((l) => l.path)).toEqual(["/chat/x", "/chat/x", "/chat/x"]);
  } finally {
    await app.stop();
  }
});

test("OPTIONS requests that are not CORS preflights go through the limiter like any request", async () => {
  const app = createApp({
    name: "t",
    plugins: [http(), rateLimit(), routes],
    env: { ENVIRONMENT: "testing", PORT: "0", HOST: "127.0.0.1", RATE_LIMIT_PER_MINUTE: "1" },
    log: () => {},
  });
  await app.start();
  try {
    const { url } = app.get(HttpListener);
    const first = await fetch(`${url}/chat/x`, { method: "OPTIONS" });
    expect(first.headers.get("ratelimit-policy")).toBe('"default";q=1;w=60');
    await first.body?.cancel();
    const second = await fetch(`${url}/chat/x`, { method: "OPTIONS" });
    expect(second.status).toBe(429);
    await second.body?.cancel();
    // A preflight is CORS's business and is never counted.
    const preflight = await fetch(`${url}/chat/x`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST" },
    });
    expect(preflight.status).not.toBe(429);
    await preflight.body?.cancel();
  } finally {
    await app.stop();
  }
});
