/**
 * The edge fixture: the http plugin with a route that takes as long as it is told and ignores its
 * signal (`/slow/:ms`), one that reads its whole body (`POST /upload`), and a plain one
 * (`/items/:id`). It runs on Bun, Deno and Node, so the tests see each runtime adapter's timers.
 */
import { createApp, definePlugin } from "../../packages/kernel/mod.ts";
import { HttpApp, http } from "../../plugins/http/mod.ts";

const routes = definePlugin({
  name: "edge-fixture",
  requires: [HttpApp],
  start({ get }) {
    const app = get(HttpApp);
    app.get("/slow/:ms", async (c) => {
      await new Promise((resolve) => setTimeout(resolve, Number(c.req.param("ms"))));
      return c.text("done");
    });
    app.post("/upload", async (c) => c.text(`got ${(await c.req.text()).length}`));
    app.get("/items/:id", (c) => c.json({ id: c.req.param("id") }));
    app.on(["GET", "DELETE"], "/echo", async (c) => c.text(`got ${(await c.req.text()).length}`));
  },
});

await createApp({ name: "edge-fixture", plugins: [http(), routes] }).run();
