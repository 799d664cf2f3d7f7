/**
 * The drain fixture: the http plugin with a route that takes 200 ms (`/work`) and one that only
 * ends when its signal aborts (`/hang`). It counts the requests its routes began and finished and
 * logs the totals when it stops, so the test can compare them with what the client received.
 */
import { createApp, definePlugin } from "../../packages/kernel/mod.ts";
import { HttpApp, http } from "../../plugins/http/mod.ts";

const counts = { began: 0, finished: 0 };

const routes = definePlugin({
  name: "drain-fixture",
  requires: [HttpApp],
  start({ get, logger, onStop }) {
    const app = get(HttpApp);
    app.get("/work", async (c) => {
      counts.began++;
      await new Promise((resolve) => setTimeout(resolve, 200));
      counts.finished++;
      return c.json({ ok: true });
    });
    app.get("/hang", async (c) => {
      counts.began++;
      logger.info("hang began");
      const signal = c.env.signal;
      await new Promise((resolve) => signal.addEventListener("abort", resolve));
      return c.json({ ok: false });
    });
    onStop(() => logger.info("fixture totals", counts));
  },
});

await createApp({ name: "drain-fixture", plugins: [http(), routes] }).run();
