// A small app whose behaviour is chosen by FIXTURE_MODE, spawned by app.signals.test.ts to prove
// the signal, exit-code and fatal-error paths in a real child process, not a simulation
import * as v from "valibot";
import { createApp } from "../app.ts";
import { env } from "../config.ts";
import { Lifecycle } from "../contracts/health.ts";
import { definePlugin } from "../plugin.ts";

const modes = ["clean", "slow-drain", "stuck-stop", "fail-start", "throw-later", "reject-later", "slow-start"] as const;

const fixture = definePlugin({
  name: "fixture",
  requires: [Lifecycle],
  config: {
    FIXTURE_MODE: v.optional(env.picklist(modes), "clean"),
    FIXTURE_WORKERS: v.optional(env.integer({ min: 1 }), "1"),
  },
  stopTimeoutMs: 200,
  async start({ config, lifecycle, onStop, logger, signal }) {
    onStop(() => logger.info("fixture stopped"));
    switch (config.FIXTURE_MODE) {
      case "slow-drain":
        lifecycle.track(new Promise(() => {}));
        break;
      case "stuck-stop":
        onStop(() => new Promise(() => {}));
        break;
      case "fail-start":
        throw new Error("cannot reach the model provider");
      case "throw-later":
        setTimeout(() => {
          throw new Error("boom after ready");
        }, 20);
        break;
      case "reject-later":
        setTimeout(() => void Promise.reject(new Error("rejected after ready")), 20);
        break;
      case "slow-start":
        logger.info("fixture starting slowly");
        // A cooperative start: it gives up when its signal aborts (shutdown, or its start timeout).
        await new Promise((resolve, reject) => {
          const timer = setTimeout(resolve, 60_000);
          signal.addEventListener("abort", () => {
            clearTimeout(timer);
            reject(signal.reason);
          });
        });
        break;
    }
  },
});

const other = definePlugin({
  name: "other",
  start({ onStop, logger }) {
    onStop(() => logger.info("other stopped"));
  },
});

await createApp({ name: "fixture-app", plugins: [other, fixture] }).run();
