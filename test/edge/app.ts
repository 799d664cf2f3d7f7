/**
 * The edge fixture: the http plugin with a route that takes as long as it is told and ignores its
 * signal (`/slow/:ms`), one that reads its whole body (`POST /upload`), and a plain one
 * (`/items/:id`). It runs on Bun, Deno and Node, so the tests see each runtime adapter's timers.
 */
import { createApp, definePlugin } from "../../packages/kernel/mod.ts";
import { eventStream, HttpApp, http } from "../../plugins/http/mod.ts";

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
    // Two events after the client's Last-Event-ID, then quiet until the client leaves or the drain.
    app.get("/events", (c) =>
      eventStream(
        c,
        async (stream) => {
          const after = Number(stream.lastEventId ?? 0);
          await stream.send({ id: String(after + 1), event: "token", data: { text: "hel" } });
          await stream.send({ id: String(after + 2), event: "token", data: { text: "lo" } });
          await new Promise((resolve) => stream.signal.addEventListener("abort", resolve));
        },
        { onDrain: (stream) => stream.send({ event: "drain", data: "moving" }), retryMs: 500 },
      ),
    );
    app.on(["GET", "DELETE"], "/echo", async (c) => c.text(`got ${(await c.req.text()).length}`));
  },
});

await createApp({ name: "edge-fixture", plugins: [http(), routes] }).run();
