import { describe, expect, test } from "bun:test";
import { definePlugin } from "@twelvefold/kernel";
import { startApp } from "../test/start.ts";
import { DrainDeadlineError } from "./errors.ts";
import { HttpApp } from "./plugin.ts";

/** A route that answers when the test says so, and records why its signal aborted. */
function holdRoute() {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const { promise: entered, resolve: enter } = Promise.withResolvers<void>();
  const state: { reason?: unknown } = {};
  const plugin = definePlugin({
    name: "hold",
    requires: [HttpApp],
    start({ get }) {
      get(HttpApp).get("/hold", async (c) => {
        const signal = c.env.signal;
        signal.addEventListener("abort", () => {
          state.reason = signal.reason;
        });
        enter();
        await Promise.race([released, new Promise((resolve) => signal.addEventListener("abort", resolve))]);
        return c.json({ done: true });
      });
    },
  });
  return { plugin, release, entered, state };
}

describe("http drain", () => {
  test("a request in flight at SIGTERM finishes with Connection: close before the app stops", async () => {
    const hold = holdRoute();
    const t = await startApp([hold.plugin]);
    const pending = t.fetch("/hold");
    await hold.entered;
    let stopped = false;
    const stopping = t.app.stop().then(() => {
      stopped = true;
    });
    expect((await t.handle("/readyz")).status).toBe(503);
    await Bun.sleep(1);
    expect(stopped).toBe(false);
    hold.release();
    const response = await pending;
    expect(response.status).toBe(200);
    expect(response.headers.get("connection")).toBe("close");
    expect(await response.json()).toEqual({ done: true });
    await stopping;
    expect(stopped).toBe(true);
    expect(t.logs.some((l) => l.message === "drained")).toBe(true);
    // The listener is closed: a new connection is refused.
    await expect(t.fetch("/livez")).rejects.toThrow();
  });

  test("a streamed response in flight at drain is delivered whole before the app stops", async () => {
    const { promise: released, resolve: release } = Promise.withResolvers<void>();
    const streaming = definePlugin({
      name: "stream",
      requires: [HttpApp],
      start({ get }) {
        get(HttpApp).get("/stream", () => {
          const encoder = new TextEncoder();
          const body = new ReadableStream<Uint8Array>({
            async start(controller) {
              controller.enqueue(encoder.encode("first "));
              await released;
              controller.enqueue(encoder.encode("last"));
              controller.close();
            },
          });
          return new Response(body, { headers: { "content-type": "text/plain" } });
        });
      },
    });
    const t = await startApp([streaming]);
    const response = await t.fetch("/stream");
    let stopped = false;
    const stopping = t.app.stop().then(() => {
      stopped = true;
    });
    while (!t.logs.some((l) => l.message === "listener closed")) await Bun.sleep(5);
    await Bun.sleep(20);
    // Still open: the stream has not ended, and stopping waits for it.
    expect(stopped).toBe(false);
    release();
    expect(await response.text()).toBe("first last");
    await stopping;
  });

  test("a long request does not hold the listener open past HTTP_DRAIN_GRACE_MS", async () => {
    const hold = holdRoute();
    const t = await startApp([hold.plugin], { env: { HTTP_DRAIN_GRACE_MS: "10" } });
    const pending = t.fetch("/hold");
    await hold.entered;
    const stopping = t.app.stop();
    while (!t.logs.some((l) => l.message === "listener closed")) await Bun.sleep(5);
    expect(t.logs.find((l) => l.message === "listener closed")?.in_flight).toBe(1);
    await expect(t.fetch("/livez")).rejects.toThrow();
    hold.release();
    expect((await pending).status).toBe(200);
    await stopping;
  });

  test("a request still running at the deadline is aborted and the stop fails (exit code 1)", async () => {
    const hold = holdRoute();
    const t = await startApp([hold.plugin], { env: { SHUTDOWN_TIMEOUT_MS: "30" } });
    const pending = t.fetch("/hold").catch((error: unknown) => error);
    await hold.entered;
    const error = await t.app.stop().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AggregateError);
    expect(hold.state.reason).toBeInstanceOf(DrainDeadlineError);
    await pending;
    expect(t.logs.some((l) => l.message === "drain deadline passed: abandoning in-flight work")).toBe(true);
  });
});
