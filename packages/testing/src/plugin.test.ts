import { describe, expect, test } from "bun:test";
import { definePlugin, env, type Plugin, token } from "@twelvefold/kernel";
import * as v from "valibot";
import { pluginCases, pluginContract, runCase } from "../mod.ts";

interface Ticker {
  readonly ticks: number;
}
const Ticker = token<Ticker>("acme/Ticker");

/** A well-behaved plugin: config, a timer cleared on stop, health, idempotent stop. */
function ticker(): Plugin {
  return definePlugin({
    name: "ticker",
    config: { TICK_MS: v.optional(env.integer({ min: 1 }), "1000") },
    provides: [Ticker],
    start({ config, provide, onStop }) {
      const state = { ticks: 0 };
      let timer: ReturnType<typeof setInterval> | undefined = setInterval(() => state.ticks++, config.TICK_MS);
      provide(Ticker, state);
      onStop(() => {
        clearInterval(timer);
        timer = undefined;
      });
    },
    health: () => ({ status: "up" }),
  });
}

pluginContract(ticker, { env: { TICK_MS: "50" }, badEnv: { TICK_MS: "often" } });

async function failing(plugin: Plugin, options: Parameters<typeof pluginContract>[1] = {}): Promise<string[]> {
  const failed: string[] = [];
  for (const c of pluginCases) {
    if (c.needs === "badEnv" && !options?.badEnv) continue;
    await runCase(c, () => plugin, { patienceMs: 500, ...options }).catch(() => failed.push(c.name));
  }
  return failed;
}

describe("the plugin suite catches broken plugins", () => {
  test("a plugin whose second stop throws fails the idempotency case", async () => {
    const plugin = definePlugin({
      name: "closer",
      start({ onStop }) {
        let open = true;
        onStop(() => {
          if (!open) throw new Error("closer: already closed");
          open = false;
        });
      },
    });
    expect(await failing(plugin)).toEqual(["stops idempotently: its drain and stop hooks may run again"]);
  });

  test("a plugin that keeps state past its app fails the restart case", async () => {
    let running = false;
    const plugin = definePlugin({
      name: "singleton",
      start() {
        if (running) throw new Error("singleton: already running");
        running = true;
      },
    });
    expect(await failing(plugin)).toContain("starts again in a fresh app after a stop (no state outlives its app)");
  });

  test("a plugin that accepts any config fails the bad-config case", async () => {
    const plugin = definePlugin({
      name: "lax",
      config: { TICK_MS: v.optional(v.string(), "1000") },
      start() {},
    });
    expect(await failing(plugin, { badEnv: { TICK_MS: "often" } })).toEqual([
      "refuses bad config with a ConfigError naming each bad variable, before starting",
    ]);
  });

  test("a plugin that reports down, or stops slower than its budget, fails those cases", async () => {
    const plugin = definePlugin({
      name: "sick",
      stopTimeoutMs: 20,
      start({ onStop }) {
        onStop(() => new Promise((resolve) => setTimeout(resolve, 200)));
      },
      health: () => ({ status: "down", detail: "sick: no backend" }),
    });
    const failed = await failing(plugin);
    expect(failed).toContain("reports its health as up once started");
    expect(failed).toContain("drains and stops within its budgets, without an error");
  });
});
