// A real app for shutdown.test.ts: once ready it makes TEST_SPANS request spans (each with a
// child), says so on stdout, and waits for SIGTERM. The export schedule is long, so the spans are
// still buffered then; its drain hook makes one more span while the app shuts down.
import { createApp, definePlugin, env, Tracer } from "@twelvefold/kernel";
import * as v from "valibot";
import { otel } from "../../mod.ts";

const work = definePlugin({
  name: "work",
  config: { TEST_SPANS: v.optional(env.integer({ min: 1 }), "25") },
  requires: [Tracer],
  start({ config, get, onDrain, logger, lifecycle }) {
    const tracer = get(Tracer);
    // A real app is kept alive by its server or consumer; this one by a timer, until SIGTERM.
    const keepAlive = setInterval(() => {}, 60_000);
    onDrain(() => {
      clearInterval(keepAlive);
      tracer.startSpan("drain work", { attributes: { phase: "drain" } }).end();
    });
    const makeSpans = () => {
      if (!lifecycle.ready) return void setTimeout(makeSpans, 5);
      for (let i = 0; i < config.TEST_SPANS; i++) {
        const parent = tracer.startSpan(`request ${i}`, { kind: "server", attributes: { index: i } });
        tracer.withSpan(parent, () => tracer.startSpan("db query", { kind: "client" }).end());
        parent.end();
      }
      logger.info("spans made", { spans: config.TEST_SPANS * 2 });
    };
    setTimeout(makeSpans, 0);
  },
});

await createApp({ name: "sigterm-app", version: "1.0.0", plugins: [otel(), work] }).run();
