import { expect, test } from "bun:test";
import { createApp } from "../app.ts";
import { Cache } from "../contracts/cache.ts";
import { Lock } from "../contracts/lock.ts";
import { Queue } from "../contracts/queue.ts";
import { RateLimitStore } from "../contracts/rate-limit.ts";
import { definePlugin } from "../plugin.ts";
import { embeddedInfo, token } from "../token.ts";

test("an app with no backing service gets the memory adapters, and they work", async () => {
  const app = createApp({
    name: "t",
    plugins: [definePlugin({ name: "user", requires: [Cache, RateLimitStore, Lock, Queue], start() {} })],
    env: { ENVIRONMENT: "development", LOG_LEVEL: "silent" },
  });
  await app.start();
  expect(embeddedInfo(app.get(Cache))?.name).toBe("memory Cache");
  expect(embeddedInfo(app.get(RateLimitStore))?.name).toBe("memory RateLimitStore");
  expect(embeddedInfo(app.get(Lock))?.name).toBe("memory Lock");
  expect(embeddedInfo(app.get(Queue))?.losesData).toBe(true);
  await app.get(Cache).set("k", "v");
  expect(await app.get(Cache).get("k")).toBe("v");
  expect((await app.get(RateLimitStore).hit("ip", 1, 1000)).allowed).toBe(true);
  expect(await app.get(Lock).acquire("job", 1000)).toBeDefined();
  await app.stop();
});

test("fallbacks the kernel built are disposed after the plugins stop", async () => {
  const events: string[] = [];
  const Disposable = token<object>("test/Disposable", {
    fallback: () => ({ [Symbol.asyncDispose]: async () => void events.push("fallback disposed") }),
  });
  const Closable = token<object>("test/Closable", {
    fallback: () => ({ close: () => events.push("fallback closed") }),
  });
  const app = createApp({
    name: "t",
    plugins: [
      definePlugin({
        name: "user",
        requires: [Disposable, Closable],
        start: ({ onStop }) => onStop(() => void events.push("user stopped")),
      }),
    ],
    env: { LOG_LEVEL: "silent" },
  });
  await app.start();
  await app.stop();
  expect(events).toEqual(["user stopped", "fallback closed", "fallback disposed"]);
});
