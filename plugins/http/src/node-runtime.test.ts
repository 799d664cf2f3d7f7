import { expect, test } from "bun:test";
import { definePlugin } from "@twelvefold/kernel";
import { nodeRuntime } from "@twelvefold/kernel/runtime";
import { startApp } from "../test/start.ts";
import { HttpApp } from "./plugin.ts";

test("on the node:http adapter too, a request in flight at drain finishes with Connection: close", async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const { promise: entered, resolve: enter } = Promise.withResolvers<void>();
  const hold = definePlugin({
    name: "hold",
    requires: [HttpApp],
    start({ get }) {
      get(HttpApp).get("/hold", async (c) => {
        enter();
        await released;
        return c.json({ done: true });
      });
    },
  });
  // The plugin serves on the app's runtime, from its context.
  const t = await startApp([hold], { runtime: nodeRuntime() });
  expect((await t.fetch("/livez")).status).toBe(200);
  const pending = t.fetch("/hold");
  await entered;
  const stopping = t.app.stop();
  release();
  const response = await pending;
  expect(response.status).toBe(200);
  expect(response.headers.get("connection")).toBe("close");
  expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  await stopping;
});
